/**
 * Bodies kept in memory out of compressed layers stored in a file, in place of a copy in
 * TMPDIR. Of an ELF file only the byte ranges its decoding read are kept (headers, the
 * dynamic section, symbol and version tables, notes, Go build info: about 2% of its bytes);
 * of a script or a small config file, all of it. A read of anything else (a scan of a whole
 * program for the warnings' markers, musl's path file, names given to dlopen) brings the
 * whole body back by inflating its layer again, on a thread of its own, while this one waits:
 * later stages read by position and synchronously, and such reads concern a handful of files.
 */
import type { FileBlob } from '../archive/blob.js';
import { refetch } from './refetch.js';

export interface KeptPiece {
  at: number;
  bytes: Buffer;
}

/** Whole bodies brought back (or kept for the launch) are held up to this many bytes; the oldest are let go past it. */
const WHOLE_CAP = 256 << 20;
/**
 * The bodies held whole, oldest first. Weakly: a body a later layer replaced is garbage with
 * its whole bytes (counted here until it comes up for letting go).
 */
const wholes: { body: WeakRef<KeptBody>; size: number }[] = [];
let wholeBytes = 0;

export class KeptBody {
  /** Sorted by `at`, apart from one another: what is always kept. */
  private pieces: KeptPiece[];
  /** The whole body, while held (see WHOLE_CAP). */
  private whole: Buffer | null = null;

  constructor(
    readonly size: number,
    /** The compressed layer the body is in, and its place among the layer's entries. */
    readonly blob: FileBlob,
    readonly ordinal: number,
    /** How errors name the file (its name in the layer). */
    readonly name: string,
    pieces: KeptPiece[],
    whole: Buffer | null = null,
  ) {
    this.pieces = pieces;
    if (whole) this.fill(whole);
  }

  /** Keeps these ranges besides what is kept. */
  keep(pieces: KeptPiece[]): void {
    const all = [...this.pieces, ...pieces].sort((a, b) => a.at - b.at);
    const merged: KeptPiece[] = [];
    for (const p of all) {
      const last = merged[merged.length - 1];
      if (last && p.at <= last.at + last.bytes.length) {
        // overlapping or touching: one piece (a later range may reach further)
        const end = Math.max(last.at + last.bytes.length, p.at + p.bytes.length);
        if (end > last.at + last.bytes.length) {
          const b = Buffer.allocUnsafe(end - last.at);
          last.bytes.copy(b, 0);
          p.bytes.copy(b, p.at - last.at);
          last.bytes = b;
        }
      } else merged.push({ at: p.at, bytes: p.bytes });
    }
    this.pieces = merged;
  }

  /** Bytes kept in memory for this body (its pieces; a whole body held besides is not counted). */
  get keptBytes(): number {
    return this.pieces.reduce((n, p) => n + p.bytes.length, 0);
  }

  /** Whether all of the body can be read from memory now. */
  get isWhole(): boolean {
    return this.whole !== null || (this.pieces.length === 1 && this.pieces[0]!.at === 0 && this.pieces[0]!.bytes.length === this.size);
  }

  /** Bytes [off, off+n) (n already within the body) from memory, or null. */
  find(off: number, n: number): Buffer | null {
    if (this.whole) return this.whole.subarray(off, off + n);
    const ps = this.pieces;
    let lo = 0;
    let hi = ps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = ps[mid]!;
      if (p.at > off) hi = mid - 1;
      else if (p.at + p.bytes.length <= off) lo = mid + 1;
      else return off + n <= p.at + p.bytes.length ? p.bytes.subarray(off - p.at, off - p.at + n) : null;
    }
    return null;
  }

  /** The whole body, brought back from its layer when it is not held. */
  wholeBody(): Buffer {
    if (!this.whole) {
      const all = this.find(0, this.size);
      if (all) return all;
      refetchBodies([this]);
    }
    return this.whole!;
  }

  /** Holds the whole body (brought back, or kept as it passed), letting go of the oldest held past WHOLE_CAP. */
  fill(b: Buffer): void {
    if (this.whole) return;
    this.whole = b;
    wholes.push({ body: new WeakRef(this), size: b.length });
    wholeBytes += b.length;
    while (wholeBytes > WHOLE_CAP && wholes.length > 1) {
      const old = wholes.shift()!;
      wholeBytes -= old.size;
      const body = old.body.deref();
      if (body) body.whole = null;
    }
  }
}

/**
 * Brings the whole bodies of `bodies` back into memory: one pass over each layer that holds
 * any of them, however many they are (a closure scans a program and all its libraries).
 */
export function refetchBodies(bodies: KeptBody[]): void {
  const byBlob = new Map<string, KeptBody[]>();
  for (const b of bodies) {
    if (b.isWhole) continue;
    const key = `${b.blob.file}:${b.blob.offset}:${b.blob.size}`;
    const list = byBlob.get(key);
    if (list) list.push(b);
    else byBlob.set(key, [b]);
  }
  for (const list of byBlob.values()) {
    const got = refetch(
      list[0]!.blob,
      list.map((b) => ({ ordinal: b.ordinal, size: b.size, name: b.name })),
    );
    list.forEach((b, i) => b.fill(got[i]!));
  }
}

/**
 * What is kept of an ELF file that passes in a compressed stream (layers/kept.ts): the file
 * is decoded from memory as it passes, and the byte ranges the decoding read are kept; so
 * are those of its dynamic symbol table, which the symbol check reads later for the
 * objects of a launch (the whole table: lookups read it through the hash table). A later decoding of the kept ranges reads exactly these ranges
 * (decoding is deterministic), including where it stopped on damage. Scans of the whole
 * file (a static program's NSS strings) run on the bytes underneath and are not kept.
 */
import { BufferBytes, type Bytes } from '../fs/bytes.js';
import type { KeptPiece } from '../layers/kept.js';
import type { Decoded } from './catalog.js';
import { decodeElf } from './decode.js';
import { readDynamicSymbols } from './dynsym.js';
import { ElfDamage } from './reader.js';
import { ScopeError } from '../errors.js';

/** Always kept: the first bytes (the kernel's look at a file it runs reads 256). */
const HEAD = 4096;
/** Ranges closer than this are kept as one: fewer pieces, a few bytes more. */
const GAP = 512;

/** Compact for a thread's reply: the kept bytes in one buffer, and where each run of them sits in the file. */
export interface Summary {
  decoded: Decoded;
  store: Uint8Array;
  /** Pairs: the run's offset in the file, its length. */
  spans: number[];
}

/** The pieces a summary keeps, as views of its one buffer. */
export function piecesOf(s: Pick<Summary, 'store' | 'spans'>): KeptPiece[] {
  const store = Buffer.from(s.store.buffer, s.store.byteOffset, s.store.byteLength);
  const pieces: KeptPiece[] = [];
  for (let i = 0, at = 0; i < s.spans.length; i += 2) {
    const len = s.spans[i + 1]!;
    pieces.push({ at: s.spans[i]!, bytes: store.subarray(at, at + len) });
    at += len;
  }
  return pieces;
}

export function summarize(body: Buffer): Summary {
  const plain = new BufferBytes(body);
  const ranges: number[] = [0, Math.min(body.length, HEAD)];
  const recording: Bytes = {
    size: body.length,
    read(off, len) {
      const b = plain.read(off, len);
      if (b.length > 0) ranges.push(off, off + b.length);
      return b;
    },
    release() {},
    plain: () => plain,
  };
  let decoded: Decoded;
  try {
    decoded = { ok: true, info: decodeElf(recording) };
  } catch (e) {
    if (!(e instanceof ElfDamage || e instanceof ScopeError)) throw e;
    decoded = { ok: false, error: e.message };
  }
  if (decoded.ok) {
    try {
      // as a program: every entry of the table is read (a library's lookups read them through
      // the hash table), with the strings, versions and hash tables
      readDynamicSymbols(recording, { program: true });
    } catch (e) {
      if (!(e instanceof ElfDamage || e instanceof ScopeError)) throw e;
    }
  }
  return { decoded, ...kept(body, ranges) };
}

/** The ranges (pairs of start, end) merged, copied out of `body` into one buffer. */
function kept(body: Buffer, ranges: number[]): Pick<Summary, 'store' | 'spans'> {
  const order = Array.from({ length: ranges.length / 2 }, (_, i) => i).sort((a, b) => ranges[2 * a]! - ranges[2 * b]!);
  const spans: [number, number][] = [];
  for (const i of order) {
    const start = ranges[2 * i]!;
    const end = ranges[2 * i + 1]!;
    const last = spans[spans.length - 1];
    if (last && start <= last[1] + GAP) last[1] = Math.max(last[1], end);
    else spans.push([start, end]);
  }
  const total = spans.reduce((n, [s, e]) => n + e - s, 0);
  const store = Buffer.allocUnsafeSlow(total);
  const out: number[] = [];
  let at = 0;
  for (const [s, e] of spans) {
    body.copy(store, at, s, e);
    out.push(s, e - s);
    at += e - s;
  }
  return { store, spans: out };
}

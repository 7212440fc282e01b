/**
 * Reads one layer into a list of entries (metadata only, never bodies) and checks its
 * digest where the format names one.
 */
import { ScopeError } from '../errors.js';
import type { LayerSource } from '../source/types.js';
import { type Compression, openBlob, readHead } from '../archive/decompress.js';
import { walkDir } from './dir.js';
import { type DigestAlgorithm, algorithmOf, hashRange, hashRangeSync, knownAlgorithm } from '../archive/hash.js';
import { type TarEntry, isSyncReader, walkTar, walkTarSync } from '../archive/walk.js';
import type { SparseChunk } from '../archive/tar.js';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { chargeTemp, refundTemp, tempError } from '../source/tempdir.js';
import type { ByteReader } from '../archive/reader.js';
import { type Magic, magicOf } from '../archive/magic.js';
import type { FileBlob } from '../archive/blob.js';
import { KeptBody } from './kept.js';
import { nodeCrypto } from '../builtins.js';
import type { Budget } from './budget.js';

export type { TarEntry } from '../archive/walk.js';
export type { EntryType } from '../archive/tar.js';
export type { Magic } from '../archive/magic.js';
export { cleanPath } from '../archive/walk.js';

/**
 * Where an entry's bytes are. With `file` set they can be read in place with positioned
 * reads; bodies inside a compressed stream have file null and are found again by layer
 * and path.
 */
export interface ContentRef {
  file: string | null;
  offset: number;
  size: number;
  layer: number;
  /** Position of the entry among the layer's entries, to find it again in a stream. */
  ordinal: number;
  /** Out of a compressed layer in a file: what is kept of the body in memory (kept.ts). */
  kept?: KeptBody;
}

export interface LayerEntry extends TarEntry {
  /** Set for regular files. */
  content: ContentRef | null;
  /** Set for regular files when the layer was read with `sniff`. */
  magic: Magic | null;
}

export interface LayerRead {
  entries: LayerEntry[];
  compression: Compression | 'dir';
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  verified: boolean;
}

/** A layer walked, its digest perhaps still being checked. */
export interface LayerWalk extends Omit<LayerRead, 'verified'> {
  /**
   * Settles once the digest is checked (true), or known not to be checked (false); rejects
   * on a mismatch. A layer hashed by position is still hashing after its walk: the next
   * layer's walk need not wait for it.
   */
  verification: Promise<boolean>;
}

export interface ReadOptions {
  /** Hash layers that are otherwise read by seeking (costs a full read of each). */
  verify: boolean;
  /** Look at the first bytes of every regular file to tell ELF files and scripts. */
  sniff?: boolean;
  /**
   * Where to copy, from compressed layers, the bodies later stages read by position:
   * ELF files, scripts, and the small config files the loader and runtime read.
   */
  spoolDir?: string | null | (() => string);
  /**
   * For a compressed layer in a file, in place of the spool: bodies kept in memory
   * (kept.ts). An ELF body is handed whole to `elf`, which decodes it and keeps what it
   * read, then lets go of it; `room` bounds the bytes of the bodies held at once.
   */
  keep?: {
    elf: (ref: ContentRef, body: Buffer) => Promise<void>;
    /** Memory for an ELF body of n bytes, given to `elf` with the body. */
    buffer: (n: number) => Buffer;
    /** Gives back what `buffer` gave, once `elf` settles (or the body could not be read). */
    release: (body: Buffer) => void;
    room: Budget;
    /** Paths whose ELF body is kept whole (where the image's command may be). */
    whole: Set<string>;
  } | null;
  /** Called for each ELF file as soon as its bytes can be read by position. */
  onElf?: (ref: ContentRef) => void;
  /** Hashes a byte range ("ALG:<hex>"); default: on the main thread as it walks. */
  hash?: (file: string, offset: number, size: number, algorithm: DigestAlgorithm) => Promise<string>;
  /** Where GNU sparse files are laid out with their holes, so they read as files (made on first use). */
  sparseDir?: () => string;
  /** Hears, entry by entry, how many stored bytes of the layer were read. */
  onStored?: (bytes: number) => void;
}

/** Small files a launch depends on, kept from compressed layers so they can be read later. */
const SPOOL_PATHS =
  /^\/etc\/(passwd|group|ld\.so\.cache|ld\.so\.conf|ld\.so\.preload|ld-musl-[^/]+\.path|nsswitch\.conf|os-release)$|^\/usr\/lib\/os-release$/;

const EMPTY = Buffer.alloc(0);
/** A script or config file up to this size is kept whole; of a larger one, its head (the rest is read again on demand). */
const KEEP_WHOLE = 64 << 10;
const KEEP_HEAD = 4096;
/** A program where the command may be is kept whole up to this size (larger, it is read again if scanned). */
const KEEP_LAUNCH_MAX = 64 << 20;
/** An ELF file larger than this is spooled, not held in memory to be decoded. */
export const KEEP_ELF_MAX = 256 << 20;

/** How errors name a layer: its index, and its digest's start. */
export function describeLayer(layer: LayerSource): string {
  return `layer ${layer.index}${layer.digest ? ` (${layer.digest.slice(0, 19)})` : ''}`;
}

/** A layer's entries, once its digest is checked. */
export async function readLayer(layer: LayerSource, opts: ReadOptions): Promise<LayerRead> {
  const { verification, ...walked } = await walkLayer(layer, opts);
  return { ...walked, verified: await verification };
}

/** An error about a layer, saying which layer. */
function named(layer: LayerSource, e: unknown): unknown {
  if (e instanceof ScopeError && !e.message.startsWith('layer ')) return new ScopeError(e.code, `${describeLayer(layer)}: ${e.message}`);
  return e;
}

function mustMatch(actual: string, expected: string): void {
  if (actual !== expected) throw new ScopeError('digest-mismatch', `content digest ${actual} does not match ${expected}`);
}

/** A layer's entries as soon as its walk ends; its digest check may go on (see LayerWalk). */
export async function walkLayer(layer: LayerSource, opts: ReadOptions): Promise<LayerWalk> {
  try {
    const walk = await walkLayerInner(layer, opts);
    const verification = walk.verification.catch((e: unknown) => {
      throw named(layer, e);
    });
    verification.catch(() => {}); // the caller awaits it, perhaps after other work
    return { ...walk, verification };
  } catch (e) {
    throw named(layer, e);
  }
}

/**
 * The digest check of an uncompressed layer in a file, apart from a walk: the quick verdict
 * walks layers without hashing, and the full analysis that follows checks them so.
 */
export async function checkUncompressed(
  layer: LayerSource,
  hash: (file: string, offset: number, size: number, algorithm: DigestAlgorithm) => Promise<string> = hashRange,
): Promise<boolean> {
  const expected = layer.digest ?? layer.diffId;
  const blob = layer.blob;
  if (!expected || !blob || blob.file === null) return false;
  try {
    mustMatch(await hash(blob.file, blob.offset, blob.size, algorithmOf(expected)), expected);
  } catch (e) {
    throw named(layer, e);
  }
  return true;
}

async function walkLayerInner(layer: LayerSource, opts: ReadOptions): Promise<LayerWalk> {
  if (layer.dir) return { entries: walkDir(layer.dir, layer.index), compression: 'dir', tarSize: 0, verification: Promise.resolve(false) };
  if (!layer.blob) throw new ScopeError('missing-blob', 'no data');
  const blob = layer.blob;
  // A compressed blob in a file is hashed by position on the pool's threads, beside the
  // inflating and the walk, instead of byte by byte on this thread as it streams past.
  const poolHashes = opts.hash !== undefined && blob.file !== null;
  // the stored digest's algorithm (sha256, or sha512) for a hash on the way; another is refused
  // where a hash is taken (below), not where none is (--no-verify on an uncompressed layer)
  const named = layer.digest ?? layer.diffId;
  const algorithm = (named ? knownAlgorithm(named) : null) ?? 'sha256';
  const { reader, compression, storedDigest, stored } = await openBlob(blob, !poolHashes, algorithm);
  const expected = layer.digest ?? (compression === 'none' ? layer.diffId : null);
  const hashing =
    expected && blob.file !== null && (compression === 'none' ? opts.verify : poolHashes)
      ? (opts.hash ?? hashRange)(blob.file, blob.offset, blob.size, algorithmOf(expected))
      : null;
  hashing?.catch(() => {}); // awaited below; keeps an early walk failure from leaving it unhandled
  const entries: LayerEntry[] = [];
  const sniff = opts.sniff ?? false;
  const keep = !reader.file && blob.file !== null ? (opts.keep ?? null) : null;
  const spoolAt = reader.file ? null : (opts.spoolDir ?? null);
  const spoolDir = typeof spoolAt === 'function' ? (keep ? spoolAt : spoolAt()) : spoolAt;
  /** Makes the walker's entry a layer entry, in place; `head` is the first bytes of a file's body, when sniffing. */
  const take = (e: TarEntry, head: Buffer | null): LayerEntry => {
    const entry = e as LayerEntry;
    entry.content = null;
    entry.magic = null;
    // a sparse file's stored bytes are not its content: laid out first (layOut), or only listed
    if (e.type === 'file' && !e.sparse) {
      entry.content = { file: reader.file, offset: reader.base + e.dataPos, size: e.size, layer: layer.index, ordinal: entries.length };
      if (head) {
        if (head.length < Math.min(4, e.size)) throw new ScopeError('truncated', `unexpected end of data inside ${e.rawName}`);
        entry.magic = magicOf(head);
      }
    }
    return entry;
  };
  let spoolFile: SpoolFile | null = null;
  const wantsHead = (e: TarEntry) => (sniff || spoolDir !== null || keep !== null) && e.type === 'file' && !e.sparse;
  const sparseOut: { file: SpoolFile | null } = { file: null };
  /**
   * A GNU sparse file laid out as the engine's extraction makes it: its runs where they
   * belong in a temp file, the holes left as holes (zeros, taking no room). Then it reads
   * like any other body: sniffed, decoded, printed.
   */
  const layOut = async (e: TarEntry, runs: SparseChunk[], next: (n: number) => Promise<Buffer> | Buffer): Promise<void> => {
    const entry = e as LayerEntry;
    const dir = opts.sparseDir!();
    const to = (sparseOut.file ??= new SpoolFile(dir, `${dir}/sparse-${layer.index}`));
    const base = to.end;
    for (const run of runs) {
      for (let done = 0; done < run.length;) {
        const want = Math.min(1 << 20, run.length - done);
        const b = await next(want);
        if (b.length < want) throw new ScopeError('truncated', `unexpected end of data inside ${e.rawName}`);
        chargeTemp(b.length, `layer ${layer.index}`);
        to.write(b, base + run.offset + done);
        done += want;
      }
    }
    // a hole at the end still makes the file that long (and a file of holes only, a file)
    to.reach(base + e.size);
    to.end = base + e.size;
    entry.content = { file: to.file, offset: base, size: e.size, layer: layer.index, ordinal: entries.length };
    entry.magic = magicOf(readHead(to.file, base, Math.min(4, e.size)));
  };
  const sparseRuns = (e: TarEntry) => (e.type === 'file' && opts.sparseDir ? (e.sparse ?? null) : null);
  try {
    if (isSyncReader(reader)) {
      // Read by position: the walk, the sniffing and the hand-off to the decoders are synchronous;
      // the walk's nulls are the event loop's turns (signals, the explorer's drawing, progress).
      for (const e of walkTarSync(reader)) {
        if (e === null) {
          opts.onStored?.(stored());
          await new Promise((r) => setImmediate(r));
          continue;
        }
        // served from the read-ahead that fetched the header, looked at in place
        const entry = take(e, wantsHead(e) ? (e.size > 0 ? reader.readNow(Math.min(4, e.size)) : EMPTY) : null);
        const runs = sparseRuns(e);
        const file = reader.file;
        if (runs && file) {
          let at = reader.base + e.dataPos;
          await layOut(e, runs, (n) => {
            const b = readHead(file, at, n);
            at += n;
            return b;
          });
        }
        if (entry.magic === 'elf' && entry.content) opts.onElf?.(entry.content);
        entries.push(entry);
      }
      opts.onStored?.(stored());
    } else {
      for await (const e of walkTar(reader)) {
        const head = wantsHead(e) ? (e.size > 0 ? await reader.read(Math.min(4, e.size)) : EMPTY) : null;
        const entry = take(e, head);
        const runs = sparseRuns(e);
        if (runs) await layOut(e, runs, (n) => reader.read(n));
        // the command's own file too, whatever it is: the launch reads its first bytes (a BOM before #!)
        const later = head && entry.content && (entry.magic !== 'other' || SPOOL_PATHS.test(e.path) || keep?.whole.has(e.path) === true);
        if (later && keep && !(entry.magic === 'elf' && e.size > KEEP_ELF_MAX)) {
          entry.content = await keepBody(reader, e, head, entry.content!, entry.magic === 'elf', blob as FileBlob, keep);
        } else if (later && spoolDir) {
          // looked at in place (the reader's buffer); copied only when the body is spooled
          const dir = typeof spoolDir === 'function' ? spoolDir() : spoolDir;
          spoolFile ??= new SpoolFile(dir, `${dir}/layer-${layer.index}`);
          entry.content = await spool(reader, e, Buffer.from(head), spoolFile, entry.content!);
        }
        if (entry.magic === 'elf' && entry.content?.file) opts.onElf?.(entry.content);
        entries.push(entry);
        opts.onStored?.(stored());
      }
    }
    if (compression !== 'none' || storedDigest) {
      // Read to the end: every stored byte goes through the hash (tar padding), the inflater
      // checks its trailer, and the tar's size is whole.
      while ((await reader.read(1 << 20)).length > 0);
    }
  } finally {
    reader.close();
    spoolFile?.close();
    sparseOut.file?.close();
  }
  const tarSize = compression === 'none' ? blob.size : reader.position;
  // a stream's digest is whole now; a hash by position may still be running
  const streamed = expected && !hashing && storedDigest ? storedDigest() : null;
  const check = async (): Promise<boolean> => {
    if (!expected) return false;
    const actual = hashing ? await hashing : streamed;
    if (!actual) return false;
    algorithmOf(expected); // a digest of another algorithm: refused by name
    mustMatch(actual, expected);
    return true;
  };
  return { entries, compression, tarSize, verification: check() };
}

/**
 * Keeps a body out of a compressed layer in memory (kept.ts): a small script or config file
 * whole, a larger one's head; an ELF body is read whole (within the room left) and handed
 * on to be decoded, the ranges its decoding reads kept when that is done.
 */
async function keepBody(
  reader: ByteReader,
  e: TarEntry,
  head: Buffer,
  ref: ContentRef,
  elf: boolean,
  blob: FileBlob,
  keep: NonNullable<ReadOptions['keep']>,
): Promise<ContentRef> {
  const n = elf || e.size <= KEEP_WHOLE ? e.size : KEEP_HEAD;
  if (elf) await keep.room.take(n);
  let elfBody: Buffer | null = null;
  const letGo = () => {
    if (elfBody) keep.release(elfBody);
    keep.room.give(n);
  };
  let body: Buffer;
  try {
    body = elf ? (elfBody = keep.buffer(n)) : Buffer.allocUnsafe(n);
    head.copy(body, 0, 0, Math.min(head.length, n));
    for (let done = Math.min(head.length, n); done < n;) {
      // straight from the inflater's pieces into the body: one copy
      const chunk = reader.readSome ? await reader.readSome(n - done) : await reader.read(Math.min(1 << 20, n - done));
      if (chunk.length === 0) throw new ScopeError('truncated', `unexpected end of data inside ${e.rawName}`);
      chunk.copy(body, done);
      done += chunk.length;
    }
  } catch (err) {
    if (elf) letGo();
    throw err;
  }
  const first = elf ? Buffer.from(body.subarray(0, Math.min(n, KEEP_HEAD))) : body;
  // where the command may be: its program is scanned end to end by the launch checks
  const whole = elf && n <= KEEP_LAUNCH_MAX && keep.whole.has(e.path) ? Buffer.from(body) : null;
  const place = { file: blob.file, offset: blob.offset, size: blob.size };
  const kept = new KeptBody(e.size, place, ref.ordinal, e.rawName, [{ at: 0, bytes: first }], whole);
  const out = { ...ref, kept };
  if (elf) {
    // a decoding that fails leaves the head kept: later reads bring the whole body back
    let decoding: Promise<void>;
    try {
      decoding = keep.elf(out, body);
    } catch {
      decoding = Promise.resolve(); // thrown here, not rejected: the memory is let go all the same
    }
    decoding.catch(() => {}).finally(letGo);
  }
  return out;
}

interface Spooled {
  file: string;
  offset: number;
  /** sha256 of the body, computed only once another body of the same size comes along. */
  digest: string | null;
}

/** Spooled bodies by size, per spool folder: one copy of each body, however often it recurs. */
const spooled = new Map<string, Map<number, Spooled[]>>();

/**
 * The temp file a layer's bodies are appended to: one file opened per layer, not one per
 * body (creating thousands of small files cost more than inflating the layer).
 */
class SpoolFile {
  private fd: number | null = null;
  /** Where the next body goes: the end of the bodies kept (a repeat is written, then cut off). */
  end = 0;
  private written = 0;

  constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  write(b: Buffer, at: number): void {
    try {
      this.fd ??= openSync(this.file, 'w', 0o600);
      writeSync(this.fd, b, 0, b.length, at);
    } catch (err) {
      throw tempError(err, this.dir);
    }
    this.written = Math.max(this.written, at + b.length);
  }

  /** Makes the file at least `end` bytes long: what was not written reads as zeros (a hole). */
  reach(end: number): void {
    try {
      this.fd ??= openSync(this.file, 'w', 0o600);
      if (this.written < end) ftruncateSync(this.fd, end);
    } catch (err) {
      throw tempError(err, this.dir);
    }
    this.written = Math.max(this.written, end);
  }

  /** Cuts off what was written past the end: a repeat, or a body cut short by an error. */
  dropTail(): void {
    if (this.fd === null || this.written <= this.end) return;
    try {
      ftruncateSync(this.fd, this.end);
    } catch (err) {
      throw tempError(err, this.dir);
    }
    this.written = this.end;
  }

  close(): void {
    if (this.fd === null) return;
    try {
      this.dropTail();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/**
 * Copies the rest of an entry's body from a stream to the end of the layer's spool file;
 * returns where it now is. Every byte counts against the run's temp budget; a body seen
 * before is not kept twice. Bodies are hashed (to find repeats) only when an earlier one
 * has the same size: most never are.
 */
async function spool(reader: ByteReader, e: TarEntry, head: Buffer, to: SpoolFile, ref: ContentRef): Promise<ContentRef> {
  const what = `layer ${ref.layer}`;
  let bySize = spooled.get(to.dir);
  if (!bySize) spooled.set(to.dir, (bySize = new Map<number, Spooled[]>()));
  const peers = bySize.get(e.size);
  const hash = peers ? nodeCrypto().createHash('sha256') : null;
  const offset = to.end;
  let at = offset;
  const put = (b: Buffer) => {
    chargeTemp(b.length, what);
    hash?.update(b);
    to.write(b, at);
    at += b.length;
  };
  put(head);
  for (let done = head.length; done < e.size;) {
    // the reader's own buffer, written out before the next read: no copy
    const want = Math.min(1 << 20, e.size - done);
    const chunk = await reader.read(want);
    if (chunk.length < want) throw new ScopeError('truncated', `unexpected end of data inside ${e.rawName}`);
    put(chunk);
    done += chunk.length;
  }
  const here = { ...ref, file: to.file, offset };
  if (!peers || !hash) {
    bySize.set(e.size, [{ file: to.file, offset, digest: null }]);
    to.end = at;
    return here;
  }
  const digest = 'sha256:' + hash.digest('hex');
  for (const p of peers) {
    p.digest ??= hashRangeSync(p.file, p.offset, e.size);
    if (p.digest === digest) {
      to.dropTail(); // not left on disk once its budget is given back
      refundTemp(e.size);
      return { ...ref, file: p.file, offset: p.offset };
    }
  }
  peers.push({ file: to.file, offset, digest });
  to.end = at;
  return here;
}

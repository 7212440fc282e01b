/**
 * Opens a blob for the tar walker. Compression is sniffed from magic bytes, never from a
 * name or media type. Uncompressed blobs get a seeking reader; compressed ones are
 * inflated as a stream (zlib runs off the main thread) with the stored bytes hashed as
 * they pass, so the blob digest is checked without a second read.
 */
import type { DigestAlgorithm } from './hash.js';
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { Duplex, Readable, Transform } from 'node:stream';
import { spawn } from 'node:child_process';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';
import type * as Fzstd from 'fzstd';
import { ScopeError, fsError } from '../errors.js';
import type { BlobRef, StreamBlob } from './blob.js';
import { type ByteReader, FileRangeReader, StreamReader } from './reader.js';
import { nodeCrypto } from '../builtins.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  // the other two `docker load` takes (moby's DecompressStream): xz (FD 37 7A 58 5A 00) and bzip2 ("BZh" and a level)
  if (head.length >= 4 && head.readUInt32BE(0) === 0xfd377a58) return 'xz';
  if (head.length >= 4 && head.toString('latin1', 0, 3) === 'BZh' && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  // a zstd stream may open with a skippable frame (magic 0x184D2A50..5F), as containerd accepts
  if (head.length >= 4 && (head.readUInt32LE(0) === 0xfd2fb528 || (head.readUInt32LE(0) & 0xfffffff0) === 0x184d2a50)) return 'zstd';
  return 'none';
}

export function readHead(file: string, offset: number, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw fsError(e, file);
  }
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, offset);
    return buf.subarray(0, got);
  } catch (e) {
    throw fsError(e, file);
  } finally {
    closeSync(fd);
  }
}

export interface OpenedBlob {
  reader: ByteReader;
  compression: Compression;
  /** sha256 of the stored bytes, once all were read (streamed blobs only). */
  storedDigest: (() => string) | null;
  /** Stored bytes read so far, for progress. */
  stored: () => number;
}

/**
 * zstd's command line decodes windows up to 2^27 bytes (128 MiB) unless given --long=N or
 * --memory: larger windows are for archives made with --long, never for image layers. The
 * same bound here keeps 9 bytes of frame header from costing gigabytes.
 */
export const ZSTD_WINDOWLOG_MAX = 27;

/** zstd inflater: Node's own where it has one (>= 22.15; libzstd bounds windowLog at 27 too), else fzstd. */
function zstdStream(): Transform {
  const native = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (native) return native();
  return new ZstdFrames();
}

const ZSTD_MAGIC = 0xfd2fb528;

/** fzstd, loaded the first time a zstd frame comes: most images have none, and it costs start-up time. */
let fzstd: typeof Fzstd | null = null;
const zstdDecoder = (): typeof Fzstd.Decompress => (fzstd ??= createRequire(import.meta.url)('fzstd') as typeof Fzstd).Decompress;

/**
 * Walks the frame and block headers of a zstd stream (their sizes are in the clear) and
 * hands each frame to a fresh fzstd decoder: the window a frame declares is checked before
 * anything is allocated, and a stream of many frames is decoded in a loop, not by recursion.
 */
class ZstdFrames extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current frame still to pass through before the next header to parse. */
  private passing = 0;
  private state: 'frame' | 'block' | 'checksum' | 'skip' = 'frame';
  private checksum = false;
  private last = false;
  private decoder: Fzstd.Decompress | null = null;
  /** Decoding stopped because the reader is behind: how to go on once it reads. */
  private goOn: (() => void) | null = null;
  /** Chunks pushed so far. */
  private pushed = 0;

  constructor() {
    super({ readableHighWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.run(cb);
  }

  /**
   * Decodes what is pending, a block at a time, and stops while the output waits unread:
   * one compressed megabyte can hold a gigabyte of zeros, and fzstd hands out every block
   * as it decodes it, so without this the whole of it would sit in memory.
   */
  private run(cb: (e?: Error | null) => void): void {
    try {
      if (this.advance()) cb();
      else this.goOn = () => this.run(cb);
    } catch (e) {
      cb(e as Error);
    }
  }

  override _read(size: number): void {
    const goOn = this.goOn;
    const pushed = this.pushed;
    if (goOn) {
      this.goOn = null;
      goOn();
    }
    // nothing pushed: the stream still waits for a push, or the next chunk waits on Transform's
    // own _read (which lets its write finish)
    if (this.pushed === pushed) super._read(size);
  }

  override _flush(cb: (e?: Error | null) => void): void {
    if (this.state !== 'frame' || this.pending.length > 0 || this.passing > 0) {
      cb(new ScopeError('truncated', 'zstd stream ends early (truncated)'));
      return;
    }
    cb();
  }

  private feed(bytes: Buffer): void {
    if (this.state === 'skip') return;
    this.decoder!.push(bytes);
  }

  /** Returns false when it stopped for the reader (see run), true when it needs more input. */
  private advance(): boolean {
    let buf = this.pending;
    let waiting = false;
    const pushed = this.pushed;
    for (;;) {
      // only once this call has pushed something: the stream asks for more (_read) before it
      // takes what it holds out, and would not ask again until something is pushed
      if (this.pushed !== pushed && this.readableLength >= this.readableHighWaterMark) {
        waiting = true;
        break;
      }
      if (this.passing > 0) {
        const n = Math.min(this.passing, buf.length);
        if (n > 0) this.feed(buf.subarray(0, n));
        buf = buf.subarray(n);
        this.passing -= n;
        if (this.passing > 0) break;
        if (this.state === 'skip') this.state = 'frame';
        else if (this.last && this.state === 'block') {
          if (this.checksum) {
            this.state = 'checksum';
            this.passing = 4;
            continue;
          }
          this.endFrame();
        } else if (this.state === 'checksum') this.endFrame();
        continue;
      }
      const used = this.state === 'frame' ? this.frameHeader(buf) : this.blockHeader(buf);
      if (used === 0) break;
      buf = buf.subarray(used);
    }
    // paused, the rest is a view of the chunk (copied at every pause it would cost the square
    // of the ratio); else it is kept as its own copy until the next chunk is joined to it
    this.pending = buf.length ? (waiting ? buf : Buffer.from(buf)) : Buffer.alloc(0);
    return !waiting;
  }

  private endFrame(): void {
    this.decoder!.push(new Uint8Array(0), true);
    this.decoder = null;
    this.state = 'frame';
  }

  /** Parses a frame header at the start of `b`; returns the bytes it took (0: needs more). */
  private frameHeader(b: Buffer): number {
    if (b.length < 4) return 0;
    const magic = b.readUInt32LE(0);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (b.length < 8) return 0;
      this.state = 'skip';
      this.passing = b.readUInt32LE(4);
      return 8;
    }
    if (magic !== ZSTD_MAGIC) throw new ScopeError('corrupt', 'corrupt zstd data (no frame where one should start)');
    if (b.length < 5) return 0;
    const fhd = b.readUInt8(4);
    const single = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    const dictBytes = [0, 1, 2, 4][fhd & 3] ?? 0; // index is two bits, always in range
    const fcsBytes = fcsFlag ? 1 << fcsFlag : single;
    const size = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
    if (b.length < size) return 0;
    let window: number;
    if (single) {
      let fcs = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + b.readUInt8(size - fcsBytes + i);
      window = fcsBytes === 2 ? fcs + 256 : fcs;
    } else {
      const wd = b.readUInt8(5);
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    if (window > 2 ** ZSTD_WINDOWLOG_MAX) {
      throw new ScopeError(
        'too-large',
        `zstd frame needs a ${Math.ceil(window / 2 ** 20)} MiB window; like zstd's own command line, scratchscope decodes windows up to ${2 ** (ZSTD_WINDOWLOG_MAX - 20)} MiB (windowLog ${ZSTD_WINDOWLOG_MAX}): recompress the layer without --long`,
      );
    }
    this.checksum = ((fhd >> 2) & 1) === 1;
    this.last = false;
    this.state = 'block';
    this.decoder = new (zstdDecoder())((chunk) => {
      if (chunk.length) {
        this.pushed++;
        this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
    });
    this.decoder.push(b.subarray(0, size));
    return size;
  }

  private blockHeader(b: Buffer): number {
    if (b.length < 3) return 0;
    const h = b.readUIntLE(0, 3);
    const type = (h >> 1) & 3;
    if (type === 3) throw new ScopeError('corrupt', 'corrupt zstd data (reserved block type)');
    this.last = (h & 1) === 1;
    this.decoder!.push(b.subarray(0, 3));
    this.passing = type === 1 ? 1 : h >>> 3;
    if (this.passing === 0) {
      // an empty block: its frame may end here
      if (this.last) {
        if (this.checksum) {
          this.state = 'checksum';
          this.passing = 4;
        } else this.endFrame();
      }
    }
    return 3;
  }
}

/**
 * A Transform that inflates the given compression. gzip inflates into 1 MiB pieces: each
 * piece is a round trip between the thread pool and this thread, and with 256 KiB ones
 * inspecting a gzip image took 7% longer (inflating alone, 8% longer).
 */
export function inflater(c: Exclude<Compression, 'none'>): Duplex {
  if (c === 'xz' || c === 'bzip2') return programStream(c);
  return c === 'gzip' ? zlib.createGunzip({ chunkSize: 1 << 20 }) : zstdStream();
}

/**
 * xz and bzip2 are inflated by their own programs, as moby inflates xz (`xz -d -c -q`): Node
 * has neither, and both are rare in images (docker save piped through xz, an old layer).
 */
function programStream(c: 'xz' | 'bzip2'): Duplex {
  const missing = () =>
    new ScopeError(
      'unsupported',
      `${c}-compressed data: it is inflated with the ${c} program, which is not installed (apt-get install ${c === 'xz' ? 'xz-utils' : 'bzip2'}), or decompress it first (${c} -d)`,
    );
  const child = spawn(c, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let failed: Error | null = null;
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-400)));
  const stream: Duplex = new Duplex({
    write(chunk: Buffer, _enc, done) {
      if (failed) return done(failed);
      if (child.stdin.write(chunk)) done();
      else child.stdin.once('drain', () => done());
    },
    final(done) {
      child.stdin.end();
      done();
    },
    read() {
      child.stdout.resume();
    },
    destroy(err, done) {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      done(err);
    },
  });
  child.stdout.on('data', (d: Buffer) => {
    if (!stream.push(d)) child.stdout.pause();
  });
  child.stdin.on('error', () => {}); // EPIPE when the program stops early: its exit says why
  child.on('error', (e) => {
    failed = (e as NodeJS.ErrnoException).code === 'ENOENT' ? missing() : e;
    stream.destroy(failed);
  });
  child.on('close', (code) => {
    if (failed || stream.destroyed) return;
    if (code === 0) {
      stream.push(null);
      return;
    }
    const words = stderr.trim().split('\n').pop() ?? '';
    failed = /unexpected end|ends unexpectedly/i.test(words)
      ? new ScopeError('truncated', `${c} stream ends early (truncated)`)
      : new ScopeError('corrupt', `corrupt ${c} data (${words || `${c} exited ${code}`})`);
    stream.destroy(failed);
  });
  return stream;
}

const READ_CHUNK = 1 << 20;

/**
 * Opens a blob for its tar. `hashStored` false: the caller hashes a compressed blob in a
 * file itself (on another thread, by position), so its bytes are not hashed on their way
 * to the inflater (storedDigest is null then).
 */
export async function openBlob(blob: BlobRef, hashStored = true, algorithm: DigestAlgorithm = 'sha256'): Promise<OpenedBlob> {
  if (blob.file === null) return openStreamBlob(blob, algorithm);
  const head = readHead(blob.file, blob.offset, Math.min(4, blob.size));
  const compression = sniffCompression(head);
  if (compression === 'none') {
    const reader = new FileRangeReader(blob.file, blob.offset, blob.size);
    return { reader, compression, storedDigest: null, stored: () => reader.position };
  }
  if (blob.size === 0) throw new ScopeError('truncated', 'empty blob');
  const raw = createReadStream(blob.file, { start: blob.offset, end: blob.offset + blob.size - 1, highWaterMark: READ_CHUNK });
  return inflated(raw, compression, hashStored, algorithm);
}

function inflated(raw: Readable, compression: Exclude<Compression, 'none'>, hashStored: boolean, algorithm: DigestAlgorithm): OpenedBlob {
  const hash = hashStored ? nodeCrypto().createHash(algorithm) : null;
  const counts = { stored: 0 };
  raw.on('data', (c) => {
    hash?.update(c as Buffer);
    counts.stored += (c as Buffer).length;
  });
  const inflate = inflater(compression);
  raw.on('error', (e) => inflate.destroy(e));
  raw.pipe(inflate);
  const reader = new StreamReader(guardBombs(describeErrors(inflate, compression), counts, compression), () => {
    raw.destroy();
    inflate.destroy();
  });
  return { reader, compression, storedDigest: hash ? () => `${algorithm}:${hash.digest('hex')}` : null, stored: () => counts.stored };
}

/**
 * A blob that arrives as a stream (from a registry): compression is sniffed from its first
 * bytes, and every stored byte is hashed on its way to the inflater or the tar walker.
 */
async function openStreamBlob(blob: StreamBlob, algorithm: DigestAlgorithm): Promise<OpenedBlob> {
  const it = blob.open()[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 4) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headLen += next.value.length;
  }
  const compression = sniffCompression(Buffer.concat(head));
  async function* chunks(): AsyncGenerator<Buffer> {
    yield* head;
    if (ended) return;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  if (compression !== 'none') return inflated(Readable.from(chunks(), { objectMode: false }), compression, true, algorithm);
  const hash = nodeCrypto().createHash(algorithm);
  let stored = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const c of chunks()) {
      hash.update(c);
      stored += c.length;
      yield c;
    }
  }
  const reader = new StreamReader(hashed(), () => void it.return?.());
  return { reader, compression, storedDigest: () => `${algorithm}:${hash.digest('hex')}`, stored: () => stored };
}

/**
 * Past 1 GiB of output, a stream that inflates more than 1000-fold is a decompression
 * bomb (deflate's own limit is about 1032:1, so only data made to be one gets there):
 * stop rather than spend minutes inflating zeros.
 */
export const BOMB_RATIO = 1000;
export const BOMB_FLOOR = 1 << 30;

export async function* guardBombs(
  stream: AsyncIterable<Buffer>,
  counts: { stored: number },
  compression: Compression,
): AsyncGenerator<Buffer> {
  let out = 0;
  for await (const chunk of stream) {
    out += chunk.length;
    if (out > BOMB_FLOOR && out > BOMB_RATIO * Math.max(1, counts.stored)) {
      throw new ScopeError(
        'too-large',
        `${compression} data inflates more than ${BOMB_RATIO}-fold (${counts.stored} bytes to over ${out}): refusing a likely decompression bomb`,
      );
    }
    yield chunk;
  }
}

/** Re-throws stream errors as ScopeErrors a person can read. */
async function* describeErrors(stream: AsyncIterable<Buffer>, compression: Compression): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk;
  } catch (e) {
    if (e instanceof ScopeError) throw e;
    const err = e as NodeJS.ErrnoException;
    // zlib's codes are strings (Z_BUF_ERROR); fzstd's are numbers (5: unexpected EOF)
    const code = typeof err?.code === 'string' ? err.code : null;
    if (
      code === 'Z_BUF_ERROR' ||
      (compression === 'zstd' && (err as { code?: unknown })?.code === 5) ||
      /unexpected end|unexpected eof/i.test(String(err?.message))
    ) {
      throw new ScopeError('truncated', `${compression} stream ends early (truncated)`);
    }
    if (code && !code.startsWith('Z_') && err.syscall) throw fsError(e, err.path ?? 'blob');
    throw new ScopeError('corrupt', `corrupt ${compression} data (${err?.message ?? String(e)})`);
  }
}

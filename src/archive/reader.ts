/**
 * Byte readers the tar walker pulls from. A FileRangeReader reads a byte range of a file
 * with positioned reads and skips bodies by moving its cursor: the fast path for the
 * uncompressed layers `docker save` writes. A StreamReader pulls from a decompressing
 * stream and must consume what it skips.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ScopeError, fsError } from '../errors.js';

export interface ByteReader {
  /** Bytes consumed so far, relative to the start of the range or stream. */
  readonly position: number;
  /** Where the body at the current position lives on disk, when the reader can say. */
  readonly file: string | null;
  readonly base: number;
  /**
   * Reads up to n bytes; fewer only at the end of input. The buffer may be a view of the
   * reader's own memory, valid until the next call: copy what must outlive it.
   */
  read(n: number): Promise<Buffer>;
  /**
   * Up to n bytes as they come, where the reader has them in pieces: a view of one piece, no
   * copy (empty only at the end). For callers that copy a body elsewhere anyway.
   */
  readSome?(n: number): Promise<Buffer>;
  skip(n: number): Promise<void>;
  close(): void;
}

// A miss right after the buffer's end means small files packed together: read far ahead so
// the next headers come in the same read. A miss far away means a large body was skipped:
// read a little, so its bytes are not dragged through memory.
const READAHEAD = 4 * 1024;
const READAHEAD_DENSE = 64 * 1024;

export class FileRangeReader implements ByteReader {
  readonly file: string;
  readonly base: number;
  private readonly end: number;
  private fd: number;
  private pos = 0;
  private buf = Buffer.allocUnsafe(READAHEAD_DENSE);
  private bufStart = -1; // absolute offset of buf[0]
  private bufLen = 0;

  constructor(file: string, base: number, length: number) {
    this.file = file;
    this.base = base;
    this.end = base + length;
    try {
      this.fd = openSync(file, 'r');
    } catch (e) {
      throw fsError(e, file);
    }
  }

  get position(): number {
    return this.pos;
  }

  get length(): number {
    return this.end - this.base;
  }

  read(n: number): Promise<Buffer> {
    // the executor runs now, as an async body would, and turns a throw into a rejection
    return new Promise((resolve) => resolve(this.readNow(n)));
  }

  /** Synchronous read: positioned reads never block long, and a sync walk avoids a promise per header. */
  readNow(n: number): Buffer {
    const abs = this.base + this.pos;
    const want = Math.max(0, Math.min(n, this.end - abs));
    if (want === 0) return Buffer.alloc(0);
    if (abs >= this.bufStart && abs + want <= this.bufStart + this.bufLen) {
      const off = abs - this.bufStart;
      this.pos += want;
      return this.buf.subarray(off, off + want);
    }
    if (want <= READAHEAD) {
      const dense = this.bufLen > 0 && abs - (this.bufStart + this.bufLen) < READAHEAD_DENSE;
      const len = Math.min(dense ? READAHEAD_DENSE : READAHEAD, this.end - abs);
      const got = this.pread(this.buf, 0, len, abs);
      this.bufStart = abs;
      this.bufLen = got;
      const take = Math.min(want, got);
      this.pos += take;
      return this.buf.subarray(0, take);
    }
    const out = Buffer.allocUnsafe(want);
    const got = this.pread(out, 0, want, abs);
    this.pos += got;
    return got === want ? out : out.subarray(0, got);
  }

  private pread(into: Buffer, off: number, len: number, at: number): number {
    let done = 0;
    while (done < len) {
      let got: number;
      try {
        got = readSync(this.fd, into, off + done, len - done, at + done);
      } catch (e) {
        throw fsError(e, this.file);
      }
      if (got === 0) break;
      done += got;
    }
    return done;
  }

  skip(n: number): Promise<void> {
    return new Promise((resolve) => resolve(this.skipNow(n)));
  }

  skipNow(n: number): void {
    this.pos += n;
    if (this.base + this.pos > this.end) {
      this.pos = this.end - this.base;
      throw new ScopeError('truncated', 'unexpected end of data');
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

/** Pulls from an async iterable of chunks (a decompressor's output). */
export class StreamReader implements ByteReader {
  readonly file = null;
  readonly base = 0;
  private readonly it: AsyncIterator<Buffer | Uint8Array>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pos = 0;
  private done = false;
  private readonly onClose: () => void;

  constructor(source: AsyncIterable<Buffer | Uint8Array>, onClose: () => void = () => {}) {
    this.it = source[Symbol.asyncIterator]();
    this.onClose = onClose;
  }

  get position(): number {
    return this.pos;
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.it.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  async read(n: number): Promise<Buffer> {
    while (this.buffered < n && (await this.fill()));
    const take = Math.min(n, this.buffered);
    let out: Buffer;
    const first = this.chunks[0];
    if (first && first.length >= take) {
      out = first.subarray(0, take);
      if (first.length === take) this.chunks.shift();
      else this.chunks[0] = first.subarray(take);
    } else {
      out = Buffer.allocUnsafe(take);
      let off = 0;
      while (off < take) {
        const c = this.chunks[0];
        if (c === undefined) break; // cannot happen: take <= buffered, the chunks' total
        const k = Math.min(c.length, take - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= take;
    this.pos += take;
    return out;
  }

  async readSome(n: number): Promise<Buffer> {
    if (this.buffered === 0) await this.fill();
    const first = this.chunks[0];
    if (!first || n <= 0) return Buffer.alloc(0);
    const take = Math.min(n, first.length);
    if (take === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(take);
    this.buffered -= take;
    this.pos += take;
    return first.subarray(0, take);
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) {
        throw new ScopeError('truncated', 'unexpected end of data');
      }
      let c: Buffer | undefined;
      while (left > 0 && (c = this.chunks[0]) !== undefined) {
        if (c.length <= left) {
          left -= c.length;
          this.buffered -= c.length;
          this.pos += c.length;
          this.chunks.shift();
        } else {
          this.chunks[0] = c.subarray(left);
          this.buffered -= left;
          this.pos += left;
          left = 0;
        }
      }
    }
  }

  close(): void {
    this.chunks = [];
    this.onClose();
    void this.it.return?.();
  }
}

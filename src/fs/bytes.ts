/**
 * Positioned reads of one file inside the image, for decoders that need a few small
 * pieces of a possibly huge binary: never the whole file.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ScopeError, fsError } from '../errors.js';

export interface Bytes {
  readonly size: number;
  /** Up to `len` bytes at `off`; fewer only at the end of the file. */
  read(off: number, len: number): Buffer;
  close(): void;
}

/** A byte range of a file on disk (a body inside an uncompressed layer, or a spooled copy). */
export class FileBytes implements Bytes {
  private fd: number | null = null;
  constructor(
    private readonly file: string,
    private readonly base: number,
    readonly size: number,
    private readonly head: Buffer | null = null,
  ) {}

  read(off: number, len: number): Buffer {
    if (off < 0 || off >= this.size || len <= 0) return Buffer.alloc(0);
    const n = Math.min(len, this.size - off);
    if (this.head && off + n <= this.head.length) return this.head.subarray(off, off + n);
    if (this.fd === null) {
      try {
        this.fd = openSync(this.file, 'r');
      } catch (e) {
        throw fsError(e, this.file);
      }
    }
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, buf, done, n - done, this.base + off + done);
      if (got === 0) throw new ScopeError('truncated', `${this.file}: ends inside a file body`);
      done += got;
    }
    return buf;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Bytes already in memory (tests, tiny files). */
export class BufferBytes implements Bytes {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  read(off: number, len: number): Buffer {
    if (off < 0 || off >= this.buf.length || len <= 0) return Buffer.alloc(0);
    return this.buf.subarray(off, Math.min(this.buf.length, off + len));
  }
  close(): void {}
}

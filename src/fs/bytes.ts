/**
 * Positioned reads of one file inside the image, for decoders that need a few small
 * pieces of a possibly huge binary: never the whole file.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ScopeError, fsError } from '../errors.js';
import type { KeptBody } from '../layers/kept.js';

export interface Bytes {
  readonly size: number;
  /** Up to `len` bytes at `off`; fewer only at the end of the file. */
  read(off: number, len: number): Buffer;
  /** Drops the bytes kept for reads to come; the file itself stays open (see closeSharedFiles). */
  release(): void;
  /** For a scan of the whole file, whose reads are not to be remembered: the bytes under a recording view. */
  plain?(): Bytes;
}

// Decoders make many small reads close together (headers, string tables, notes): serve
// them from a few windows so a binary costs a handful of reads, not dozens.
const HEAD = 16 * 1024;
const WINDOW = 16 * 1024;

/**
 * Open descriptors shared by every FileBytes of the same file: an image's bodies mostly
 * live in a few layer files, and an open and a close per binary would cost more than
 * decoding it. Closed together by closeSharedFiles().
 */
const shared = new Map<string, number>();

function sharedFd(file: string): number {
  let fd = shared.get(file);
  if (fd === undefined) {
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw fsError(e, file);
    }
    if (shared.size >= 64) closeSharedFiles(); // many spooled files: keep the set bounded
    shared.set(file, fd);
  }
  return fd;
}

export function closeSharedFiles(): void {
  for (const fd of shared.values()) closeSync(fd);
  shared.clear();
}

/**
 * Memory for the reads of one decode after another, reused: a decoding thread reads a few
 * windows of each of thousands of binaries, and fresh buffers for each cost page faults
 * and collections. Views handed out stay valid until reset(), which the owner calls only
 * when nothing read before is still in use (between two binaries).
 */
export class ReadArena {
  private readonly buf: Buffer;
  private used = 0;

  constructor(size = 1 << 20) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  alloc(n: number): Buffer {
    if (n > this.buf.length - this.used) return Buffer.allocUnsafe(n); // a large read: its own buffer
    const b = this.buf.subarray(this.used, this.used + n);
    this.used += (n + 7) & ~7;
    return b;
  }

  reset(): void {
    this.used = 0;
  }
}

/** A byte range of a file on disk (a body inside an uncompressed layer, or a spooled copy). */
export class FileBytes implements Bytes {
  private head: Buffer | null;
  private window: Buffer | null = null;
  private windowAt = 0;

  constructor(
    private readonly file: string,
    private readonly base: number,
    readonly size: number,
    head: Buffer | null = null,
    private readonly arena: ReadArena | null = null,
  ) {
    this.head = head;
  }

  read(off: number, len: number): Buffer {
    if (off < 0 || off >= this.size || len <= 0) return Buffer.alloc(0);
    const n = Math.min(len, this.size - off);
    if (off + n <= HEAD) {
      if (!this.head || this.head.length < Math.min(HEAD, this.size)) this.head = this.pread(0, Math.min(HEAD, this.size));
      return this.head.subarray(off, off + n);
    }
    const w = this.window;
    if (w && off >= this.windowAt && off + n <= this.windowAt + w.length) return w.subarray(off - this.windowAt, off - this.windowAt + n);
    if (n <= WINDOW) {
      // A fresh buffer each time: views handed out earlier stay valid.
      this.window = this.pread(off, Math.min(WINDOW, this.size - off));
      this.windowAt = off;
      return this.window.subarray(0, n);
    }
    return this.pread(off, n);
  }

  private pread(off: number, n: number): Buffer {
    const fd = sharedFd(this.file);
    const buf = this.arena ? this.arena.alloc(n) : Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(fd, buf, done, n - done, this.base + off + done);
      if (got === 0) throw new ScopeError('truncated', `${this.file}: ends inside a file body`);
      done += got;
    }
    return buf;
  }

  /** Drops the cached head and window; the descriptor is shared and stays open (closeSharedFiles closes it). */
  release(): void {
    this.head = null;
    this.window = null;
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
  release(): void {}
}

/**
 * A body kept in memory out of a compressed layer (layers/kept.ts): reads of the kept ranges
 * are served from memory; any other read brings the whole body back first.
 */
export class KeptBytes implements Bytes {
  constructor(private readonly body: KeptBody) {}
  get size(): number {
    return this.body.size;
  }
  read(off: number, len: number): Buffer {
    if (off < 0 || off >= this.body.size || len <= 0) return Buffer.alloc(0);
    const n = Math.min(len, this.body.size - off);
    return this.body.find(off, n) ?? this.body.wholeBody().subarray(off, off + n);
  }
  release(): void {}
}

/**
 * Reading a file's bytes out of the image. Bodies in uncompressed layers and folders are
 * read in place; a body inside a compressed layer is found again by walking that layer.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ScopeError, fsError } from '../errors.js';
import { openBlob } from '../archive/decompress.js';
import type { ContentRef } from '../layers/index.js';
import { readBody, walkTar } from '../archive/walk.js';
import type { LayerSource } from '../source/types.js';
import { type Bytes, FileBytes, KeptBytes, type ReadArena } from './bytes.js';

const CHUNK = 1 << 20;

/** Streams [start, start+length) of a file to `sink`, chunk by chunk. */
export async function streamContent(
  layers: LayerSource[],
  ref: ContentRef,
  sink: (chunk: Buffer) => void | Promise<void>,
  start = 0,
  length = ref.size - start,
): Promise<void> {
  const end = Math.min(ref.size, start + length);
  const kept = ref.kept?.find(start, Math.max(0, end - start));
  if (kept) {
    // in memory (a small file kept whole, or a range kept of a larger one)
    for (let pos = 0; pos < kept.length; pos += CHUNK) await sink(Buffer.from(kept.subarray(pos, pos + CHUNK)));
    return;
  }
  if (ref.file) {
    let fd: number;
    try {
      fd = openSync(ref.file, 'r');
    } catch (e) {
      throw fsError(e, ref.file);
    }
    try {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, end - start)));
      for (let pos = start; pos < end;) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), ref.offset + pos);
        if (n === 0) throw new ScopeError('truncated', `${ref.file}: ends inside a file body`);
        await sink(Buffer.from(buf.subarray(0, n)));
        pos += n;
      }
    } finally {
      closeSync(fd);
    }
    return;
  }
  const layer = layers[ref.layer];
  if (!layer?.blob) throw new ScopeError('missing-blob', `layer ${ref.layer} is not available`);
  const { reader } = await openBlob(layer.blob);
  try {
    let ordinal = 0;
    for await (const e of walkTar(reader)) {
      if (ordinal++ !== ref.ordinal) continue;
      if (start > 0) await reader.skip(start);
      for (let pos = start; pos < end;) {
        const chunk = await readBody(reader, e, Math.min(CHUNK, end - pos));
        await sink(chunk);
        pos += chunk.length;
      }
      return;
    }
    throw new ScopeError('corrupt', `layer ${ref.layer} changed while reading it`);
  } finally {
    reader.close();
  }
}

/** The first `length` bytes at `start`, for headers and small files. */
export async function readContent(layers: LayerSource[], ref: ContentRef, start = 0, length = ref.size): Promise<Buffer> {
  const parts: Buffer[] = [];
  await streamContent(layers, ref, (c) => void parts.push(c), start, length);
  return Buffer.concat(parts);
}

/** Whether a file's bytes can be read by position: in place, spooled, or kept in memory. */
export function readable(ref: ContentRef | null | undefined): ref is ContentRef {
  return !!ref && (ref.file !== null || ref.kept !== undefined);
}

/**
 * Positioned access to a file's bytes. Bodies inside compressed layers are only reachable
 * this way when the load kept them (analysis keeps every ELF file, script and launch
 * config file it meets) or spooled them (out of a stream). With `arena`, reads land in its
 * memory (valid until its next reset) instead of buffers of their own.
 */
export function openBytes(ref: ContentRef, head: Buffer | null = null, arena: ReadArena | null = null): Bytes {
  if (ref.kept) return new KeptBytes(ref.kept);
  if (!ref.file) throw new ScopeError('unsupported', `layer ${ref.layer}: content not kept for positioned reads`);
  return new FileBytes(ref.file, ref.offset, ref.size, head, arena);
}

/**
 * Up to `n` first bytes of a file, when they can be read by position; none for a body in
 * a compressed layer that was not spooled (its magic says enough) or a file without content.
 */
export function contentHead(ref: ContentRef | null, n: number): Buffer {
  if (!readable(ref) || ref.size === 0) return Buffer.alloc(0);
  const b = openBytes(ref);
  try {
    return Buffer.from(b.read(0, Math.min(n, ref.size)));
  } finally {
    b.release();
  }
}

/** A small file's bytes by positioned read (null when absent, not a file, larger than `limit`, or not spooled). */
export function readSmallFile(ref: ContentRef | null, limit = 16 << 20): Buffer | null {
  if (!readable(ref) || ref.size > limit) return null;
  return contentHead(ref, ref.size);
}

/** A read that also brings the neighbourhood: small files packed together come in one read. */
const HEADS_WINDOW = 64 * 1024;

/** Bodies in the order of where they are: by file, then offset. */
export function byPlace(a: ContentRef, b: ContentRef): number {
  return a.file === b.file ? a.offset - b.offset : (a.file ?? '') < (b.file ?? '') ? -1 : 1;
}

/**
 * The first `n` bytes (at most 4 KiB) of many bodies read by position, in file order, so
 * bodies packed together (a layer of small files) come a window at a time, not a read each.
 * Sorts `items` in place (by where their bodies are); `each` gets a view valid only during
 * the call, and is not called for empty bodies. A body that cannot be read, or whose bytes
 * end early, goes to `fail` (which throws, naming it as the caller knows it).
 */
export function readHeads<T>(
  items: T[],
  refOf: (t: T) => ContentRef,
  n: number,
  each: (t: T, head: Buffer) => void,
  fail: (t: T, e: ScopeError) => never,
): void {
  items.sort((x, y) => byPlace(refOf(x), refOf(y)));
  const buf = Buffer.allocUnsafe(HEADS_WINDOW);
  let file: string | null = null;
  let fd = -1;
  let at = 0;
  let len = 0;
  try {
    for (const item of items) {
      const r = refOf(item);
      if (r.file === null || r.size === 0) continue;
      const want = Math.min(n, r.size, 4096);
      try {
        if (r.file !== file) {
          if (fd >= 0) closeSync(fd);
          fd = -1;
          file = r.file;
          len = 0;
          fd = openSync(file, 'r');
        }
        if (r.offset < at || r.offset + want > at + len) {
          // right after the last window: read a whole window ahead; far away: a page
          const dense = len > 0 && r.offset - (at + len) < HEADS_WINDOW;
          const size = dense ? HEADS_WINDOW : 4096;
          at = r.offset;
          len = 0;
          for (let got; len < size && (got = readSync(fd, buf, len, size - len, at + len)) > 0;) len += got;
        }
      } catch (e) {
        fail(item, fsError(e, r.file));
      }
      const head = buf.subarray(r.offset - at, Math.min(len, r.offset - at + want));
      if (head.length < want) fail(item, new ScopeError('truncated', 'unexpected end of data inside a file body'));
      each(item, head);
    }
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

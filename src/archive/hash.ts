/**
 * sha256 of a byte range, so a layer read by seeking can be verified while its headers are
 * walked. The reads run on libuv's thread pool and the hash takes a few milliseconds per
 * 4 MiB chunk between them, so the event loop (signals, the explorer) keeps its turns. A
 * worker thread would hash in parallel, but each one reserves hundreds of MB of address
 * space, which `ulimit -v` counts.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ScopeError } from '../errors.js';

export async function hashRange(file: string, offset: number, size: number): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  if (size > 0) {
    try {
      // one buffer, read into again and again: a new 4 MiB buffer per chunk piled up as
      // garbage outside the heap (tens of MB while a hundred layers were hashed)
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.allocUnsafe(Math.min(size, 1 << 20));
        while (done < size) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - done), offset + done);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
          done += bytesRead;
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw new ScopeError('io', `${file}: ${(e as Error).message}`);
    }
  }
  if (done < size) throw new ScopeError('truncated', `${file}: ends before the layer does`);
  return 'sha256:' + hash.digest('hex');
}

/**
 * sha256 of a byte range, so a layer read by seeking can be verified while its headers are
 * walked. The reads run on libuv's thread pool and the hash takes a few milliseconds per
 * 4 MiB chunk between them, so the event loop (signals, the explorer) keeps its turns. A
 * worker thread would hash in parallel, but each one reserves hundreds of MB of address
 * space, which `ulimit -v` counts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ScopeError } from '../errors.js';

export async function hashRange(file: string, offset: number, size: number): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  if (size > 0) {
    try {
      for await (const chunk of createReadStream(file, { start: offset, end: offset + size - 1, highWaterMark: 4 << 20 })) {
        hash.update(chunk as Buffer);
        done += (chunk as Buffer).length;
      }
    } catch (e) {
      throw new ScopeError('io', `${file}: ${(e as Error).message}`);
    }
  }
  if (done < size) throw new ScopeError('truncated', `${file}: ends before the layer does`);
  return 'sha256:' + hash.digest('hex');
}

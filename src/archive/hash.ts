/**
 * sha256 of a byte range, so a layer read by seeking can be verified while its headers are
 * walked. On the main thread the reads run on libuv's thread pool and the hash takes a few
 * milliseconds per 1 MiB chunk between them, so the event loop (signals, the explorer) keeps
 * its turns; the pool's threads (elf/pool.ts) hash large layers with blocking reads.
 */
import type { Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ScopeError } from '../errors.js';
import { nodeCrypto } from '../builtins.js';

/** The digest algorithms OCI registers that images use: "ALG:HEX" names a blob by one of them. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** Hex digits of each algorithm's digest. */
export const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** The algorithm of a digest, or null for one images never use. */
export function knownAlgorithm(digest: string): DigestAlgorithm | null {
  const alg = digest.slice(0, Math.max(0, digest.indexOf(':')));
  return alg === 'sha256' || alg === 'sha512' ? alg : null;
}

/** The algorithm of a digest; any other is refused, as containerd refuses one it does not know. */
export function algorithmOf(digest: string): DigestAlgorithm {
  const known = knownAlgorithm(digest);
  if (known) return known;
  const alg = digest.slice(0, Math.max(0, digest.indexOf(':')));
  throw new ScopeError('unsupported', `digest ${digest.slice(0, 40)}: ${alg || 'no'} algorithm is not one images use (sha256, sha512)`);
}

/** The digest of bytes in memory ("ALG:<hex>"): image metadata, a registry's answers. */
export function digestOfBytes(bytes: Buffer, algorithm: DigestAlgorithm): string {
  return `${algorithm}:${nodeCrypto().createHash(algorithm).update(bytes).digest('hex')}`;
}

/** The digest of a range hashed `done` bytes of `size`: a file that ended early is truncated. */
function digestOf(file: string, size: number, done: number, hash: Hash, algorithm: DigestAlgorithm): string {
  if (done < size) throw new ScopeError('truncated', `${file}: ends before the layer does`);
  return `${algorithm}:${hash.digest('hex')}`;
}

const ioError = (file: string, e: unknown) => new ScopeError('io', `${file}: ${(e as Error).message}`);

/**
 * Read buffers, each read into again and again and kept for the next hash: a new buffer per
 * chunk, or per layer, piled up as garbage outside the heap until a collection (127 MB for
 * the 127 layers of a node_modules image).
 */
const CHUNK = 1 << 20;
const spare: Buffer[] = [];
const takeBuffer = (size: number): Buffer => (size >= CHUNK ? spare.pop() : undefined) ?? Buffer.allocUnsafe(Math.min(size, CHUNK));
const giveBack = (b: Buffer): void => {
  if (b.length === CHUNK && spare.length < 4) spare.push(b);
};

export async function hashRange(file: string, offset: number, size: number, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
  const hash = nodeCrypto().createHash(algorithm);
  let done = 0;
  if (size > 0) {
    try {
      const fh = await open(file, 'r');
      const buf = takeBuffer(size);
      try {
        while (done < size) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - done), offset + done);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
          done += bytesRead;
        }
      } finally {
        giveBack(buf);
        await fh.close();
      }
    } catch (e) {
      throw ioError(file, e);
    }
  }
  return digestOf(file, size, done, hash, algorithm);
}

/**
 * The same hash with blocking reads, for a thread that has nothing else to do meanwhile
 * (a pool worker): it skips a round trip to libuv's threads per chunk, an eighth of the
 * time of a large layer.
 */
export function hashRangeSync(file: string, offset: number, size: number, algorithm: DigestAlgorithm = 'sha256'): string {
  const hash = nodeCrypto().createHash(algorithm);
  let done = 0;
  if (size > 0) {
    try {
      const fd = openSync(file, 'r');
      const buf = takeBuffer(size);
      try {
        for (let n; done < size && (n = readSync(fd, buf, 0, Math.min(buf.length, size - done), offset + done)) > 0; done += n) {
          hash.update(buf.subarray(0, n));
        }
      } finally {
        giveBack(buf);
        closeSync(fd);
      }
    } catch (e) {
      throw ioError(file, e);
    }
  }
  return digestOf(file, size, done, hash, algorithm);
}

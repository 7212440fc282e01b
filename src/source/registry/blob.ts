/**
 * Blobs from a registry: small ones (manifests, configs) read whole and checked against
 * their digest; layers handed to the layer reader as streams that resume with a Range
 * request where a connection broke, so nothing is written to disk.
 */
import { ScopeError } from '../../errors.js';
import type { StreamBlob } from '../types.js';
import { MAX_TRIES, type RegistryClient, type Response, backoff, isRetryable, sleep } from './client.js';
import { digestOfBytes, knownAlgorithm } from '../../archive/hash.js';

/** Reads a body up to `limit` bytes; a larger one is not image metadata. */
async function readLimited(res: Response, limit: number, what: string, host: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new ScopeError('too-large', `${host}: ${what} is over ${limit} bytes, too large for image metadata`);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** GETs a small document whole, retrying when the body breaks off. */
export async function getSmall(
  client: RegistryClient,
  path: string,
  headers: Record<string, string>,
  limit: number,
  what: string,
): Promise<{ res: Response; bytes: Buffer }> {
  for (let attempt = 0; ; attempt++) {
    const res = await client.get(path, headers);
    if (res.statusCode !== 200) throw await client.statusError(res, what);
    try {
      return { res, bytes: await readLimited(res, limit, what, client.host) };
    } catch (e) {
      if (attempt + 1 >= MAX_TRIES || !isRetryable(e)) throw client.describe(e);
      await sleep(backoff(attempt));
    }
  }
}

/** Checks received bytes against the digest they were asked for. */
export function checkDigest(bytes: Buffer, expected: string, what: string, host: string): void {
  const alg = knownAlgorithm(expected);
  if (!alg) throw new ScopeError('unsupported', `${host}: ${what} has an unsupported digest algorithm ${expected.split(':')[0]}`);
  const actual = digestOfBytes(bytes, alg);
  if (actual !== expected)
    throw new ScopeError('digest-mismatch', `${host}: ${what} does not match its digest ${expected} (got ${actual})`);
}

/**
 * A layer blob as a stream. Each open() starts a fresh download; when the connection breaks
 * or times out mid-body, the rest is asked for with `Range: bytes=N-` (a registry that
 * ignores it answers 200 and the first N bytes are dropped). The layer reader hashes what
 * arrives, so a resumed blob is still checked whole.
 */
export function streamBlob(client: RegistryClient, digest: string, size: number, label: string): StreamBlob {
  const path = `/v2/${client.repository}/blobs/${digest}`;
  async function* open(): AsyncGenerator<Buffer> {
    let got = 0;
    for (let attempt = 0; ; attempt++) {
      const res = await client.get(path, got > 0 ? { range: `bytes=${got}-` } : {});
      let skip = 0;
      if (got > 0 && res.statusCode === 200) skip = got;
      else if (res.statusCode !== (got > 0 ? 206 : 200)) throw await client.statusError(res, label);
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          let c = chunk;
          if (skip > 0) {
            const drop = Math.min(skip, c.length);
            skip -= drop;
            c = c.subarray(drop);
            if (c.length === 0) continue;
          }
          got += c.length;
          yield c;
        }
        if (size >= 0 && got < size) throw Object.assign(new Error('body ended early'), { code: 'UND_ERR_SOCKET' });
        return;
      } catch (e) {
        if (e instanceof ScopeError || attempt + 1 >= MAX_TRIES || !isRetryable(e)) throw client.describe(e);
        await sleep(backoff(attempt));
      } finally {
        res.body.destroy();
      }
    }
  }
  return { file: null, offset: 0, size, open };
}

/** One member of a tar being written with tar-stream: header, body, then tar-stream's go-ahead. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type tar from 'tar-stream';

/** Writes a chunk of the member's body, waiting when the pack is full. */
export type Put = (chunk: Buffer) => Promise<void>;

/**
 * Adds a member and lets `body` write its bytes through `put`; resolves once tar-stream has
 * taken the whole member (its callback), so members go out one at a time and in order.
 */
export async function packMember(
  pack: tar.Pack,
  header: Parameters<tar.Pack['entry']>[0],
  body: (put: Put) => Promise<void>,
): Promise<void> {
  let w!: Writable;
  // the executor runs at once: w is set before the promise is awaited
  const entered = new Promise<void>((ok, fail) => {
    w = pack.entry(header, (e) => (e ? fail(e) : ok())) as unknown as Writable;
  });
  await body(async (chunk) => {
    if (chunk.length && !w.write(chunk)) await once(w, 'drain');
  });
  w.end();
  await entered;
}

/**
 * The child of refetch.ts: reads a job (a layer and the bodies wanted, by their place among
 * its entries) on stdin, inflates the layer once and writes the bodies to stdout in the
 * order asked. A failure is one JSON line on stderr ({code, message}) and exit 3.
 */
import { openBlob } from '../archive/decompress.js';
import { walkTar } from '../archive/walk.js';
import { ScopeError } from '../errors.js';
import type { RefetchJob } from './refetch.js';

async function readJob(): Promise<RefetchJob> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8')) as RefetchJob;
}

function write(b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(b, (e) => (e ? reject(e) : resolve())));
}

async function main(): Promise<void> {
  const job = await readJob();
  // bodies in the order asked, gathered in layer order
  const got = new Map<number, Buffer>();
  const wanted = new Map(job.wants.map((w) => [w.ordinal, w]));
  const { reader } = await openBlob(job.blob, false);
  try {
    let ordinal = 0;
    for await (const e of walkTar(reader)) {
      const w = wanted.get(ordinal++);
      if (!w) continue;
      if (e.type !== 'file' || e.size !== w.size) throw new ScopeError('corrupt', `the layer holding ${w.name} changed while it was read`);
      const into = Buffer.allocUnsafe(w.size);
      for (let done = 0; done < w.size;) {
        const chunk = await reader.read(Math.min(1 << 20, w.size - done));
        if (chunk.length === 0) throw new ScopeError('truncated', `unexpected end of data inside ${w.name}`);
        chunk.copy(into, done);
        done += chunk.length;
      }
      got.set(w.ordinal, into);
      if (got.size === wanted.size) break;
    }
  } finally {
    reader.close();
  }
  for (const w of job.wants) {
    const b = got.get(w.ordinal);
    if (!b) throw new ScopeError('corrupt', `the layer holding ${w.name} changed while it was read`);
    await write(b);
  }
}

main().catch((e: unknown) => {
  const err = e instanceof ScopeError ? { code: e.code, message: e.message } : { code: 'io', message: String((e as Error)?.message ?? e) };
  process.stderr.write(JSON.stringify(err));
  process.exitCode = 3;
});

/**
 * Whole bodies read again out of a compressed layer, synchronously: the stages after a load
 * read by position and synchronously (decoders, scans), and a body kept only in part
 * (kept.ts) must be whole before they go on. Node's inflaters answer only on an event loop,
 * so a short-lived child process (refetch-main.ts) inflates the layer and writes the bodies
 * to its stdout while this one waits. A child, not a thread: it needs no turn of this thread
 * to start (a TypeScript loader's hooks do), and whatever happens to it ends in an exit status.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FileBlob } from '../archive/blob.js';
import { type ErrorCode, ScopeError } from '../errors.js';

export interface RefetchWant {
  ordinal: number;
  size: number;
  name: string;
}

export interface RefetchJob {
  blob: FileBlob;
  wants: RefetchWant[];
}

/**
 * Compiled, the child's code sits beside this file; under a TypeScript loader its source does.
 * Named from the folder above, the path also holds from dist/bundle/ (scripts/bundle.mjs).
 */
const MAIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../layers/refetch-main.ts' : '../layers/refetch-main.js', import.meta.url),
);

/**
 * The options of this process the child needs to load its code the same way: module
 * loaders and preloads. Not the rest (an -e script, a profiler, the test runner's).
 */
function loaderArgs(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C)$/.test(a) && i + 1 < args.length) out.push(a, args[++i]!);
    else if (/^(--import|--require|--loader|--experimental-loader|--conditions)=/.test(a)) out.push(a);
  }
  return out;
}

/** The bodies of `wants` out of the layer `blob`, in one pass over it, in the order asked. */
export function refetch(blob: FileBlob, wants: RefetchWant[]): Buffer[] {
  const what = `${wants[0]?.name ?? 'a file'}${wants.length > 1 ? ` and ${wants.length - 1} more` : ''}`;
  const job: RefetchJob = { blob: { file: blob.file, offset: blob.offset, size: blob.size }, wants };
  const total = wants.reduce((n, w) => n + w.size, 0);
  const r = spawnSync(process.execPath, [...loaderArgs(), MAIN], {
    input: JSON.stringify(job),
    maxBuffer: total + 1,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  });
  if (r.error) throw new ScopeError('io', `cannot read ${what} again out of its layer: ${r.error.message}`);
  if (r.status !== 0) {
    let err: { code: ErrorCode; message: string };
    try {
      err = JSON.parse(r.stderr.toString('utf8')) as typeof err;
    } catch {
      const line = r.stderr.toString('utf8').trim().split('\n').pop() ?? '';
      err = {
        code: 'io',
        message: `cannot read ${what} again out of its layer (${r.signal ?? `status ${r.status}`})${line ? `: ${line}` : ''}`,
      };
    }
    throw new ScopeError(err.code, err.message);
  }
  if (r.stdout.length !== total)
    throw new ScopeError('io', `cannot read ${what} again out of its layer: ${r.stdout.length} of ${total} bytes`);
  const out: Buffer[] = [];
  let at = 0;
  for (const w of wants) {
    out.push(r.stdout.subarray(at, at + w.size));
    at += w.size;
  }
  return out;
}

/**
 * The one place scratchscope writes to disk: a private temp folder per opened image,
 * removed on close, at exit, and by a watcher process when this one dies any other way
 * (a signal, a crash, the OOM killer), and a fixed budget for the bytes written there.
 */
import type * as ChildProcess from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScopeError } from '../errors.js';
import { nodeCrypto } from '../builtins.js';

interface Watcher {
  /** Our end of its stdin closes: it removes the folder. */
  end(): void;
  /** It goes without removing anything (the folder was never ours). */
  cancel(): void;
}

// child_process (and the net and dgram modules it loads) only when a temp folder is made:
// reading an image by position makes none, and the verdict is timed in milliseconds
const require = createRequire(import.meta.url);

const live = new Map<string, Watcher>();
let hooked = false;

function removeAll(): void {
  for (const d of live.keys()) rmSync(d, { recursive: true, force: true });
  live.clear();
}

/**
 * A shell that waits for our end of its stdin to close (we exited, however we died) and
 * then removes the folder. It ignores the signals a terminal sends to the whole process
 * group, so Ctrl-C kills us at once (the default action, even inside a long synchronous
 * loop) and still leaves no files behind.
 */
function watch(dir: string): Watcher {
  try {
    const { spawn } = require('node:child_process') as typeof ChildProcess;
    const child = spawn('/bin/sh', ['-c', 'trap "" INT TERM HUP QUIT; cat >/dev/null; exec rm -rf -- "$0"', dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {}); // no /bin/sh: the exit hook still removes the folder on a normal exit
    child.stdin.on('error', () => {});
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    return {
      end: () => child.stdin.end(),
      cancel: () => {
        child.kill('SIGKILL');
        child.stdin.destroy();
      },
    };
  } catch {
    return { end: () => {}, cancel: () => {} };
  }
}

/** The temp folder root, named in errors: $TMPDIR or /tmp. */
export function tempRoot(): string {
  return tmpdir();
}

/** An fs error while writing temp files, as one line naming the cause. */
export function tempError(e: unknown, path: string = tempRoot()): ScopeError {
  if (e instanceof ScopeError) return e;
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: 'does not exist',
    ENOTDIR: 'is not a folder',
    EACCES: 'is not writable (permission denied)',
    EPERM: 'is not writable (permission denied)',
    EROFS: 'is on a read-only file system',
    ENOSPC: 'is full (no space left on device)',
    EDQUOT: 'is full (disk quota exceeded)',
  };
  const reason = (err?.code && why[err.code]) ?? err?.message ?? String(e);
  return new ScopeError('io', `temporary folder ${path} ${reason}; set TMPDIR to a writable folder with free space`);
}

export function makeTempDir(): string {
  return makeWatchedDir(tmpdir(), 'scratchscope-', tempError);
}

/**
 * A private folder made in `parent` (beside an output file, say), removed like a temp
 * folder however this process ends. Its name is random and mkdir refuses an existing one
 * (a symlink planted there included), so nothing is written through another's link.
 */
export function makeWatchedDir(parent: string, prefix: string, fail: (e: unknown, path: string) => ScopeError): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', removeAll);
  }
  // The watcher is told the name before the folder exists: a kill at any moment after
  // this finds a watcher in place. mkdir fails on an existing name, as mkdtemp does.
  for (let attempt = 0; ; attempt++) {
    const d = join(parent, `${prefix}${nodeCrypto().randomBytes(6).toString('hex')}`);
    const watcher = watch(d);
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      watcher.cancel();
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 10) continue;
      throw fail(e, parent);
    }
    live.set(d, watcher);
    return d;
  }
}

export function removeTempDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  live.get(d)?.end();
  live.delete(d);
}

/** Compressed bytes the run was given (layers, outer archives): the default budget grows with them. */
let given = 0;

/**
 * Says how many compressed bytes the run reads: a real 5 GB image of big libraries may
 * keep more than 1 GiB of them, while a small hostile archive still gets no more than 1 GiB.
 */
export function allowTempFor(compressedBytes: number): void {
  given += Math.max(0, compressedBytes);
}

/**
 * Bytes one run may write to temp folders (inflated archives and the layer files kept for
 * positioned reads): 1 GiB or 4 times the compressed bytes it was given, whichever is more,
 * or SCRATCHSCOPE_TMP_BUDGET (bytes, or with a K/M/G suffix).
 */
export function tempBudget(): number {
  const v = process.env.SCRATCHSCOPE_TMP_BUDGET?.trim();
  const m = v ? /^(\d+)\s*([kmg]i?b?)?$/i.exec(v) : null;
  if (!m) return Math.max(1 << 30, 4 * given);
  const unit = (m[2] ?? '').toLowerCase()[0];
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1 << 20 : unit === 'g' ? 1 << 30 : 1);
}

let charged = 0;

/** Counts `n` more temp bytes against the budget; throws one clear line when it is spent. */
export function chargeTemp(n: number, what: string): void {
  charged += n;
  const budget = tempBudget();
  if (charged > budget) {
    throw new ScopeError(
      'too-large',
      `${what} needs more than ${formatBudget(budget)} of temporary files (the budget; set SCRATCHSCOPE_TMP_BUDGET to allow more)`,
    );
  }
}

/** Gives back bytes whose temp file was removed or shared. */
export function refundTemp(n: number): void {
  charged = Math.max(0, charged - n);
}

/** Temp bytes written so far and not given back, for the bench. */
export function tempBytesInUse(): number {
  return charged;
}

function formatBudget(n: number): string {
  if (n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  return `${n} bytes`;
}

/** Passes a stream through, charging each chunk against the temp budget. */
export async function* budgeted(stream: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    chargeTemp(chunk.length, what);
    yield chunk;
  }
}

/**
 * The one place scratchscope writes to disk: a private temp folder per opened image,
 * removed on close and, as a last resort, when the process exits or is interrupted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const d of live) rmSync(d, { recursive: true, force: true });
  live.clear();
}

export function makeTempDir(): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', removeAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        removeAll();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
    }
  }
  const d = mkdtempSync(join(tmpdir(), 'scratchscope-'));
  live.add(d);
  return d;
}

export function removeTempDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  live.delete(d);
}

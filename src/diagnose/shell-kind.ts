/**
 * Which shell a file is (busybox, dash or bash), told by its name or, for one copied to
 * /bin/sh, by its bytes; with what its messages depend on: bash's version, busybox's applets.
 */
import { type Node, openBytes } from '../fs/index.js';
import { scanFor } from '../elf/scan.js';

export type ShellKind = 'busybox' | 'dash' | 'bash';

export interface Shell {
  kind: ShellKind | null;
  /**
   * bash 5.2 and later say "cannot execute: required file not found" for a missing interpreter;
   * busybox 1.33 and later number the words of `sh -c` line 0 (1.32 and before: line 1).
   */
  modern: boolean;
  /** The applets a busybox runs by bare name without looking at PATH (docker mounts /proc, so all of them). */
  applets: Set<string> | null;
  /** busybox built to run its applets without links (FEATURE_SH_STANDALONE, as Debian's busybox-static; Alpine's is not). */
  standalone: boolean;
}

/** busybox's banner of the releases before 1.33 ("BusyBox v1.32.1 (…)"; Alpine 3.13 and before). */
const OLD_BUSYBOX = ['BusyBox v1.1', 'BusyBox v1.2', 'BusyBox v1.30', 'BusyBox v1.31', 'BusyBox v1.32'];

/** Which shell a file is: by its name, else by what its bytes say of it (busybox copied to /bin/sh). */
export function shellOf(node: Node, real: string): Shell {
  const base = real.slice(real.lastIndexOf('/') + 1);
  const named: ShellKind | null = base.startsWith('busybox') ? 'busybox' : base === 'dash' ? 'dash' : base === 'bash' ? 'bash' : null;
  if (!node.content) return { kind: named, modern: true, applets: null, standalone: named === 'busybox' };
  const b = openBytes(node.content);
  try {
    // dash names itself nowhere; its error prefix ("sh: 1: …") is its own format string
    // a standalone busybox says so in its help: "…to run built-in utilities without $PATH search"
    const seen = scanFor(
      b,
      ['BusyBox v', 'GNU bash, version', '%s: %d: %s: ', 'required file not found', 'without $PATH search', ...OLD_BUSYBOX],
      16 << 20,
    );
    const kind =
      named ?? (seen.has('BusyBox v') ? 'busybox' : seen.has('GNU bash, version') ? 'bash' : seen.has('%s: %d: %s: ') ? 'dash' : null);
    const modern = kind === 'bash' ? seen.has('required file not found') : kind !== 'busybox' || !OLD_BUSYBOX.some((v) => seen.has(v));
    const standalone = kind === 'busybox' && seen.has('without $PATH search');
    return { kind, modern, applets: standalone ? appletNames(b) : null, standalone };
  } finally {
    b.release();
  }
}

/**
 * busybox's applet names: one sorted, NUL-separated string in the binary ("[\0[[\0acpid\0…"),
 * found by its start. Null when that start is not there (test and [[ left out of the build).
 */
function appletNames(b: ReturnType<typeof openBytes>): Set<string> | null {
  const bytes = b.plain?.() ?? b;
  const limit = Math.min(bytes.size, 16 << 20);
  const all = Buffer.from(bytes.read(0, limit));
  const at = all.indexOf('\0[\0[[\0', 0, 'latin1');
  if (at < 0) return null;
  const names = new Set<string>();
  let i = at + 1;
  while (i < all.length) {
    const end = all.indexOf(0, i);
    if (end <= i) break;
    const name = all.toString('latin1', i, end);
    if (!/^[\w.[\]-]+$/.test(name)) break;
    names.add(name);
    i = end + 1;
  }
  return names.size > 10 ? names : null;
}

/**
 * What the container's mounts do to the launch. A mount replaces the image's folder at
 * its destination with other content: a tmpfs is empty; a bind mount is the host folder;
 * a named volume is whatever it holds (Docker copies the image's folder into an empty
 * volume the first time, unless nocopy). The mount's own content is read only when its
 * source folder is visible here (a local engine); otherwise it is unknown, and said so.
 */
import { lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { scanFor } from '../elf/scan.js';
import { type MergedTree, openBytes, resolvePath } from '../fs/index.js';
import { CATALOG } from '../diagnose/catalog.js';
import type { Diagnostic } from '../diagnose/index.js';
import { TMP_MARKERS } from '../diagnose/warnings.js';
import { envValue } from '../source/config.js';
import type { MountFacts } from './engine.js';

export type MountEffect = 'hides' | 'provides' | 'copied' | 'unknown';

export interface MountFinding {
  mount: MountFacts;
  path: string;
  effect: MountEffect;
  /** One sentence: what is at `path` once the mount is in place. */
  detail: string;
}

const under = (path: string, dir: string) => dir === '/' || path === dir || path.startsWith(dir.replace(/\/$/, '') + '/');

/** The mount that decides what is at `path`: the deepest one over it. */
export function mountOver(mounts: MountFacts[], path: string): MountFacts | null {
  let best: MountFacts | null = null;
  for (const m of mounts) if (under(path, m.destination) && (!best || m.destination.length > best.destination.length)) best = m;
  return best;
}

/** Does the mount's source, seen from here, hold `rel`? null when it cannot be seen. */
function localHas(m: MountFacts, rel: string): boolean | null {
  if (!m.source) return null;
  try {
    if (!statSync(m.source).isDirectory()) return null;
  } catch {
    return null;
  }
  try {
    lstatSync(join(m.source, rel));
    return true;
  } catch {
    return false;
  }
}

function what(m: MountFacts): string {
  if (m.label) return m.label;
  if (m.type === 'tmpfs') return `an empty tmpfs`;
  if (m.type === 'bind') return `the host folder ${m.source}`;
  if (m.type === 'volume') return `volume ${m.name ?? m.source}${m.noCopy ? ' (nocopy)' : ''}`;
  return `a ${m.type} mount`;
}

/** What is at `path` (a file the image has) once the container's mounts are in place. */
export function mountEffect(mounts: MountFacts[], path: string): MountFinding | null {
  const m = mountOver(mounts, path);
  if (!m) return null;
  const rel = path.slice(m.destination.replace(/\/$/, '').length) || '/';
  const at = `${m.destination} is ${what(m)}`;
  if (m.type === 'tmpfs') return { mount: m, path, effect: 'hides', detail: `${at}, so ${path} is not there` };
  const has = localHas(m, rel);
  if (has === false)
    return { mount: m, path, effect: 'hides', detail: `${at}, which has no ${rel.replace(/^\//, '')} (looked in ${m.source})` };
  if (has === true) {
    const copied = m.type === 'volume' && !m.noCopy;
    return {
      mount: m,
      path,
      effect: copied ? 'copied' : 'provides',
      detail: copied
        ? `${at}; it holds ${rel.replace(/^\//, '')} (Docker copies the image's ${m.destination} into a new volume)`
        : `${at}, whose ${rel.replace(/^\//, '')} is what runs, not the image's`,
    };
  }
  const hint =
    m.type === 'volume' && !m.noCopy
      ? `if the volume was empty when first mounted, Docker copied the image's ${m.destination} into it and the program is there; if it already held other files, it is not`
      : `whether it holds ${rel.replace(/^\//, '')} cannot be seen from here`;
  return { mount: m, path, effect: 'unknown', detail: `${at}: ${hint}` };
}

/** The diagnostic for a program a mount hides (error) or may hide (warning). */
export function hiddenByMount(f: MountFinding, argv0: string): Diagnostic {
  const certain = f.effect === 'hides';
  const bare = !argv0.includes('/');
  const words = CATALOG['hidden-by-mount'];
  return {
    code: 'hidden-by-mount',
    severity: certain ? 'error' : 'warning',
    message: certain ? words.message(f.path, f.detail) : words.messageMaybe(f.path, f.detail),
    path: f.path,
    layer: null,
    runtimeError: certain
      ? bare
        ? CATALOG['exec-not-in-path'].runc(argv0)
        : CATALOG['exec-not-found'].runc(argv0, argv0, 'no such file or directory')
      : null,
    fix: f.mount.type === 'tmpfs' ? words.fixTmpfs(f.mount.destination) : words.fix(f.mount.type, f.mount.destination),
    evidence: [f.detail],
  };
}

/** A read-only root with no writable /tmp, while the program creates temporary files. */
export function readOnlyTmp(tree: MergedTree, program: string, env: string[], mounts: MountFacts[]): Diagnostic | null {
  const tmpdir = envValue(env, 'TMPDIR') || '/tmp';
  const m = mountOver(mounts, tmpdir);
  if (m && m.destination !== '/' && m.readWrite) return null;
  const r = resolvePath(tree, program);
  if (!r.ok || !r.node.content) return null;
  const b = openBytes(r.node.content);
  let uses: string | undefined;
  try {
    const found = scanFor(b, TMP_MARKERS);
    uses = TMP_MARKERS.find((t) => found.has(t));
  } finally {
    b.release();
  }
  if (!uses) return null;
  return {
    code: 'read-only-tmp',
    severity: 'warning',
    message: CATALOG['read-only-tmp'].message(tmpdir, program, uses),
    path: program,
    layer: r.node.layer,
    runtimeError: null,
    fix: CATALOG['read-only-tmp'].fix(tmpdir),
    evidence: ['HostConfig.ReadonlyRootfs is true', `no writable mount at ${tmpdir}`, `${program} uses ${uses}`],
  };
}

/**
 * Every runtime's words for the same failure. diagnose() writes runc's line (Docker's
 * default); this module picks, from the catalogue, the line each other runtime or stack
 * prints (catalog.ts says where each wording comes from).
 */
import { CATALOG, type Entry, type RuntimeFacts, WRAP } from './catalog.js';
import type { Code, Diagnostic } from './types.js';
import { compareVersions } from './versions.js';

export type { RuntimeFacts } from './catalog.js';

export const RUNTIMES = ['runc', 'crun', 'podman', 'containerd', 'cri-o'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** Versions whose wording differs, oldest first; the last one is the default. */
export const VERSIONS: Record<Runtime, string[]> = {
  runc: ['1.1'],
  crun: ['1.8', '1.21'],
  podman: ['4.3'],
  containerd: ['1.7'],
  'cri-o': ['1.36'],
};

export interface RuntimeChoice {
  runtime: Runtime;
  version: string;
}

export function parseRuntime(v: string): RuntimeChoice {
  const [name = '', version] = v.split('@');
  if (!(RUNTIMES as readonly string[]).includes(name)) throw new Error(`${RUNTIMES.join(', ')} (optionally @VERSION, e.g. crun@1.8)`);
  const known = VERSIONS[name as Runtime];
  if (version === undefined) return { runtime: name as Runtime, version: known[known.length - 1]! }; // every runtime has a wording
  // A version picks the newest wording at or below it: crun@1.15 speaks as 1.8.
  const fit = [...known].reverse().find((k) => compareVersions(k, version) <= 0);
  if (!fit) throw new Error(`${name} wordings are known from ${known[0]} on (${known.join(', ')})`);
  return { runtime: name as Runtime, version: fit };
}

/** The line `runtime` prints for this failure; null when it has none (warnings, or not its step). */
export function runtimeLine(f: RuntimeFacts, choice: RuntimeChoice): string | null {
  const words = (CATALOG[f.code] as Entry).runtimes;
  if (!words) return null;
  if (words.kubelet) return f.runc;
  const crun = (v: string) => (words.crun === 'loader' ? f.runc : words.crun ? words.crun(f, v) : null);
  if (words.engine && choice.runtime !== 'runc') return choice.runtime === 'crun' ? null : words.engine[choice.runtime](f);
  switch (choice.runtime) {
    case 'runc':
      return f.runc;
    case 'crun':
      return crun(choice.version);
    case 'podman': {
      const line = crun('1.8');
      return line && words.createTime ? WRAP.podman('crun', line) : line;
    }
    case 'containerd':
      return f.runc && words.createTime ? WRAP.containerd(f.runc) : f.runc;
    case 'cri-o': {
      const line = crun('1.21');
      return line && words.createTime ? WRAP['cri-o'](line) : line;
    }
  }
}

/** Every runtime's line, keyed as `--runtime` takes them (older wordings as NAME@VERSION). */
export function allRuntimeLines(f: RuntimeFacts): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const runtime of RUNTIMES) {
    const versions = VERSIONS[runtime];
    out[runtime] = runtimeLine(f, { runtime, version: versions[versions.length - 1]! }); // every runtime has a wording
    for (const v of versions.slice(0, -1)) out[`${runtime}@${v}`] = runtimeLine(f, { runtime, version: v });
  }
  return out;
}

/** The facts of a diagnostic in a launch (the report's and the container's). */
export function factsOf(d: Diagnostic, argv: string[], executable: string | null): RuntimeFacts {
  return {
    code: d.code,
    runc: d.runtimeError,
    argv0: d.code === 'shell-missing' ? (d.path ?? argv[0] ?? '') : (argv[0] ?? ''),
    executable: executable ?? d.path,
    directory: d.code === 'not-executable' && / is a directory/.test(d.message),
    noPasswd: d.code === 'user-missing' && / has no \/etc\/passwd/.test(d.evidence.join(' ')),
  };
}

/**
 * Adds every runtime's line to each diagnostic that has one, and puts the chosen
 * runtime's line in runtimeError (runc's stays when none is chosen).
 */
export function withRuntimeLines(ds: Diagnostic[], argv: string[], executable: string | null, choice?: RuntimeChoice): Diagnostic[] {
  return ds.map((d) => {
    if (d.runtimeError === null) return { ...d, runtimeErrors: null };
    const f = factsOf(d, argv, executable);
    return { ...d, runtimeError: choice ? runtimeLine(f, choice) : d.runtimeError, runtimeErrors: allRuntimeLines(f) };
  });
}

/** For `explain`: each runtime's words for a program /app (runc's lines as docker run printed them). */
export function exampleLines(code: Code): Record<string, string | null> | null {
  const runc = (CATALOG[code] as Entry).example;
  if (!runc) return null;
  const argv0 = code === 'shell-missing' ? '/bin/sh' : code === 'exec-not-in-path' ? 'app' : '/app';
  return allRuntimeLines({
    code,
    runc,
    argv0,
    executable: code === 'shell-missing' ? '/bin/sh' : '/app',
    directory: false,
    noPasswd: true,
  });
}

/**
 * Every runtime's words for the same failure. diagnose() writes runc's line (Docker's
 * default); this module turns a diagnostic's facts into the line each other runtime or
 * stack prints. Where each wording comes from:
 *
 * - runc 1.1 (Docker 20.10, Debian bookworm): recorded, test/container.test.ts and
 *   test/diagnose-engine.test.ts run them.
 * - crun 1.8.1 and podman 4.3.1 (Debian bookworm): recorded by
 *   fixtures/runtimes/podman-run.sh, test/runtimes.test.ts runs them live.
 * - crun >= 1.21: containers/crun 1.21 src/libcrun/utils.c (find_executable: "executable
 *   file `%s` not found%s", "the path `%s` exists but it is not executable", "the path `%s`
 *   is not a regular file") and src/libcrun/container.c ("exec container process
 *   (missing dynamic library?) `%s`", "exec container process `%s`"); crun_make_error
 *   appends ": " and strerror(errno). 1.20 still said "not found in $PATH" for every path.
 * - podman: containers/podman v4.3.1 libpod/oci_util.go getOCIRuntimeError ("NAME: MSG:
 *   OCI permission denied" / "…: OCI runtime attempted to invoke a command that was not
 *   found" / "…: OCI runtime error") and pkg/specgen/generate/oci.go (no command).
 * - containerd under kubelet (with runc): containerd v1.7.34 pkg/cri/server/
 *   container_start.go ("failed to create containerd task: %w") around the shim's error
 *   that Docker records too; pkg/cri/opts/spec_opts.go ("no command specified");
 *   oci/spec_opts.go WithUsername/UserFromPath ("no users found", or the failed open of
 *   /etc/passwd under a temporary mount: only the fixed tail is given).
 * - CRI-O under kubelet (default runtime crun): cri-o v1.36.3 internal/oci/runtime_oci.go
 *   ("container create failed: %s"), internal/factory/container/container.go ("no command
 *   specified"), utils/utils.go GetUserInfo ("get exec user: %w").
 *
 * - kubelet's runAsNonRoot refusals: kubernetes pkg/kubelet/kuberuntime/
 *   security_context_others.go verifyRunAsNonRoot (the same under every runtime).
 *
 * Adding a code is one entry in CRUN (and, for create-time failures, in CREATE_TIME).
 */
import type { Code, Diagnostic } from './types.js';

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

/** The facts a runtime's line is made of. */
export interface RuntimeFacts {
  code: Code;
  /** runc's line, as diagnose() words it (for the loader's lines: the loader's). */
  runc: string | null;
  /** argv[0] as given, and the file execve ran (after the PATH lookup), if found. */
  argv0: string;
  executable: string | null;
  /** not-executable: the path is a folder, not a file without an x bit. */
  directory: boolean;
  /** user-missing: the image has no /etc/passwd at all. */
  noPasswd: boolean;
}

export function parseRuntime(v: string): RuntimeChoice {
  const [name = '', version] = v.split('@');
  if (!(RUNTIMES as readonly string[]).includes(name)) throw new Error(`${RUNTIMES.join(', ')} (optionally @VERSION, e.g. crun@1.8)`);
  const known = VERSIONS[name as Runtime];
  if (version === undefined) return { runtime: name as Runtime, version: known[known.length - 1]! }; // every runtime has a wording
  // A version picks the newest wording at or below it: crun@1.15 speaks as 1.8.
  const fit = [...known].reverse().find((k) => compare(k, version) <= 0);
  if (!fit) throw new Error(`${name} wordings are known from ${known[0]} on (${known.join(', ')})`);
  return { runtime: name as Runtime, version: fit };
}

function compare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

const atLeast = (v: string, min: string) => compare(v, min) >= 0;

/** crun's own line for a failure it reports; null for what the engine decides before crun runs. */
type CrunLine = (f: RuntimeFacts, version: string) => string | null;
const notFound: CrunLine = (f, v) =>
  `executable file \`${f.argv0}\` not found${atLeast(v, '1.21') && f.argv0.startsWith('/') ? '' : ' in $PATH'}: No such file or directory`;
const execFailed = (f: RuntimeFacts, why: string) =>
  `exec container process${why === 'No such file or directory' ? ' (missing dynamic library?)' : ''} \`${f.executable ?? f.argv0}\`: ${why}`;

const CRUN: Record<Code, CrunLine | 'loader' | null> = {
  'user-missing': null,
  'no-command': null,
  'shell-missing': notFound,
  'exec-not-found': notFound,
  'hidden-by-mount': notFound,
  'exec-not-in-path': notFound,
  'not-executable': (f, v) =>
    atLeast(v, '1.21')
      ? f.directory
        ? `the path \`${f.argv0}\` is not a regular file: Operation not permitted`
        : `the path \`${f.argv0}\` exists but it is not executable: Operation not permitted`
      : `open executable: ${f.directory ? 'Operation not permitted' : 'Permission denied'}`,
  'exec-format': (f) => execFailed(f, 'Exec format error'),
  'interpreter-missing': (f) => execFailed(f, 'No such file or directory'),
  // `#!/usr/bin/env x` fails inside env, which prints its own line (runc's line is env's then).
  'shebang-interpreter-missing': (f) => (f.runc?.startsWith('exec ') ? execFailed(f, 'No such file or directory') : f.runc),
  'library-missing': 'loader',
  'symbol-version-missing': 'loader',
  'symbol-missing': 'loader',
  'static-glibc-nss': null,
  'ca-certificates-missing': null,
  'tmp-missing': null,
  'zoneinfo-missing': null,
  'go-cgo-enabled': null,
  'arch-mismatch': null,
  'shell-form-signals': null,
  'symbol-version-weak': null,
  'symbol-missing-lazy': null,
  'loader-limit': null,
  'elf-damaged': null,
  'layer-problem': null,
  'read-only-tmp': null,
  'non-numeric-user': null,
  'runs-as-root': null,
};

/** Refused by kubelet before any runtime runs: its words, whatever the runtime. */
const KUBELET = new Set<Code>(['non-numeric-user', 'runs-as-root']);

/** Failures the runtime reports while creating the container (not from the started process). */
const CREATE_TIME = new Set<Code>(['shell-missing', 'exec-not-found', 'hidden-by-mount', 'exec-not-in-path', 'not-executable']);

/** podman's wrapping of its OCI runtime's message (getOCIRuntimeError). */
function podmanWrap(name: string, msg: string): string {
  if (/permission denied|operation not permitted/i.test(msg)) return `Error: ${name}: ${msg}: OCI permission denied`;
  if (/executable file not found in|no such file or directory/i.test(msg))
    return `Error: ${name}: ${msg}: OCI runtime attempted to invoke a command that was not found`;
  return `Error: ${name}: ${msg}: OCI runtime error`;
}

/** The line `runtime` prints for this failure; null when it has none (warnings, or not its step). */
export function runtimeLine(f: RuntimeFacts, choice: RuntimeChoice): string | null {
  if (KUBELET.has(f.code)) return f.runc;
  const entry = CRUN[f.code];
  if (entry === null && f.code !== 'user-missing' && f.code !== 'no-command') return null;
  const crun = (v: string) => (entry === 'loader' ? f.runc : entry ? entry(f, v) : null);
  const created = CREATE_TIME.has(f.code);
  switch (choice.runtime) {
    case 'runc':
      return f.runc;
    case 'crun':
      return crun(choice.version);
    case 'podman': {
      if (f.code === 'user-missing') return f.runc && `Error: ${f.runc}`;
      if (f.code === 'no-command') return 'Error: no command or entrypoint provided, and no CMD or ENTRYPOINT from image';
      const line = crun('1.8');
      return line && created ? podmanWrap('crun', line) : line;
    }
    case 'containerd':
      if (f.code === 'user-missing') return f.noPasswd ? '/etc/passwd: no such file or directory' : 'no users found';
      if (f.code === 'no-command') return 'failed to generate spec: no command specified';
      return f.runc && created
        ? `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${f.runc}: unknown`
        : f.runc;
    case 'cri-o': {
      if (f.code === 'user-missing') return f.runc && `get exec user: ${f.runc}`;
      if (f.code === 'no-command') return 'no command specified';
      const line = crun('1.21');
      return line && created ? `container create failed: ${line}` : line;
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
const EXAMPLE_RUNC: Partial<Record<Code, string>> = {
  'user-missing': 'unable to find user nobody: no matching entries in passwd file',
  'no-command': 'No command specified',
  'shell-missing': 'exec: "/bin/sh": stat /bin/sh: no such file or directory',
  'exec-not-found': 'exec: "/app": stat /app: no such file or directory',
  'hidden-by-mount': 'exec: "/app": stat /app: no such file or directory',
  'exec-not-in-path': 'exec: "app": executable file not found in $PATH',
  'not-executable': 'exec: "/app": permission denied',
  'exec-format': 'exec /app: exec format error',
  'interpreter-missing': 'exec /app: no such file or directory',
  'shebang-interpreter-missing': 'exec /app: no such file or directory',
  'library-missing': '/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory',
  'symbol-version-missing': "/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app)",
};

export function exampleLines(code: Code): Record<string, string | null> | null {
  const runc = EXAMPLE_RUNC[code];
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

/**
 * Walks the image's command through the steps the runtime takes, in its order: USER,
 * the command, finding the executable, execve, the dynamic loader. The first error is
 * the one `docker run` will show; the walk goes on where it can so that every problem is
 * listed, then the warnings.
 */
import type { BinaryCatalog } from '../elf/catalog.js';
import { resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { type LoadResult, resolveProgram } from '../loader/index.js';
import { hostPlatform } from '../source/platform.js';
import { emulateExec } from './exec.js';
import { containerPath, lookPath } from './lookup.js';
import type { Diagnostic, Launch, LaunchStep, Verdict } from './types.js';
import { checkUser } from './user.js';
import { checkSymbols } from '../loader/symbols.js';
import { type LoaderFacts, symbolDiagnostics, versionDiagnostics } from './symbols.js';
import { archWarning, programWarnings } from './warnings.js';

export type * from './types.js';
export { ERROR_CODES, WARNING_CODES } from './types.js';

export interface DiagnoseOptions {
  /** Like `docker run --entrypoint`: replaces Entrypoint and drops the image's Cmd. */
  entrypoint?: string[];
  /** Like the arguments after the image name in `docker run`: replaces Cmd. */
  cmd?: string[];
}

export interface Diagnosis {
  launch: Launch;
  verdict: Verdict;
  diagnostics: Diagnostic[];
}

const SHELLS = /^\/?(usr\/)?(bin\/)?(sh|bash|ash|dash|zsh)$/;

function isShellForm(argv: string[]): boolean {
  return argv.length >= 3 && argv[1] === '-c' && SHELLS.test(argv[0] ?? '');
}

/** A later layer deleted this path (or a parent of it): say which, and what made it. */
function removedBy(model: ImageModel, path: string): string | null {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const l = model.layers[i];
    if (!l) continue;
    const hit = l.changes.changes.find((c) => c.kind === 'removed' && (path === c.path || path.startsWith(c.path + '/')));
    if (hit)
      return `layer ${i}${l.history?.createdBy ? ` (${l.history.createdBy.replace(/^\/bin\/sh -c (#\(nop\)\s*)?/, '').trim()})` : ''} deleted ${hit.path}`;
  }
  return null;
}

/** Files of that name anywhere in the image, for "did you mean". */
function findByName(model: ImageModel, name: string): string[] {
  const out: string[] = [];
  for (const [p, n] of model.tree.walk()) {
    if (p.endsWith('/' + name) && n.type !== 'dir') out.push(p);
    if (out.length >= 3) break;
  }
  return out;
}

export function diagnose(model: ImageModel, catalog: BinaryCatalog, opts: DiagnoseOptions = {}): Diagnosis {
  const config = model.config;
  const tree = model.tree;
  const env = config?.env ?? [];
  const cwd = config?.workingDir || '/';
  const hostArch = config?.architecture ?? hostPlatform().architecture;
  const diagnostics: Diagnostic[] = [];
  const steps: LaunchStep[] = [];
  const error = (d: Omit<Diagnostic, 'severity'>) => diagnostics.push({ severity: 'error', ...d });
  const nodeLayer = (p: string) => {
    const r = resolvePath(tree, p, { cwd, followLast: false });
    return r.ok ? r.node.layer : null;
  };

  // 1. USER
  const user = checkUser(tree, config?.user ?? '');
  steps.push({ step: 'user', ok: user.ok, detail: user.detail });
  if (!user.ok) {
    error({
      code: 'user-missing',
      message: `${user.detail}: the runtime cannot switch to a user it cannot look up`,
      path: user.file,
      layer: nodeLayer(user.file),
      runtimeError: user.runtimeError,
      fix: `Use numeric ids, which need no ${user.file}: USER 65532:65532; or COPY an ${user.file} that defines ${user.name} from the build stage.`,
      evidence: [user.detail],
    });
  }

  // 2. The command
  const entrypoint = opts.entrypoint ?? config?.entrypoint ?? [];
  const cmd = opts.cmd ?? (opts.entrypoint ? [] : (config?.cmd ?? []));
  const argv = [...entrypoint, ...cmd];
  const launch: Launch = { argv, executable: null, steps };
  const name = argv[0];
  if (name === undefined) {
    steps.push({ step: 'command', ok: false, detail: config ? 'no ENTRYPOINT and no CMD' : 'a plain root filesystem has no command' });
    error({
      code: 'no-command',
      message: config
        ? 'the image has neither ENTRYPOINT nor CMD, so there is nothing to run'
        : 'this is a plain root filesystem (no image config): there is no command to run',
      path: null,
      layer: null,
      runtimeError: 'No command specified',
      fix: 'Add ENTRYPOINT ["/app"] (exec form) to the Dockerfile, or give the command to docker run.',
      evidence: [],
    });
    return finish(launch, diagnostics, model);
  }
  const shellForm = isShellForm(argv);
  steps.push({
    step: 'command',
    ok: true,
    detail: `argv ${JSON.stringify(argv)}${shellForm ? ' (shell form: runs under /bin/sh -c)' : ''}`,
  });

  // 3. Finding the executable
  const found = lookPath(tree, name, env, cwd);
  if (!found.ok) {
    steps.push({ step: 'lookup', ok: false, detail: found.detail });
    const abs = name.includes('/') ? (name.startsWith('/') ? name : `${cwd}/${name}`) : null;
    const gone = abs ? removedBy(model, abs) : null;
    const dangling = abs ? resolvePath(tree, abs, { cwd, followLast: false }) : null;
    const isLink = dangling?.ok && dangling.node.type === 'symlink';
    if (found.reason === 'missing' && shellForm && SHELLS.test(name)) {
      error({
        code: 'shell-missing',
        message: `the command is in shell form, so the runtime starts ${name} -c "${argv.slice(2).join(' ')}", and the image has no ${name}`,
        path: name,
        layer: null,
        runtimeError: found.runtimeError,
        fix: `Use the exec form, which needs no shell: ${(opts.entrypoint ?? config?.entrypoint?.length) ? 'ENTRYPOINT' : 'CMD'} ${JSON.stringify(splitWords(argv[2] ?? ''))}`,
        evidence: [`argv ${JSON.stringify(argv)}`, found.detail],
      });
    } else if (found.reason === 'missing') {
      // the path itself (a dangling or looping link) is no "other place" to point at
      const elsewhere = abs ? findByName(model, abs.slice(abs.lastIndexOf('/') + 1)).filter((p) => p !== abs) : [];
      const followed = abs ? resolvePath(tree, abs, { cwd }) : null;
      const loop = followed !== null && !followed.ok && followed.reason === 'loop';
      const target = isLink ? dangling.node.linkTarget : null;
      error({
        code: 'exec-not-found',
        message: loop
          ? `${name} is a symlink that never reaches a file: its links lead round in a loop (${[...new Set(followed.links)].slice(0, 4).join(', ')})`
          : `${name} does not exist in the image${isLink ? ` (it is a symlink to ${target ?? '?'}, which does not exist)` : ''}${gone ? `: ${gone}` : ''}`,
        path: abs,
        layer: isLink ? dangling.node.layer : null,
        runtimeError: found.runtimeError,
        fix: gone
          ? `Do not delete it in a later step, or copy it again after that step.`
          : loop || isLink
            ? `Point the link ${abs} at the program's real path (or COPY the program itself to ${abs}).`
            : elsewhere.length
              ? `The image has ${elsewhere.join(', ')}: point ENTRYPOINT there, or COPY the program to ${abs}.`
              : `COPY the program to ${abs}: COPY --from=build /out/app ${abs} (check the name, its case, and the COPY destination).`,
        evidence: [found.detail, ...(gone ? [gone] : [])],
      });
    } else if (found.reason === 'not-in-path') {
      const elsewhere = findByName(model, name);
      const near = elsewhere[0];
      error({
        code: 'exec-not-in-path',
        message: `${name} is a bare name, so it is searched in PATH=${containerPath(env)}, and none of those folders has it`,
        path: null,
        layer: null,
        runtimeError: found.runtimeError,
        fix:
          near !== undefined
            ? `Use the full path: ENTRYPOINT ["${near}"], or add its folder to PATH: ENV PATH=${near.slice(0, near.lastIndexOf('/'))}:$PATH`
            : `Use the absolute path of the program in ENTRYPOINT, and make sure it is copied into the image.`,
        evidence: [found.detail, ...(elsewhere.length ? [`found elsewhere: ${elsewhere.join(', ')}`] : [])],
      });
    } else {
      error({
        code: 'not-executable',
        message:
          found.reason === 'directory'
            ? `${found.path} is a directory, not a program`
            : `${found.path} is not executable (${found.detail.replace(/^.*: /, '')})`,
        path: found.path,
        layer: found.node?.layer ?? null,
        runtimeError: found.runtimeError,
        fix:
          found.reason === 'directory'
            ? `Point ENTRYPOINT at the program inside ${found.path}.`
            : `Give it an execute bit: COPY --chmod=755 … ${found.path} (or chmod +x before COPY; mode bits are copied).`,
        evidence: [found.detail],
      });
    }
    return finish(launch, diagnostics, model);
  }
  launch.executable = found.path;
  steps.push({
    step: 'lookup',
    ok: true,
    detail: `found ${found.path}${found.real !== found.path ? ` -> ${found.real}` : ''}${found.links.length ? ` (${found.links.join(', ')})` : ''}`,
  });

  // 4. execve
  const ex = emulateExec({ tree, catalog, env, cwd, hostArch, user: user.credentials ?? undefined }, found.path, name);
  if (ex.failure) {
    const f = ex.failure;
    steps.push({ step: 'exec', ok: false, detail: [...ex.trace, f.message].join('; ') });
    error({
      code: f.code,
      message: f.message,
      path: f.path,
      layer: f.node?.layer ?? null,
      runtimeError: f.runtimeError,
      fix: f.fix,
      evidence: f.evidence,
    });
    // An ELF of another machine also gets its own warning, naming both architectures.
    const d = f.code === 'exec-format' && f.node ? catalog.of(f.node) : null;
    if (d?.ok && f.node) {
      const w = archWarning({ path: f.path, node: f.node, info: d.info, load: null }, config?.architecture ?? null);
      if (w) diagnostics.push(w);
    }
    return finish(launch, diagnostics, model, shellForm);
  }
  const prog = ex.program!;
  steps.push({ step: 'exec', ok: true, detail: ex.trace.join('; ') });

  // 5. The dynamic loader
  let load: LoadResult | null = null;
  if (prog.info.interpreter) {
    load = resolveProgram({ tree, catalog, env, cwd, user: user.credentials ?? undefined }, prog.path, prog.info);
    const musl = load.loader === 'musl';
    const missing = load.dependencies.filter((d) => d.error);
    for (const d of missing) {
      error({
        code: 'library-missing',
        message: d.errorPath
          ? `${d.requiredBy === prog.path ? prog.path : d.requiredBy} needs ${d.name}, and the first file of that name the loader meets, ${d.errorPath}, is not a library it can load (${d.error}): the search stops there`
          : `${d.requiredBy === prog.path ? prog.path : d.requiredBy} needs ${d.name}, and the loader cannot find it${d.skipped.length ? ` (skipped ${d.skipped.map((s) => `${s.path}: ${s.reason}`).join('; ')})` : ''}`,
        path: d.requiredBy === prog.path ? prog.path : d.requiredBy,
        layer: nodeLayer(d.requiredBy === prog.path ? prog.path : d.requiredBy),
        runtimeError: musl
          ? `Error loading shared library ${d.name}: ${d.error} (needed by ${d.requiredBy === prog.path ? found.path : d.requiredBy})`
          : `${prog.argv0}: error while loading shared libraries: ${d.errorPath ?? d.name}: ${d.error}`,
        fix: d.errorPath
          ? `Replace ${d.errorPath} with the real library file (a linker script, a text stub or a cut copy is not one), or remove it so the loader searches on.`
          : libraryFix(d.name, prog.info.go?.cgo ?? false, musl, findByName(model, d.name)),
        evidence: [`searched: ${d.searched.join(', ') || '(nowhere)'}`, ...d.skipped.map((s) => `skipped ${s.path}: ${s.reason}`)],
      });
    }
    // Versions, then the symbols themselves: glibc stops before binding when a library or a version is missing.
    const facts = loaderFacts(catalog, tree, prog, nodeLayer);
    diagnostics.push(...versionDiagnostics(load.versionProblems, facts));
    const glibcStopped = !musl && (missing.length > 0 || load.versionProblems.some((v) => !v.weak));
    const symbols = glibcStopped ? null : checkSymbols({ tree, env }, load, { argv0: prog.argv0, execPath: found.path });
    diagnostics.push(...symbolDiagnostics(symbols, facts));
    const unbound = symbols?.problems.filter((p) => p.when === 'load') ?? [];
    for (const limit of load.limits) {
      diagnostics.push({
        code: 'loader-limit',
        severity: 'warning',
        message: limit,
        path: prog.path,
        layer: prog.node.layer,
        runtimeError: null,
        fix: 'Check where the libraries come from: no real program needs this many.',
        evidence: [limit],
      });
    }
    const found_ = load.dependencies.filter((d) => !d.error).length;
    steps.push({
      step: 'loader',
      ok: missing.length === 0 && !load.versionProblems.some((v) => !v.weak) && unbound.length === 0,
      detail: `${load.loader} loader ${prog.info.interpreter}: ${found_} of ${load.dependencies.length} needed libraries found${missing.length ? `, missing ${[...new Set(missing.map((m) => m.name))].join(', ')}` : ''}${unbound.length ? `, unbound ${[...new Set(unbound.map((p) => p.symbol))].join(', ')}` : ''}`,
    });
  } else {
    steps.push({ step: 'loader', ok: true, detail: 'statically linked: no loader, no libraries' });
  }

  // Warnings about the program that runs
  const facts = { path: prog.path, node: prog.node, info: prog.info, load };
  const aw = archWarning(facts, config?.architecture ?? null);
  if (aw) diagnostics.push(aw);
  diagnostics.push(...programWarnings(tree, env, facts));
  if (prog.info.problems.length) {
    diagnostics.push({
      code: 'elf-damaged',
      severity: 'warning',
      message: `${prog.path} is damaged: ${prog.info.problems.join('; ')}`,
      path: prog.path,
      layer: prog.node.layer,
      runtimeError: null,
      fix: 'Copy an intact build of it into the image.',
      evidence: prog.info.problems,
    });
  }
  return finish(launch, diagnostics, model, shellForm);
}

function finish(launch: Launch, diagnostics: Diagnostic[], model: ImageModel, shellForm = false): Diagnosis {
  const verdict: Verdict = diagnostics.some((d) => d.severity === 'error') ? 'fails' : 'starts';
  // "exec prog" hands PID 1 to the program; anything else keeps the shell in between.
  const shell = launch.argv[0];
  const script = launch.argv[2];
  if (verdict === 'starts' && shellForm && shell !== undefined && script !== undefined && !/^\s*exec\s/.test(script)) {
    const simple = !/[;&|<>()`$\n]/.test(script);
    diagnostics.push({
      code: 'shell-form-signals',
      severity: 'warning',
      message: `the command runs under a shell: ${shell} is PID 1 and starts "${script}" as its child, which does not get the SIGTERM of docker stop${simple ? ' (unless the shell hands PID 1 over, as some do for a single simple command)' : ''}; the container is then killed after the 10 s grace period`,
      path: shell,
      layer: null,
      runtimeError: null,
      fix: `Use the exec form: ENTRYPOINT ${JSON.stringify(splitWords(script))} (or put exec in front of the command).`,
      evidence: [`argv ${JSON.stringify(launch.argv)}`],
    });
  }
  for (const l of model.layers) {
    for (const p of l.changes.problems) {
      diagnostics.push({
        code: 'layer-problem',
        severity: 'warning',
        message: `layer ${l.index}: ${p}`,
        path: null,
        layer: l.index,
        runtimeError: null,
        fix: 'Rebuild the layer; the archive that made it is inconsistent.',
        evidence: [],
      });
    }
  }
  // Errors first, in the order the runtime meets them (they were added in that order).
  const rank = { error: 0, warning: 1 } as const;
  diagnostics.sort((a, b) => rank[a.severity] - rank[b.severity]);
  return { launch, verdict, diagnostics };
}

function splitWords(s: string): string[] {
  return s.trim().split(/\s+/).filter(Boolean);
}

function libraryFix(name: string, cgo: boolean, musl: boolean, elsewhere: string[]): string {
  const near = elsewhere[0];
  if (near !== undefined) {
    const dir = near.slice(0, near.lastIndexOf('/')) || '/';
    return `The image has ${near}, in a folder the loader does not search: add ENV LD_LIBRARY_PATH=${dir}, or move it to /usr/lib${musl ? ` (or list ${dir} in /etc/ld-musl-ARCH.path)` : `, or add ${dir} to /etc/ld.so.conf and run ldconfig`}.`;
  }
  if (cgo)
    return `Build the Go program with CGO_ENABLED=0 so it needs no C library, or copy ${name} and its dependencies from the build stage.`;
  if (/^lib(c|m|pthread|dl|rt)\.so/.test(name) || name.startsWith('ld-')) {
    return musl
      ? 'Link statically with musl-gcc -static, or start FROM alpine.'
      : 'Link statically (gcc -static), or start FROM a glibc base (debian:bookworm-slim, gcr.io/distroless/base), or COPY --from=build the loader and libc.';
  }
  return `COPY --from=build the file that provides ${name} (ldd in the build stage shows its path) into a folder the loader searches, such as /usr/lib, or link it statically.`;
}

/** What the loader diagnostics need to know about the objects the program loads. */
function loaderFacts(
  catalog: BinaryCatalog,
  tree: ImageModel['tree'],
  prog: { path: string; argv0: string; info: { libc: string } },
  layerOf: (p: string) => number | null,
): LoaderFacts {
  const libcOf = (p: string) => {
    if (p === prog.path) return prog.info.libc;
    const r = resolvePath(tree, p);
    const d = r.ok ? catalog.of(r.node) : null;
    return d?.ok ? d.info.libc : null;
  };
  return { programPath: prog.path, argv0: prog.argv0, libcOf, layerOf };
}

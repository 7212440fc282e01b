/**
 * Walks the image's command through the steps the runtime takes, in its order: USER,
 * the command, finding the executable, execve, the dynamic loader (libraries, versions,
 * symbols). The first error is the one `docker run` will show; the walk goes on where it
 * can so that every problem is listed, then the warnings. Each step is its own module and
 * words its findings from the catalogue (catalog.ts).
 */
import type { BinaryCatalog } from '../elf/catalog.js';
import { resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { hostPlatform } from '../source/platform.js';
import { hostRuns } from '../loader/index.js';
import { CATALOG } from './catalog.js';
import { type Command, type CommandOptions, commandOf, commandStep, shellFormWarning } from './command.js';
import { type ExecContext, execStep } from './exec.js';
import { loaderStep } from './loader.js';
import { lookupStep } from './lookup.js';
import { initRun } from './init-program.js';
import { interpreterScriptStep } from './interpreter.js';
import { gosuRun, isGosu } from './gosu.js';
import { scriptReadStep } from './script.js';
import { stdlibStep } from './stdlib.js';
import { noScriptStep, scriptFileRun, scriptFileStep, scriptRun, silence } from './shell.js';
import { shellOf } from './shell-kind.js';
import type { Capabilities } from './capabilities.js';
import type { Diagnostic, Launch, LaunchStep, Read, StepResult, Verdict } from './types.js';
import { userStep } from './user.js';
import { archWarning, damageWarning, layerWarnings, programWarnings } from './warnings.js';

export type * from './types.js';
export { ERROR_CODES, WARNING_CODES, runtimeLines } from './types.js';

/**
 * What may override the image's command, as `docker run` can; and, for a container that was
 * run, what else it was given: capabilities, no_new_privs, and an environment known whole.
 */
export type DiagnoseOptions = CommandOptions & {
  capabilities?: Capabilities;
  noNewPrivs?: boolean;
  envComplete?: boolean;
  /** The image is to run on this machine (inspect, check, the explorer; not with --platform): another architecture is named. */
  onThisMachine?: boolean;
};

export interface Diagnosis {
  launch: Launch;
  verdict: Verdict;
  diagnostics: Diagnostic[];
  /** The program a shell-form command's script (or an init program such as tini, or env) runs, as the shell finds it; `shell` is the one that runs it. The last of `hops`. */
  script: { shell: string; path: string } | null;
  /** Each program run in turn by the one before it, from the command's own (a shell's script's, then the init program it names…). The closure follows them too. */
  hops: Hop[];
}

/** A program another one runs: `runner` as the command names it, `path` the file it found, `env` the environment it gets. */
export interface Hop {
  runner: string;
  path: string;
  env: string[];
  /** Files the runner reads to get going: the user database it switches users with (gosu), the script file a shell is given. */
  reads: Read[];
}

/** Programs that run programs, followed at most this deep (sh -c "exec tini -- env A=1 /app" is four). */
const MAX_HOPS = 8;

export function diagnose(model: ImageModel, catalog: BinaryCatalog, opts: DiagnoseOptions = {}): Diagnosis {
  const config = model.config;
  const tree = model.tree;
  const env = config?.env ?? [];
  const cwd = config?.workingDir || '/';
  const diagnostics: Diagnostic[] = [];
  const steps: LaunchStep[] = [];
  /** Records a step; true when the launch gets past it. */
  const take = (r: StepResult) => {
    steps.push(r.step);
    diagnostics.push(...r.findings);
    return r.step.ok;
  };
  const layerOf = (p: string) => {
    const r = resolvePath(tree, p, { cwd, followLast: false });
    return r.ok ? r.node.layer : null;
  };

  const foreign = opts.onThisMachine ? foreignPlatform(config?.architecture ?? null) : null;
  if (foreign) diagnostics.push(foreign);
  const user = userStep(tree, config?.user ?? '', layerOf);
  take(user);
  const command = commandStep(config, opts);
  const launch: Launch = { argv: command.argv, executable: null, steps };
  if (!take(command)) return finish(launch, diagnostics, model);
  // the engine makes the working folder when it creates the container, before the user is looked up
  const workdir = workdirProblem(tree, config?.workingDir ?? '', layerOf);
  if (workdir) diagnostics.unshift(workdir);
  const lookup = lookupStep(model, command, env, cwd, user.user.credentials ?? undefined);
  if (!take(lookup) || !lookup.found) return finish(launch, diagnostics, model);
  launch.executable = lookup.found.path;
  const ctx: ExecContext = {
    tree,
    catalog,
    env,
    cwd,
    hostArch: config?.architecture ?? hostPlatform().architecture,
    user: user.user.credentials ?? undefined,
    ...(opts.capabilities ? { capabilities: opts.capabilities } : {}),
    ...(opts.noNewPrivs ? { noNewPrivs: true } : {}),
    ...(opts.envComplete ? { envComplete: true } : {}),
  };
  const configArch = config?.architecture ?? null;
  const exec = execStep(ctx, lookup.found.path, command.argv[0] ?? '', configArch);
  if (!take(exec) || !exec.program) return finish(launch, diagnostics, model, command);
  let prog = exec.program;
  const loader = loaderStep(model, ctx, prog, lookup.found.path, layerOf);
  let load = loader.load;
  // a #! script's interpreter reads the script
  const read = take(loader) ? scriptReadStep(ctx, exec) : null;
  const started = loader.step.ok && (read === null || take(read));
  // The program may run another in turn (a shell its script's, an init program or env the
  // rest of the command), and that one another: each is followed as its runner finds it.
  const hops: Hop[] = [];
  let at: { command: Command; path: string; ctx: ExecContext; scripts: string[] } | null = started
    ? { command, path: lookup.found.path, ctx, scripts: exec.scripts }
    : null;
  let quiet = false;
  for (let depth = 0; at && depth < MAX_HOPS; depth++) {
    const { command: cmd, path, ctx: here, scripts } = at;
    at = null;
    if (cmd.noScript) {
      const r = noScriptStep(here, cmd, path);
      if (quiet) silence([r]);
      take(r);
      break;
    }
    let run: ReturnType<typeof scriptRun> | ReturnType<typeof initRun> | ReturnType<typeof gosuRun>;
    if (cmd.scriptFile !== null) {
      // the shell reads a script file, and runs the command it ends with (when it is a plain one)
      const { result, file } = scriptFileStep(here, cmd, path);
      if (quiet) silence([result]);
      if (!take(result) || !file) break;
      hops.push({ runner: cmd.argv[0] ?? path, path, env: here.env, reads: [{ path: file, role: 'script' }] });
      run = scriptFileRun(model, here, cmd, path, file, cmd.scriptFile, cmd.scriptArgs, cmd.scriptOptions, configArch, layerOf);
    } else if (scripts.length === 1 && !cmd.shellForm && shebangShell(here, prog)) {
      // a #! script of a shell (docker-entrypoint.sh): the kernel ran the shell on it, named as it was found
      const script = scripts[0]!;
      const shellCmd = commandOf([prog.path, script, ...cmd.argv.slice(1)], command.keyword);
      run = scriptFileRun(model, here, shellCmd, prog.path, script, path, cmd.argv.slice(1), 'shebang', configArch, layerOf);
    } else {
      // python finds its standard library first; then python or node given a script opens it
      // (and what the script does is not followed)
      const opened = cmd.shellForm
        ? null
        : (stdlibStep(here, prog.path, cmd.argv[0] ?? prog.path) ?? interpreterScriptStep(here, cmd, path));
      if (opened) {
        if (quiet) silence([opened]);
        take(opened);
        break;
      }
      run = cmd.shellForm
        ? scriptRun(model, here, cmd, path, configArch, layerOf)
        : isGosu(resolvedPath(here, path)) || isGosu(cmd.argv[0] ?? '')
          ? gosuRun(model, here, cmd, configArch, layerOf)
          : initRun(model, here, cmd, path, configArch, layerOf);
    }
    if (!run) break;
    if (quiet) silence(run.results); // a script's /dev/null holds for what it runs
    quiet ||= 'quiet' in run && run.quiet === true;
    const ok = run.results.every(take);
    if (run.path) {
      const reads = 'reads' in run ? (run.reads ?? []) : [];
      hops.push({ runner: 'shell' in run ? run.shell : run.init, path: run.path, env: run.child?.ctx.env ?? here.env, reads });
    }
    if (run.program) [prog, load] = [run.program, run.load];
    if (ok && run.child && run.path) {
      const next = commandOf(run.child.argv, command.keyword);
      at = { command: next, path: run.path, ctx: run.child.ctx, scripts: 'scripts' in run ? (run.scripts ?? []) : [] };
    }
  }

  // Warnings about the program that runs
  const facts = { path: prog.path, node: prog.node, info: prog.info, load };
  const aw = archWarning(facts, configArch);
  if (aw) diagnostics.push(aw);
  diagnostics.push(...programWarnings(tree, env, facts));
  const damaged = damageWarning(facts);
  if (damaged) diagnostics.push(damaged);
  return finish(launch, diagnostics, model, command, hops);
}

/**
 * WORKDIR where a file is in the way: the engine makes the folder (moby's SetupWorkingDirectory,
 * MkdirAll through the image's links) and fails. A folder that is missing is made, and fine.
 */
function workdirProblem(tree: ImageModel['tree'], workdir: string, layerOf: (p: string) => number | null): Diagnostic | null {
  if (!workdir) return null;
  const r = resolvePath(tree, workdir);
  const whole = r.ok && !r.node.children;
  if (!whole && (r.ok || r.reason !== 'not-a-directory')) return null;
  const text = CATALOG['workdir-not-dir'];
  const at = r.ok ? r.path : r.at;
  return {
    code: 'workdir-not-dir',
    severity: 'error',
    message: text.message(workdir, `${at} is a ${r.ok ? r.node.type : 'file'}, not a folder`),
    path: at,
    layer: layerOf(at),
    // under a file, the engine names the path on the host ("lstat /var/lib/docker/…/app/sub: not a directory")
    runtimeError: whole ? text.runc(workdir) : null,
    fix: text.fix(workdir),
    evidence: [`WORKDIR ${workdir}`, ...(r.links.length ? [`links: ${r.links.join(', ')}`] : [])],
  };
}

/** The warning for an image of an architecture this machine does not run (amd64 runs 386 itself), else null. */
function foreignPlatform(configArch: string | null): Diagnostic | null {
  const host = hostPlatform().architecture;
  if (!configArch || hostRuns(host, configArch)) return null;
  const text = CATALOG['foreign-platform'];
  return {
    code: 'foreign-platform',
    severity: 'warning',
    message: text.message(`linux/${configArch}`, `linux/${host}`),
    path: null,
    layer: null,
    runtimeError: null,
    fix: text.fix(configArch, host),
    evidence: [`config architecture ${configArch}`, `this machine ${host}`],
  };
}

/** Whether the program a #! line started is a shell known here (busybox, dash, bash). */
function shebangShell(ctx: ExecContext, prog: { path: string }): boolean {
  const r = resolvePath(ctx.tree, prog.path, { cwd: ctx.cwd });
  return r.ok && shellOf(r.node, r.path).kind !== null;
}

/** The file a path names, its links followed (the path itself when it names none). */
function resolvedPath(ctx: ExecContext, path: string): string {
  const r = resolvePath(ctx.tree, path, { cwd: ctx.cwd });
  return r.ok ? r.path : path;
}

function finish(launch: Launch, diagnostics: Diagnostic[], model: ImageModel, command: Command | null = null, hops: Hop[] = []): Diagnosis {
  const verdict: Verdict = diagnostics.some((d) => d.severity === 'error') ? 'fails' : 'starts';
  const signals = verdict === 'starts' && command?.script != null ? shellFormWarning(launch.argv, command.keyword, command.script) : null;
  if (signals) diagnostics.push(signals);
  diagnostics.push(...layerWarnings(model.layers));
  // Errors first, in the order the runtime meets them (they were added in that order).
  const rank = { error: 0, warning: 1 } as const;
  diagnostics.sort((a, b) => rank[a.severity] - rank[b.severity]);
  const last = hops.at(-1);
  return { launch, verdict, diagnostics, script: last ? { shell: last.runner, path: last.path } : null, hops };
}

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
import { type Command, type CommandOptions, commandStep, shellFormWarning } from './command.js';
import { type ExecContext, execStep } from './exec.js';
import { loaderStep } from './loader.js';
import { lookupStep } from './lookup.js';
import { initRun } from './init-program.js';
import { scriptReadStep } from './script.js';
import { noScriptStep, scriptRun } from './shell.js';
import type { Diagnostic, Launch, LaunchStep, StepResult, Verdict } from './types.js';
import { userStep } from './user.js';
import { archWarning, damageWarning, layerWarnings, programWarnings } from './warnings.js';

export type * from './types.js';
export { ERROR_CODES, WARNING_CODES, runtimeLines } from './types.js';

/** What may override the image's command, as `docker run` can. */
export type DiagnoseOptions = CommandOptions;

export interface Diagnosis {
  launch: Launch;
  verdict: Verdict;
  diagnostics: Diagnostic[];
  /** The program a shell-form command's script (or an init program such as tini) runs, as the shell finds it; `shell` is the one that runs it. The closure follows it too. */
  script: { shell: string; path: string } | null;
}

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

  const user = userStep(tree, config?.user ?? '', layerOf);
  take(user);
  const command = commandStep(config, opts);
  const launch: Launch = { argv: command.argv, executable: null, steps };
  if (!take(command)) return finish(launch, diagnostics, model);
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
  };
  const configArch = config?.architecture ?? null;
  const exec = execStep(ctx, lookup.found.path, command.argv[0] ?? '', configArch);
  if (!take(exec) || !exec.program) return finish(launch, diagnostics, model, command);
  let prog = exec.program;
  const loader = loaderStep(model, ctx, prog, lookup.found.path, layerOf);
  let load = loader.load;
  // a #! script's interpreter reads the script; a shell-form command's shell runs the script's program in turn
  const read = take(loader) ? scriptReadStep(ctx, exec) : null;
  const started =
    loader.step.ok && (read === null || take(read)) && (!command.noScript || take(noScriptStep(ctx, command, lookup.found.path)));
  const script = !started
    ? null
    : command.shellForm
      ? scriptRun(model, ctx, command, lookup.found.path, configArch, layerOf)
      : initRun(model, ctx, command, lookup.found.path, configArch, layerOf);
  if (script) {
    for (const r of script.results) if (!take(r)) break;
    if (script.program) [prog, load] = [script.program, script.load];
  }

  // Warnings about the program that runs
  const facts = { path: prog.path, node: prog.node, info: prog.info, load };
  const aw = archWarning(facts, configArch);
  if (aw) diagnostics.push(aw);
  diagnostics.push(...programWarnings(tree, env, facts));
  const damaged = damageWarning(facts);
  if (damaged) diagnostics.push(damaged);
  const found = script?.path ? { shell: 'shell' in script ? script.shell : script.init, path: script.path } : null;
  return finish(launch, diagnostics, model, command, found);
}

function finish(
  launch: Launch,
  diagnostics: Diagnostic[],
  model: ImageModel,
  command: Command | null = null,
  script: Diagnosis['script'] = null,
): Diagnosis {
  const verdict: Verdict = diagnostics.some((d) => d.severity === 'error') ? 'fails' : 'starts';
  const signals = verdict === 'starts' && command?.script != null ? shellFormWarning(launch.argv, command.keyword, command.script) : null;
  if (signals) diagnostics.push(signals);
  diagnostics.push(...layerWarnings(model.layers));
  // Errors first, in the order the runtime meets them (they were added in that order).
  const rank = { error: 0, warning: 1 } as const;
  diagnostics.sort((a, b) => rank[a.severity] - rank[b.severity]);
  return { launch, verdict, diagnostics, script };
}

/**
 * gosu as the command (ENTRYPOINT ["gosu", "app", "/app"]): it switches to the user it is
 * given, looked up in the image's /etc/passwd and /etc/group as runc looks USER up (the same
 * Go library), then finds the program as Go's exec.LookPath does and execs it once, as that
 * user. Its failures are its own lines ("error: exec: \"/app\": stat /app: no such file or
 * directory", "error: failed switching to \"app\": …"), checked against Debian's gosu under
 * docker (fixtures/diagnose/cases/gosu-*).
 */
import type { ImageModel } from '../load.js';
import { CATALOG } from './catalog.js';
import type { Command } from './command.js';
import { type ExecContext, type ExecStep, execErrno, execStep } from './exec.js';
import { type InitRun, stoppedRun } from './init-program.js';
import { loaderStep } from './loader.js';
import { lookupStep } from './lookup.js';
import { scriptReadStep } from './script.js';
import type { Diagnostic, StepResult } from './types.js';
import { checkUser } from './user.js';

/** Whether a file is gosu, by its name (release downloads keep theirs: gosu-amd64). */
export function isGosu(path: string): boolean {
  return /^gosu([-_].*)?$/.test(path.slice(path.lastIndexOf('/') + 1));
}

/** The files a user spec is looked up in, as the runtime's USER is: a name in passwd, then its groups (or a named group) in group. */
function userFiles(spec: string): string[] {
  const [name = '', group] = spec.split(':', 2);
  if (/^\d+$/.test(name)) return [];
  return group === undefined || !/^\d+$/.test(group) ? ['/etc/passwd', '/etc/group'] : ['/etc/passwd'];
}

/** The steps of the program gosu runs. */
export function gosuRun(
  model: ImageModel,
  ctx: ExecContext,
  command: Command,
  configArch: string | null,
  layerOf: (path: string) => number | null,
): InitRun {
  const init = command.argv[0] ?? 'gosu';
  const text = CATALOG['init-command-fails'];
  const [spec, ...argv] = command.argv.slice(1);
  const under = (r: StepResult): StepResult => ({ ...r, step: { ...r.step, detail: `under ${init}: ${r.step.detail}` } });
  const stop = (step: StepResult['step'], finding: Diagnostic): InitRun => ({
    init,
    path: null,
    results: [{ step, findings: [finding] }],
    program: null,
    load: null,
  });
  const base = { severity: 'error' as const, code: 'init-command-fails' as const, evidence: [`argv ${JSON.stringify(command.argv)}`] };
  if (spec === undefined || argv.length === 0) {
    // fewer than two words: it prints its usage, and exits 1
    return stop(
      { step: 'lookup', ok: false, detail: `under ${init}: no program` },
      { ...base, message: text.messageNoProgram(init), path: null, layer: null, runtimeError: null, fix: text.fixGosu(init) },
    );
  }
  const switching = (why: string) => `error: failed switching to ${JSON.stringify(spec)}: ${why}`;
  const user = checkUser(ctx.tree, spec);
  if (!user.ok || !user.credentials) {
    return stop(
      { step: 'user', ok: false, detail: `under ${init}: ${user.detail}` },
      {
        ...base,
        message: text.messageGosuUser(init, spec, user.detail.replace(/^USER [^:]*(:[^:]*)?: /, '')),
        path: user.file,
        layer: null,
        runtimeError: user.runtimeError === null ? null : switching(user.runtimeError),
        fix: text.fixGosuUser(init, user.file),
      },
    );
  }
  // it looks the user up first; then setgroups and setuid, which need root
  if (ctx.user && ctx.user.uid !== 0) {
    return stop(
      { step: 'user', ok: false, detail: `under ${init}: uid ${ctx.user.uid} may not switch users` },
      {
        ...base,
        message: text.messageGosuNotRoot(init, spec, ctx.user.uid),
        path: null,
        layer: null,
        runtimeError: switching('operation not permitted'),
        fix: text.fixGosuNotRoot(init),
      },
    );
  }
  const child: ExecContext = { ...ctx, user: user.credentials };
  const word = argv[0]!;
  const asWritten: Command = { ...command, argv, shellForm: false, script: null, shellName: null, noScript: false };
  /** The finding that stops the run: gosu's line, the cause's message and fix. */
  const failed = (result: StepResult, line: string | null, found: string | null): InitRun => {
    const [cause] = result.findings.filter((d) => d.severity === 'error');
    const finding: Diagnostic = {
      ...base,
      message: text.message(init, word, cause?.message ?? 'it cannot be run'),
      path: cause?.path ?? null,
      layer: cause?.layer ?? null,
      runtimeError: line,
      fix: cause?.fix ?? text.fix,
      evidence: [`${init} runs ${JSON.stringify(argv)} as ${spec}`, ...(cause?.evidence ?? [])],
      ...(cause ? { cause: cause.code } : {}),
    };
    return stoppedRun(init, found, result, finding);
  };
  // exec.LookPath as the new user: its error is the one runc would print for the same lookup
  const lookup = lookupStep(model, asWritten, ctx.env, ctx.cwd, user.credentials);
  if (!lookup.found) {
    const [cause] = lookup.findings.filter((d) => d.severity === 'error');
    return failed(lookup, cause?.runtimeError ? `error: ${cause.runtimeError}` : null, null);
  }
  const path = lookup.found.path;
  const ex: ExecStep = execStep(child, path, word, configArch);
  if (ex.failure) {
    // env's own line when #!/usr/bin/env found nothing; else the errno of syscall.Exec
    const line = ex.failure.byEnv ? ex.failure.runtimeError : `error: exec failed: ${execErrno(ex.failure)}`;
    return failed(ex, line, path);
  }
  const found: StepResult = { step: { step: 'lookup', ok: true, detail: `under ${init}: found ${path}` }, findings: [] };
  if (!ex.program) return { init, path, results: [found, under(ex)], program: null, load: null };
  const loader = loaderStep(model, child, ex.program, path, layerOf);
  const read = scriptReadStep(child, ex);
  return {
    init,
    path,
    results: [found, under(ex), under(loader), ...(read ? [under(read)] : [])],
    program: ex.program,
    load: loader.load,
    child: { argv, ctx: child },
    reads: userFiles(spec).map((path) => ({ path, role: 'user-database' as const })),
    scripts: ex.scripts,
  };
}

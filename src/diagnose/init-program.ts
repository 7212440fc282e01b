/**
 * An init program as the command (ENTRYPOINT ["/tini", "--"], ["dumb-init", …]), or env
 * (["/usr/bin/env", "python3", "app.py"]): the runtime starts it, and it runs the rest of the
 * command with execvp (env in its own place, after its assignments). When the init
 * program gets going, the child goes through the same steps as glibc's execvp takes them:
 * each PATH entry in turn (ENOENT and ENOTDIR go on, EACCES is remembered and the search goes
 * on, another errno stops it), execve, the loader. A failure execvp meets is printed by the
 * init program in its own words (checked against the real ones in test/init-program.test.ts).
 */
import { resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { containerPath, findExecutable, lookupErrno, lookupStep, pathCandidates, shutOnTheWay } from './lookup.js';
import { type ExecContext, type ExecStep, execErrno, execStep } from './exec.js';
import { type LoaderStep, loaderStep } from './loader.js';
import { scriptReadStep } from './script.js';
import { shellOf } from './shell-kind.js';
import { suExecSwitch } from './su-exec.js';
import { CATALOG, cQuote } from './catalog.js';
import type { Command } from './command.js';
import type { Diagnostic, Read, StepResult } from './types.js';
import { envValue } from '../source/config.js';

export type InitKind = 'tini' | 'dumb-init' | 'env' | 'su-exec';

/** Which init program a file is, by its name (release downloads keep theirs: tini-static-amd64, dumb-init_1.2.5_x86_64). */
export function initKind(path: string): InitKind | null {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (/^(tini|docker-init)([-_].*)?$/.test(base)) return 'tini';
  if (/^dumb-init([-_].*)?$/.test(base)) return 'dumb-init';
  if (base === 'env') return 'env';
  if (/^su-exec([-_].*)?$/.test(base)) return 'su-exec';
  return null;
}

/**
 * What env runs, and the environment it runs it with: its options (-i or a lone "-" empties
 * the environment, -u NAME unsets one; "--" ends them), then every word with "=" in it is an
 * assignment, and the next word is the program (GNU's env and busybox's alike). GNU's also
 * takes -S STRING (its words go where it stood, read as options again), -C DIR, -v and the
 * signal options, which change nothing of what it runs; busybox's knows none of them. Null
 * when it runs nothing (it prints the environment and exits 0), or when an option's effect
 * is not followed here (-S with quotes, escapes or $, -C with a relative program path).
 */
export function envChild(given: string[], env: string[], gnu = true): { argv: string[]; env: string[] } | { error: string } | null {
  let args = given;
  let chdir = false;
  let splits = 0;
  // the names unset, applied once the options end: a filter per -u is quadratic in a config's words
  let cleared = false;
  const unsetNames = new Set<string>();
  // GNU env refuses to unset a name with "=" or none (exit 125); busybox's goes on
  const unset = (name: string) => {
    if (gnu && (name === '' || name.includes('='))) return `cannot unset ${cQuote(name)}: Invalid argument`;
    unsetNames.add(name);
    return null;
  };
  // -0 refuses a command: a word after it that is no assignment (the last such word, found once
  // per list of words)
  const lastBareOf = (words: string[]) => {
    for (let k = words.length - 1; k >= 0; k--) if (!words[k]!.includes('=')) return k;
    return -1;
  };
  let lastBare = lastBareOf(args);
  let i = 0;
  // -C DIR; -S STRING: its words go after the word at i (false: not followed)
  const takes = (option: 'C' | 'S', value: string): boolean => {
    if (option === 'C') {
      chdir = true;
      return true;
    }
    const words = splitString(value);
    // each -S copies the words: a config of thousands of them is not followed (real ones have one)
    if (words === null || ++splits > MAX_SPLITS) return false;
    args = [...args.slice(0, i + 1), ...words, ...args.slice(i + 1)];
    lastBare = lastBareOf(args);
    return true;
  };
  options: for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a === '-') break; // an operand: below
    const long = /^--(split-string|chdir)(?:=(.*))?$/s.exec(a);
    if (a === '--ignore-environment') cleared = true;
    else if (gnu && long) {
      const value = long[2] ?? args[++i];
      if (value === undefined) return { error: `option '--${long[1]}' requires an argument` };
      if (!takes(long[1] === 'chdir' ? 'C' : 'S', value)) return null;
    } else if (gnu && /^--(debug|list-signal-handling|(ignore|default|block)-signal(=.*)?)$/s.test(a)) continue;
    else if (a.startsWith('--unset=') || a === '--unset') {
      const name = a === '--unset' ? args[++i] : a.slice('--unset='.length);
      if (name === undefined) return { error: "option '--unset' requires an argument" };
      const refused = unset(name);
      if (refused) return { error: refused };
    } else if (/^-[^-]/.test(a)) {
      for (let j = 1; j < a.length; j++) {
        const f = a[j]!;
        if (f === 'i') cleared = true;
        else if (f === 'u') {
          const name = j < a.length - 1 ? a.slice(j + 1) : args[++i];
          if (name === undefined) return { error: "option requires an argument -- 'u'" };
          const refused = unset(name);
          if (refused) return { error: refused };
          continue options;
        } else if (f === '0') {
          if (gnu && lastBare > i) return { error: 'cannot specify --null (-0) with command' };
        } else if (gnu && (f === 'S' || f === 'C')) {
          const value = j < a.length - 1 ? a.slice(j + 1) : args[++i];
          if (value === undefined) return { error: `option requires an argument -- '${f}'` };
          if (!takes(f, value)) return null;
          continue options;
        } else if (gnu && f === 'v') continue;
        else return { error: `invalid option -- ${cQuote(f)}` };
      }
    } else if (a.startsWith('--')) return null;
    else break;
  }
  // a lone "-" as the first word after the options empties the environment, as -i
  if (args[i] === '-') {
    cleared = true;
    i++;
  }
  const kept = (e: string) => {
    const eq = e.indexOf('=');
    return eq === -1 || !unsetNames.has(e.slice(0, eq));
  };
  const vars = cleared ? [] : unsetNames.size === 0 ? [...env] : env.filter(kept);
  for (; i < args.length && args[i]!.includes('='); i++) vars.push(args[i]!);
  // -C: a program named relative to the folder it enters is not followed
  if (chdir && args[i]?.includes('/') && !args[i]!.startsWith('/')) return null;
  return i < args.length ? { argv: args.slice(i), env: vars } : null;
}

/** -S options followed in one command. */
const MAX_SPLITS = 16;

/** GNU env's -S string as words, when it is plain words apart (no quotes, escapes, $ or #): else null, not followed. */
function splitString(value: string): string[] | null {
  if (/[\\'"$#]/.test(value)) return null;
  return value.split(/[ \t\n\v\f\r]+/).filter((w) => w !== '');
}

/**
 * The child's argv: what follows the init program's options (getopt stops at the first word
 * that is not one; "--" ends them), empty when none is given. Null when an option is not one
 * known here, or one that makes it print and exit (-h, -V).
 */
export function childArgv(kind: InitKind, args: string[]): string[] | null {
  // su-exec USER-SPEC PROGRAM…: no options; fewer words, and it prints its usage
  if (kind === 'su-exec') return args.length < 2 ? [] : args.slice(1);
  // tini: -s -v -w -g -l, -e CODE, -p SIGNAL; dumb-init: -c -v, -r s:r (and their long names)
  const [flags, withArg] = kind === 'tini' ? ['svwg', 'ep'] : ['cv', 'r'];
  const long = kind === 'dumb-init' ? new Set(['--single-child', '--verbose']) : new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args.slice(i + 1);
    if (!a.startsWith('-') || a === '-') return args.slice(i);
    if (long.has(a)) continue;
    if (kind === 'dumb-init' && a.startsWith('--rewrite')) {
      if (a === '--rewrite') i++;
      continue;
    }
    if (a.startsWith('--')) return null;
    for (let j = 1; j < a.length; j++) {
      const f = a[j]!;
      if (withArg.includes(f)) {
        if (j === a.length - 1) i++; // its argument is the next word
        break;
      }
      if (!flags.includes(f)) return null;
    }
  }
  return []; // no program: the init program prints its usage, and exits 1
}

/**
 * The init program's line when execvp fails; tini's PID (the child's) varies, so only what
 * follows it. env: GNU's names itself as it was called and quotes the name as coreutils does
 * in the C locale; busybox's says "env" and "can't execute".
 */
export function initLine(kind: InitKind, name: string, why: string, argv0 = 'env', busybox = false): string {
  const errno = why.charAt(0).toUpperCase() + why.slice(1);
  if (kind === 'env') return busybox ? `env: can't execute '${name}': ${errno}` : `${argv0}: ${cQuote(name)}: ${errno}`;
  if (kind === 'su-exec') return `${argv0.slice(argv0.lastIndexOf('/') + 1)}: ${name}: ${errno}`; // err(3): its own name, then execvp's
  return kind === 'tini' ? `exec ${name} failed: ${errno}` : `[dumb-init] ${name}: ${errno}`;
}

export interface InitRun {
  init: string;
  path: string | null;
  results: StepResult[];
  program: NonNullable<ExecStep['program']> | null;
  load: LoaderStep['load'];
  /** The program's argv and context (env's environment), when it starts: it may run another in turn. */
  child?: { argv: string[]; ctx: ExecContext };
  /** The user database it reads (gosu switching to a name). */
  reads?: Read[];
  /** The #! scripts on the way to the program it runs (a shell's script is followed in turn). */
  scripts?: string[];
}

/** busybox applets that run a program in turn: followed as the next hop when busybox runs them itself. */
export const RUNNER_APPLETS = new Set(['env', 'sh', 'ash']);

const ENOENT = 'no such file or directory';
const ENOTDIR = 'not a directory';
const EACCES = 'permission denied';

/** GNU env refusing its options (exit 125, before it runs anything); busybox's reads them its own way: not followed. */
function envRefuses(resolved: ReturnType<typeof resolvePath>, command: Command, init: string, error: string): InitRun | null {
  // getopt's own complaints come with a pointer to --help; busybox's env prints its usage instead
  const getopt = /^(invalid option|option .*requires an argument)/.test(error);
  const busybox = resolved.ok && shellOf(resolved.node, resolved.path).kind === 'busybox';
  const text = CATALOG['init-command-fails'];
  const finding: Diagnostic = {
    severity: 'error',
    code: 'init-command-fails',
    message: text.messageEnvOptions(init, error),
    path: null,
    layer: null,
    runtimeError: busybox
      ? null
      : `${init}: ${error}${getopt || error.startsWith('cannot specify') ? `\nTry '${init} --help' for more information.` : ''}`,
    fix: text.fixEnvOptions(init),
    evidence: [`argv ${JSON.stringify(command.argv)}`],
  };
  return {
    init,
    path: null,
    results: [{ step: { step: 'lookup', ok: false, detail: `under ${init}: ${error}` }, findings: [finding] }],
    program: null,
    load: null,
  };
}

/** The steps of the program an init program runs, or null when the command is not an init program's. */
export function initRun(
  model: ImageModel,
  ctx: ExecContext,
  command: Command,
  initPath: string,
  configArch: string | null,
  layerOf: (path: string) => number | null,
): InitRun | null {
  const resolved = resolvePath(ctx.tree, initPath, { cwd: ctx.cwd });
  // `busybox env …`: the applet by its name as the first word
  const applet = /^busybox/.test((resolved.ok ? resolved.path : initPath).replace(/^.*\//, '')) && command.argv[1] === 'env';
  const kind = applet ? 'env' : (initKind(resolved.ok ? resolved.path : initPath) ?? initKind(command.argv[0] ?? ''));
  if (!kind) return null;
  const args = command.argv.slice(applet ? 2 : 1);
  // env inherits the container's environment, PATH included (the runtime sets one when the image has none)
  const inherited = envValue(ctx.env, 'PATH') === null ? [...ctx.env, `PATH=${containerPath(ctx.env)}`] : ctx.env;
  const envSh = kind === 'env' && resolved.ok ? shellOf(resolved.node, resolved.path) : null;
  const parsed = kind === 'env' ? envChild(args, inherited, envSh?.kind !== 'busybox') : null;
  const forEnv = parsed && 'argv' in parsed ? parsed : null;
  const argv = kind === 'env' ? (forEnv?.argv ?? null) : childArgv(kind, args);
  if (parsed && 'error' in parsed) return envRefuses(resolved, command, applet ? 'env' : (command.argv[0] ?? initPath), parsed.error);
  if (!argv) return null;
  const init = applet ? 'env' : (command.argv[0] ?? initPath);
  const under = (r: StepResult): StepResult => ({ ...r, step: { ...r.step, detail: `under ${init}: ${r.step.detail}` } });
  const asWritten = (a: string[]): Command => ({ ...command, argv: a, shellForm: false, script: null, shellName: null });
  const text = CATALOG['init-command-fails'];
  const sh = envSh;
  const busybox = sh?.kind === 'busybox';
  const line = (name: string, why: string) => initLine(kind, name, why, init, busybox);
  const word = argv[0];
  // a standalone busybox's env runs its own applets by bare name, whatever PATH holds: a shell
  // or env among them runs a program in turn (the next hop), any other is not followed
  if (sh?.standalone && word && !word.includes('/') && sh.applets?.has(word)) {
    if (!RUNNER_APPLETS.has(word) || !resolved.ok) return null;
    const detail = `under ${init}: ${word} is busybox's own applet`;
    return {
      init,
      path: resolved.path,
      results: [{ step: { step: 'lookup', ok: true, detail }, findings: [] }],
      program: null,
      load: null,
      child: { argv, ctx: forEnv ? { ...ctx, env: forEnv.env } : ctx },
    };
  }
  let reads: Read[] = [];
  if (kind === 'su-exec' && word !== undefined) {
    // it switches users first (given a program): the program is then found and run as that user
    const sw = suExecSwitch(ctx.tree, args[0]!, ctx.user, init.slice(init.lastIndexOf('/') + 1));
    if (!sw.ok) {
      const finding: Diagnostic = {
        severity: 'error',
        code: 'init-command-fails',
        message: text.messageGosuUser(init, args[0]!, sw.detail),
        path: sw.file,
        layer: null,
        runtimeError: sw.line,
        fix: sw.file ? text.fixGosuUser(init, sw.file) : text.fixGosuNotRoot(init),
        evidence: [`argv ${JSON.stringify(command.argv)}`],
      };
      return {
        init,
        path: null,
        results: [{ step: { step: 'user', ok: false, detail: `under ${init}: ${sw.detail}` }, findings: [finding] }],
        program: null,
        load: null,
      };
    }
    ctx = { ...ctx, user: sw.credentials };
    reads = sw.reads.map((path) => ({ path, role: 'user-database' as const }));
  }
  if (word === undefined || word === '') {
    // no program: it prints its usage and exits 1; an empty name: execvp's ENOENT
    const finding: Diagnostic = {
      severity: 'error',
      code: 'init-command-fails',
      message: word === undefined ? text.messageNoProgram(init) : text.message(init, '""', 'an empty program name'),
      path: null,
      layer: null,
      runtimeError: word === undefined ? null : line('', ENOENT),
      fix: kind === 'su-exec' ? text.fixGosu(init) : text.fixNoProgram(init),
      evidence: [`argv ${JSON.stringify(command.argv)}`],
    };
    const step: StepResult = { step: { step: 'lookup', ok: false, detail: `under ${init}: no program` }, findings: [finding] };
    return { init, path: null, results: [step], program: null, load: null };
  }
  // glibc's execvp runs a file the kernel will not (ENOEXEC) with /bin/sh; musl's does not
  const initElf = resolved.ok ? ctx.catalog.of(resolved.node) : null;
  const musl = initElf?.ok === true && initElf.info.libc === 'musl';
  const binSh = resolvePath(ctx.tree, '/bin/sh', { cwd: ctx.cwd });
  // env runs the program with the environment it made: its PATH for the search (without one,
  // execvp's own default, not the runtime's), its LD_LIBRARY_PATH for the loader
  if (forEnv) ctx = { ...ctx, env: forEnv.env };
  const searchEnv =
    forEnv && envValue(forEnv.env, 'PATH') === null
      ? [...forEnv.env, `PATH=${musl ? '/usr/local/bin:/bin:/usr/bin' : '/bin:/usr/bin'}`]
      : ctx.env;

  // execvp: the name itself, or each entry of PATH (the runtime sets one when the image has none)
  const candidates = pathCandidates(word, searchEnv);
  let eacces: { path: string; result: StepResult } | null = null;
  let enoent: { path: string; result: StepResult } | null = null;
  let stop: { path: string; result: StepResult; why: string } | null = null;
  for (const c of candidates) {
    const l = findExecutable(ctx.tree, word, c, ctx.cwd, ctx.user);
    const lookupOf = () => lookupStep(model, asWritten([c, ...argv.slice(1)]), ctx.env, ctx.cwd, ctx.user);
    if (!l.ok && shutOnTheWay(ctx.tree, c, ctx.cwd, ctx.user)) {
      eacces ??= { path: c, result: lookupOf() };
      continue;
    }
    if (!l.ok) {
      const walk = lookupErrno(l);
      if (walk === ENOENT || walk === ENOTDIR) continue;
      if (walk === EACCES) eacces ??= { path: c, result: lookupOf() };
      else {
        stop = { path: c, result: lookupOf(), why: walk }; // a loop of links: execvp stops there
        break;
      }
      continue;
    }
    const ex = execStep(ctx, c, word, configArch);
    const noexec = ex.failure?.code === 'exec-format';
    const lookup: StepResult = { step: { step: 'lookup', ok: true, detail: `under ${init}: found ${c}` }, findings: [] };
    if (noexec && !musl && binSh.ok && ctx.catalog.of(l.node) === null) {
      // glibc's execvp runs it with /bin/sh, which reads it as a script
      const detail = `${word} is no program the kernel runs: execvp runs it with /bin/sh`;
      const ran: StepResult = { step: { step: 'exec', ok: true, detail }, findings: [] };
      return { init, path: c, results: [lookup, under(ran)], program: null, load: null };
    }
    if (ex.program) {
      const loader = loaderStep(model, ctx, ex.program, c, layerOf);
      const read = scriptReadStep(ctx, ex);
      const results = [lookup, under(ex), under(loader), ...(read ? [under(read)] : [])];
      return { init, path: c, results, program: ex.program, load: loader.load, child: { argv, ctx }, reads, scripts: ex.scripts };
    }
    if (ex.failure?.byEnv) {
      stop = { path: c, result: ex, why: ENOENT }; // env ran, found nothing, and said so itself: the search is over
      break;
    }
    if (noexec && !musl && !binSh.ok) continue; // glibc's fallback to /bin/sh meets ENOENT, and the search goes on
    const why = ex.failure ? execErrno(ex.failure) : ENOENT;
    if (why === ENOENT || why === ENOTDIR) enoent ??= { path: c, result: ex };
    else if (why === EACCES) eacces ??= { path: c, result: ex };
    else {
      // another machine's program read by /bin/sh fails in words that depend on its bytes ('')
      stop = { path: c, result: ex, why: noexec && !musl ? '' : why };
      break;
    }
  }
  const failed = stop ?? (eacces ? { ...eacces, why: EACCES } : null) ?? (enoent ? { ...enoent, why: ENOENT } : null);
  const result = failed?.result ?? lookupStep(model, asWritten(argv), searchEnv, ctx.cwd, ctx.user);
  const why = failed?.why ?? ENOENT;
  const [cause] = result.findings.filter((d) => d.severity === 'error');
  const byEnv = failed && 'failure' in failed.result ? (failed.result as ExecStep).failure?.byEnv : false;
  const finding: Diagnostic = {
    severity: 'error',
    code: 'init-command-fails',
    message: text.message(init, word, cause?.message ?? (why || 'exec format error')),
    path: cause?.path ?? null,
    layer: cause?.layer ?? null,
    runtimeError: byEnv ? (cause?.runtimeError ?? null) : why === '' ? null : line(word, why),
    fix: cause?.fix ?? text.fix,
    evidence: [`${init} runs ${JSON.stringify(argv)}`, ...(cause?.evidence ?? [])],
    ...(cause ? { cause: cause.code } : {}),
  };
  const found = failed && failed.result.step.step === 'exec';
  return stoppedRun(init, found ? failed.path : null, result, finding);
}

/**
 * A runner's run that stops at `result` (a lookup that found nothing, or an exec that failed
 * on the file `found`): its own finding first, then the step's warnings.
 */
export function stoppedRun(init: string, found: string | null, result: StepResult, finding: Diagnostic): InitRun {
  const lookup = found ? [{ step: { step: 'lookup' as const, ok: true, detail: `under ${init}: found ${found}` }, findings: [] }] : [];
  const step = { ...result.step, detail: `under ${init}: ${result.step.detail}` };
  return {
    init,
    path: found,
    results: [...lookup, { step, findings: [finding, ...result.findings.filter((d) => d.severity !== 'error')] }],
    program: null,
    load: null,
  };
}

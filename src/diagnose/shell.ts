/**
 * A shell-form command (["/bin/sh", "-c", "/app --flag"]) starts the shell, which then runs
 * the program its script names. When the runtime's steps get the shell going, the script's
 * program goes through the same steps as the shell runs it: PATH searched as the shell
 * searches it (no Go rule against relative folders), execve, the loader. A failure the shell
 * meets is printed by the shell, in its own words ("/bin/sh: /app: not found", the Alpine
 * classic of a glibc program without its loader); the loader's failures print as they would
 * for the program run directly. A script that does more than run one program is not followed.
 * Each shell searches PATH its own way and words its failures its own way; the rules here were
 * read off real runs of busybox, dash and bash (test/shell.test.ts runs them).
 */
import { readSmallFile, resolvePath, workingDir } from '../fs/index.js';
import { cleanPath } from '../archive/walk.js';
import type { ImageModel } from '../load.js';
import { CATALOG } from './catalog.js';
import type { Command } from './command.js';
import { type ExecContext, type ExecStep, type Shebang, execErrno, execStep, parseShebang } from './exec.js';
import { type LoaderStep, loaderStep } from './loader.js';
import {
  type Lookup,
  containerPath,
  findExecutable,
  lookupErrno,
  lookupStep,
  pathCandidates,
  shutOnTheWay,
  unsearchable,
} from './lookup.js';
import { DEFAULT_PATH, envValue } from '../source/config.js';
import { type Credentials, mayExecute, mayRead } from '../loader/access.js';
import { scriptReadStep } from './script.js';
import { RUNNER_APPLETS } from './init-program.js';
import { type Shell, type ShellKind, shellOf } from './shell-kind.js';
import { execForm } from './shellwords.js';
import type { Diagnostic, StepResult } from './types.js';

/** Builtins a script may start with: the shell runs no program for them (exec is followed). */
const BUILTINS = new Set(
  (
    '. : [ alias bg break cd command continue echo eval exit export false fc fg getopts hash jobs kill local ' +
    'printf pwd read readonly return set shift source test times trap true type ulimit umask unalias unset wait'
  ).split(' '),
);
/** Each shell's own beyond those (bash's from `help`, busybox ash's and dash's from their builtin tables). */
const OWN_BUILTINS: Record<ShellKind, Set<string>> = {
  bash: new Set(
    (
      'bind builtin caller compgen complete compopt declare dirs disown enable help history let logout mapfile ' +
      'popd pushd readarray shopt suspend typeset'
    ).split(' '),
  ),
  busybox: new Set(['chdir', 'let']),
  dash: new Set(['chdir']),
};

function isBuiltin(word: string, kind: ShellKind | null): boolean {
  if (BUILTINS.has(word)) return true;
  // a shell not known here: any shell's builtin may be its own
  return kind === null ? Object.values(OWN_BUILTINS).some((s) => s.has(word)) : OWN_BUILTINS[kind].has(word);
}

const ENOENT = 'no such file or directory';
const ENOTDIR = 'not a directory';
const EACCES = 'permission denied';
const EPERM = 'operation not permitted';
const ENOEXEC = 'exec format error';

/** What went wrong when the shell ran the script's program, as the shell knows it. */
export interface ShellFailure {
  /** The name as the script writes it, and the file the shell tried (bash prints the file). */
  word: string;
  path: string;
  /** execve's errno in Go's words ("no such file or directory"); null: no such program in PATH. */
  why: string | null;
  /** The script said `exec prog`: the failure is the exec builtin's. */
  exec: boolean;
  /** The ENOENT is the ELF or #! interpreter's, not the file's. */
  missingInterpreter?: boolean;
  /** The #! interpreter, when the failure is its (bash: "bad interpreter"). */
  interpreter?: string;
}

const cap = (why: string) => why.charAt(0).toUpperCase() + why.slice(1);

/** The shell's line (lines, for bash's exec) when it cannot run the script's program; `name` is its $0 (`named`: given after the script). */
export function shellLine(
  sh: Shell,
  name: string,
  f: ShellFailure,
  named = false,
  line: number | null = null,
  errexit = false,
): string | null {
  // ash and dash print ENOENT and ENOTDIR as "not found", and every other errno as strerror has it
  const quiet = f.why === null || f.why === ENOENT || f.why === ENOTDIR;
  switch (sh.kind) {
    case 'busybox': {
      // ENOEXEC: busybox reads the file as a script, and what it says then depends on the bytes
      if (f.why === ENOEXEC) return null;
      // ash prefixes the command's name when it is not $0 (exec's), and a line number when it has a name at all
      // (a script file: its line; the words of `sh -c` are line 0, line 1 before busybox 1.33)
      const command = f.exec ? 'exec' : named || line !== null ? name : null;
      const prefix = command === null ? '' : `${command !== name ? `${command}: ` : ''}line ${line ?? (sh.modern ? 0 : 1)}: `;
      return `${name}: ${prefix}${f.word}: ${quiet ? 'not found' : cap(f.why!)}`;
    }
    case 'dash':
      return `${name}: ${line ?? 1}: ${f.exec ? 'exec: ' : ''}${f.word}: ${quiet ? 'not found' : cap(f.why!)}`;
    case 'bash': {
      const at = `${name}: line ${line ?? 1}: `;
      if (f.why === null) return f.exec ? `${at}exec: ${f.word}: not found` : `${at}${bashPrintable(f.word)}: command not found`;
      // bash's exec builtin adds a line of its own, with errno as it was left (0 after a message of bash's own)
      const then = (what: string) => (f.exec ? `\n${at}${what}` : '');
      if (f.interpreter !== undefined && !(f.why === ENOENT && sh.modern))
        return `${name}: ${f.path}: ${f.interpreter}: bad interpreter: ${cap(f.why)}${then(`${f.path}: Success`)}`;
      if (f.missingInterpreter && sh.modern) return `${at}${f.path}: cannot execute: required file not found`;
      if (f.why === ENOEXEC) return `${at}${f.path}: cannot execute binary file: Exec format error${then(`${f.path}: Success`)}`;
      if (f.why === ENOENT) return `${at}${f.path}: No such file or directory`;
      // a file it may run that execve refuses (EPERM: capabilities) is worded by bash's own error, as ENOEXEC is
      if (f.why === EPERM) return `${at}${f.path}: ${cap(f.why)}${errexit ? '' : then(`${f.path}: Success`)}`;
      // under set -e a file it may not run ends the shell at the first line (its file_error exits)
      return `${at}${f.path}: ${cap(f.why)}${errexit && f.why === EACCES ? '' : then(`exec: ${f.path}: cannot execute: ${cap(f.why)}`)}`;
    }
    case null:
      return null; // another shell (mksh, zsh, …): it fails all the same, in words not known here
  }
}

const ANSI_C: Record<string, string> = { '\x07': 'a', '\b': 'b', '\t': 't', '\n': 'n', '\v': 'v', '\f': 'f', '\r': 'r', '\x1b': 'E' };

/** A name as bash prints it in "command not found": in $'…' when it holds a control character (a CR from a Windows line end). */
function bashPrintable(name: string): string {
  const control = (c: string) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;
  if (![...name].some(control)) return name;
  let out = '';
  for (const c of name) {
    const code = c.charCodeAt(0);
    if (c === "'" || c === '\\') out += `\\${c}`;
    else if (ANSI_C[c] !== undefined) out += `\\${ANSI_C[c]}`;
    else if (control(c)) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += c;
  }
  return `$'${out}'`;
}

export interface ScriptRun {
  /** The #! scripts on the way to the program it runs (a script the script runs is followed in turn). */
  scripts?: string[];
  /** The shell, and the path of the program its script runs (null when the lookup found none). */
  shell: string;
  path: string | null;
  /** The steps, as the shell takes them; the launch stops at the first that fails. */
  results: StepResult[];
  /** The program the script runs and what its loader found, when it gets that far. */
  program: NonNullable<ExecStep['program']> | null;
  load: LoaderStep['load'];
  /** The program's argv as the script writes it, and its context (the script's assignments), when it starts: it may run another in turn. */
  child?: { argv: string[]; ctx: ExecContext };
  /** The script sends its errors to /dev/null: so does whatever it runs. */
  quiet?: boolean;
}

/** A file the shell tried, and how it failed: a lookup that found no program there, or execve's error. */
type Attempt = {
  path: string;
  failure: Omit<ShellFailure, 'word' | 'exec' | 'path'>;
  result: StepResult;
  found: boolean;
  /** execve worked, and the program failed by itself (env found nothing to run): the search ends. */
  ended?: boolean;
};

/** errno of a path the lookup refused; bash looks before it runs, so a folder is EISDIR to it (execve's EACCES to ash and dash). */
function shellLookupErrno(l: Extract<Lookup, { ok: false }>, kind: ShellKind | null): string {
  return l.reason === 'directory' && kind === 'bash' ? 'is a directory' : lookupErrno(l);
}

/**
 * The words of the program a script runs, and whether `exec` runs it: after `exec` (and its
 * options, for the shells that take any: dash takes none, and looks for a program named "-a";
 * busybox only -a) or `command` (and its --). Null when an option is not one known here.
 */
function programWords(words: string[], kind: ShellKind | null): { words: string[]; exec: boolean } | null {
  const [first, ...rest] = words;
  if (first === 'command') {
    const after = rest[0] === '--' ? rest.slice(1) : rest;
    if (after[0]?.startsWith('-')) return null;
    return after[0] === 'exec' ? programWords(after, kind) : { words: after, exec: false };
  }
  if (first !== 'exec') return { words, exec: false };
  if (kind === 'dash') return { words: rest, exec: true };
  let i = 0;
  for (; i < rest.length && rest[i]!.startsWith('-'); i++) {
    const o = rest[i]!;
    if (o === '--') return { words: rest.slice(i + 1), exec: true };
    if (o === '-a' && i + 1 < rest.length) i++;
    else if (kind === 'busybox' || !/^-[cl]+$/.test(o)) return null;
  }
  return { words: rest.slice(i), exec: true };
}

/**
 * How bash's exec builtin names a relative path with a slash in its lines: made whole against
 * the working folder (as getcwd has it: its links followed), less one leading "./"
 * (full_pathname): `exec ./app` from /srv says "/srv/app: No such file or directory".
 */
function bashExecName(ctx: ExecContext, path: string): string {
  if (path.startsWith('/') || !path.includes('/')) return path;
  const rest = path.startsWith('./') ? path.slice(2) : path;
  const cwd = workingDir(ctx.tree, ctx.cwd).path;
  return cwd === '/' ? `/${rest}` : `${cwd}/${rest}`;
}

const BASH_EXEC_USAGE = 'exec: usage: exec [-cl] [-a name] [command [argument ...]] [redirection ...]';

/**
 * What bash's or busybox's exec says of an option it does not take, the words after `exec`
 * read as each reads its options (bash: -c, -l, -a NAME; busybox: -a NAME); null when it takes
 * them all (or the shell is another: dash's exec takes none, and looks for a program "-x").
 */
function execRefusal(words: string[], kind: ShellKind | null): { option: string; line: string | null } | null {
  if (words[0] !== 'exec' || (kind !== 'bash' && kind !== 'busybox')) return null;
  const ok = kind === 'bash' ? 'cl' : '';
  const refuse = (option: string, why: 'invalid' | 'no-arg') =>
    kind === 'bash'
      ? { option, line: `exec: ${option}: ${why === 'invalid' ? 'invalid option' : 'option requires an argument'}\n${BASH_EXEC_USAGE}` }
      : { option, line: why === 'invalid' ? `illegal option ${option}` : `no arg for ${option} option` };
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--' || w === '-' || !w.startsWith('-')) return null;
    // bash's --help prints exec's help (on stdout, its words bash's own) and fails all the same
    if (w === '--help' && kind === 'bash') return { option: w, line: null };
    if (w.startsWith('--')) return refuse('--', 'invalid');
    for (let j = 1; j < w.length; j++) {
      const c = w[j]!;
      if (ok.includes(c)) continue;
      if (c !== 'a') return refuse(`-${c}`, 'invalid');
      if (j + 1 === w.length && i + 1 >= words.length) return refuse('-a', 'no-arg');
      if (j + 1 === w.length) i++; // the next word is its name
      break;
    }
  }
  return null;
}

/** dash's test of a file it may run: root, any x bit; else the owner's x bit if it owns it, the group's if one of its groups does, else the others'. */
function ownerBitX(node: { uid: number; gid: number; mode: number }, who: Credentials | undefined): boolean {
  const uid = who?.uid ?? 0;
  if (uid === 0) return (node.mode & 0o111) !== 0;
  if (node.uid === uid) return (node.mode & 0o100) !== 0;
  if ((who?.gids ?? [0]).includes(node.gid)) return (node.mode & 0o010) !== 0;
  return (node.mode & 0o001) !== 0;
}

/**
 * A script without the redirections it may carry that change nothing the launch needs (to
 * /dev/null, or to another descriptor: `/app > /dev/null 2>&1`), and whether its errors then
 * go nowhere (descriptor 2 ends at /dev/null). Null when a redirection goes anywhere else
 * (a file the shell may fail to create) or quoting makes the words unsure.
 */
export function redirections(script: string): { script: string; quiet: boolean } | null {
  if (!/[<>]/.test(script)) return { script, quiet: false };
  if (/['"\\]/.test(script)) return null;
  const fds: Record<string, 'out' | 'err' | 'in' | 'null'> = { 0: 'in', 1: 'out', 2: 'err' };
  const kept: string[] = [];
  const tokens = script.trim().split(/[ \t]+/);
  for (let i = 0; i < tokens.length; i++) {
    const m = /^(\d?)(>>?|<|>&)(.*)$/.exec(tokens[i]!);
    if (!m) {
      if (/[<>]/.test(tokens[i]!)) return null;
      kept.push(tokens[i]!);
      continue;
    }
    const [, fd = '', op = '', rest = ''] = m;
    const target = op === '>&' ? `&${rest}` : rest || tokens[++i];
    const n = fd || (op === '<' ? '0' : '1');
    if (target === '/dev/null') fds[n] = 'null';
    else if (target && /^&[012]$/.test(target) && op !== '<') fds[n] = fds[target.slice(1)]!;
    else return null;
  }
  return { script: kept.join(' '), quiet: fds[2] === 'null' };
}

/** What each shell prints when -c has no script after it (read off real runs; test/shell.test.ts). */
function noScriptLine(kind: ShellKind | null, name: string): string | null {
  switch (kind) {
    case 'busybox':
      return `${name}: -c requires an argument`;
    case 'dash':
      return `${name}: 0: -c requires an argument`;
    case 'bash':
      return `${name}: -c: option requires an argument`;
    case null:
      return null;
  }
}

type OpenErrno = 'ENOENT' | 'EACCES' | 'EISDIR' | 'ELOOP';
const OPEN_ERRNO: Record<OpenErrno, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
};

/** What a shell prints when it cannot open the script file it was given (read off real runs; test/shell.test.ts). */
function cannotOpenLine(kind: ShellKind | null, name: string, file: string, why: OpenErrno): string | null {
  const errno = OPEN_ERRNO[why];
  switch (kind) {
    case 'busybox':
      return `${name}: can't open '${file}': ${errno}`;
    case 'dash':
      return `${name}: 0: cannot open ${file}: ${why === 'ENOENT' ? 'No such file' : errno}`;
    case 'bash':
      // a folder is read as the script, and the error then carries the script's name as $0
      return why === 'EISDIR' ? `${file}: ${file}: ${errno}` : `${name}: ${file}: ${errno}`;
    case null:
      return null;
  }
}

/**
 * A shell given a script file (["sh", "/entrypoint.sh"]) opens it as the container's user: a
 * name without a slash from the working folder (bash then looks in PATH too). Missing or
 * unreadable, it says so and stops; a folder reads as an empty script for busybox and dash
 * (they end at once, exit 0), and bash refuses it. `file`: where it found the script.
 */
export function scriptFileStep(ctx: ExecContext, command: Command, shellPath: string): { result: StepResult; file: string | null } {
  const name = command.shellName ?? command.argv[0] ?? '/bin/sh';
  const want = command.scriptFile ?? '';
  const shellNode = resolvePath(ctx.tree, shellPath, { cwd: ctx.cwd });
  const kind = shellNode.ok ? shellOf(shellNode.node, shellNode.path).kind : null;
  // an empty name opens nothing (ENOENT), where a path of nothing would be the working folder
  let r = want === '' ? ({ ok: false, reason: 'missing' } as const) : resolvePath(ctx.tree, want, { cwd: ctx.cwd });
  if (!r.ok && want !== '' && !want.includes('/') && kind === 'bash') {
    for (const c of pathCandidates(want, ctx.env)) {
      const at = resolvePath(ctx.tree, c, { cwd: ctx.cwd });
      if (at.ok && at.node.type !== 'dir') {
        r = at;
        break;
      }
    }
  }
  const why: OpenErrno | null = !r.ok
    ? r.reason === 'loop'
      ? 'ELOOP'
      : 'ENOENT'
    : unsearchable(ctx.tree, r.path, ctx.user) || !mayRead(r.node, ctx.user)
      ? 'EACCES'
      : r.node.type === 'dir' && kind === 'bash'
        ? 'EISDIR'
        : null;
  const found = r.ok ? r.path : null;
  // a folder reads as an empty script (busybox, dash): nothing for the closure to hold
  const file = r.ok && r.node.type !== 'dir' ? r.path : null;
  if (why === null) return { result: { step: { step: 'script', ok: true, detail: `${name} reads ${found ?? want}` }, findings: [] }, file };
  const text = CATALOG['script-missing'];
  const detail =
    why === 'ENOENT'
      ? `${want} does not exist in the image`
      : why === 'EACCES'
        ? `the container's user may not read ${want}`
        : why === 'ELOOP'
          ? `${want} is a loop of symbolic links`
          : `${want} is a folder`;
  return {
    result: {
      step: { step: 'script', ok: false, detail: `${name} cannot open ${want}: ${detail}` },
      findings: [
        {
          severity: 'error',
          code: 'script-missing',
          message: text.message(name, want, detail),
          path: found ?? want,
          layer: r.ok ? (r.node.layer ?? null) : null,
          runtimeError: cannotOpenLine(kind, name, want, why),
          fix: text.fix(want, why),
          evidence: [`argv ${JSON.stringify(command.argv)}`],
        },
      ],
    },
    file: null,
  };
}

/** Errors whose words go to /dev/null: the launch fails all the same, and nothing says why. */
export function silence(results: StepResult[]): void {
  for (const r of results) for (const f of r.findings) if (f.severity === 'error') f.runtimeError = null;
}

/** The step after the shell starts when it is given -c and no script (Command.noScript): it refuses, and exits 2. */
export function noScriptStep(ctx: ExecContext, command: Command, shellPath: string): StepResult {
  const name = command.shellName ?? command.argv[0] ?? '/bin/sh';
  const r = resolvePath(ctx.tree, shellPath, { cwd: ctx.cwd });
  const kind = r.ok ? shellOf(r.node, r.path).kind : null;
  const words = CATALOG['shell-command-fails'];
  return {
    step: { step: 'script', ok: false, detail: `${name} is given -c and no script` },
    findings: [
      {
        severity: 'error',
        code: 'shell-command-fails',
        message: words.messageNoScript(name, command.argv),
        path: shellPath,
        layer: r.ok ? (r.node.layer ?? null) : null,
        runtimeError: noScriptLine(kind, name),
        fix: words.fixNoScript(command.keyword, command.argv),
        evidence: [`argv ${JSON.stringify(command.argv)}`],
      },
    ],
  };
}

/**
 * The steps of the program a shell-form command's script runs, or null when the script is
 * not one program with its arguments (pipes, expansions, a builtin, a busybox applet). A shell
 * not known here is followed too; its failures carry no line (its words are not known).
 */
export function scriptRun(
  model: ImageModel,
  ctx: ExecContext,
  command: Command,
  shellPath: string,
  configArch: string | null,
  layerOf: (path: string) => number | null,
): ScriptRun | null {
  const run = followScript(model, ctx, command, shellPath, configArch, layerOf);
  if (run && redirections(command.script ?? '')?.quiet) {
    // its errors go to /dev/null: the launch fails all the same, and nothing says why
    silence(run.results);
    run.quiet = true;
  }
  return run;
}

function followScript(
  model: ImageModel,
  ctx: ExecContext,
  command: Command,
  shellPath: string,
  configArch: string | null,
  layerOf: (path: string) => number | null,
): ScriptRun | null {
  const shell = command.argv[0] ?? '/bin/sh';
  const script = command.script ?? '';
  const redirected = redirections(script);
  // a variable the image's ENV sets has its value; any other may be given at run time (docker
  // run -e, a pod's env): not known, unless the environment is the container's whole one
  const env = new ShellVars(ctx.env);
  const unset = ctx.envComplete ? undefined : null;
  const expanded =
    redirected && expandVars(redirected.script, (n) => env.value(n) ?? (n === 'PATH' ? env.path() : SHELL_SET.has(n) ? null : unset));
  const form = expanded !== null && expanded !== undefined ? execForm(expanded) : null;
  if (!redirected || !form || form.words[0] === '') return null;
  const name = command.shellName ?? shell;
  const line: ScriptLine = { name, words: form.words, env: form.env, line: null, evidence: `${name} -c ${JSON.stringify(script)}` };
  return runLine(model, ctx, command, shellPath, configArch, layerOf, line);
}

/**
 * An environment with assignments made (a shell's, a pod's env over the image's): each name's
 * first entry replaced, a new one added; linear in both.
 */
export function withVars(env: string[], assigned: string[]): string[] {
  if (assigned.length === 0) return env;
  return new ShellVars(env).assign(assigned).list;
}

/**
 * A shell's variables as a script assigns them: the list (an assignment replaces the first
 * entry of its name, else is added) and each name's value (the last definition wins, as the
 * shells import an environment), kept in step so that a lookup or an assignment costs the
 * same whatever the size of the image's Env.
 */
class ShellVars {
  readonly list: string[];
  private readonly at = new Map<string, number>(); // "NAME=" → its first entry in list
  private readonly values = new Map<string, string>();

  constructor(env: readonly string[]) {
    this.list = [...env];
    this.list.forEach((e, i) => {
      const eq = e.indexOf('=');
      if (eq === -1) return;
      const key = e.slice(0, eq + 1);
      if (!this.at.has(key)) this.at.set(key, i);
      this.values.set(e.slice(0, eq), e.slice(eq + 1));
    });
  }

  assign(assigned: readonly string[]): this {
    for (const a of assigned) {
      const eq = a.indexOf('=');
      const key = a.slice(0, eq + 1);
      const i = this.at.get(key);
      if (i === undefined) this.at.set(key, this.list.push(a) - 1);
      else this.list[i] = a;
      this.values.set(a.slice(0, eq), a.slice(eq + 1));
    }
    return this;
  }

  value(name: string): string | null {
    return this.values.get(name) ?? null;
  }

  /** The PATH the shell searches: its own, else the runtime's default. */
  path(): string {
    return this.values.get('PATH') ?? DEFAULT_PATH;
  }
}

/** Variables the runtime or the shell sets when the image does not (HOME from /etc/passwd, HOSTNAME the container's): not known here. */
const SHELL_SET = new Set([
  'HOME',
  'HOSTNAME',
  'PWD',
  'OLDPWD',
  'IFS',
  'PPID',
  'LINENO',
  'OPTIND',
  'SHLVL',
  'RANDOM',
  'SECONDS',
  'UID',
  'EUID',
  'TERM',
]);

/** `"$@"` as a word of its own: the script's arguments, each one word. */
const ALL_ARGS_WORD = /(^|[ \t])"\$(@|\{@\})"(?=[ \t]|\r?$)/g;
/** Where "$@" stood, while execForm reads the line (a NUL: no word of a script has one). */
const ARGS_MARK = '\0ARGS\0';

/** A line less the comment after its words (`exec "$@" # don't worry`): a # that starts a word, outside quotes. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (line[i - 1] === ' ' || line[i - 1] === '\t')) return line.slice(0, i).trimEnd();
  }
  return line;
}

/**
 * The command a script file ends with, when nothing before it can stop the shell or change
 * what that command is: blank lines, comments, `set` of -e, -u, -x, assignments of plain
 * words (`export` or not), `cd` to a folder that is there (`cd(dir, from)` says where it
 * lands, or null) and the official images' "an option first: the program before it" test.
 * The command is plain words, `"$@"` among them (the script's arguments), `exec` or not:
 * docker-entrypoint.sh's `exec "$@"`. Null for any other script: one that tests, loops, runs
 * other programs first or expands other variables is not followed.
 */
export function lastCommand(
  text: string,
  env: string[],
  args: string[],
  cd: (dir: string, from: string) => string | null = () => null,
  cwd = '/',
  start: ScriptStart = {},
):
  | { line: number; words: string[]; env: string[]; cwd: string; fromArgs: boolean; said: CrLine[]; errexit: boolean }
  | { unsetArg: number }
  | { stop: number; said: CrLine[] }
  | null {
  if (text.includes('\0')) return null;
  const kind = start.kind ?? null;
  const lines = text.split('\n');
  const said: CrLine[] = [];
  // what the shell was given is exported; the runtime gives PATH, HOSTNAME and HOME when the image sets none
  const exported = new Set(['PATH', 'HOSTNAME', 'HOME', ...env.map((e) => e.slice(0, e.indexOf('=')))]);
  const vars = new ShellVars(env);
  let nounset = start.nounset ?? false;
  let errexit = start.errexit ?? false;
  let last: { line: number; words: string[]; env: string[]; fromArgs: boolean } | null = null;
  for (let i = lines[0]?.startsWith('#!') ? 1 : 0; i < lines.length; i++) {
    // a line saved on Windows ends in a CR, which is no blank to the shells: it is the end of the line's last word
    const whole = lines[i]!;
    const cr = whole.endsWith('\r');
    const body = cr ? whole.slice(0, -1) : whole;
    if (body.includes('\r')) return null;
    const raw = body.trim();
    if (raw.startsWith('#')) continue;
    if (raw === '') {
      if (!cr) continue;
      // a CR alone is a command named "\r": not found, and the script goes on (unless set -e)
      if (last || kind === null) return null;
      said.push({ line: i + 1, what: 'cr' });
      if (errexit) return { stop: i + 1, said };
      continue;
    }
    if (last) return null; // a line after the command: not the script's last
    if (raw.endsWith('\\') || (cr && kind === null)) return null;
    const prepend = cr ? null : optionFirst(lines, i);
    if (prepend) {
      if (nounset && args.length === 0) return { unsetArg: i + 1 }; // $1 unset under set -u: the shell stops there
      if (args[0]?.startsWith('-')) args = [...prepend.words, ...args];
      i = prepend.end;
      continue;
    }
    // ~ after = or : is the home folder to the shells (execForm reads it only at a word's start)
    if (raw.includes('~')) return null;
    // the CR ends the last word, or is a word of its own after a blank
    const line = cr ? `${raw}${/[ \t]$/.test(body) ? ' ' : ''}\r` : raw;
    const marked = expandVars(stripComment(line).replace(ALL_ARGS_WORD, `$1${ARGS_MARK}`), (name) => {
      const v = name === 'PATH' ? vars.path() : vars.value(name);
      return v !== null && PLAIN_VALUE.test(v) ? v : null;
    });
    if (marked === null) return null;
    // a line of assignments only is read as the assignments of a command after them
    const form = execForm(marked) ?? assignmentsOnly(marked);
    if (!form) return null;
    const [first, ...rest] = form.words;
    if (first === undefined) {
      // NAME=value: a variable the environment had stays exported with its new value
      vars.assign(form.env.filter((a) => exported.has(a.slice(0, a.indexOf('=')))));
      continue;
    }
    if (form.env.length === 0 && first === 'set' && rest.length > 0 && rest.every((w) => /^[-+][eux]+$/.test(w))) {
      for (const w of rest) {
        if (w.includes('u')) nounset = w.startsWith('-');
        if (w.includes('e')) errexit = w.startsWith('-');
      }
      continue;
    }
    if (
      form.env.length === 0 &&
      first === 'set' &&
      rest.length > 0 &&
      /^-[eux]*\r$/.test(rest.at(-1)!) &&
      rest.slice(0, -1).every((w) => /^[-+][eux]+$/.test(w))
    ) {
      // `set -e\r`: an option "\r", which no shell has. dash and busybox stop at the special
      // builtin's error (so does bash in POSIX mode); bash's set changes nothing and fails, and
      // bash goes on (set -e stops it)
      said.push({ line: i + 1, what: 'set' });
      if (kind !== 'bash' || errexit || start.posix) return { stop: i + 1, said };
      continue;
    }
    if (form.env.length === 0 && first === 'export' && rest.length > 0 && rest.every((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w))) {
      for (const a of rest) exported.add(a.slice(0, a.indexOf('=')));
      vars.assign(rest);
      continue;
    }
    if (form.env.length === 0 && first === 'cd' && rest.length === 1 && !rest[0]!.startsWith('-') && rest[0] !== ARGS_MARK) {
      // a relative folder is looked for in CDPATH first
      const to = !rest[0]!.startsWith('/') && vars.value('CDPATH') ? null : cd(rest[0]!, cwd);
      if (to === null) return null;
      cwd = to;
      continue;
    }
    if (['set', 'export', 'exit', 'return', 'shift', '.', 'source', 'eval', 'trap', 'cd', 'umask', 'unset', 'readonly'].includes(first))
      return null;
    // "$@" then the CR: the CR ends the last argument (or is the one word, when there are none)
    const crArgs = () => (args.length ? [...args.slice(0, -1), `${args.at(-1)!}\r`] : ['\r']);
    const words = form.words.flatMap((w) => (w === ARGS_MARK ? args : w === `${ARGS_MARK}\r` ? crArgs() : [w]));
    if (words.some((w) => w.includes(ARGS_MARK))) return null; // "$@" inside a word
    // a first word the arguments gave is never a keyword (bash's time): it is looked for as a program
    last = { line: i + 1, words, env: form.env, fromArgs: form.words[0]?.startsWith(ARGS_MARK) === true };
  }
  if (!last) return null;
  const given = new Set(env);
  return { ...last, env: [...vars.list.filter((v) => !given.has(v)), ...last.env], cwd, said, errexit };
}

/** How a shell starts reading a script: its kind (the words of what it prints), and the options it was given. */
export interface ScriptStart {
  kind?: ShellKind | null;
  nounset?: boolean;
  errexit?: boolean;
  /** bash in POSIX mode (named sh, or POSIXLY_CORRECT set). */
  posix?: boolean;
}

/** A line of a script with Windows line endings that the shell complains about and, unless it stops there, reads on from. */
export interface CrLine {
  line: number;
  /** cr: a line of only a CR (a command named "\r"); set: `set -e\r` (an option named "\r"). */
  what: 'cr' | 'set';
}

/** What each shell prints for such a line; `name` is $0. */
function crLineSaid(kind: ShellKind, name: string, l: CrLine): string {
  if (l.what === 'cr')
    return kind === 'dash'
      ? `${name}: ${l.line}: \r: not found`
      : kind === 'busybox'
        ? `${name}: line ${l.line}: \r: not found`
        : `${name}: line ${l.line}: $'\\r': command not found`;
  return kind === 'dash'
    ? `${name}: ${l.line}: set: Illegal option -\r`
    : kind === 'busybox'
      ? `${name}: set: line ${l.line}: illegal option -\r`
      : `${name}: line ${l.line}: set: -\r: invalid option\n${BASH_SET_USAGE}`;
}

const BASH_SET_USAGE = 'set: usage: set [-abefhkmnptuvxBCEHPT] [-o option-name] [--] [-] [arg ...]';

/** A value an expansion may put in a word as it is: no quoting, splitting or globbing could change it. */
const PLAIN_VALUE = /^[\w./:@%+,=-]+$/;
/** A value that reads the same put back in the line: inside double quotes, or bare (then split at blanks, as IFS splits it). */
const QUOTED_SAFE = /^[^"\\$`]*$/;
const BARE_SAFE = /^[^'"\\$`*?[\n]*$/;

/**
 * `$NAME`, `${NAME}`, `${NAME-word}` and `${NAME:-word}` outside single quotes (and not after a
 * backslash) made their values, put back in the line where they read the same: inside double
 * quotes one word, bare split at blanks (as IFS splits them), unset nothing.
 * `value` gives a variable's value, undefined when it is unset, null when it is not known here.
 * Another `$` is left for execForm, which refuses it; null when a value is not known, or would
 * read differently put back.
 */
/** $NAME, ${NAME}, ${NAME-word}, ${NAME:-word} at lastIndex (sticky: no copy of the rest of the line per $). */
const VAR_REF = /\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([\w./:@%+,=-]*))?\})/y;

function expandVars(line: string, value: (name: string) => string | null | undefined): string | null {
  let out = '';
  let single = false;
  let double = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (single || (c === "'" && !double)) {
      if (c === "'") single = !single;
      out += c;
      continue;
    }
    if (c === '"') double = !double;
    if (c === '\\') {
      out += c + (line[i + 1] ?? '');
      i++;
      continue;
    }
    VAR_REF.lastIndex = i;
    const m = c === '$' ? VAR_REF.exec(line) : null;
    if (!m) {
      out += c;
      continue;
    }
    let v = value(m[1] ?? m[2]!);
    if (v === null) return null;
    // ${NAME-word}: word when NAME is unset; ${NAME:-word}: when it is unset or empty
    if (m[3] !== undefined && (v === undefined || (m[3] === ':-' && v === ''))) v = m[4]!;
    v ??= '';
    if (!(double ? QUOTED_SAFE : BARE_SAFE).test(v)) return null;
    out += v;
    i += m[0].length - 1;
  }
  return out;
}

const OPTION_FIRST = /^if \[ "\$\{1#-\}" != "\$1" \]; then$/;
const PREPEND = /^set -- (.+) "\$@"$/;

/**
 * The official images' test at lines[at]: when the first argument is an option, the program
 * goes before it (`if [ "${1#-}" != "$1" ]; then` / `set -- redis-server "$@"` / `fi`, or on one
 * line). The words it puts first, and the line it ends on; null when the line is not it.
 */
function optionFirst(lines: string[], at: number): { words: string[]; end: number } | null {
  // a CR on any of its lines is a syntax error to the shells (`then\r` is no keyword)
  if (lines.slice(at, at + 3).some((l) => l.includes('\r'))) return null;
  const line = lines[at]!.trim();
  const one = /^(if \[ "\$\{1#-\}" != "\$1" \]; then) (set -- .+ "\$@"); fi$/.exec(line);
  const [test, set, end] = one ? [one[1]!, one[2]!, at] : [line, lines[at + 1]?.trim() ?? '', at + 2];
  if (!OPTION_FIRST.test(test) || (!one && lines[at + 2]?.trim() !== 'fi')) return null;
  const m = PREPEND.exec(set);
  const form = m && execForm(m[1]!);
  if (!form || form.env.length > 0 || form.words.length === 0) return null;
  return { words: form.words, end };
}

/**
 * The options a #! line gives its shell (as the kernel reads it: the rest of the line one
 * word, a Windows CR in it), none after env and a name; null when env is given more.
 */
function shebangOptions(sb: Shebang | null): string[] | null {
  if (!sb || sb.arg === null) return [];
  if (sb.interpreter.endsWith('/env')) return /^[\w.+-]+$/.test(sb.arg) && !sb.arg.startsWith('-') ? [] : null;
  return [sb.arg];
}

/**
 * The shell refusing its #! line's argument: `#!/bin/sh -e` saved on Windows gives it "-e\r",
 * and `#!/bin/sh -e -u` gives it "-e -u" (one word). A blank or CR is no option of any shell;
 * each says so in its words, named as the #! line names it, and runs nothing.
 */
function shebangRefusal(command: Command, kind: ShellKind | null, interpreter: string, option: string): ScriptRun | null {
  const bad = /^-[eux]*([ \t\r])/.exec(option)?.[1];
  if (bad === undefined || kind === null) return null;
  const said =
    kind === 'dash'
      ? `${interpreter}: 0: Illegal option -${bad}`
      : kind === 'busybox'
        ? `${interpreter}: illegal option -${bad}`
        : `${interpreter}: -${bad}: invalid option`;
  const catalog = CATALOG['shell-command-fails'];
  const crlf = bad === '\r';
  const finding: Diagnostic = {
    severity: 'error',
    code: 'shell-command-fails',
    message: crlf ? catalog.messageCrlf(interpreter, command.argv[1] ?? 'the script') : catalog.messageShebangOption(interpreter, option),
    path: null,
    layer: null,
    runtimeError: said,
    fix: crlf ? catalog.fixCrlf(command.argv[1] ?? '/entrypoint.sh') : catalog.fixShebangOption(interpreter),
    evidence: [`#!${interpreter} ${JSON.stringify(option)}`],
  };
  return stoppedRun(command, `${interpreter} refuses its #! option ${JSON.stringify(option)}`, finding);
}

/** The shell stopping at the option test, $1 unset under set -u: each shell's line and status. */
function unsetArgRun(command: Command, kind: ShellKind | null, name: string, line: number): ScriptRun {
  const text = CATALOG['shell-command-fails'];
  const said =
    kind === 'dash'
      ? `${name}: ${line}: 1: parameter not set`
      : kind === 'bash'
        ? `${name}: line ${line}: 1: unbound variable`
        : kind === 'busybox'
          ? `${name}: line ${line}: 1: parameter not set`
          : null;
  const finding: Diagnostic = {
    severity: 'error',
    code: 'shell-command-fails',
    message: text.messageUnsetArg(command.argv[0] ?? '/bin/sh', name),
    path: null,
    layer: null,
    runtimeError: said,
    fix: text.fixUnsetArg,
    evidence: [`${name} line ${line}: if [ "\${1#-}" != "$1" ] under set -u, argv ${JSON.stringify(command.argv)}`],
  };
  return stoppedRun(command, `${name} stops at line ${line}: $1 is unset under set -u`, finding);
}

/** The shell stops before its script runs a program: one failed step, the shell's finding. */
function stoppedRun(command: Command, detail: string, finding: Diagnostic): ScriptRun {
  return {
    shell: command.argv[0] ?? '/bin/sh',
    path: null,
    results: [{ step: { step: 'script', ok: false, detail }, findings: [finding] }],
    program: null,
    load: null,
  };
}

/** `NAME=value …` and nothing else, as execForm reads assignments (it takes a line of them for no command). */
function assignmentsOnly(line: string): { words: string[]; env: string[] } | null {
  const form = execForm(`${line} :`);
  return form && form.words.length === 1 && form.words[0] === ':' && form.env.length > 0 ? { words: [], env: form.env } : null;
}

/**
 * The command a shell's script file ends with, followed as the shell runs it (see lastCommand);
 * `name` is $0 (the script as it was named), `args` what follows it. Null when the script is
 * not one followed here, or cannot be read.
 */
export function scriptFileRun(
  model: ImageModel,
  ctx: ExecContext,
  command: Command,
  shellPath: string,
  file: string,
  name: string,
  args: string[],
  options: string[] | 'shebang',
  configArch: string | null,
  layerOf: (path: string) => number | null,
): ScriptRun | null {
  const r = resolvePath(ctx.tree, file, { cwd: ctx.cwd });
  if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink')) return null;
  const body = readSmallFile(r.node.content, 64 << 10);
  if (!body) return null;
  const text = body.toString('utf8');
  // the shell's options, from its command line or the #! line: -e, -u and -x only (-l reads
  // /etc/profile first, and "-e -u" on a #! line is one word the shells refuse)
  const shellAt = resolvePath(ctx.tree, shellPath, { cwd: ctx.cwd });
  const kind = shellAt.ok ? shellOf(shellAt.node, shellAt.path).kind : null;
  const sb = options === 'shebang' ? parseShebang(body) : null;
  const opts = options === 'shebang' ? shebangOptions(sb) : options;
  if (!opts) return null;
  if (!opts.every((o) => /^[-+][eux]+$/.test(o)))
    return sb && opts.length === 1 ? shebangRefusal(command, kind, sb.interpreter, opts[0]!) : null;
  const bashLike = kind !== 'dash' && kind !== 'busybox';
  // bash reads $BASH_ENV before its script, which may change anything
  if (bashLike && envValue(ctx.env, 'BASH_ENV')) return null;
  // cd to a folder the user may enter, whose path has no link in it (the shell's PWD is then the path the kernel has)
  const cd = (dir: string, from: string): string | null => {
    const to = resolvePath(ctx.tree, dir, { cwd: from });
    const plain = cleanPath(dir.startsWith('/') ? dir : `${from}/${dir}`);
    return to.ok && to.node.type === 'dir' && to.path === plain && !unsearchable(ctx.tree, to.path, ctx.user) ? to.path : null;
  };
  const start = workingDir(ctx.tree, ctx.cwd);
  const set = (c: string) => opts.some((o) => o.startsWith('-') && o.includes(c));
  // bash named sh (or told so by POSIXLY_CORRECT) is in POSIX mode: a special builtin's error ends it, as in dash
  const argv0 = (sb ? sb.interpreter : command.argv[0]) ?? '';
  const posix = kind === 'bash' && (argv0.slice(argv0.lastIndexOf('/') + 1) === 'sh' || envValue(ctx.env, 'POSIXLY_CORRECT') !== null);
  const cmd = lastCommand(text, ctx.env, args, cd, start.path, { kind, nounset: set('u'), errexit: set('e'), posix });
  if (!cmd) return null;
  if ('unsetArg' in cmd) return unsetArgRun(command, kind, name, cmd.unsetArg);
  if ('stop' in cmd) return crStopRun(command, kind!, name, r.path, cmd.said);
  // bash makes a ~ in a PATH folder the home folder as it searches
  if (bashLike && containerPath(withVars(ctx.env, cmd.env)).includes('~')) return null;
  if (cmd.cwd !== start.path) ctx = { ...ctx, cwd: cmd.cwd };
  const line: ScriptLine = {
    name,
    words: cmd.words,
    env: cmd.env,
    line: cmd.line,
    evidence: `${name} line ${cmd.line}: ${JSON.stringify(cmd.words)}`,
    fromArgs: cmd.fromArgs,
    errexit: cmd.errexit,
  };
  const run = runLine(model, ctx, command, shellPath, configArch, layerOf, line);
  // lines of a script saved on Windows: what the shell said on the way comes first, and a name
  // ending in its CR is the Windows line end's doing
  const crName = programWords(cmd.words, kind)?.words[0]?.includes('\r') === true;
  if (run && kind !== null && (cmd.said.length > 0 || crName)) {
    const before = cmd.said.map((l) => crLineSaid(kind, name, l));
    const text = CATALOG['shell-command-fails'];
    for (const result of run.results)
      for (const f of result.findings) {
        if (f.severity !== 'error') continue;
        if (f.runtimeError !== null) f.runtimeError = [...before, f.runtimeError].join('\n');
        if (crName) {
          f.message = text.messageCrlf(command.argv[0] ?? '/bin/sh', name);
          f.fix = text.fixCrlf(r.path);
        }
      }
  }
  return run;
}

/** The shell stopping in a script saved on Windows (see lastCommand): what it said, line by line. */
function crStopRun(command: Command, kind: ShellKind, name: string, file: string, said: CrLine[]): ScriptRun {
  const text = CATALOG['shell-command-fails'];
  const stop = said.at(-1)!;
  const finding: Diagnostic = {
    severity: 'error',
    code: 'shell-command-fails',
    message: text.messageCrlf(command.argv[0] ?? '/bin/sh', name),
    path: null,
    layer: null,
    runtimeError: said.map((l) => crLineSaid(kind, name, l)).join('\n'),
    fix: text.fixCrlf(file),
    evidence: [`${name} line ${stop.line} ends in a CR (Windows line endings)`],
  };
  const detail = `${name} stops at line ${stop.line}: ${stop.what === 'set' ? 'set is given an option "\\r"' : 'a command "\\r" is not found, under set -e'}`;
  return stoppedRun(command, detail, finding);
}

/** The command a script runs: its words, its assignments, the name ($0) and line its shell's messages carry. */
interface ScriptLine {
  name: string;
  words: string[];
  env: string[];
  /** Its line in a script file; null for `sh -c` words. */
  line: number | null;
  /** Its first word came from the script's arguments ("$@"): a name, never a keyword. */
  fromArgs?: boolean;
  /** The shell runs it under set -e. */
  errexit?: boolean;
  evidence: string;
}

/** The shell runs one command of its script: found as the shell finds it, then executed, or the shell's line saying why not. */
function runLine(
  model: ImageModel,
  ctx: ExecContext,
  command: Command,
  shellPath: string,
  configArch: string | null,
  layerOf: (path: string) => number | null,
  form: ScriptLine,
): ScriptRun | null {
  const shell = command.argv[0] ?? '/bin/sh';
  const name = form.name;
  const resolved = resolvePath(ctx.tree, shellPath, { cwd: ctx.cwd });
  const sh: Shell = resolved.ok ? shellOf(resolved.node, resolved.path) : { kind: null, modern: true, applets: null, standalone: false };
  const program = programWords(form.words, sh.kind);
  if (!program) {
    const refused = execRefusal(form.words, sh.kind);
    if (!refused) return null;
    const text = CATALOG['shell-command-fails'];
    const at = sh.kind === 'bash' ? `${name}: line ${form.line ?? 1}: ` : `${name}: exec: line ${form.line ?? 0}: `;
    const finding: Diagnostic = {
      severity: 'error',
      code: 'shell-command-fails',
      message: text.messageExecOption(name, refused.option),
      path: null,
      layer: null,
      runtimeError: refused.line === null ? null : `${at}${refused.line}`,
      fix: text.fixExecOption(command.keyword),
      evidence: [form.evidence],
    };
    const detail = `under ${name}: exec refuses ${refused.option}`;
    return {
      shell,
      path: null,
      results: [{ step: { step: 'lookup', ok: false, detail }, findings: [finding] }],
      program: null,
      load: null,
    };
  }
  const { words, exec } = program;
  const word = words[0];
  // a word the script starts with is a program's name, "-e" too; after exec it is an option,
  // one this shell's exec does not take (dash's takes none: `exec -a x /app` looks for "-a")
  if (word === undefined || (exec && word.startsWith('-') && sh.kind !== 'dash')) return null;
  // `time` is a keyword of bash (and of the other shells not known here); busybox's is an
  // applet (below); dash has none, and runs /usr/bin/time.
  // exec runs a program, never a builtin: `exec echo` looks for echo in PATH.
  if (!exec && (isBuiltin(word, sh.kind) || (word === 'time' && !form.fromArgs && (sh.kind === 'bash' || sh.kind === null)))) return null;
  // a standalone busybox runs its own applets by bare name, whatever PATH holds (all of them,
  // when /proc is mounted); another finds them through PATH, as the links to it they are
  if (sh.kind === 'busybox' && sh.standalone && !word.includes('/') && (sh.applets === null || sh.applets.has(word))) {
    if (!RUNNER_APPLETS.has(word)) return null;
    // its env or shell applet runs a program in turn: the next hop
    const detail = `under ${name}: ${word} is ${name}'s own applet`;
    return {
      shell,
      path: shellPath,
      results: [{ step: { step: 'lookup', ok: true, detail }, findings: [] }],
      program: null,
      load: null,
      child: { argv: words, ctx: { ...ctx, env: withVars(ctx.env, form.env) } },
    };
  }
  // `FOO=1 exec /app`: the assignment is in the program's environment (and PATH finds it), in
  // each shell; `exec FOO=1 /app` is another thing: exec looks for a program named FOO=1
  const inner: ExecContext = { ...ctx, env: withVars(ctx.env, form.env) };
  const under = (r: StepResult): StepResult => ({ ...r, step: { ...r.step, detail: `under ${name}: ${r.step.detail}` } });
  const asWritten = (argv: string[]): Command => ({ ...command, argv, shellForm: false, script: null, shellName: null });

  /** One file, as the shell tries it: found and executed, or the reason it is not. */
  const attempt = (path: string): Attempt | { path: string; exec: ExecStep } => {
    const l = findExecutable(ctx.tree, word, path, ctx.cwd, ctx.user);
    if (!l.ok && shutOnTheWay(ctx.tree, path, ctx.cwd, ctx.user)) {
      const result = lookupStep(model, asWritten([path, ...words.slice(1)]), inner.env, ctx.cwd, ctx.user);
      return { path, failure: { why: EACCES }, result, found: false };
    }
    if (!l.ok) {
      const result = lookupStep(model, asWritten([path, ...words.slice(1)]), inner.env, ctx.cwd, ctx.user);
      return { path, failure: { why: shellLookupErrno(l, sh.kind) }, result, found: false };
    }
    const ex = execStep(inner, path, word, configArch);
    if (ex.program || !ex.failure) return { path, exec: ex };
    const f = ex.failure;
    if (f.code === 'exec-format' && ctx.catalog.of(l.node) === null) return { path, exec: ex }; // text: the shell reads it
    const why = execErrno(f);
    const missingInterpreter = why === ENOENT && (f.code === 'interpreter-missing' || f.code === 'shebang-interpreter-missing');
    return {
      path,
      failure: { why, missingInterpreter, ...(f.interpreter !== undefined && !f.byEnv ? { interpreter: f.interpreter } : {}) },
      result: ex,
      found: true,
      ...(f.byEnv ? { ended: true } : {}),
    };
  };

  /**
   * ash's find_command: the index of the first PATH entry holding a regular file (for dash, one
   * whose owner, group or other x bit, as it picks them, lets it run); none, with the errno it
   * then reports (EACCES once anything of that name was there) and that first thing.
   */
  const findCommand = (paths: string[], wantsX: boolean): { at: number } | { why: string; first: string | null } => {
    let why = ENOENT;
    let first: string | null = null;
    for (const [i, c] of paths.entries()) {
      if (shutOnTheWay(ctx.tree, c, ctx.cwd, ctx.user)) {
        why = EACCES;
        continue;
      }
      const r = resolvePath(ctx.tree, c, { cwd: ctx.cwd });
      if (!r.ok) {
        if (r.reason === 'loop') why = 'too many levels of symbolic links';
        continue;
      }
      if (unsearchable(ctx.tree, r.path, ctx.user)) {
        why = EACCES;
        continue;
      }
      why = EACCES;
      first ??= c;
      if (r.node.type !== 'file' && r.node.type !== 'hardlink') continue;
      if (wantsX && !ownerBitX(r.node, ctx.user)) continue;
      return { at: i };
    }
    return { why, first };
  };

  // The files the shell tries: the word itself, or each PATH entry in turn (empty: the working folder)
  const candidates = pathCandidates(word, inner.env);
  let ran: { path: string; exec: ExecStep } | null = null;
  let printed: Attempt | null = null;
  if (sh.kind === 'bash') {
    // bash: the first executable file on PATH; else the first thing there, when it is a file
    // (execve then says why not); a folder first, and it is "command not found"
    // (its test is the user's own: eaccess)
    const tries = candidates.map((c) => ({ c, l: findExecutable(ctx.tree, word, c, ctx.cwd, ctx.user) }));
    const there = tries.find((t) => t.l.ok || (t.l.reason !== 'missing' && t.l.reason !== 'unsearchable'));
    const runnable = tries.find((t) => t.l.ok && mayExecute(t.l.node, ctx.user));
    const lose = there && (there.l.ok || there.l.reason === 'not-executable') ? there.c : undefined;
    const pick = word.includes('/') ? candidates[0] : (runnable?.c ?? lose);
    const a = pick === undefined ? null : attempt(pick);
    if (a && 'exec' in a) ran = a;
    else printed = a;
  } else {
    // ash and dash: a bare name is first looked for (find_command: the first regular file,
    // for dash one it may execute), and tried from that PATH entry on; `exec` tries them all.
    // Each is exec'd in turn: ENOENT and ENOTDIR go on quietly, another errno is kept (the last).
    const from = word.includes('/') || exec ? { at: 0 } : findCommand(candidates, sh.kind === 'dash');
    if ('at' in from) {
      let quiet: Attempt | null = null;
      for (const c of candidates.slice(from.at)) {
        const a = attempt(c);
        if ('exec' in a) {
          ran = a;
          break;
        }
        if (a.ended) {
          printed = a;
          break;
        }
        if (a.failure.why === ENOENT || a.failure.why === ENOTDIR) {
          if (!quiet || (a.found && !quiet.found)) quiet = a; // a file that is there says more than one that is not
        } else printed = a;
      }
      if (!ran && !printed && quiet) printed = word.includes('/') || quiet.found ? quiet : null;
    } else {
      // none found: find_command says why (EACCES once anything of that name was there, a loop,
      // a folder it may not search), with the first thing there as the cause
      const a = from.first === null ? null : attempt(from.first);
      const result = a && !('exec' in a) ? a.result : lookupStep(model, asWritten(words), inner.env, ctx.cwd, ctx.user);
      printed = { path: word, failure: { why: from.why === ENOENT ? null : from.why }, result, found: false };
    }
  }

  if (ran) {
    const lookup: StepResult = { step: { step: 'lookup', ok: true, detail: `under ${name}: found ${ran.path}` }, findings: [] };
    if (!ran.exec.program) {
      // ENOEXEC on a text file: the shell reads it as a script of its own, which runs
      const detail = `${word} has no #! line: ${name} runs it as a script`;
      return {
        results: [lookup, under({ step: { step: 'exec', ok: true, detail }, findings: [] })],
        program: null,
        load: null,
        shell,
        path: ran.path,
      };
    }
    const loader = loaderStep(model, inner, ran.exec.program, ran.path, layerOf);
    const read = scriptReadStep(inner, ran.exec);
    const results = [lookup, under(ran.exec), under(loader), ...(read ? [under(read)] : [])];
    return {
      shell,
      path: ran.path,
      results,
      program: ran.exec.program,
      load: loader.load,
      child: { argv: words, ctx: inner },
      scripts: ran.exec.scripts,
    };
  }

  // Nothing ran: the shell prints its line, carrying the step's own finding for the cause and the fix
  const result = printed?.result ?? lookupStep(model, asWritten(words), inner.env, ctx.cwd, ctx.user);
  const failure: ShellFailure = printed
    ? { word, exec, path: sh.kind === 'bash' && exec ? bashExecName(ctx, printed.path) : printed.path, ...printed.failure }
    : { word, exec, path: word, why: null };
  const [cause] = result.findings.filter((d) => d.severity === 'error');
  const byEnv = printed?.found && 'failure' in printed.result ? (printed.result as ExecStep).failure?.byEnv : false;
  const text = CATALOG['shell-command-fails'];
  const finding: Diagnostic = {
    severity: 'error',
    code: 'shell-command-fails',
    message: text.message(name, word, cause?.message ?? failure.why ?? 'command not found'),
    path: cause?.path ?? null,
    layer: cause?.layer ?? null,
    // env looked the program up and printed its own line; the shell adds nothing
    runtimeError: byEnv ? (cause?.runtimeError ?? null) : shellLine(sh, name, failure, command.shellNamed, form.line, form.errexit),
    fix: cause?.fix ?? text.fix,
    evidence: [form.evidence, ...(cause?.evidence ?? [])],
    ...(cause ? { cause: cause.code } : {}),
  };
  const step = under(result).step;
  const results = printed?.found
    ? [{ step: { step: 'lookup' as const, ok: true, detail: `under ${name}: found ${printed.path}` }, findings: [] }]
    : [];
  return {
    shell,
    path: printed?.found ? printed.path : null,
    results: [...results, { step, findings: [finding, ...result.findings.filter((d) => d.severity !== 'error')] }],
    program: null,
    load: null,
  };
}

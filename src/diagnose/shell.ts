/**
 * A shell-form command (["/bin/sh", "-c", "/app --flag"]) starts the shell, which then runs
 * the program its script names. When the runtime's steps get the shell going, the script's
 * program goes through the same steps as the shell runs it: PATH searched as the shell
 * searches it (no Go rule against relative folders), execve, the loader. A failure the shell
 * meets is printed by the shell, in its own words ("/bin/sh: /app: not found", the Alpine
 * classic of a glibc program without its loader); the loader's failures print as they would
 * for the program run directly. A script that does more than run one program is not followed.
 */
import { type Node, openBytes, resolvePath } from '../fs/index.js';
import { scanFor } from '../elf/scan.js';
import type { ImageModel } from '../load.js';
import { CATALOG } from './catalog.js';
import type { Command } from './command.js';
import { type ExecContext, type ExecStep, execStep } from './exec.js';
import { type LoaderStep, loaderStep } from './loader.js';
import { lookPath, lookupStep } from './lookup.js';
import { execForm } from './shellwords.js';
import type { Diagnostic, StepResult } from './types.js';

export type ShellKind = 'busybox' | 'dash' | 'bash';

/** Builtins a script may start with: the shell runs no program for them (exec is followed). */
const BUILTINS = new Set(
  (
    '. : [ alias bg break cd command continue echo eval exit export false fc fg getopts hash jobs kill local ' +
    'printf pwd read readonly return set shift source test times trap true type ulimit umask unalias unset wait'
  ).split(' '),
);

/** Which shell a file is: by its name, else by what its bytes say of it (busybox copied to /bin/sh). */
export function shellKind(node: Node, real: string): ShellKind | null {
  const base = real.slice(real.lastIndexOf('/') + 1);
  if (base.startsWith('busybox')) return 'busybox';
  if (base === 'dash') return 'dash';
  if (base === 'bash') return 'bash';
  if (!node.content) return null;
  const b = openBytes(node.content);
  try {
    // dash names itself nowhere; its error prefix ("sh: 1: …") is its own format string
    const seen = scanFor(b, ['BusyBox v', 'GNU bash, version', '%s: %d: %s: '], 16 << 20);
    return seen.has('BusyBox v') ? 'busybox' : seen.has('GNU bash, version') ? 'bash' : seen.has('%s: %d: %s: ') ? 'dash' : null;
  } finally {
    b.release();
  }
}

/**
 * The shell's line when it cannot run `word`: `why` is strerror's text in Go's lowercase, or
 * "command not found" when PATH has no such program. ash and dash say "not found" for ENOENT;
 * bash says more, and tells a missing #! or ELF interpreter apart (`missingInterpreter`).
 */
export function shellLine(kind: ShellKind | null, sh: string, word: string, why: string, missingInterpreter = false): string | null {
  const cap = why.charAt(0).toUpperCase() + why.slice(1);
  const enoent = why === 'no such file or directory' || why === 'command not found';
  switch (kind) {
    case 'busybox':
      return `${sh}: ${word}: ${enoent ? 'not found' : cap}`;
    case 'dash':
      return `${sh}: 1: ${word}: ${enoent ? 'not found' : cap}`;
    case 'bash':
      if (why === 'command not found') return `${sh}: line 1: ${word}: command not found`;
      if (missingInterpreter) return `${sh}: line 1: ${word}: cannot execute: required file not found`;
      return `${sh}: line 1: ${word}: ${cap}`;
    case null:
      return null; // another shell (mksh, zsh, …): it fails all the same, in words not known here
  }
}

export interface ScriptRun {
  /** The shell, and the path of the program its script runs (null when the lookup found none). */
  shell: string;
  path: string | null;
  /** The steps, as the shell takes them; the launch stops at the first that fails. */
  results: StepResult[];
  /** The program the script runs and what its loader found, when it gets that far (for the program's warnings). */
  program: NonNullable<ExecStep['program']> | null;
  load: LoaderStep['load'];
}

/**
 * The steps of the program a shell-form command's script runs, or null when the script is
 * not one program with its arguments (pipes, expansions, a builtin). A shell not known here
 * is followed too; its failures carry no line (its words are not known).
 */
export function scriptRun(
  model: ImageModel,
  ctx: ExecContext,
  command: Command,
  shellPath: string,
  configArch: string | null,
  layerOf: (path: string) => number | null,
): ScriptRun | null {
  const [sh = '/bin/sh', , script = ''] = command.argv;
  const form = execForm(script);
  if (!form) return null;
  let words = form.words;
  if (words[0] === 'exec') words = words.slice(1);
  const word = words[0];
  if (word === undefined || word.startsWith('-') || BUILTINS.has(word)) return null;
  const shell = resolvePath(ctx.tree, shellPath, { cwd: ctx.cwd });
  const kind = shell.ok ? shellKind(shell.node, shell.path) : null;
  const inner: ExecContext = { ...ctx, env: [...ctx.env, ...form.env] };
  const under = (r: StepResult): StepResult => ({ ...r, step: { ...r.step, detail: `under ${sh}: ${r.step.detail}` } });
  /** A failure the shell prints, in its words, carrying the step's own finding for the cause and the fix. */
  const byShell = (r: StepResult, why: string, missingInterpreter = false): StepResult => {
    const [cause] = r.findings.filter((d) => d.severity === 'error');
    const words = CATALOG['shell-command-fails'];
    const finding: Diagnostic = {
      severity: 'error',
      code: 'shell-command-fails',
      message: words.message(sh, word, cause?.message ?? why),
      path: cause?.path ?? null,
      layer: cause?.layer ?? null,
      runtimeError: shellLine(kind, sh, word, why, missingInterpreter),
      fix: cause?.fix ?? words.fix,
      evidence: [`${sh} -c ${JSON.stringify(script)}`, ...(cause?.evidence ?? [])],
      ...(cause ? { cause: cause.code } : {}),
    };
    return { step: under(r).step, findings: [finding, ...r.findings.filter((d) => d.severity !== 'error')] };
  };

  const found = lookPath(ctx.tree, word, inner.env, ctx.cwd, ctx.user, false); // a shell's search: no ErrDot
  if (!found.ok) {
    const r = lookupStep(model, { ...command, argv: words, shellForm: false }, inner.env, ctx.cwd, ctx.user);
    const why =
      found.reason === 'not-in-path'
        ? 'command not found'
        : found.reason === 'missing'
          ? (/: ([a-z ]+)$/.exec(found.runtimeError)?.[1] ?? 'no such file or directory')
          : found.reason === 'directory' && kind === 'bash'
            ? 'is a directory' // bash looks before it runs: EISDIR; ash and dash get execve's EACCES
            : 'permission denied';
    return { shell: sh, path: null, results: [byShell(r, why)], program: null, load: null };
  }
  const lookup: StepResult = { step: { step: 'lookup', ok: true, detail: `under ${sh}: found ${found.path}` }, findings: [] };
  const exec = execStep(inner, found.path, word, configArch);
  if (!exec.program) {
    const cause = exec.findings.find((d) => d.severity === 'error');
    if (cause?.code === 'exec-format' && ctx.catalog.of(found.node) === null) {
      // ENOEXEC on a text file: the shell reads it as a script of its own, which runs
      return {
        results: [
          lookup,
          under({ step: { step: 'exec', ok: true, detail: `${word} has no #! line: ${sh} runs it as a script` }, findings: [] }),
        ],
        program: null,
        load: null,
        shell: sh,
        path: found.path,
      };
    }
    const why = /: ([a-z ]+)$/.exec(cause?.runtimeError ?? '')?.[1] ?? 'no such file or directory';
    if (why === 'exec format error') {
      // the shell then reads a binary as a script: what it prints depends on the bytes
      const r = byShell(exec, why);
      r.findings[0]!.runtimeError = null;
      return { results: [lookup, r], program: null, load: null, shell: sh, path: found.path };
    }
    return {
      results: [lookup, byShell(exec, why, cause?.code === 'interpreter-missing' || cause?.code === 'shebang-interpreter-missing')],
      program: null,
      load: null,
      shell: sh,
      path: found.path,
    };
  }
  const loader = loaderStep(model, inner, exec.program, found.path, layerOf);
  return { shell: sh, path: found.path, results: [lookup, under(exec), under(loader)], program: exec.program, load: loader.load };
}

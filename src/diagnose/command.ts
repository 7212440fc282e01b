/**
 * The command: Entrypoint + Cmd after docker run's overrides (--entrypoint drops the
 * image's Cmd). No command at all is the runtime's "No command specified"; a shell-form
 * command runs under /bin/sh -c, which keeps the program from getting docker stop's signal.
 */
import type { ImageConfig } from '../source/types.js';
import { CATALOG } from './catalog.js';
import { execForm } from './shellwords.js';
import type { Diagnostic, StepResult } from './types.js';

export interface CommandOptions {
  /** Like `docker run --entrypoint`: replaces Entrypoint and drops the image's Cmd. */
  entrypoint?: string[];
  /** Like the arguments after the image name in `docker run`: replaces Cmd. */
  cmd?: string[];
}

export const SHELLS = /^\/?(usr\/)?(bin\/)?(sh|bash|ash|dash|zsh)$/;

export interface Command extends StepResult {
  argv: string[];
  /** ["/bin/sh", "-c", "…"]: the program runs under a shell. */
  shellForm: boolean;
  /** The shell's script, in a shell form (SHELL may give options: ["/bin/bash", "-o", "pipefail", "-c"]). */
  script: string | null;
  /** The name the shell gives itself in its messages ($0): the word after the script, else its own argv[0] (busybox's applet: its name). */
  shellName: string | null;
  /** $0 was given (sh -c SCRIPT NAME): busybox then puts "line 0:" in its messages. */
  shellNamed: boolean;
  /** A shell given -c and no script after its options: it starts, and stops at once (see shellScript). */
  noScript: boolean;
  /** A shell given a script file to read (["sh", "/entrypoint.sh"]): it opens it as the container's user. */
  scriptFile: string | null;
  /** The words after that script file: its arguments ("$@"). */
  scriptArgs: string[];
  /** The shell's options before that script file (-e, -l, -o pipefail…). */
  scriptOptions: string[];
  /** The instruction that holds the command: ENTRYPOINT when one is set (or given), else CMD. */
  keyword: 'ENTRYPOINT' | 'CMD';
}

export function commandStep(config: ImageConfig | null, opts: CommandOptions): Command {
  let entrypoint = opts.entrypoint ?? config?.entrypoint ?? [];
  const cmd = opts.cmd ?? (opts.entrypoint ? [] : (config?.cmd ?? []));
  // The engine takes ENTRYPOINT [""] (and --entrypoint "") for none, after the merge: CMD runs alone
  const blank = entrypoint.length === 1 && entrypoint[0] === '';
  if (blank) entrypoint = [];
  const argv = [...entrypoint, ...cmd];
  const keyword = entrypoint.length ? 'ENTRYPOINT' : 'CMD';
  if (argv.length === 0) {
    const words = CATALOG['no-command'];
    return {
      argv,
      shellForm: false,
      script: null,
      shellName: null,
      shellNamed: false,
      noScript: false,
      scriptFile: null,
      scriptArgs: [],
      scriptOptions: [],
      keyword,
      step: {
        step: 'command',
        ok: false,
        detail: config
          ? blank
            ? 'ENTRYPOINT [""] (which the engine takes for none) and no CMD'
            : 'no ENTRYPOINT and no CMD'
          : 'a plain root filesystem has no command',
      },
      findings: [
        {
          severity: 'error',
          code: 'no-command',
          message: words.message(config !== null),
          path: null,
          layer: null,
          runtimeError: words.runc,
          fix: words.fix,
          evidence: [],
        },
      ],
    };
  }
  return commandOf(argv, keyword);
}

/**
 * An argv as a command: a shell form when it is a shell given -c and its script. Also for a
 * program another one runs in turn (a shell's script, an init program's or env's argv).
 */
export function commandOf(argv: string[], keyword: Command['keyword']): Command {
  const parsed = shellScript(argv);
  const form = parsed && 'script' in parsed ? parsed : null;
  const shellForm = form !== null;
  return {
    argv,
    shellForm,
    script: form?.script ?? null,
    shellName: form?.name ?? null,
    shellNamed: form?.named ?? false,
    noScript: parsed !== null && 'missing' in parsed,
    scriptFile: parsed && 'file' in parsed ? parsed.file : null,
    scriptArgs: parsed && 'file' in parsed ? parsed.args : [],
    scriptOptions: parsed && 'file' in parsed ? parsed.options : [],
    ...(parsed && ('missing' in parsed || 'file' in parsed) ? { shellName: parsed.name } : {}),
    keyword,
    step: { step: 'command', ok: true, detail: `argv ${JSON.stringify(argv)}${shellForm ? ' (shell form: runs under /bin/sh -c)' : ''}` },
    findings: [],
  };
}

/**
 * The script of a shell form: a shell (or busybox's sh applet), its options, then the script.
 * The options come first, -c among them (alone or in a cluster such as -ec, -lc, or after
 * others: "-c -e"), up to the first word that is not one or a "--"; that word is the script,
 * the next $0. SHELL ["/bin/bash", "-o", "pipefail", "-c"] is one; a shell run on a script
 * file is not. `missing`: -c and no script after the options, which the shell
 * refuses ("-c requires an argument", busybox, dash and bash alike, exit 2).
 */
export function shellScript(
  argv: string[],
):
  | { script: string; name: string; named: boolean }
  | { missing: true; name: string }
  | { file: string; name: string; args: string[]; options: string[] }
  | null {
  let i = 1;
  const prog = argv[0] ?? '';
  // `busybox sh -c …`: the applet calls itself by the name it was asked for
  const applet = /(^|\/)busybox$/.test(prog) && /^(ash|sh|bash)$/.test(argv[1] ?? '') ? argv[1]! : null;
  if (applet) i = 2;
  else if (!SHELLS.test(prog)) return null;
  const first = i;
  let c = false;
  let stdin = false;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    // "--" and a lone "-" end the options
    if (a === '--' || a === '-') {
      i++;
      break;
    }
    if (a === '--rcfile' || a === '--init-file') i++;
    else if (/^--[a-z]/.test(a))
      continue; // bash's long options (--login, --norc)
    else if (/^[-+][A-Za-z]+$/.test(a)) {
      // +c as -c; each o (or bash's O) in a cluster takes the next word: -eo pipefail
      c ||= a.includes('c');
      stdin ||= a.startsWith('-') && a.includes('s');
      for (const f of a.slice(1)) if (f === 'o' || f === 'O') i++;
    } else break;
  }
  const script = argv[i];
  // no -c: the first word after the options is a script file the shell reads (none: it reads stdin, and ends)
  // (-s: the words are its arguments, and it reads its commands from stdin)
  if (!c)
    return script === undefined || stdin
      ? null
      : { file: script, name: applet ?? prog, args: argv.slice(i + 1), options: argv.slice(first, i) };
  if (script === undefined) return { missing: true, name: applet ?? prog };
  // sh -c SCRIPT NAME ARGS…: NAME becomes $0, the name the shell's messages carry
  return { script, name: argv[i + 1] ?? applet ?? prog, named: argv[i + 1] !== undefined };
}

/** "exec prog" hands PID 1 to the program; anything else keeps the shell in between. */
export function shellFormWarning(argv: string[], keyword: Command['keyword'], script: string): Diagnostic | null {
  const [prog = ''] = argv;
  if (/^\s*exec\s/.test(script)) return null;
  const simple = !/[;&|<>()`$\n]/.test(script);
  const words = CATALOG['shell-form-signals'];
  return {
    code: 'shell-form-signals',
    severity: 'warning',
    message: words.message(prog, script, simple),
    path: prog,
    layer: null,
    runtimeError: null,
    fix: words.fix(keyword, execForm(script)),
    evidence: [`argv ${JSON.stringify(argv)}`],
  };
}

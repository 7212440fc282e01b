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
  const shellForm = argv.length >= 3 && argv[1] === '-c' && SHELLS.test(argv[0] ?? '');
  return {
    argv,
    shellForm,
    keyword,
    step: { step: 'command', ok: true, detail: `argv ${JSON.stringify(argv)}${shellForm ? ' (shell form: runs under /bin/sh -c)' : ''}` },
    findings: [],
  };
}

/** "exec prog" hands PID 1 to the program; anything else keeps the shell in between. */
export function shellFormWarning(argv: string[], keyword: Command['keyword']): Diagnostic | null {
  const [prog = '', , script = ''] = argv; // shell form: [shell, '-c', script]
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

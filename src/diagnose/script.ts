/**
 * The interpreter reads its script: the kernel starts a #! script's interpreter with only the
 * execute bit, and the interpreter then opens the script as the container's user. One that may
 * not read it stops there, in the interpreter's words (checked against real runs in
 * test/shell.test.ts).
 */
import { resolvePath } from '../fs/index.js';
import { mayRead } from '../loader/access.js';
import { CATALOG } from './catalog.js';
import type { ExecContext, ExecStep } from './exec.js';
import { shellOf } from './shell-kind.js';
import type { StepResult } from './types.js';

/** What an interpreter prints when it may not open its script; null when its words are not known here. */
function cannotOpen(prog: NonNullable<ExecStep['program']>, script: string): string | null {
  const base = prog.path.slice(prog.path.lastIndexOf('/') + 1);
  if (/^python[\d.]*$/.test(base)) return `${prog.argv0}: can't open file '${script}': [Errno 13] Permission denied`;
  switch (shellOf(prog.node, prog.path).kind) {
    case 'busybox':
      return `${prog.argv0}: can't open '${script}': Permission denied`;
    case 'dash':
      return `${prog.argv0}: 0: cannot open ${script}: Permission denied`;
    case 'bash':
      return `${prog.argv0}: ${script}: Permission denied`;
    case null:
      return null;
  }
}

/** The step after the loader for a program reached through #!: it reads the script it was given. Null when there is none. */
export function scriptReadStep(ctx: ExecContext, exec: ExecStep): StepResult | null {
  const script = exec.scripts.at(-1);
  if (!script || !exec.program) return null;
  const r = resolvePath(ctx.tree, script, { cwd: ctx.cwd });
  const who = ctx.user;
  if (!r.ok || !who || mayRead(r.node, who)) {
    return { step: { step: 'script', ok: true, detail: `${exec.program.path} reads ${script}` }, findings: [] };
  }
  const mode = r.node.mode.toString(8).padStart(4, '0');
  const words = CATALOG['script-unreadable'];
  return {
    step: { step: 'script', ok: false, detail: `${exec.program.path} may not read ${script} (mode ${mode}, uid ${who.uid})` },
    findings: [
      {
        severity: 'error',
        code: 'script-unreadable',
        message: words.message(r.path, mode, `${r.node.uid}:${r.node.gid}`, who.uid, exec.program.path),
        path: r.path,
        layer: r.node.layer ?? null,
        runtimeError: cannotOpen(exec.program, script),
        fix: words.fix(r.path),
        evidence: [`${r.path} mode ${mode}, owner ${r.node.uid}:${r.node.gid}`, `runs as uid ${who.uid}, groups ${who.gids.join(',')}`],
      },
    ],
  };
}

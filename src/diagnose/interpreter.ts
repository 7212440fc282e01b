/**
 * An interpreter given its script as the command (CMD ["python3", "app.py"], ["node",
 * "server.js"]): the program starts, then opens the script from the working folder, and a
 * script that is not there (a COPY to another folder, a WORKDIR that differs) ends it at once
 * in the interpreter's words. Read off Debian's python3.11 and Node 20 run in a chroot
 * (test/interpreter.test.ts). Options that run something else (-c, -m, -e) leave nothing to check.
 */
import { resolvePath } from '../fs/index.js';
import { CATALOG } from './catalog.js';
import type { Command } from './command.js';
import type { ExecContext } from './exec.js';
import type { StepResult } from './types.js';

type Kind = 'python' | 'node';

function kindOf(path: string): { kind: Kind; minor: number | null } | null {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const py = /^python(3(?:\.(\d+))?)?$/.exec(base);
  if (py) return { kind: 'python', minor: py[2] === undefined ? null : Number(py[2]) };
  if (base === 'node' || base === 'nodejs') return { kind: 'node', minor: null };
  return null;
}

/** CPython's options that take the next word (-c and -m run no script file). */
const PY_ARG = new Set(['-W', '-X', '--check-hash-based-pycs']);
/** Node's options that take the next word; -e, -p and their long names run no script file. */
const NODE_ARG = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--title',
  '--input-type',
]);
const NODE_EVAL = new Set([
  '-e',
  '--eval',
  '-p',
  '--print',
  '-i',
  '--interactive',
  '-v',
  '--version',
  '-h',
  '--help',
  '--test',
  '--check',
  '-c',
]);

/** The script the interpreter is given, or null when it runs none (an option runs code, reads stdin, or is not known). */
function scriptOf(kind: Kind, args: string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1] ?? null;
    if (a === '-' || !a.startsWith('-')) return a === '-' ? null : a;
    if (kind === 'python') {
      if (PY_ARG.has(a)) i++;
      else if (/^-[WX]/.test(a))
        continue; // -Wdefault, -Xdev: the value in the same word
      else if (/^-[^-]*[cmhV?]/.test(a) || a === '--help' || a === '--version') return null;
    } else {
      if (NODE_EVAL.has(a) || /^--(eval|print)=/.test(a)) return null;
      if (NODE_ARG.has(a)) i++;
    }
  }
  return null;
}

/** A path joined to the working folder as the interpreter makes it absolute. */
function absolute(kind: Kind, cwd: string, name: string, minor: number | null): string {
  if (kind === 'node') return resolvePathText(name.startsWith('/') ? name : `${cwd}/${name}`);
  // CPython 3.9+ joins it to the working folder as given ("//app.py" from "/"); before, as written
  if (minor !== null && minor < 9) return name;
  return name.startsWith('/') ? name : `${cwd}/${name}`;
}

/** path.resolve's normal form: no empty, "." or ".." parts. */
function resolvePathText(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * The step after an interpreter starts: it opens its script. Null when the program is not an
 * interpreter known here, or runs no script file.
 */
export function interpreterScriptStep(ctx: ExecContext, command: Command, programPath: string): StepResult | null {
  const real = resolvePath(ctx.tree, programPath, { cwd: ctx.cwd });
  const k = kindOf(real.ok ? real.path : programPath) ?? kindOf(command.argv[0] ?? '');
  if (!k) return null;
  const script = scriptOf(k.kind, command.argv.slice(1));
  if (script === null || script === '') return null;
  const argv0 = command.argv[0] ?? programPath;
  const at = (p: string) => resolvePath(ctx.tree, p, { cwd: ctx.cwd });
  const r = at(script);
  let line: string;
  let detail: string;
  if (k.kind === 'node') {
    // node tries the name, then with .js, .json and .node, then as a folder (its package.json, index.*)
    const file = (p: string) => {
      const f = at(p);
      return f.ok && f.node.type !== 'dir';
    };
    const exts = ['', '.js', '.json', '.node'];
    const found =
      exts.some((e) => file(script + e)) ||
      (r.ok && r.node.type === 'dir' && ['package.json', 'index.js', 'index.json', 'index.node'].some((n) => file(`${r.path}/${n}`)));
    if (found) return { step: { step: 'script', ok: true, detail: `${argv0} reads ${script}` }, findings: [] };
    line = `Error: Cannot find module '${absolute('node', ctx.cwd, script, null)}'`;
    detail = `${script} does not exist in the image (nor with .js, .json or .node)`;
  } else if (!r.ok) {
    line = `${argv0}: can't open file '${absolute('python', ctx.cwd, script, k.minor)}': [Errno 2] No such file or directory`;
    detail = `${script} does not exist in the image`;
  } else if (r.node.type === 'dir' && !at(`${r.path}/__main__.py`).ok && !at(`${r.path}/__main__.pyc`).ok) {
    // a folder runs its __main__.py; the line names the interpreter as found on PATH
    line = `${programPath}: can't find '__main__' module in '${absolute('python', ctx.cwd, script, k.minor)}'`;
    detail = `${script} is a folder without a __main__.py`;
  } else return { step: { step: 'script', ok: true, detail: `${argv0} reads ${script}` }, findings: [] };
  const text = CATALOG['script-missing'];
  return {
    step: { step: 'script', ok: false, detail: `${argv0} cannot open ${script}: ${detail}` },
    findings: [
      {
        severity: 'error',
        code: 'script-missing',
        message: text.message(argv0, script, detail),
        path: r.ok ? r.path : script,
        layer: r.ok ? (r.node.layer ?? null) : null,
        runtimeError: line,
        fix: text.fix(script, 'ENOENT'),
        evidence: [`argv ${JSON.stringify(command.argv)}`, `WORKDIR ${ctx.cwd}`],
      },
    ],
  };
}

/**
 * CPython's standard library. Before it runs anything, python imports the encodings package
 * (the codec of the file system's names) from the folders it computes from where it sits
 * (lib/python3.N beside its prefix, or the zip lib/python3N.zip). python3.N copied into an
 * image with only the libraries ldd lists (scratch, distroless/cc) starts, finds no such
 * package, and exits 1: "Fatal Python error: init_fs_encoding: … No module named
 * 'encodings'". Which folders it searches (getpath: its prefix found by landmarks, a venv's
 * home, PYTHONHOME, the prefix it was built with) is not followed here: only an image with
 * no python3.N/encodings and no python3N.zip anywhere is said to fail, which no search can
 * find. Read off Debian's python3.11 run in a chroot (test/interpreter.test.ts).
 */
import type { MergedTree, Node } from '../fs/tree.js';
import { openBytes, resolvePath } from '../fs/index.js';
import { envValue } from '../source/config.js';
import { CATALOG } from './catalog.js';
import type { ExecContext } from './exec.js';
import type { StepResult } from './types.js';

/**
 * The minor version of a CPython 3 interpreter; null for another program. Told by its file's
 * name (python3 links to python3.N); a file named python3 or python itself (COPY follows the
 * link, so an image gets python3.N's bytes under that name) by the libpython it needs, else by
 * its own version string ("3.11.2", beside CPython's fatal-error words, in Debian's static build).
 */
function pythonMinor(ctx: Pick<ExecContext, 'catalog'>, path: string, node: Node | null): number | null {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const m = /^python3\.(\d+)$/.exec(base);
  if (m) return Number(m[1]);
  if ((base !== 'python3' && base !== 'python') || !node?.content || node.content.size > PYTHON_MAX) return null;
  // the diagnosis and the closure both ask of the same file: its bytes are read once
  const known = minorOfFile.get(node);
  if (known !== undefined) return known;
  const minor = minorOfBytes(ctx, node);
  minorOfFile.set(node, minor);
  return minor;
}

const minorOfFile = new WeakMap<Node, number | null>();

function minorOfBytes(ctx: Pick<ExecContext, 'catalog'>, node: Node): number | null {
  if (!node.content) return null;
  const elf = ctx.catalog.of(node);
  if (!elf?.ok) return null;
  for (const lib of elf.info.needed) {
    const v = /^libpython3\.(\d+)/.exec(lib);
    if (v) return Number(v[1]);
  }
  const b = openBytes(node.content);
  try {
    const text = b.read(0, node.content.size).toString('latin1');
    if (!text.includes('Fatal Python error')) return null;
    // a C string of its own: NULs around it
    // eslint-disable-next-line no-control-regex
    const version = /\x003\.(\d+)\.\d+(?:(?:a|b|rc)\d+)?\+?\x00/.exec(text);
    return version ? Number(version[1]) : null;
  } finally {
    b.release();
  }
}

/** Larger than any python binary (Debian's is 7 MB): not read whole to be told. */
const PYTHON_MAX = 64 << 20;

/** Whether the image holds an encodings package for python3.`minor`, or its stdlib zip, anywhere. */
function hasStdlib(tree: MergedTree, minor: number, likely: string[]): boolean {
  const dir = `python3.${minor}`;
  const zip = `python3${minor}.zip`;
  const isPackage = (lib: Node | null | undefined) => {
    const enc = lib?.children?.get('encodings');
    // a link is not followed here: counted as one (the answer must never be a false "fails")
    if (enc?.type === 'symlink') return true;
    return enc?.children !== null && enc?.children !== undefined && (enc.children.has('__init__.py') || enc.children.has('__init__.pyc'));
  };
  // where it nearly always is: beside the interpreter's prefix, /usr, /usr/local
  for (const prefix of likely) {
    const lib = resolvePath(tree, `${prefix}/lib`, { cwd: '/' });
    if (lib.ok && (isPackage(lib.node.children?.get(dir)) || lib.node.children?.has(zip))) return true;
  }
  // anywhere else, folder by folder (links are not followed: their targets are in the tree too)
  const stack: Node[] = [tree.root];
  for (let n = stack.pop(); n; n = stack.pop()) {
    for (const [name, child] of n.children!) {
      if (name === zip && child.type !== 'dir') return true;
      if (name === dir && child.type === 'symlink') return true; // a link to the library, maybe
      if (!child.children) continue;
      if (name === dir && isPackage(child)) return true;
      stack.push(child);
    }
  }
  return false;
}

/**
 * The standard library a CPython program needs to start, for the closure: its folder beside
 * the program's prefix (/usr/bin/python3.11: /usr/lib/python3.11), and whether the image has
 * one for its version anywhere. Null for any other program.
 */
export function pythonStdlib(
  ctx: Pick<ExecContext, 'catalog' | 'tree'>,
  path: string,
  node: Node | null,
): { dir: string; minor: number; present: () => boolean } | null {
  const minor = pythonMinor(ctx, path, node);
  if (minor === null) return null;
  const bin = path.slice(0, path.lastIndexOf('/')) || '/';
  const prefix = bin.slice(0, bin.lastIndexOf('/')) || '';
  return { dir: `${prefix}/lib/python3.${minor}`, minor, present: () => hasStdlib(ctx.tree, minor, [prefix, '/usr', '/usr/local']) };
}

/**
 * The step after python starts: it imports its standard library's encodings. A failing step
 * when the image has none for its version; null otherwise (and for any other program).
 */
export function stdlibStep(ctx: ExecContext, programPath: string, argv0: string): StepResult | null {
  const real = resolvePath(ctx.tree, programPath, { cwd: ctx.cwd });
  const path = real.ok ? real.path : programPath;
  const python = pythonStdlib(ctx, path, real.ok ? real.node : null);
  if (python === null) return null;
  const { minor, dir: stdlib } = python;
  // PYTHONPATH, PYTHONHOME, or a ._pth file beside it, may put the library anywhere, under any name
  if (envValue(ctx.env, 'PYTHONPATH') || envValue(ctx.env, 'PYTHONHOME')) return null;
  if (
    resolvePath(ctx.tree, `${path}._pth`).ok ||
    resolvePath(ctx.tree, `${path.slice(0, path.lastIndexOf('/') + 1)}python3${minor}._pth`).ok
  )
    return null;
  if (python.present()) return null;
  const text = CATALOG['stdlib-missing'];
  // the fatal lines, as 3.9 and later print them (before them, the search's warnings and its paths)
  const line =
    minor >= 9
      ? "Fatal Python error: init_fs_encoding: failed to get the Python codec of the filesystem encoding\nPython runtime state: core initialized\nModuleNotFoundError: No module named 'encodings'"
      : null;
  return {
    step: { step: 'script', ok: false, detail: `${argv0} finds no standard library (python3.${minor}/encodings) anywhere in the image` },
    findings: [
      {
        severity: 'error',
        code: 'stdlib-missing',
        message: text.message(argv0, `python3.${minor}`, stdlib),
        path,
        layer: real.ok ? real.node.layer : null,
        runtimeError: line,
        fix: text.fix(stdlib, minor),
        evidence: [`${path}: CPython 3.${minor}`, `no python3.${minor}/encodings/__init__.py nor python3${minor}.zip in the image`],
      },
    ],
  };
}

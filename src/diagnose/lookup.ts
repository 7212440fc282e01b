/**
 * Finding the executable as runc does, with Go's exec.LookPath inside the container: a
 * name with a slash is taken as a path (relative to the working directory); a bare name
 * is searched in PATH. The file must exist (symlinks followed inside the image), must not
 * be a directory, and must have an execute bit.
 */
import { type MergedTree, type Node, resolvePath } from '../fs/index.js';
import { envValue } from '../source/config.js';

/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Lookup =
  | { ok: true; path: string; real: string; node: Node; links: string[] }
  | {
      ok: false;
      reason: 'missing' | 'not-in-path' | 'directory' | 'not-executable';
      path: string;
      runtimeError: string;
      detail: string;
      node: Node | null;
    };

export function containerPath(env: string[]): string {
  return envValue(env, 'PATH') ?? DEFAULT_PATH;
}

/** Go's findExecutable: stat (following links), not a directory, some x bit. */
function check(tree: MergedTree, name: string, path: string, cwd: string): Lookup {
  const r = resolvePath(tree, path, { cwd });
  if (!r.ok) {
    const why =
      r.reason === 'loop'
        ? 'too many levels of symbolic links'
        : r.reason === 'not-a-directory'
          ? 'not a directory'
          : 'no such file or directory';
    return {
      ok: false,
      reason: 'missing',
      path,
      runtimeError: `exec: ${JSON.stringify(name)}: stat ${path}: ${why}`,
      detail: `${path}: ${r.reason === 'missing' ? `${r.at} does not exist` : why}`,
      node: null,
    };
  }
  // Go before 1.20 (runc 1.1 builds) answers a directory with EACCES, like a file without x bits.
  if (r.node.type === 'dir')
    return {
      ok: false,
      reason: 'directory',
      path,
      runtimeError: `exec: ${JSON.stringify(name)}: permission denied`,
      detail: `${r.path} is a directory`,
      node: r.node,
    };
  if ((r.node.mode & 0o111) === 0) {
    return {
      ok: false,
      reason: 'not-executable',
      path,
      runtimeError: `exec: ${JSON.stringify(name)}: permission denied`,
      detail: `${r.path} has mode ${r.node.mode.toString(8).padStart(4, '0')}: no execute bit`,
      node: r.node,
    };
  }
  return { ok: true, path, real: r.path, node: r.node, links: r.links };
}

export function lookPath(tree: MergedTree, name: string, env: string[], cwd: string): Lookup {
  if (name.includes('/')) return check(tree, name, name, cwd);
  const dirs = containerPath(env).split(':');
  let firstProblem: Lookup | null = null;
  for (const dir of dirs) {
    const candidate = `${dir === '' ? '.' : dir}/${name}`;
    const r = check(tree, name, candidate, cwd);
    if (r.ok) return r;
    // a directory or a file without x bits is passed over, as LookPath does
    if (!firstProblem && r.reason !== 'missing') firstProblem = r;
  }
  return {
    ok: false,
    reason: 'not-in-path',
    path: name,
    runtimeError: `exec: ${JSON.stringify(name)}: executable file not found in $PATH`,
    detail: `${name} is in none of PATH=${containerPath(env)}${firstProblem && !firstProblem.ok ? ` (${firstProblem.detail})` : ''}`,
    node: null,
  };
}

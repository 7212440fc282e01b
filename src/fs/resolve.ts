/**
 * Path lookup inside the image root, as the kernel does it in a container: symlinks are
 * followed, an absolute target starts again at the image root, ".." never climbs above
 * "/", and more than 40 links in one lookup is a loop (ELOOP).
 */
import { ScopeError } from '../errors.js';
import { cleanPath } from '../archive/walk.js';
import type { MergedTree, Node } from './tree.js';
import { joinPath } from './paths.js';

const MAX_LINKS = 40; // Linux MAXSYMLINKS

export interface Resolved {
  /** The path with every symlink replaced by its target. */
  path: string;
  node: Node;
  /** Symlinks met on the way, in order, as "link -> target". */
  links: string[];
}

export type ResolveFailure =
  | { reason: 'missing'; at: string; links: string[] }
  | { reason: 'not-a-directory'; at: string; links: string[] }
  | { reason: 'loop'; at: string; links: string[] };

export type ResolveResult = ({ ok: true } & Resolved) | ({ ok: false } & ResolveFailure);

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * The working folder a process starts in: the WORKDIR with its symlinks followed (the
 * kernel's chdir lands in the real folder, and ".." climbs from there), or, when the image
 * lacks it, the folder the runtime creates for it (runc and Docker make a missing WORKDIR).
 */
export function workingDir(tree: MergedTree, cwd: string): { path: string; exists: boolean } {
  const r = resolvePath(tree, cwd);
  if (r.ok && r.node.type === 'dir') return { path: r.path, exists: true };
  // made as MkdirAll makes it: under the longest part that exists, its links followed
  const parts = cleanPath(cwd).split('/').filter(Boolean);
  for (let i = parts.length - 1; i > 0; i--) {
    const at = resolvePath(tree, `/${parts.slice(0, i).join('/')}`);
    if (at.ok && at.node.type === 'dir') return { path: [at.path === '/' ? '' : at.path, ...parts.slice(i)].join('/'), exists: false };
  }
  return { path: cleanPath(cwd), exists: false };
}

/**
 * A path's components; a trailing "/" or "/." stays as one "." so the last component must be a
 * folder (followed if it is a link), as the kernel asks of "/app/". Other "." steps go.
 */
function components(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length > 0 && /\/\.?$/.test(path)) parts.push('.');
  return parts;
}

/**
 * Resolves `path` (absolute, or relative to `cwd`, see workingDir). With followLast false the final
 * component is not followed if it is a symlink (like lstat).
 */
export function resolvePath(tree: MergedTree, path: string, opts: { cwd?: string; followLast?: boolean } = {}): ResolveResult {
  const followLast = opts.followLast ?? true;
  const links: string[] = [];
  let budget = MAX_LINKS;
  // pending components, processed left to right
  let queue = components(path);
  let cur = '/';
  if (!path.startsWith('/') && opts.cwd && opts.cwd !== '/') {
    const at = workingDir(tree, opts.cwd);
    cur = at.path;
    // a folder the runtime made for the WORKDIR is empty: only ".." leads out of it
    for (; !at.exists && queue[0] === '..'; queue.shift()) cur = parentOf(cur);
    if (!tree.get(cur)) return { ok: false, reason: 'missing', at: queue.length ? joinPath(cur, queue[0]!) : cur, links };
  }
  let node: Node = tree.get(cur)!;
  while (queue.length) {
    const part = queue.shift()!;
    // "file/..", "file/." and "file/" are ENOTDIR: each step of the walk looks inside a folder
    if (!node.children) return { ok: false, reason: 'not-a-directory', at: cur, links };
    if (part === '.') continue;
    if (part === '..') {
      cur = parentOf(cur);
      node = tree.get(cur)!;
      continue;
    }
    const next: Node | undefined = node.children.get(part);
    const nextPath = joinPath(cur, part);
    if (!next) return { ok: false, reason: 'missing', at: nextPath, links };
    if (next.type === 'symlink' && (queue.length > 0 || followLast)) {
      if (--budget < 0) return { ok: false, reason: 'loop', at: nextPath, links };
      const target = next.linkTarget ?? '';
      links.push(`${nextPath} -> ${target}`);
      const rest = components(target);
      queue = [...rest, ...queue];
      if (target.startsWith('/')) cur = '/';
      node = tree.get(cur)!;
      continue;
    }
    cur = nextPath;
    node = next;
  }
  return { ok: true, path: cur, node, links };
}

/** Resolves or throws a ScopeError that says which component failed. */
export function mustResolve(tree: MergedTree, path: string, opts: { cwd?: string; followLast?: boolean } = {}): Resolved {
  const r = resolvePath(tree, path, opts);
  if (r.ok) return r;
  switch (r.reason) {
    case 'missing':
      throw new ScopeError('path-not-found', `${path}: not in the image (${r.at} does not exist)`);
    case 'not-a-directory':
      throw new ScopeError('path-not-found', `${path}: ${r.at} is not a directory`);
    case 'loop':
      throw new ScopeError('symlink-loop', `${path}: too many levels of symbolic links at ${r.at}`);
  }
}

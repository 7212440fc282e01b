/**
 * Finding the executable as runc does, with Go's exec.LookPath inside the container: a
 * name with a slash is taken as a path (relative to the working directory); a bare name
 * is searched in PATH. The file must exist (symlinks followed inside the image), must not
 * be a directory, and must have an execute bit. runc looks it up as the container's user
 * (after switching to it): a folder on the way that user may not search makes stat fail.
 * Go since 1.19 (runc 1.1 builds) refuses a program PATH finds through a relative folder.
 */
import { type MergedTree, type Node, resolvePath, workingDir } from '../fs/index.js';
import { type Credentials, mayExecute } from '../loader/access.js';
import type { ImageModel } from '../load.js';
import { DEFAULT_PATH, configPath } from '../source/config.js';
import { CATALOG } from './catalog.js';
import type { Command } from './command.js';
import { execForm } from './shellwords.js';
import type { Diagnostic, StepResult } from './types.js';

export { DEFAULT_PATH };

export type Lookup =
  | { ok: true; path: string; real: string; node: Node; links: string[] }
  | {
      ok: false;
      reason: 'missing' | 'not-in-path' | 'directory' | 'not-executable' | 'unsearchable' | 'relative';
      path: string;
      runtimeError: string;
      detail: string;
      node: Node | null;
      /** A file (not a folder) the path goes on from: "/app/", "/app/../app". */
      notDir?: { at: string; type: Node['type'] };
    };

export function containerPath(env: string[]): string {
  return configPath(env);
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/**
 * The first folder on the way to `real` (a resolved path) that `who` may not search; none for
 * root. A relative name is looked up from the working folder (`from`, real): runc enters it
 * as root, so only it and the folders below it are searched as the user.
 */
export function unsearchable(
  tree: MergedTree,
  real: string,
  who: Credentials | undefined,
  from: string | null = null,
): { path: string; node: Node } | null {
  if (!who || who.uid === 0) return null;
  const below = from !== null && (from === '/' || real.startsWith(`${from}/`));
  let dir = '';
  for (const part of real.split('/').slice(1, -1)) {
    dir += `/${part}`;
    if (below && dir.length < from.length) continue;
    const node = tree.get(dir);
    if (node?.type === 'dir' && !mayExecute(node, who)) return { path: dir, node };
  }
  return null;
}

/**
 * The files a shell or execvp tries for `name`: the name itself when it holds a slash, else
 * each PATH entry in turn (an empty entry is the working folder).
 */
export function pathCandidates(name: string, env: string[]): string[] {
  if (name.includes('/')) return [name];
  return containerPath(env)
    .split(':')
    .map((d) => `${d === '' ? '.' : d}/${name}`);
}

/** errno, in Go's words, of a path the lookup refused: the walk's own (ENOENT, ENOTDIR, ELOOP), else EACCES (a folder, no x bit). */
export function lookupErrno(l: Extract<Lookup, { ok: false }>): string {
  return l.reason === 'missing' ? (/: ([a-z ]+)$/.exec(l.runtimeError)?.[1] ?? 'no such file or directory') : 'permission denied';
}

/**
 * Whether the walk to `path` meets a folder `who` may not search, even when the file itself is
 * not there: open() and stat() then fail with EACCES, not ENOENT (a shell's and execvp's search).
 */
export function shutOnTheWay(tree: MergedTree, path: string, cwd: string, who: Credentials | undefined): boolean {
  if (!who || who.uid === 0) return false;
  const cut = path.lastIndexOf('/');
  const dir = resolvePath(tree, cut <= 0 ? (cut === 0 ? '/' : '.') : path.slice(0, cut), { cwd });
  return dir.ok && dir.node.type === 'dir' && unsearchable(tree, `${dir.path}/x`.replace('//', '/'), who) !== null;
}

/** Go's findExecutable: stat (following links, as the container's user), not a directory, some x bit. */
export function findExecutable(tree: MergedTree, name: string, path: string, cwd: string, who?: Credentials): Lookup {
  const r = resolvePath(tree, path, { cwd });
  const shut = r.ok ? unsearchable(tree, r.path, who, path.startsWith('/') ? null : workingDir(tree, cwd).path) : null;
  if (shut) {
    return {
      ok: false,
      reason: 'unsearchable',
      path,
      runtimeError: CATALOG['exec-not-found'].runc(name, path, 'permission denied'),
      detail: `${shut.path} has mode ${octal(shut.node.mode)} (owner ${shut.node.uid}:${shut.node.gid}): uid ${who!.uid} may not search it`,
      node: shut.node,
    };
  }
  if (!r.ok) {
    const why =
      r.reason === 'loop'
        ? 'too many levels of symbolic links'
        : r.reason === 'not-a-directory'
          ? 'not a directory'
          : 'no such file or directory';
    // "/app/" and "/app/../app" look inside a file: stat fails with ENOTDIR
    const file = r.reason === 'not-a-directory' ? tree.get(r.at) : null;
    return {
      ok: false,
      reason: 'missing',
      path,
      runtimeError: CATALOG['exec-not-found'].runc(name, path, why),
      detail: `${path}: ${r.reason === 'missing' ? `${r.at} does not exist` : file ? `${r.at} is a ${file.type}, not a folder` : why}`,
      node: null,
      ...(file ? { notDir: { at: r.at, type: file.type } } : {}),
    };
  }
  // Go before 1.20 (runc 1.1 builds) answers a directory with EACCES, like a file without x bits.
  if (r.node.type === 'dir')
    return {
      ok: false,
      reason: 'directory',
      path,
      runtimeError: CATALOG['not-executable'].runc(name),
      detail: `${r.path} is a directory`,
      node: r.node,
    };
  if ((r.node.mode & 0o111) === 0) {
    return {
      ok: false,
      reason: 'not-executable',
      path,
      runtimeError: CATALOG['not-executable'].runc(name),
      detail: `${r.path} has mode ${octal(r.node.mode)}: no execute bit`,
      node: r.node,
    };
  }
  return { ok: true, path, real: r.path, node: r.node, links: r.links };
}

/** `errDot`: Go's rule against a program found through a relative PATH entry (runc's lookup; env's execvp has none). */
export function lookPath(tree: MergedTree, name: string, env: string[], cwd: string, who?: Credentials, errDot = true): Lookup {
  if (name.includes('/')) return findExecutable(tree, name, name, cwd, who);
  // Go's filepath.SplitList makes no entry of an empty PATH (runc finds nothing then), where
  // env's execvp reads one empty entry: the working folder
  const path = containerPath(env);
  const dirs = errDot && path === '' ? [] : path.split(':');
  let firstProblem: Lookup | null = null;
  for (const dir of dirs) {
    const candidate = `${dir === '' ? '.' : dir}/${name}`;
    const r = findExecutable(tree, name, candidate, cwd, who);
    if (r.ok && errDot && !candidate.startsWith('/')) {
      // exec.ErrDot: found, but through a folder relative to the working directory
      return {
        ok: false,
        reason: 'relative',
        path: candidate,
        runtimeError: CATALOG['exec-not-in-path'].runcRelative(name),
        detail: `${name} is found only as ${candidate} (${r.real}), through the relative PATH entry ${JSON.stringify(dir)}`,
        node: r.node,
      };
    }
    if (r.ok) return r;
    // a directory or a file without x bits is passed over, as LookPath does
    if (!firstProblem && r.reason !== 'missing') firstProblem = r;
  }
  return {
    ok: false,
    reason: 'not-in-path',
    path: name,
    runtimeError: CATALOG['exec-not-in-path'].runc(name),
    detail: `${name} is in none of PATH=${containerPath(env)}${firstProblem && !firstProblem.ok ? ` (${firstProblem.detail})` : ''}`,
    node: null,
  };
}

function resolved(tree: MergedTree, path: string, cwd: string): string {
  const r = resolvePath(tree, path, { cwd });
  return r.ok ? r.path : path;
}

/** A later layer deleted this path (or a parent of it): say which, and what made it. */
function removedBy(model: ImageModel, path: string): string | null {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const l = model.layers[i];
    if (!l) continue;
    const hit = l.changes.changes.find((c) => c.kind === 'removed' && (path === c.path || path.startsWith(c.path + '/')));
    if (hit)
      return `layer ${i}${l.history?.createdBy ? ` (${l.history.createdBy.replace(/^\/bin\/sh -c (#\(nop\)\s*)?/, '').trim()})` : ''} deleted ${hit.path}`;
  }
  return null;
}

/** Files of that name anywhere in the image, for "did you mean". */
export function findByName(model: ImageModel, name: string): string[] {
  const out: string[] = [];
  for (const [p, n] of model.tree.walk()) {
    if (p.endsWith('/' + name) && n.type !== 'dir') out.push(p);
    if (out.length >= 3) break;
  }
  return out;
}

export interface LookupStep extends StepResult {
  /** The file found, when the step succeeds. */
  found: Extract<Lookup, { ok: true }> | null;
}

/** Finding the executable: its step, or the one error the runtime gives when it is not there (or cannot run). */
export function lookupStep(model: ImageModel, command: Command, env: string[], cwd: string, who?: Credentials): LookupStep {
  const tree = model.tree;
  const argv = command.argv;
  const name = argv[0] ?? ''; // the command step ends the run when argv is empty
  const found = lookPath(tree, name, env, cwd, who);
  if (found.ok) {
    return {
      found,
      step: {
        step: 'lookup',
        ok: true,
        detail: `found ${found.path}${found.real !== found.path ? ` -> ${found.real}` : ''}${found.links.length ? ` (${found.links.join(', ')})` : ''}`,
      },
      findings: [],
    };
  }
  const step = { step: 'lookup' as const, ok: false, detail: found.detail };
  const error = (d: Omit<Diagnostic, 'severity'>): LookupStep => ({ found: null, step, findings: [{ severity: 'error', ...d }] });
  const abs = name.includes('/') ? (name.startsWith('/') ? name : `${cwd}/${name}`) : null;
  const gone = abs ? removedBy(model, abs) : null;
  const dangling = abs ? resolvePath(tree, abs, { cwd, followLast: false }) : null;
  const link = dangling?.ok && dangling.node.type === 'symlink' ? dangling.node : null;
  if (found.reason === 'missing' && command.script !== null) {
    const words = CATALOG['shell-missing'];
    return error({
      code: 'shell-missing',
      message: words.message(name, command.script),
      path: name,
      layer: null,
      runtimeError: found.runtimeError,
      fix: words.fix(command.keyword, execForm(command.script)),
      evidence: [`argv ${JSON.stringify(argv)}`, found.detail],
    });
  }
  if (found.reason === 'missing') {
    const words = CATALOG['exec-not-found'];
    // the path itself (a dangling or looping link) is no "other place" to point at
    const elsewhere = abs ? findByName(model, abs.slice(abs.lastIndexOf('/') + 1)).filter((p) => p !== abs) : [];
    const followed = abs ? resolvePath(tree, abs, { cwd }) : null;
    const loop = followed !== null && !followed.ok && followed.reason === 'loop' ? followed : null;
    if (found.notDir) {
      return error({
        code: 'exec-not-found',
        message: words.messageNotDir(name, found.notDir.at, found.notDir.type),
        path: abs,
        layer: tree.get(found.notDir.at)?.layer ?? null,
        runtimeError: found.runtimeError,
        fix: words.fixNotDir(found.notDir.at),
        evidence: [found.detail],
      });
    }
    return error({
      code: 'exec-not-found',
      message: loop
        ? words.messageLoop(name, [...new Set(loop.links)].slice(0, 4), new Set(loop.links).size < loop.links.length)
        : words.message(name, link ? { target: link.linkTarget } : null, gone),
      path: abs,
      layer: link ? link.layer : null,
      runtimeError: found.runtimeError,
      fix: gone
        ? words.fixDeleted
        : abs && (loop || link)
          ? words.fixLink(abs)
          : abs && elsewhere.length
            ? words.fixElsewhere(elsewhere, abs)
            : words.fix(abs ?? ''),
      evidence: [found.detail, ...(gone ? [gone] : [])],
    });
  }
  if (found.reason === 'not-in-path') {
    const words = CATALOG['exec-not-in-path'];
    const elsewhere = findByName(model, name);
    return error({
      code: 'exec-not-in-path',
      message: words.message(name, containerPath(env)),
      path: null,
      layer: null,
      runtimeError: found.runtimeError,
      fix: elsewhere[0] ? words.fixElsewhere(elsewhere[0]) : words.fix,
      evidence: [found.detail, ...(elsewhere.length ? [`found elsewhere: ${elsewhere.join(', ')}`] : [])],
    });
  }
  if (found.reason === 'relative') {
    const words = CATALOG['exec-not-in-path'];
    return error({
      code: 'exec-not-in-path',
      message: words.messageRelative(name, found.path),
      path: null,
      layer: null,
      runtimeError: found.runtimeError,
      fix: words.fixRelative(name, resolved(tree, found.path, cwd)),
      evidence: [found.detail, `PATH=${containerPath(env)}`],
    });
  }
  if (found.reason === 'unsearchable') {
    const words = CATALOG['not-executable'];
    return error({
      code: 'not-executable',
      message: words.messageSearch(found.path, found.detail),
      path: found.path,
      layer: found.node?.layer ?? null,
      runtimeError: found.runtimeError,
      fix: words.fixSearch(found.detail.slice(0, found.detail.indexOf(' has mode '))),
      evidence: [found.detail],
    });
  }
  const words = CATALOG['not-executable'];
  const dir = found.reason === 'directory';
  return error({
    code: 'not-executable',
    message: dir ? words.messageDirectory(found.path) : words.message(found.path, found.detail.replace(/^.*: /, '')),
    path: found.path,
    layer: found.node?.layer ?? null,
    runtimeError: found.runtimeError,
    fix: dir ? words.fixDirectory(found.path) : words.fix(found.path),
    evidence: [found.detail],
  });
}

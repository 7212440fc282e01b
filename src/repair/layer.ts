/**
 * The layer a repair adds: whole files taken from the donor, written where the image's
 * loader will look. Paths are written through the image's own folder links (a file for
 * /lib64/x goes to usr/lib64/x when /lib64 -> usr/lib64), because a real folder in a new
 * layer would hide the link and everything reached through it.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import tar from 'tar-stream';
import { ScopeError } from '../errors.js';
import { type MergedTree, type Node, resolvePath, streamContent } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { packMember } from './pack.js';

export interface Addition {
  /** Where the file goes in the image, as the loader or runtime opens it. */
  to: string;
  /** The file in the donor (links followed). */
  from: string;
  why: string;
}

export interface WrittenEntry {
  path: string;
  type: 'file' | 'symlink' | 'dir';
  size: number;
  linkTarget: string | null;
  from: string | null;
  why: string;
}

export interface NewLayer {
  file: string;
  size: number;
  diffId: string;
  entries: WrittenEntry[];
}

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const parent = (p: string) => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));

/** `dir` with the image's links followed; folders that do not exist yet are listed to be made. */
function realFolder(tree: MergedTree, dir: string, made: Set<string>): { path: string; create: string[] } {
  const parts = dir.split('/').filter(Boolean);
  let cur = '/';
  const create: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const next = cur === '/' ? `/${parts[i]}` : `${cur}/${parts[i]}`;
    const r = resolvePath(tree, next);
    if (r.ok && r.node.type === 'dir') cur = r.path;
    else if (r.ok || (!r.ok && r.reason !== 'missing'))
      throw new ScopeError('unsupported', `cannot add files under ${dir}: ${next} is not a folder in the image`);
    else {
      cur = next;
      if (!made.has(cur)) create.push(cur);
    }
  }
  return { path: cur, create };
}

export async function buildLayer(target: MergedTree, donor: ImageModel, additions: Addition[], file: string): Promise<NewLayer> {
  const pack = tar.pack();
  const hash = createHash('sha256');
  let size = 0;
  const hasher = new Transform({
    transform(c: Buffer, _e, cb) {
      hash.update(c);
      size += c.length;
      cb(null, c);
    },
  });
  const done = pipeline(pack, hasher, createWriteStream(file));
  done.catch(() => {});
  const entries: WrittenEntry[] = [];
  const made = new Set<string>();
  const written = new Set<string>();
  const header = (name: string) => name.slice(1);

  const addDirs = (dirs: string[]) => {
    for (const d of dirs) {
      made.add(d);
      pack.entry({ name: header(d) + '/', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) });
      entries.push({ path: d, type: 'dir', size: 0, linkTarget: null, from: null, why: 'a folder for the files below' });
    }
  };
  const addFile = async (path: string, node: Node, from: string, why: string) => {
    if (written.has(path)) return;
    written.add(path);
    const content = node.content;
    if (!content) throw new ScopeError('unsupported', `${from} in the donor is not a regular file`);
    await packMember(
      pack,
      { name: header(path), size: node.size, mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtime: new Date(node.mtime * 1000) },
      (put) => streamContent(donor.opened.layers, content, put),
    );
    entries.push({ path, type: 'file', size: node.size, linkTarget: null, from, why });
  };

  for (const a of additions) {
    const r = resolvePath(donor.tree, a.from);
    if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink'))
      throw new ScopeError('not-found', `the donor has no file ${a.from}`);
    const dest = realFolder(target, parent(a.to), made);
    addDirs(dest.create);
    const to = dest.path === '/' ? `/${base(a.to)}` : `${dest.path}/${base(a.to)}`;
    // A soname link beside its file in the donor stays a link beside its file here.
    const lastLink = r.links[r.links.length - 1] ?? null;
    const besideIt =
      lastLink !== null &&
      parent(r.path) === parent(lastLink.slice(0, lastLink.indexOf(' -> '))) &&
      base(a.to) === base(a.from) &&
      base(r.path) !== base(a.to);
    if (besideIt) {
      const real = `${parent(to)}/${base(r.path)}`;
      await addFile(real, r.node, r.path, a.why);
      if (!written.has(to)) {
        written.add(to);
        pack.entry({ name: header(to), type: 'symlink', linkname: base(r.path), mode: 0o777, uid: 0, gid: 0, mtime: new Date(0) });
        entries.push({ path: to, type: 'symlink', size: 0, linkTarget: base(r.path), from: a.from, why: a.why });
      }
    } else await addFile(to, r.node, r.path, a.why);
  }
  pack.finalize();
  await done;
  return { file, size, diffId: 'sha256:' + hash.digest('hex'), entries };
}

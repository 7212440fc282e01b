/**
 * The file tree as front ends browse it, built lazily from the layers' recorded changes:
 * the final image, the image as of layer N with that layer's changes marked (added,
 * modified, removed), or only layer N's changes; and every wasted file (a version written
 * in one layer that a later one overwrote or deleted). Replaying the changes reproduces
 * the merged tree's rules, so no tar is read again.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { BinaryCatalog } from '../elf/catalog.js';
import { ScopeError } from '../errors.js';
import { type Change, type MergedTree, byteOrder, joinPath, resolvePath, streamContent } from '../fs/index.js';
import type { EntryType } from '../layers/index.js';

/** Byte order of paths, as the tree sorts names. */
export { byteOrder };
import type { ImageModel } from '../load.js';
import { type FileDetails, fileDetails } from './details.js';

export type Mark = 'A' | 'M' | 'D';
export type TreeSort = 'name' | 'size' | 'layer';

/** Which tree: the final image, or layer N as of its own changes (`changesOnly`: nothing else). */
export interface TreeViewKey {
  layer: number | null;
  changesOnly: boolean;
}

export interface FileEntry {
  name: string;
  path: string;
  /** Lower-cased path, for substring filters. */
  lower: string;
  type: EntryType;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  /** A file's bytes; a folder's: the files beneath it (in a layer's changes: the bytes it wrote). */
  size: number;
  /** The layer that wrote this version (null: a folder that only holds changes). */
  layer: number | null;
  mark: Mark | null;
  /** This entry or something beneath it is marked. */
  changed: boolean;
  linkTarget: string | null;
  children: Map<string, FileEntry> | null;
  parent: FileEntry | null;
  /** Children in each order, sorted on first use. */
  sorted: Partial<Record<TreeSort, FileEntry[]>>;
}

export interface Tree {
  root: FileEntry;
  /** Every entry but the root, parents before children. */
  all: FileEntry[];
  byPath: Map<string, FileEntry>;
}

export interface WastedFile {
  path: string;
  size: number;
  /** The layer that wrote the dropped version, and the one that overwrote or removed it. */
  writtenIn: number;
  droppedIn: number;
  how: 'overwritten' | 'removed';
}

const MARKS: Record<Change['kind'], Mark> = { added: 'A', modified: 'M', removed: 'D' };

function entry(
  name: string,
  path: string,
  parent: FileEntry | null,
  c: Pick<Change, 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'linkTarget'>,
  layer: number | null,
): FileEntry {
  const isDir = c.type === 'dir';
  return {
    name,
    path,
    lower: path.toLowerCase(),
    type: c.type,
    mode: c.mode,
    uid: c.uid,
    gid: c.gid,
    size: c.type === 'file' ? c.size : 0,
    layer,
    mark: null,
    changed: false,
    linkTarget: c.linkTarget,
    children: isDir ? new Map() : null,
    parent,
    sorted: {},
  };
}

const ROOT = { type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 0, linkTarget: null };

/** Replays changes as the merged tree applied them; `onDrop` hears of every file version that stops showing. */
class Replay {
  readonly root = entry('', '/', null, ROOT, null);

  constructor(private readonly onDrop: (e: FileEntry, layer: number, how: WastedFile['how']) => void = () => {}) {}

  private dropAll(e: FileEntry, layer: number, how: WastedFile['how']): void {
    const stack = [e];
    while (stack.length) {
      const x = stack.pop()!;
      if (x.type === 'file' && x.size > 0) this.onDrop(x, layer, how);
      if (x.children) for (const c of x.children.values()) stack.push(c);
    }
  }

  apply(layer: number, c: Change, mark: boolean): void {
    const parts = c.path.split('/').filter(Boolean);
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = dir.children!.get(parts[i]!);
      if (!next?.children) return; // the merged tree recorded the parent first; nothing to hang this on
      dir = next;
    }
    const name = parts[parts.length - 1];
    if (name === undefined) return;
    const old = dir.children!.get(name);
    if (c.kind === 'removed') {
      if (!old) return;
      this.dropAll(old, layer, 'removed');
      dir.children!.delete(name);
      if (mark) {
        const ghost = entry(name, c.path, dir, { ...old, size: c.size }, old.layer);
        ghost.children = null;
        ghost.mark = 'D';
        ghost.size = c.size;
        dir.children!.set(name, ghost);
      }
      return;
    }
    if (old?.children && c.type === 'dir') {
      // a folder over a folder keeps what it holds and takes the new attributes
      Object.assign(old, { mode: c.mode, uid: c.uid, gid: c.gid, layer });
      if (mark) old.mark = 'M';
      return;
    }
    if (old) this.dropAll(old, layer, 'overwritten');
    const e = entry(name, c.path, dir, c, layer);
    if (mark) e.mark = MARKS[c.kind];
    dir.children!.set(name, e);
  }

  finish(): Tree {
    return finish(this.root);
  }
}

/** Folder sizes bottom-up and `changed` flags; the flat list and the path index. */
function finish(root: FileEntry): Tree {
  const all: FileEntry[] = [];
  const stack = [root];
  while (stack.length) {
    const e = stack.pop()!;
    if (e !== root) all.push(e);
    if (e.children) for (const c of e.children.values()) stack.push(c);
  }
  // `all` is parents-before-children, so walking it backwards sums children first
  for (let i = all.length - 1; i >= 0; i--) {
    const e = all[i]!;
    const p = e.parent!;
    if (e.mark) e.changed = true;
    if (e.changed) p.changed = true;
    if (e.mark !== 'D' && (e.type === 'file' || e.children)) p.size += e.size;
  }
  const byPath = new Map<string, FileEntry>();
  for (const e of all) byPath.set(e.path, e);
  return { root, all, byPath };
}

/** Only one layer's changes, each folder on the way shown as the final image has it. */
function changesTree(tree: MergedTree, layer: number): Tree {
  const root = entry('', '/', null, ROOT, null);
  for (const c of tree.layers[layer]?.changes ?? []) {
    const parts = c.path.split('/').filter(Boolean);
    let cur = root;
    let path = '';
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      path = joinPath(path || '/', name);
      let next = cur.children?.get(name);
      if (!next) {
        const n = tree.get(path);
        next = entry(name, path, cur, n && n.children ? { ...n, type: 'dir' } : { ...ROOT }, n?.layer ?? null);
        cur.children ??= new Map();
        cur.children.set(name, next);
      }
      if (i === parts.length - 1) {
        Object.assign(next, {
          type: c.type,
          mode: c.mode,
          uid: c.uid,
          gid: c.gid,
          linkTarget: c.linkTarget,
          layer: c.kind === 'removed' ? next.layer : layer,
          mark: MARKS[c.kind],
        });
        next.size = c.type === 'file' || c.kind === 'removed' ? c.size : 0;
        if (c.type !== 'dir' || c.kind === 'removed') next.children = next.children?.size ? next.children : null;
      }
      cur = next;
    }
  }
  return finish(root);
}

/** Lazily built trees of one image; what the explorer browses. */
export class FileTree {
  private readonly cache = new Map<string, Tree>();
  private wastedList: WastedFile[] | null = null;
  private catalog: BinaryCatalog | null = null;
  private readonly detailCache = new Map<string, FileDetails>();
  private readonly merged: MergedTree;

  constructor(private readonly model: ImageModel) {
    this.merged = model.tree;
  }

  get layerCount(): number {
    return this.merged.layers.length;
  }

  private static cacheKey(key: TreeViewKey, last: number): string {
    return key.layer === null || (key.layer >= last && !key.changesOnly)
      ? 'final'
      : `${key.layer}:${key.changesOnly ? 'changes' : 'as-of'}`;
  }

  /** The tree of a view when it is built (see `build`), else null. */
  view(key: TreeViewKey): Tree | null {
    return this.cache.get(FileTree.cacheKey(key, this.layerCount - 1)) ?? null;
  }

  private readonly building = new Map<string, Promise<Tree>>();

  /**
   * Builds a view's tree in slices of a few milliseconds, so a front end stays responsive
   * while 100,000 changes replay. A few trees are kept.
   */
  build(key: TreeViewKey): Promise<Tree> {
    const last = this.layerCount - 1;
    const k = FileTree.cacheKey(key, last);
    const hit = this.cache.get(k);
    if (hit) return Promise.resolve(hit);
    const pending = this.building.get(k);
    if (pending) return pending;
    const p = (async () => {
      let t: Tree;
      if (key.layer !== null && key.changesOnly) t = changesTree(this.merged, key.layer);
      else {
        const upTo = key.layer ?? last;
        const r = new Replay();
        await this.replay(upTo, (i, c) => r.apply(i, c, key.layer !== null && i === upTo));
        t = r.finish();
      }
      if (this.cache.size >= 6)
        for (const old of this.cache.keys())
          if (old !== 'final') {
            this.cache.delete(old);
            break;
          }
      this.cache.set(k, t);
      this.building.delete(k);
      return t;
    })();
    this.building.set(k, p);
    return p;
  }

  /** Every change of layers 0..upTo in order, yielding to the event loop every few ms. */
  private async replay(upTo: number, each: (layer: number, c: Change) => void): Promise<void> {
    let t0 = performance.now();
    for (let i = 0; i <= upTo; i++) {
      const changes = this.merged.layers[i]?.changes ?? [];
      for (let j = 0; j < changes.length; j++) {
        each(i, changes[j]!);
        if ((j & 255) === 255 && performance.now() - t0 > 8) {
          await new Promise((r) => setImmediate(r));
          t0 = performance.now();
        }
      }
    }
  }

  /** Every dropped file version, largest first, once `buildWasted` is done (else null). */
  wasted(): WastedFile[] | null {
    return this.wastedList;
  }

  /** Works out the wasted list (in slices). Its sum is the merged tree's wasted bytes. */
  async buildWasted(): Promise<WastedFile[]> {
    if (this.wastedList) return this.wastedList;
    const out: WastedFile[] = [];
    const r = new Replay((e, layer, how) => out.push({ path: e.path, size: e.size, writtenIn: e.layer ?? 0, droppedIn: layer, how }));
    await this.replay(this.layerCount - 1, (i, c) => r.apply(i, c, false));
    out.sort((a, b) => b.size - a.size || byteOrder(a.path, b.path) || a.writtenIn - b.writtenIn);
    this.wastedList = out;
    return out;
  }

  /** The layer that wrote the final image's version of a path (null when the final image has no such path). */
  finalLayer(path: string): number | null {
    return this.merged.get(path)?.layer ?? null;
  }

  /**
   * Where a command path leads: the path as named (a symlink or not) and the file it
   * resolves to, both in the final image.
   */
  follow(path: string, cwd = '/'): { named: string; target: string; links: string[] } | null {
    const named = resolvePath(this.merged, path, { cwd, followLast: false });
    const target = resolvePath(this.merged, path, { cwd, followLast: true });
    if (!named.ok || !target.ok) return null;
    return { named: named.path, target: target.path, links: target.links };
  }

  /** A final-image file's details when worked out already (see `prepareDetails`), else null. */
  detailsIfReady(path: string): FileDetails | null {
    return this.detailCache.get(path) ?? null;
  }

  /** Works a file's details out off the current turn of the event loop, so a key is answered first. */
  prepareDetails(path: string): Promise<FileDetails> {
    // a throw in details() rejects the chained promise as it is
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.details(path));
  }

  /** A final-image file's details (ELF, loader), worked out once per path. */
  details(path: string): FileDetails {
    const hit = this.detailCache.get(path);
    if (hit) return hit;
    this.catalog ??= new BinaryCatalog(this.merged, this.model.decoded);
    const node = this.merged.get(path);
    let d: FileDetails;
    try {
      d = fileDetails(this.model, this.catalog, path, node);
    } catch (e) {
      // what cannot be worked out is said in its place, and not tried again
      d = { path, elf: null, elfError: (e as Error).message, load: null };
    }
    if (this.detailCache.size > 200) this.detailCache.clear();
    this.detailCache.set(path, d);
    return d;
  }

  /**
   * Writes the final image's file at `path` (symlinks followed inside the image) to `dest`,
   * a new file: an existing one is never overwritten. Returns the absolute path and bytes.
   */
  async exportFile(path: string, dest: string): Promise<{ written: string; bytes: number }> {
    const r = resolvePath(this.merged, path, { followLast: true });
    if (!r.ok) throw new ScopeError('usage', `${path}: not in the image`);
    if (!r.node.content) throw new ScopeError('usage', `${path} is a ${r.node.type}, not a regular file`);
    const written = resolve(dest);
    let fd: number;
    try {
      fd = openSync(written, 'wx', 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ScopeError(
        'usage',
        code === 'EEXIST'
          ? `${written} exists; not overwritten`
          : code === 'ENOENT'
            ? `${written}: its folder does not exist`
            : `${written}: ${(e as Error).message}`,
      );
    }
    let bytes = 0;
    try {
      await streamContent(this.model.opened.layers, r.node.content, (c) => {
        writeSync(fd, c);
        bytes += c.length;
      });
    } finally {
      closeSync(fd);
    }
    return { written, bytes };
  }
}

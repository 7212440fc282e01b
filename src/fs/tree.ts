/**
 * The merged filesystem a container sees, built by applying layers in order with the OCI
 * whiteout rules, plus each layer's changes and the space wasted by files that a later
 * layer overwrote or deleted.
 *
 * Per layer the order is: opaque whiteouts, then plain whiteouts (both hide lower layers
 * only), then the layer's own entries in tar order. So a whiteout and a new file of the
 * same name in one layer leave the new file, and an opaque directory keeps what the same
 * layer puts in it. A path written twice in one layer ends as its last entry, as tar
 * extraction (containerd's apply) leaves it, and is one change of that layer.
 */
import type { ContentRef, EntryType, LayerEntry, Magic } from '../layers/index.js';

export interface Node {
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of a regular file (a hard link: its target's). */
  size: number;
  mtime: number;
  /** Symlink target as written, or the absolute path a hard link points at. */
  linkTarget: string | null;
  /** Index of the layer that last wrote this path. */
  layer: number;
  content: ContentRef | null;
  /** ELF, script or other, for regular files of layers read with sniffing. */
  magic: Magic | null;
  children: Map<string, Node> | null;
}

export type ChangeKind = 'added' | 'modified' | 'removed';

export interface Change {
  path: string;
  kind: ChangeKind;
  type: EntryType;
  /** For removals: bytes of regular files hidden; else the entry's size. */
  size: number;
  /** The entry's attributes (null for removals). */
  mode: number | null;
  uid: number | null;
  gid: number | null;
  linkTarget: string | null;
}

export interface LayerChanges {
  index: number;
  changes: Change[];
  /** Entries in the layer tar (whiteouts included). */
  entryCount: number;
  /** Bytes of regular-file bodies the layer carries. */
  contentBytes: number;
  /** Problems with the layer that a runtime would stumble on or silently skip. */
  problems: string[];
}

export interface WastedPath {
  path: string;
  /** Bytes of versions of this path that no longer show in the merged tree. */
  size: number;
  /** How many versions were dropped. */
  count: number;
}

const OPAQUE = '.wh..wh..opq';
const WH = '.wh.';

function newDir(layer: number, mode = 0o755): Node {
  return { type: 'dir', mode, uid: 0, gid: 0, size: 0, mtime: 0, linkTarget: null, layer, content: null, magic: null, children: new Map() };
}

function split(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export class MergedTree {
  readonly root: Node = newDir(-1);
  readonly layers: LayerChanges[] = [];
  private readonly waste = new Map<string, WastedPath>();
  /** Where each path's change sits in the layer being applied, so a path is listed once. */
  private changeAt = new Map<string, number>();
  wastedBytes = 0;

  /** Looks a path up literally: no symlink is followed. */
  get(path: string): Node | null {
    let node: Node | undefined = this.root;
    for (const part of split(path)) {
      node = node.children?.get(part);
      if (!node) return null;
    }
    return node;
  }

  apply(index: number, entries: LayerEntry[]): LayerChanges {
    const result: LayerChanges = { index, changes: [], entryCount: entries.length, contentBytes: 0, problems: [] };
    this.changeAt = new Map();
    const own: LayerEntry[] = [];
    const whiteouts: LayerEntry[] = [];
    for (const e of entries) {
      const parts = split(e.path);
      const base = parts[parts.length - 1] ?? '';
      if (base === OPAQUE) this.opaque(e.path.slice(0, e.path.length - OPAQUE.length - 1) || '/', result);
      else if (parts.some((p) => p.startsWith(WH + WH)))
        continue; // aufs metadata (.wh..wh.plnk and friends)
      else if (base.startsWith(WH)) whiteouts.push(e);
      else own.push(e);
    }
    for (const e of whiteouts) this.whiteout(e, result);
    for (const e of own) this.add(index, e, result);
    this.changeAt = new Map();
    this.layers.push(result);
    return result;
  }

  /**
   * Records a change of the layer being applied; a second change of the same path in the
   * same layer merges into the first: added then rewritten stays added (with the last
   * attributes), hidden then written again is modified.
   */
  private record(result: LayerChanges, c: Change): void {
    const at = this.changeAt.get(c.path);
    const prev = at === undefined ? undefined : result.changes[at];
    if (at === undefined || prev === undefined) {
      this.changeAt.set(c.path, result.changes.length);
      result.changes.push(c);
      return;
    }
    const kind = prev.kind === 'added' ? 'added' : prev.kind === 'removed' && c.kind === 'added' ? 'modified' : c.kind;
    result.changes[at] = { ...c, kind };
  }

  private opaque(dir: string, result: LayerChanges): void {
    const node = this.get(dir);
    if (!node?.children) return;
    for (const [name, child] of [...node.children]) {
      const path = joinPath(dir, name);
      this.record(result, removal(path, child.type, this.drop(path, child)));
      node.children.delete(name);
    }
  }

  private whiteout(e: LayerEntry, result: LayerChanges): void {
    const slash = e.path.lastIndexOf('/');
    const dir = e.path.slice(0, slash) || '/';
    const name = e.path.slice(slash + 1 + WH.length);
    if (name === '' || name === '.' || name === '..') {
      result.problems.push(`whiteout ${e.rawName} names no file; ignored`);
      return;
    }
    const parent = this.get(dir);
    const victim = parent?.children?.get(name);
    if (!parent?.children || !victim) return; // hiding nothing is allowed
    const path = joinPath(dir, name);
    this.record(result, removal(path, victim.type, this.drop(path, victim)));
    parent.children.delete(name);
  }

  /** Counts a node (and its subtree) that stops being visible as waste; returns its file bytes. */
  private drop(path: string, node: Node): number {
    let bytes = 0;
    // iterative: a hostile image can nest folders deeper than the call stack
    const stack: [string, Node][] = [[path, node]];
    while (stack.length) {
      const [p, n] = stack.pop()!;
      if (n.type === 'file' && n.size > 0) {
        bytes += n.size;
        const w = this.waste.get(p);
        if (w) {
          w.size += n.size;
          w.count++;
        } else this.waste.set(p, { path: p, size: n.size, count: 1 });
        this.wastedBytes += n.size;
      }
      if (n.children) for (const [name, child] of n.children) stack.push([joinPath(p, name), child]);
    }
    return bytes;
  }

  /** The directory that will hold `parts`, creating missing or non-directory parents as a layer apply does. */
  private parentFor(index: number, parts: string[], result: LayerChanges): Node {
    let node = this.root;
    let path = '/';
    for (const part of parts.slice(0, -1)) {
      path = joinPath(path, part);
      let next = node.children!.get(part);
      if (!next || !next.children) {
        const replaced = next !== undefined;
        if (next) this.drop(path, next);
        next = newDir(index);
        this.record(result, change(path, replaced ? 'modified' : 'added', next));
        node.children!.set(part, next);
      }
      node = next;
    }
    return node;
  }

  private add(index: number, e: LayerEntry, result: LayerChanges): void {
    const parts = split(e.path);
    const name = parts[parts.length - 1];
    if (name === undefined) {
      if (e.type !== 'dir') result.problems.push(`entry ${e.rawName} would replace the root with a ${e.type}; ignored`);
      else Object.assign(this.root, { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, layer: index });
      return;
    }
    const parent = this.parentFor(index, parts, result);
    const old = parent.children!.get(name);
    let size = e.size;
    let content = e.content;
    let magic = e.magic;
    if (e.type === 'file') result.contentBytes += e.size;
    if (e.type === 'hardlink') {
      const target = this.get(e.linkname);
      if (target && (target.type === 'file' || target.type === 'hardlink')) {
        size = target.size;
        content = target.content;
        magic = target.magic;
      } else {
        result.problems.push(`hard link ${e.path} points at ${e.linkname}, which ${target ? 'is not a file' : 'does not exist'}`);
        size = 0;
        content = null;
      }
    }
    if (old && old.type === 'dir' && e.type === 'dir') {
      // A directory over a directory keeps its children and takes the new attributes.
      const changed = old.mode !== e.mode || old.uid !== e.uid || old.gid !== e.gid;
      Object.assign(old, { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, layer: index });
      if (changed || this.changeAt.has(e.path)) this.record(result, change(e.path, 'modified', old));
      return;
    }
    if (old) this.drop(e.path, old);
    const node: Node = {
      type: e.type,
      // Linux ignores a symlink's permission bits and always shows lrwxrwxrwx, whatever the tar says
      mode: e.type === 'symlink' ? 0o777 : e.mode,
      uid: e.uid,
      gid: e.gid,
      size,
      mtime: e.mtime,
      linkTarget: e.type === 'symlink' || e.type === 'hardlink' ? e.linkname : null,
      layer: index,
      content,
      magic,
      children: e.type === 'dir' ? new Map() : null,
    };
    parent.children!.set(name, node);
    this.record(result, change(e.path, old ? 'modified' : 'added', node));
  }

  /** Every path in the merged tree, depth first, names in byte order. */
  *walk(): Generator<[string, Node]> {
    const stack: [string, Node][] = [['/', this.root]];
    while (stack.length) {
      const [path, node] = stack.pop()!;
      if (path !== '/') yield [path, node];
      if (node.children) {
        const names = [...node.children.keys()].sort(byteOrder).reverse();
        for (const name of names) stack.push([joinPath(path, name), node.children.get(name)!]);
      }
    }
  }

  /** Paths whose dropped versions cost the most, largest first. */
  wasted(limit = Infinity): WastedPath[] {
    return [...this.waste.values()].sort((a, b) => b.size - a.size || byteOrder(a.path, b.path)).slice(0, limit);
  }
}

function change(path: string, kind: ChangeKind, n: Node): Change {
  return { path, kind, type: n.type, size: n.size, mode: n.mode, uid: n.uid, gid: n.gid, linkTarget: n.linkTarget };
}

function removal(path: string, type: EntryType, size: number): Change {
  return { path, kind: 'removed', type, size, mode: null, uid: null, gid: null, linkTarget: null };
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

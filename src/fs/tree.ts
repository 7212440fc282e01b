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
import { collectIfGrown } from './heap.js';
import { joinPath } from './paths.js';
import { resolvePath } from './resolve.js';

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
  /** Capabilities the file forces on its process (setcap …+ep), when it has any: see TarEntry. */
  fileCaps?: [number, number];
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

const KINDS: ChangeKind[] = ['added', 'modified', 'removed'];
const TYPES: EntryType[] = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];
const NONE = NaN; // a null mode, uid or gid

/**
 * A layer's changes, stored column by column: the path as its folder's path (one string
 * shared by every change in that folder) and its name, numbers in typed arrays. A Change
 * object is made only when one is read, so 200,000 changes cost a few MB, not a few
 * hundred bytes each. Read it like an array: length, at(), iteration, find/filter/map.
 */
export class ChangeList implements Iterable<Change> {
  private dirs: string[] = [];
  private names: string[] = [];
  private links: (string | null)[] = [];
  private kinds: Uint8Array;
  private types: Uint8Array;
  private nums: Float64Array; // size, mode, uid, gid
  length = 0;

  /** `expected`: about how many changes will come (a layer has about one per entry). */
  constructor(expected = 8) {
    const cap = Math.max(8, expected);
    this.kinds = new Uint8Array(cap);
    this.types = new Uint8Array(cap);
    this.nums = new Float64Array(cap * 4);
  }

  private grow(): void {
    const cap = Math.max(8, this.kinds.length * 2);
    const k = new Uint8Array(cap);
    k.set(this.kinds);
    this.kinds = k;
    const t = new Uint8Array(cap);
    t.set(this.types);
    this.types = t;
    const n = new Float64Array(cap * 4);
    n.set(this.nums);
    this.nums = n;
  }

  /** Gives back the room grown for changes that never came (once the layer is applied). */
  trim(): void {
    const n = this.length;
    if (n + 64 >= this.kinds.length * 0.75) return; // close enough: copying would cost more than it frees
    this.kinds = this.kinds.slice(0, n);
    this.types = this.types.slice(0, n);
    this.nums = this.nums.slice(0, n * 4);
  }

  /** Stores a change at `at` (the next one when at === length). */
  put(at: number, dir: string, name: string, c: Omit<Change, 'path'>): void {
    if (at === this.length) {
      if (at >= this.kinds.length) this.grow();
      this.length++;
    }
    this.dirs[at] = dir;
    this.names[at] = name;
    this.links[at] = c.linkTarget;
    this.kinds[at] = KINDS.indexOf(c.kind);
    this.types[at] = TYPES.indexOf(c.type);
    const n = this.nums;
    n[at * 4] = c.size;
    n[at * 4 + 1] = c.mode ?? NONE;
    n[at * 4 + 2] = c.uid ?? NONE;
    n[at * 4 + 3] = c.gid ?? NONE;
  }

  kindAt(i: number): ChangeKind {
    return KINDS[this.kinds[i]!]!;
  }

  pathAt(i: number): string {
    return joinPath(this.dirs[i]!, this.names[i]!);
  }

  at(i: number): Change | undefined {
    if (i < 0) i += this.length;
    if (i < 0 || i >= this.length) return undefined;
    const n = this.nums;
    const num = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? null : v);
    return {
      path: joinPath(this.dirs[i]!, this.names[i]!),
      kind: KINDS[this.kinds[i]!]!,
      type: TYPES[this.types[i]!]!,
      size: n[i * 4]!,
      mode: num(n[i * 4 + 1]),
      uid: num(n[i * 4 + 2]),
      gid: num(n[i * 4 + 3]),
      linkTarget: this.links[i] ?? null,
    };
  }

  *[Symbol.iterator](): Iterator<Change> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  /** How many changes of a kind, without making a Change of each. */
  count(kind: ChangeKind): number {
    const k = KINDS.indexOf(kind);
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.kinds[i] === k) n++;
    return n;
  }

  find(f: (c: Change) => boolean): Change | undefined {
    for (const c of this) if (f(c)) return c;
    return undefined;
  }

  filter(f: (c: Change) => boolean): Change[] {
    return [...this].filter(f);
  }

  map<T>(f: (c: Change, i: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(f(this.at(i)!, i));
    return out;
  }
}

export interface LayerChanges {
  index: number;
  changes: ChangeList;
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
/** aufs' own metadata (.wh..wh.plnk and friends), anywhere in a path. */
const AUFS_META = '/' + WH + WH;

function newDir(layer: number, mode = 0o755): Node {
  return { type: 'dir', mode, uid: 0, gid: 0, size: 0, mtime: 0, linkTarget: null, layer, content: null, magic: null, children: new Map() };
}

function split(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export { joinPath } from './paths.js';

/**
 * The entries of a layer that a whiteout later in the same layer removes: the engines unpack a
 * layer in tar order, and a whiteout removes whatever is at its path then (moby's UnpackLayer,
 * containerd's apply), this layer's own entries at or below it too. The OCI spec says a whiteout
 * hides lower layers only, which is what the engines do when it comes first, as tools write it.
 */
function erasedBefore(entries: LayerEntry[]): Set<LayerEntry> {
  const erased = new Set<LayerEntry>();
  const later = new Set<string>(); // paths a whiteout further on removes
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    const slash = e.path.lastIndexOf('/');
    const base = e.path.slice(slash + 1);
    if (base.startsWith(WH) && base !== OPAQUE) {
      later.add(joinPath(e.path.slice(0, slash) || '/', base.slice(WH.length)));
      continue;
    }
    if (later.size === 0) continue;
    for (let p = e.path; p.length > 1; p = p.slice(0, Math.max(1, p.lastIndexOf('/')))) {
      if (later.has(p)) {
        erased.add(e);
        break;
      }
    }
  }
  return erased;
}

export class MergedTree {
  readonly root: Node = newDir(-1);
  readonly layers: LayerChanges[] = [];
  private readonly waste = new Map<string, WastedPath>();
  /**
   * Where each path's change sits in the layer being applied, so a path is listed once. Made
   * only once a path comes a second time (see changesByPath): most layers write each path
   * once, and a map of every path was a fifth of the time of building the tree.
   */
  private changeAt: Map<string, number> | null = null;
  /** Paths the layer being applied removed (whiteouts are few): one written again is a second change. */
  private removedHere = new Set<string>();
  private names = new Map<string, string>();
  /** The folder the last entry went into, while its layer is applied (see parentFor). */
  private lastDir: string | null = null;
  private lastParent: Node | null = null;
  wastedBytes = 0;

  private forgetParent(): void {
    this.lastDir = null;
    this.lastParent = null;
  }

  /** Lets go of what applying one layer keeps (its changes by path, its removals, the last folder). */
  private forgetLayer(): void {
    this.changeAt = null;
    this.removedHere = new Set();
    this.forgetParent();
  }

  /** Every layer is applied: let go of what only applying needs (the name pool; the names stay shared). */
  done(): void {
    this.names = new Map();
    this.forgetLayer();
    collectIfGrown(0);
  }

  /**
   * The file a hard link names: link(2) follows the links on the way to it (a folder this layer
   * linked elsewhere, say), not the last one.
   */
  private linkTargetOf(path: string): Node | null {
    const literal = this.get(path);
    if (literal) return literal;
    const r = resolvePath(this, path, { followLast: false });
    return r.ok ? r.node : null;
  }

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
    const result: LayerChanges = {
      index,
      changes: new ChangeList(entries.length + 8),
      entryCount: entries.length,
      contentBytes: 0,
      problems: [],
    };
    this.forgetLayer();
    const own: LayerEntry[] = [];
    const whiteouts: LayerEntry[] = [];
    const names = new Set<string>();
    let duplicate: string | null = null;
    for (const e of entries) {
      // dockerd's store keeps each layer's tar headers (tar-split), which takes no name twice
      // once cleaned as Go cleans it ("./etc" is "etc/", "/etc" is not)
      const key = e.rawName.startsWith('/') ? '/' + e.path : e.path;
      if (duplicate === null && names.size === names.add(key).size) duplicate = e.rawName;
      const base = e.path.slice(e.path.lastIndexOf('/') + 1);
      if (base === OPAQUE) this.opaque(e.path.slice(0, e.path.length - OPAQUE.length - 1) || '/', result);
      else if (e.path.includes(AUFS_META)) continue;
      else if (base.startsWith(WH)) whiteouts.push(e);
      else own.push(e);
    }
    if (duplicate !== null)
      result.problems.push(
        `${duplicate} is in the layer twice: dockerd's image store refuses it ("duplicates of file paths not supported"); containerd's applies both, the last one staying`,
      );
    for (const e of whiteouts) this.whiteout(e, result);
    const erased = whiteouts.length ? erasedBefore(entries) : null;
    for (const e of own) {
      if (erased?.has(e)) this.erase(e, result);
      else this.add(index, e, result);
    }
    this.forgetLayer();
    result.changes.trim();
    this.layers.push(result);
    collectIfGrown();
    return result;
  }

  /**
   * Records a change of the layer being applied, at folder `dir` (interned), `name` (interned),
   * `path` their join. `again`: the path may have changed before in this layer (its node was
   * written by it, or it was removed by it); a second change merges into the first: added
   * then rewritten stays added (with the last attributes), hidden then written again is modified.
   */
  private record(result: LayerChanges, dir: string, name: string, path: string, c: Omit<Change, 'path'>, again: boolean): void {
    const changes = result.changes;
    const at = again ? this.changesByPath(changes).get(path) : undefined;
    if (at === undefined) {
      this.changeAt?.set(path, changes.length);
      changes.put(changes.length, dir, name, c);
      return;
    }
    const prevKind = changes.kindAt(at);
    const kind = prevKind === 'added' ? 'added' : prevKind === 'removed' && c.kind === 'added' ? 'modified' : c.kind;
    changes.put(at, dir, name, { ...c, kind });
  }

  /** record() of a change named by its whole path. */
  private recordPath(result: LayerChanges, c: Change, again: boolean): void {
    const slash = c.path.lastIndexOf('/');
    this.record(result, this.intern(c.path.slice(0, slash) || '/'), this.intern(c.path.slice(slash + 1)), c.path, c, again);
  }

  /** The layer's changes so far by path, made on first need and kept up to date after (record). */
  private changesByPath(changes: ChangeList): Map<string, number> {
    if (this.changeAt) return this.changeAt;
    const at = new Map<string, number>();
    for (let i = 0; i < changes.length; i++) at.set(changes.pathAt(i), i);
    return (this.changeAt = at);
  }

  /** Whether the layer being applied removed `path` (cheap while it removed nothing). */
  private removedByThisLayer(path: string): boolean {
    return this.removedHere.size > 0 && this.removedHere.has(path);
  }

  /**
   * One copy of each name and folder path the tree keeps: a name cut from a tar entry's
   * path would otherwise hold the whole path string in memory, and node_modules repeats
   * the same few names (package.json, index.js, lib) tens of thousands of times.
   */
  private intern(s: string): string {
    const hit = this.names.get(s);
    if (hit !== undefined) return hit;
    // a slice of 13 or more characters shares (and keeps) its parent string: copy it out.
    // Slicing a new string one longer flattens it first, so the copy keeps only itself.
    const own = s.length < 13 ? s : (s + ' ').slice(0, -1);
    this.names.set(own, own);
    return own;
  }

  /** An entry its own layer's whiteout removes after it (see erasedBefore): its bytes are carried, and never seen. */
  private erase(e: LayerEntry, result: LayerChanges): void {
    if (e.type !== 'file') return;
    result.contentBytes += e.size;
    if (e.size === 0) return;
    const w = this.waste.get(e.path);
    if (w) {
      w.size += e.size;
      w.count++;
    } else this.waste.set(e.path, { path: e.path, size: e.size, count: 1 });
    this.wastedBytes += e.size;
  }

  private opaque(dir: string, result: LayerChanges): void {
    const node = this.get(dir);
    if (!node?.children) return;
    for (const [name, child] of [...node.children]) {
      const path = joinPath(dir, name);
      this.recordPath(result, removal(path, child.type, this.drop(path, child)), child.layer === result.index);
      this.removedHere.add(path);
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
    this.recordPath(result, removal(path, victim.type, this.drop(path, victim)), victim.layer === result.index);
    this.removedHere.add(path);
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

  /**
   * The directory that will hold `path` (a path below the root), creating missing or
   * non-directory parents as a layer apply does. Tar entries come folder by folder, so the
   * last folder found is kept: most entries find their parent without a walk from the root.
   */
  private parentFor(index: number, path: string, result: LayerChanges): Node | string {
    const slash = path.lastIndexOf('/');
    // the folder of the entry before, compared in place: no string cut for most entries
    const last = this.lastDir;
    if (last !== null && this.lastParent && (slash === 0 ? last === '/' : last.length === slash && path.startsWith(last)))
      return this.lastParent;
    const dir = slash === 0 ? '/' : path.slice(0, slash);
    let node = this.root;
    for (let at = 1; at < slash;) {
      let next = path.indexOf('/', at);
      if (next === -1 || next > slash) next = slash;
      const part = path.slice(at, next);
      let child = node.children!.get(part);
      if (child?.type === 'symlink' && child.layer === index) {
        // a link this layer made is a link on disk when its later entries are unpacked: the
        // engines write through it (moby's and containerd's apply, in a root of the layer's own)
        const through = resolvePath(this, path.slice(0, next));
        if (through.ok && through.node.children) return (through.path === '/' ? '' : through.path) + path.slice(next);
        result.problems.push(
          `entry ${path} goes through ${path.slice(0, next)}, a symlink this layer made (to ${child.linkTarget}) that ${through.ok ? 'is not a folder' : through.reason === 'loop' ? 'loops' : 'leads nowhere'}: the engine refuses this layer`,
        );
      }
      if (child && !child.children && child.type !== 'symlink' && child.layer === index)
        result.problems.push(
          `entry ${path} is inside ${path.slice(0, next)}, a ${child.type === 'hardlink' ? 'file' : child.type} this layer made: the engines cannot unpack it ("open ${path}: not a directory"), and the image does not load`,
        );
      if (!child || !child.children) {
        const here = path.slice(0, next);
        const replaced = child !== undefined;
        const again = child ? child.layer === index : this.removedByThisLayer(here);
        if (child) this.drop(here, child);
        child = newDir(index);
        this.recordPath(result, change(here, replaced ? 'modified' : 'added', child), again);
        node.children!.set(this.intern(part), child);
      }
      node = child;
      at = next + 1;
    }
    this.lastDir = this.intern(dir);
    this.lastParent = node;
    return node;
  }

  private add(index: number, e: LayerEntry, result: LayerChanges): void {
    if (e.path === '/') {
      if (e.type !== 'dir') result.problems.push(`entry ${e.rawName} would replace the root with a ${e.type}; ignored`);
      else Object.assign(this.root, { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, layer: index });
      return;
    }
    const parent = this.parentFor(index, e.path, result);
    if (typeof parent === 'string') {
      // the path through this layer's link: as the entry's own (a loop of links cannot get here: resolved above)
      this.forgetParent();
      return this.add(index, { ...e, path: parent }, result);
    }
    const dir = this.lastDir!; // parentFor's folder, interned
    const name = this.intern(e.path.slice(e.path.lastIndexOf('/') + 1));
    const old = parent.children!.get(name);
    let size = e.size;
    let content = e.content;
    let magic = e.magic;
    if (e.type === 'file') result.contentBytes += e.size;
    let type = e.type;
    let linkTarget = e.type === 'symlink' || e.type === 'hardlink' ? e.linkname : null;
    let caps = e.fileCaps;
    if (e.type === 'hardlink') {
      const target = this.linkTargetOf(e.linkname);
      caps = target?.fileCaps; // the same inode: its attributes too
      if (target && target.type !== 'dir' && target.layer !== index)
        result.problems.push(
          `hard link ${e.path} points at ${e.linkname}, which an earlier layer holds: dockerd's overlay2 store unpacks each layer into a folder of its own, where link(2) finds nothing, and refuses the layer (containerd and vfs apply it)`,
        );
      if (target && (target.type === 'file' || target.type === 'hardlink')) {
        size = target.size;
        content = target.content;
        magic = target.magic;
        // the engines chown and chmod the new name after link(2): the inode's owner and mode
        // become the link header's, under every name it has (moby's and containerd's createTarFile)
        for (const same of [target, target.type === 'hardlink' && target.linkTarget ? this.get(target.linkTarget) : null])
          if (same) Object.assign(same, { mode: e.mode, uid: e.uid, gid: e.gid });
      } else if (target && target.type !== 'dir') {
        // link(2) does not follow a symlink (nor does the engine's extraction): the new name is
        // the same symlink, device or fifo
        type = target.type;
        linkTarget = target.linkTarget;
        size = target.size;
        content = null;
      } else {
        result.problems.push(`hard link ${e.path} points at ${e.linkname}, which ${target ? 'is not a file' : 'does not exist'}`);
        size = 0;
        content = null;
      }
    }
    if (old && old.type === 'dir' && e.type === 'dir') {
      // A directory over a directory keeps its children and takes the new attributes.
      const changed = old.mode !== e.mode || old.uid !== e.uid || old.gid !== e.gid;
      const again = old.layer === index;
      Object.assign(old, { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, layer: index });
      if (changed || (again && this.changesByPath(result.changes).has(e.path)))
        this.record(result, dir, name, e.path, change(e.path, 'modified', old), again);
      return;
    }
    const again = old ? old.layer === index : this.removedByThisLayer(e.path);
    if (old) {
      this.drop(e.path, old);
      this.forgetParent(); // the folder found last may be the one replaced, or inside it
    }
    const node: Node = {
      type,
      // Linux ignores a symlink's permission bits and always shows lrwxrwxrwx, whatever the tar says
      mode: type === 'symlink' ? 0o777 : e.mode,
      uid: e.uid,
      gid: e.gid,
      size,
      mtime: e.mtime,
      linkTarget,
      layer: index,
      content,
      magic,
      children: e.type === 'dir' ? new Map() : null,
    };
    if (caps) node.fileCaps = caps;
    parent.children!.set(name, node);
    this.record(result, dir, name, e.path, change(e.path, old ? 'modified' : 'added', node), again);
  }

  /**
   * Every path in the merged tree, depth first, names in byte order. The stack holds one
   * sorted name list per open folder, and a path is made only when its node is reached,
   * so a folder of 100,000 entries costs one array, not 100,000 pending paths.
   */
  *walk(): Generator<[string, Node]> {
    const sortedNames = (n: Node) => [...n.children!.keys()].sort(byteOrder);
    const stack: { path: string; node: Node; names: string[]; i: number }[] = [
      { path: '/', node: this.root, names: sortedNames(this.root), i: 0 },
    ];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.i >= top.names.length) {
        stack.pop();
        continue;
      }
      const name = top.names[top.i++]!;
      const node = top.node.children!.get(name)!;
      const path = joinPath(top.path, name);
      yield [path, node];
      if (node.children) stack.push({ path, node, names: sortedNames(node), i: 0 });
    }
  }

  /** Every node, in no particular order: no path is made and no folder sorted, for passes over every file. */
  *nodes(): Generator<Node> {
    const stack: Node[] = [this.root];
    for (let n = stack.pop(); n; n = stack.pop()) {
      yield n;
      if (n.children) for (const c of n.children.values()) stack.push(c);
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

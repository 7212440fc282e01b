/**
 * The file tree as rows to show: the merged tree, or one layer's changes marked added /
 * modified / removed, with folders expanded or collapsed, a path filter, and sorting by
 * name or size. UI-free; only the rows asked for are built, so a 20,000-file tree stays
 * cheap to scroll.
 */
import type { EntryType } from '../layers/index.js';
import { type ChangeKind, type MergedTree, type Node, byteOrder, joinPath } from './tree.js';

export type Mark = 'A' | 'M' | 'D';

export interface TreeRow {
  path: string;
  name: string;
  depth: number;
  type: EntryType;
  /** A file's size, or the bytes of every file under a folder. */
  size: number;
  isDir: boolean;
  expanded: boolean;
  /** In layer view: what the layer did to this path (folders that only hold changes have none). */
  mark: Mark | null;
  /** The merged tree's node, when the path exists in the final image. */
  node: Node | null;
  linkTarget: string | null;
}

export interface TreeViewOptions {
  /** null: the merged tree; a number: that layer's changes. */
  layer: number | null;
  /** Folders the user opened; with `expandAll`, the ones they closed. */
  expanded: ReadonlySet<string>;
  /** Start with every folder open (a layer's changes are few and worth seeing at once). */
  expandAll?: boolean;
  filter: string;
  show: { added: boolean; modified: boolean; removed: boolean };
  sortBySize: boolean;
}

/** A uniform tree for both views. */
interface VNode {
  type: EntryType;
  size: number;
  mark: Mark | null;
  node: Node | null;
  linkTarget: string | null;
  children: Map<string, VNode> | null;
}

const MARK: Record<ChangeKind, Mark> = { added: 'A', modified: 'M', removed: 'D' };

export class TreeView {
  private merged: VNode | null = null;
  private readonly layerTrees = new Map<number, VNode>();

  constructor(private readonly tree: MergedTree) {}

  private fromMerged(): VNode {
    if (this.merged) return this.merged;
    const convert = (n: Node): VNode => {
      const v: VNode = { type: n.type, size: n.size, mark: null, node: n, linkTarget: n.linkTarget, children: null };
      if (n.children) {
        v.children = new Map();
        let total = 0;
        for (const [name, c] of n.children) {
          const cv = convert(c);
          v.children.set(name, cv);
          total += cv.type === 'file' || cv.children ? cv.size : 0;
        }
        v.size = total;
      }
      return v;
    };
    this.merged = convert(this.tree.root);
    return this.merged;
  }

  private fromLayer(index: number): VNode {
    const hit = this.layerTrees.get(index);
    if (hit) return hit;
    const root: VNode = { type: 'dir', size: 0, mark: null, node: null, linkTarget: null, children: new Map() };
    for (const c of this.tree.layers[index]?.changes ?? []) {
      const parts = c.path.split('/').filter(Boolean);
      let cur = root;
      let path = '';
      for (let i = 0; i < parts.length; i++) {
        const last = i === parts.length - 1;
        path += '/' + parts[i];
        let next = cur.children!.get(parts[i]);
        if (!next) {
          // a folder that only holds changes: show it as the final image has it
          next = { type: 'dir', size: 0, mark: null, node: this.tree.get(path), linkTarget: null, children: new Map() };
          cur.children!.set(parts[i], next);
        }
        if (last) {
          next.type = c.type;
          next.mark = MARK[c.kind];
          next.size = c.size;
          next.linkTarget = c.linkTarget;
          next.node = c.kind === 'removed' ? null : this.tree.get(c.path);
          // a removed folder is one entry: nothing to open
          if ((c.type !== 'dir' || c.kind === 'removed') && next.children?.size === 0) next.children = null;
        }
        cur = next;
      }
    }
    const sizes = (v: VNode): number => {
      if (!v.children) return v.type === 'file' || v.mark === 'D' ? v.size : 0;
      let t = v.mark === 'D' ? v.size : 0;
      for (const c of v.children.values()) t += sizes(c);
      v.size = t;
      return t;
    };
    sizes(root);
    this.layerTrees.set(index, root);
    return root;
  }

  /** The rows to show, in order. */
  rows(opts: TreeViewOptions): TreeRow[] {
    const root = opts.layer === null ? this.fromMerged() : this.fromLayer(opts.layer);
    const filter = opts.filter.toLowerCase();
    const hidden = (v: VNode) => (v.mark === 'A' && !opts.show.added) || (v.mark === 'M' && !opts.show.modified) || (v.mark === 'D' && !opts.show.removed);
    // With a filter, a folder shows when anything under it matches; matches show their ancestors.
    const matchCache = new Map<VNode, boolean>();
    const matches = (v: VNode, path: string): boolean => {
      const hit = matchCache.get(v);
      if (hit !== undefined) return hit;
      let m = path.toLowerCase().includes(filter) && !hidden(v);
      if (!m && v.children) for (const [name, c] of v.children) if (matches(c, joinPath(path, name))) m = true;
      matchCache.set(v, m);
      return m;
    };
    const out: TreeRow[] = [];
    const visit = (v: VNode, path: string, depth: number) => {
      if (!v.children) return;
      const names = [...v.children.keys()];
      if (opts.sortBySize) names.sort((a, b) => v.children!.get(b)!.size - v.children!.get(a)!.size || byteOrder(a, b));
      else names.sort(byteOrder);
      for (const name of names) {
        const c = v.children.get(name)!;
        const p = joinPath(path, name);
        if (filter ? !matches(c, p) : hidden(c) && !c.children) continue;
        const expanded = c.children !== null && (filter !== '' || opts.expanded.has(p) !== (opts.expandAll ?? false));
        out.push({ path: p, name, depth, type: c.type, size: c.size, isDir: c.children !== null, expanded, mark: c.mark, node: c.node, linkTarget: c.linkTarget });
        if (expanded) visit(c, p, depth + 1);
      }
    };
    visit(root, '/', 0);
    return out;
  }

  /** Every folder on the way to `path`, so expanding them shows it. */
  static ancestors(path: string): string[] {
    const parts = path.split('/').filter(Boolean);
    const out: string[] = [];
    for (let i = 1; i < parts.length; i++) out.push('/' + parts.slice(0, i).join('/'));
    return out;
  }
}

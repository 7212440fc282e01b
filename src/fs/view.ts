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
    // Built without recursion (hostile images nest deeper than the stack), then folder sizes bottom-up.
    const make = (n: Node): VNode => ({
      type: n.type,
      size: n.children ? 0 : n.size,
      mark: null,
      node: n,
      linkTarget: n.linkTarget,
      children: n.children ? new Map() : null,
    });
    const root = make(this.tree.root);
    const order: VNode[] = [];
    const stack: [Node, VNode][] = [[this.tree.root, root]];
    while (stack.length) {
      const [n, v] = stack.pop()!;
      order.push(v);
      for (const [name, c] of n.children ?? []) {
        const cv = make(c);
        v.children!.set(name, cv);
        stack.push([c, cv]);
      }
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const v = order[i];
      if (v.children) for (const c of v.children.values()) v.size += c.type === 'file' || c.children ? c.size : 0;
    }
    this.merged = root;
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
    // folder sizes bottom-up, without recursion
    const order: VNode[] = [];
    const stack: VNode[] = [root];
    while (stack.length) {
      const v = stack.pop()!;
      order.push(v);
      for (const c of v.children?.values() ?? []) stack.push(c);
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const v = order[i];
      if (!v.children) {
        if (v.type !== 'file' && v.mark !== 'D') v.size = 0;
        continue;
      }
      let t = v.mark === 'D' ? v.size : 0;
      for (const c of v.children.values()) t += c.size;
      v.size = t;
    }
    this.layerTrees.set(index, root);
    return root;
  }

  /** The rows to show, in order. */
  rows(opts: TreeViewOptions): TreeRow[] {
    const root = opts.layer === null ? this.fromMerged() : this.fromLayer(opts.layer);
    const filter = opts.filter.toLowerCase();
    const hidden = (v: VNode) =>
      (v.mark === 'A' && !opts.show.added) || (v.mark === 'M' && !opts.show.modified) || (v.mark === 'D' && !opts.show.removed);
    // With a filter, a folder shows when anything under it matches; matches show their ancestors.
    const matching = new Set<VNode>();
    if (filter) {
      const order: [VNode, string, VNode | null][] = [];
      const stack: [VNode, string, VNode | null][] = [[root, '/', null]];
      while (stack.length) {
        const item = stack.pop()!;
        order.push(item);
        for (const [name, c] of item[0].children ?? []) stack.push([c, joinPath(item[1], name), item[0]]);
      }
      for (let i = order.length - 1; i >= 0; i--) {
        const [v, path, parent] = order[i];
        if (matching.has(v) || (path.toLowerCase().includes(filter) && !hidden(v))) {
          matching.add(v);
          if (parent) matching.add(parent);
        }
      }
    }
    const out: TreeRow[] = [];
    const sorted = (v: VNode) => {
      const names = [...v.children!.keys()];
      if (opts.sortBySize) names.sort((a, b) => v.children!.get(b)!.size - v.children!.get(a)!.size || byteOrder(a, b));
      else names.sort(byteOrder);
      return names;
    };
    // depth first, without recursion: a stack of (folder, its sorted names, next index)
    const stack: { v: VNode; path: string; depth: number; names: string[]; i: number }[] = [
      { v: root, path: '/', depth: 0, names: sorted(root), i: 0 },
    ];
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.i >= top.names.length) {
        stack.pop();
        continue;
      }
      const name = top.names[top.i++];
      const c = top.v.children!.get(name)!;
      const p = joinPath(top.path, name);
      if (filter ? !matching.has(c) : hidden(c) && !c.children) continue;
      const expanded = c.children !== null && (filter !== '' || opts.expanded.has(p) !== (opts.expandAll ?? false));
      out.push({
        path: p,
        name,
        depth: top.depth,
        type: c.type,
        size: c.size,
        isDir: c.children !== null,
        expanded,
        mark: c.mark,
        node: c.node,
        linkTarget: c.linkTarget,
      });
      if (expanded) stack.push({ v: c, path: p, depth: top.depth + 1, names: sorted(c), i: 0 });
    }
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

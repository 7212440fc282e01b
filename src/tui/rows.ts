/**
 * The Files pane's rows: which entries of a tree show (folding, the a/m/r marks, a
 * substring or regex filter) in which order (name, size or layer). One pass over the
 * tree's flat list decides what a filter keeps, so a 20,000-file tree filters in a few ms.
 */
import { type FileEntry, type Mark, type Tree, type TreeSort, type TreeViewKey, byteOrder } from '../report/tree.js';

/** Folders open by the view's default (`auto`), all open, or all closed; `flipped` ones the other way. */
export interface Fold {
  base: 'auto' | 'open' | 'closed';
  flipped: ReadonlySet<string>;
}

export interface Filter {
  text: string;
  regex: boolean;
}

export type Show = Record<Mark, boolean>;

export interface RowQuery {
  key: TreeViewKey;
  fold: Fold;
  filter: Filter;
  show: Show;
  sort: TreeSort;
}

export interface Row {
  e: FileEntry;
  depth: number;
  open: boolean;
}

export const AUTO: Fold = { base: 'auto', flipped: new Set() };

/** A filter's test, or why its regex does not compile. */
export function matcher(f: Filter): { test: ((e: FileEntry) => boolean) | null; error: string | null } {
  if (!f.text) return { test: null, error: null };
  if (!f.regex) {
    const q = f.text.toLowerCase();
    return { test: (e) => e.lower.includes(q), error: null };
  }
  try {
    const re = new RegExp(f.text, 'i');
    return { test: (e) => re.test(e.path), error: null };
  } catch (e) {
    return { test: null, error: (e as Error).message.replace(/^Invalid regular expression: /, '') };
  }
}

/** Whether a folder opens by default: a layer's view opens the folders that hold its changes. */
function autoOpen(e: FileEntry, q: RowQuery, filtering: boolean): boolean {
  if (filtering || q.key.changesOnly) return true;
  return q.key.layer !== null && e.changed;
}

export function isOpen(e: FileEntry, q: RowQuery, filtering: boolean): boolean {
  if (!e.children) return false;
  const base = q.fold.base === 'open' ? true : q.fold.base === 'closed' ? false : autoOpen(e, q, filtering);
  return base !== q.fold.flipped.has(e.path);
}

function sortedChildren(e: FileEntry, sort: TreeSort): FileEntry[] {
  const hit = e.sorted[sort];
  if (hit) return hit;
  const list = [...e.children!.values()];
  if (sort === 'size') list.sort((a, b) => b.size - a.size || byteOrder(a.name, b.name));
  else if (sort === 'layer') list.sort((a, b) => (b.layer ?? -1) - (a.layer ?? -1) || byteOrder(a.name, b.name));
  else list.sort((a, b) => byteOrder(a.name, b.name));
  e.sorted[sort] = list;
  return list;
}

export function buildRows(tree: Tree, q: RowQuery): { rows: Row[]; error: string | null } {
  const { test, error } = matcher(q.filter);
  const hidden = (e: FileEntry) => e.mark !== null && !q.show[e.mark];
  const marksHide = !q.show.A || !q.show.M || !q.show.D;
  // What stays: entries that pass themselves, and the folders on the way to them.
  let keep: Set<FileEntry> | null = null;
  if (test || marksHide) {
    keep = new Set();
    for (let i = tree.all.length - 1; i >= 0; i--) {
      const e = tree.all[i]!;
      if (keep.has(e) || (!hidden(e) && (!test || test(e)))) {
        keep.add(e);
        if (e.parent) keep.add(e.parent);
      }
    }
  }
  const rows: Row[] = [];
  const stack: { list: FileEntry[]; i: number; depth: number }[] = [
    { list: tree.root.children ? sortedChildren(tree.root, q.sort) : [], i: 0, depth: 0 },
  ];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.list.length) {
      stack.pop();
      continue;
    }
    const e = top.list[top.i++]!;
    if (keep && !keep.has(e)) continue;
    const open = isOpen(e, q, test !== null);
    rows.push({ e, depth: top.depth, open });
    if (open) stack.push({ list: sortedChildren(e, q.sort), i: 0, depth: top.depth + 1 });
  }
  return { rows, error };
}

/** The merged filesystem: tree, lookups, listings. */
import type { EntryType } from '../layers/index.js';
import type { Change, MergedTree, Node } from './tree.js';

export { MergedTree, byteOrder, joinPath } from './tree.js';
export type { Node, Change, ChangeKind, LayerChanges, WastedPath } from './tree.js';
export { resolvePath, mustResolve, workingDir } from './resolve.js';
export type { Resolved, ResolveResult } from './resolve.js';
export { readContent, streamContent, openBytes, readSmallFile, contentHead, readable } from './content.js';
export { FileBytes, BufferBytes, ReadArena, type Bytes } from './bytes.js';

/** One path of the merged tree as `files --json` prints it. */
export interface FileRecord {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget: string | null;
  layer: number;
}

/** The merged tree's paths one record at a time, depth first, names in byte order: nothing is kept. */
export function* fileRecords(tree: MergedTree): Generator<FileRecord> {
  for (const [path, n] of tree.walk()) {
    yield { path, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, linkTarget: n.linkTarget, layer: n.layer };
  }
}

/**
 * The nodes of fileRecords' paths (the root left out) in no order: for a pass that needs
 * their numbers and not their paths (a listing's column widths), no folder sorted, no path made.
 */
export function* fileNodes(tree: MergedTree): Generator<Node> {
  for (const n of tree.nodes()) if (n !== tree.root) yield n;
}

export function listFiles(tree: MergedTree): FileRecord[] {
  return [...fileRecords(tree)];
}

export interface ChangeRecord {
  path: string;
  change: Change['kind'];
  type: EntryType;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  size: number;
  linkTarget: string | null;
  layer: number;
}

/** One layer's changes as `files --layer N --json` prints them. */
export function* changeRecords(tree: MergedTree, layer: number): Generator<ChangeRecord> {
  const l = tree.layers[layer];
  if (!l) throw new RangeError(`no layer ${layer}`); // the CLI checks the number first
  for (const c of l.changes)
    yield {
      path: c.path,
      change: c.kind,
      type: c.type,
      mode: c.mode,
      uid: c.uid,
      gid: c.gid,
      size: c.size,
      linkTarget: c.linkTarget,
      layer,
    };
}

export function listChanges(tree: MergedTree, layer: number): ChangeRecord[] {
  return [...changeRecords(tree, layer)];
}

/** Regular files and their bytes in the merged tree. */
export function treeTotals(tree: MergedTree): { files: number; bytes: number; entries: number } {
  let files = 0;
  let bytes = 0;
  let entries = 0;
  for (const [, n] of tree.walk()) {
    entries++;
    if (n.type === 'file') {
      files++;
      bytes += n.size;
    }
  }
  return { files, bytes, entries };
}

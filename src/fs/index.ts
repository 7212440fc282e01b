/** The merged filesystem: tree, lookups, listings. */
import type { EntryType } from '../layers/index.js';
import type { Change, MergedTree } from './tree.js';

export { MergedTree, byteOrder, joinPath } from './tree.js';
export type { Node, Change, ChangeKind, LayerChanges, WastedPath } from './tree.js';
export { resolvePath, mustResolve } from './resolve.js';
export type { Resolved, ResolveResult } from './resolve.js';
export { readContent, streamContent, openBytes, readSmallFile, contentHead } from './content.js';
export { FileBytes, BufferBytes, type Bytes } from './bytes.js';

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

export function listFiles(tree: MergedTree): FileRecord[] {
  const out: FileRecord[] = [];
  for (const [path, n] of tree.walk()) {
    out.push({ path, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, linkTarget: n.linkTarget, layer: n.layer });
  }
  return out;
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

export function listChanges(tree: MergedTree, layer: number): ChangeRecord[] {
  const l = tree.layers[layer];
  if (!l) throw new RangeError(`no layer ${layer}`); // the CLI checks the number first
  return l.changes.map((c) => ({
    path: c.path,
    change: c.kind,
    type: c.type,
    mode: c.mode,
    uid: c.uid,
    gid: c.gid,
    size: c.size,
    linkTarget: c.linkTarget,
    layer,
  }));
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

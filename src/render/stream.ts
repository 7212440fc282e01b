/**
 * Output written as it is made, so a listing of millions of paths or a report with a huge
 * list never becomes one string in memory. Every function here makes exactly the bytes of
 * its whole-string counterpart (JSON.stringify(v, null, 2), renderFiles, renderChanges).
 */
import type { ChangeRecord, FileRecord } from '../report/index.js';
import { formatMode, printable } from './format.js';

/** Where chunks go; resolves when the chunk may be followed by another (a drained stream). */
export type Write = (s: string) => Promise<void>;

const CHUNK = 1 << 16;

/** Writes pieces in chunks of about 64 KB. */
export async function writeAll(pieces: Iterable<string>, write: Write): Promise<void> {
  let buf = '';
  for (const p of pieces) {
    buf += p;
    if (buf.length >= CHUNK) {
      await write(buf);
      buf = '';
    }
  }
  if (buf) await write(buf);
}

/** A JSON array, one element a line: `[\n  {...},\n  {...}\n]\n` (`[]\n` when empty). */
export function* jsonLines(items: Iterable<unknown>): Generator<string> {
  let first = true;
  for (const item of items) {
    yield (first ? '[\n  ' : ',\n  ') + JSON.stringify(item);
    first = false;
  }
  yield first ? '[]\n' : '\n]\n';
}

/** JSON.stringify(value, null, 2) and a newline, in pieces. */
export function* jsonDocument(value: unknown): Generator<string> {
  yield* jsonPieces(value);
  yield '\n';
}

/**
 * The pieces of JSON.stringify(value, null, indent), byte for byte, for plain data (objects,
 * arrays, strings, numbers, booleans, null; undefined and functions left out as stringify
 * does). Leaves and small values are stringified whole; objects and arrays are walked.
 */
export function* jsonPieces(value: unknown, indent = '  ', at = '', key = ''): Generator<string> {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function')
    value = (value as { toJSON: (k: string) => unknown }).toJSON(key);
  if (value === null || typeof value !== 'object') {
    yield JSON.stringify(value, null, indent) ?? 'null';
    return;
  }
  const inner = at + indent;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let i = 0; i < value.length; i++) {
      yield (i ? ',\n' : '\n') + inner;
      const v: unknown = value[i];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') yield 'null';
      else yield* jsonPieces(v, indent, inner, String(i));
    }
    yield '\n' + at + ']';
    return;
  }
  let first = true;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    yield (first ? '{\n' : ',\n') + inner + JSON.stringify(key) + ': ';
    first = false;
    yield* jsonPieces(v, indent, inner, key);
  }
  yield first ? '{}' : '\n' + at + '}';
}

function linkSuffix(type: string, target: string | null): string {
  if (!target) return '';
  return type === 'hardlink' ? ` link to ${printable(target)}` : ` -> ${printable(target)}`;
}

/** What a files listing's column widths depend on. */
export type FileCells = Pick<FileRecord, 'uid' | 'gid' | 'size' | 'layer'>;

/**
 * The files listing (mode, uid:gid, size, layer, path) as table() lays it out: columns
 * padded to their widest cell, so the records are walked twice, once for the widths;
 * `cells` gives that pass the same records' numbers in any order, without their paths.
 */
export function* filesText(records: () => Iterable<FileRecord>, cells: () => Iterable<FileCells> = records): Generator<string> {
  let owner = 0;
  let size = 0;
  let layer = 0;
  let any = false;
  for (const f of cells()) {
    any = true;
    owner = Math.max(owner, `${f.uid}:${f.gid}`.length);
    size = Math.max(size, String(f.size).length);
    layer = Math.max(layer, `L${f.layer}`.length);
  }
  if (!any) return;
  for (const f of records()) {
    const line =
      formatMode(f.type, f.mode).padEnd(10) +
      '  ' +
      `${f.uid}:${f.gid}`.padEnd(owner) +
      '  ' +
      String(f.size).padStart(size) +
      '  ' +
      `L${f.layer}`.padEnd(layer) +
      '  ' +
      printable(f.path) +
      linkSuffix(f.type, f.linkTarget);
    yield line.trimEnd() + '\n';
  }
}

const LETTER = { added: 'A', modified: 'M', removed: 'D' } as const;

/** One layer's changes (letter, mode, size, path), laid out as table() does. */
export function* changesText(records: () => Iterable<ChangeRecord>): Generator<string> {
  let mode = 0;
  let size = 0;
  let any = false;
  for (const c of records()) {
    any = true;
    mode = Math.max(mode, c.mode === null ? 1 : 10);
    size = Math.max(size, String(c.size).length);
  }
  if (!any) return;
  for (const c of records()) {
    const line =
      LETTER[c.change] +
      '  ' +
      (c.mode === null ? '-' : formatMode(c.type, c.mode)).padEnd(mode) +
      '  ' +
      String(c.size).padStart(size) +
      '  ' +
      printable(c.path) +
      linkSuffix(c.type, c.linkTarget);
    yield line.trimEnd() + '\n';
  }
}

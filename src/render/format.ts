/** Small text helpers shared by the plain-text renderers. */
import type { EntryType } from '../report/index.js';

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

const TYPE_CHAR: Record<EntryType, string> = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' };

const TYPE_CODE: Record<EntryType, number> = { file: 0, dir: 1, symlink: 2, hardlink: 3, char: 4, block: 5, fifo: 6 };
/** Mode strings made so far, by type and mode bits (at most 7 x 4096): a listing of 200,000 paths has a few dozen. */
const modeStrings: (string | undefined)[] = [];

/** ls -l style mode string, setuid/setgid/sticky included. */
export function formatMode(type: EntryType, mode: number): string {
  const key = TYPE_CODE[type] * 4096 + (mode & 0o7777);
  return (modeStrings[key] ??= modeString(type, mode));
}

function modeString(type: EntryType, mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string) =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return (
    TYPE_CHAR[type] +
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

/** Pads cells to columns; the last column is left ragged. */
export function table(rows: string[][], right: Set<number> = new Set()): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Escapes what the image controls; see src/text.ts. */
export { printable } from '../text.js';

/** Lines of text for the panes: made printable, then wrapped to a width (continuations indented). */
import { printable } from '../render/format.js';

export interface Line {
  text: string;
  color?: string;
  bold?: boolean;
  /** Which item (diagnostic, …) the line belongs to. */
  item?: number;
  /** The item's first line. */
  head?: boolean;
}

/** Splits text into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number, indent = '  '): string[] {
  const out: string[] = [];
  let rest = text;
  let first = true;
  const w = Math.max(8, width);
  while (rest.length > 0) {
    const room = Math.max(4, w - (first ? 0 : indent.length));
    let cut = rest.length <= room ? rest.length : rest.lastIndexOf(' ', room);
    if (cut <= room / 2) cut = Math.min(room, rest.length);
    out.push((first ? '' : indent) + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    first = false;
  }
  return out.length ? out : [''];
}

/** `raw` lines (image text in them escaped here) wrapped to `width`, each keeping its style. */
export function layout(raw: Line[], width: number): Line[] {
  const out: Line[] = [];
  for (const l of raw) {
    const indent = ' '.repeat(Math.min(8, l.text.length - l.text.trimStart().length) + 2);
    wrap(printable(l.text), width, indent).forEach((t, i) => out.push({ ...l, text: t, head: l.head && i === 0 }));
  }
  return out;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Cuts a line to `width` columns, with … when cut. */
export function fit(s: string, width: number): string {
  const chars = [...s];
  return chars.length <= width ? s : chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}

/** The slice of `count` rows to draw so that `cursor` stays in a window of `size`. */
export function windowOf(count: number, cursor: number, size: number): [number, number] {
  if (count <= size) return [0, count];
  const start = Math.min(Math.max(0, cursor - Math.floor(size / 2)), count - size);
  return [start, start + size];
}

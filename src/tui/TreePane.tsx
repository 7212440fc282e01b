/** The file tree: only the visible rows are drawn, so a 20,000-file tree scrolls without flicker. */
import { Text } from 'ink';
import { formatBytes, formatMode, printable } from '../render/format.js';
import type { Row } from './rows.js';
import type { State } from './state.js';
import type { Closure } from '../report/index.js';
import { Body, Pane, position } from './Pane.js';
import { windowOf } from './text.js';
import { MARK_COLOR, styled } from './theme.js';

export function treeTitle(s: State, count: number, from: number, room: number, error: string | null): string {
  const layer = s.layerCursor - 1;
  const view = s.layerCursor === 0 ? 'final image' : s.changesOnly ? `layer ${layer}'s changes` : `as of layer ${layer}`;
  const hidden = (['A', 'M', 'D'] as const).filter((k) => !s.show[k]);
  const flags = [
    view,
    s.layerCursor !== 0 && hidden.length ? `hiding ${hidden.join('')}` : null,
    s.sort !== 'name' ? `by ${s.sort}` : null,
  ].filter(Boolean);
  const filter =
    s.filter.text || s.editing
      ? `  ${s.filter.regex ? 're' : ''}/${printable(s.filter.text)}${s.editing ? '▏' : ''}${error ? ` (bad regex: ${error})` : ''}`
      : '';
  return `Files (${flags.join(', ')})${filter}${position(from, room, count)}`;
}

export function TreePane({
  s,
  rows,
  error,
  building,
  focused,
  width,
  height,
  closure = null,
}: {
  s: State;
  rows: Row[];
  error: string | null;
  building: boolean;
  focused: boolean;
  width: number;
  height: number;
  closure?: Closure | null;
}) {
  // The command's closure, marked ●: what a FROM scratch image of just this program holds.
  const inClosure = new Set<string>();
  for (const f of closure?.files ?? []) if (f.present && !f.probable) for (const p of [f.path, ...f.openedAs]) inClosure.add(p);
  const room = Math.max(1, height - 3);
  const cursor = Math.min(s.cursor, rows.length - 1);
  const [from, to] = windowOf(rows.length, cursor, room);
  const body = rows.slice(from, to).map((r, i) => {
    const e = r.e;
    const sel = from + i === cursor;
    const inv = sel && focused;
    const icon = e.children ? (r.open ? '▾' : '▸') : ' ';
    const mode = e.mode !== null ? formatMode(e.type, e.mode) : e.mark === 'D' ? '-'.repeat(10) : ' '.repeat(10);
    const owner = s.attrs === 'all' ? `${e.uid ?? '-'}:${e.gid ?? '-'}`.padEnd(9) + ' ' : '';
    const attrs = s.attrs === 'none' ? '' : `${mode} ${owner}${formatBytes(e.size).padStart(8)} `;
    return styled(
      [
        [sel ? '›' : ' ', { inverse: inv }],
        [e.mark ?? ' ', { color: e.mark ? MARK_COLOR[e.mark] : undefined, inverse: inv }],
        [` ${attrs}${'  '.repeat(r.depth)}${icon}`, { inverse: inv }],
        [inClosure.has(e.path) ? '●' : '', { color: 'magenta', inverse: inv }],
        [
          printable(e.name),
          { color: e.children ? 'blue' : e.type === 'symlink' ? 'cyan' : undefined, strike: e.mark === 'D', inverse: inv },
        ],
        [e.linkTarget ? ` → ${printable(e.linkTarget)}` : '', { inverse: inv }],
      ],
      width - 2,
    );
  });
  return (
    <Pane title={treeTitle(s, rows.length, from, room, error)} focused={focused} width={width} height={height}>
      {rows.length === 0 ? (
        <Text dimColor>{building ? 'building the tree…' : s.filter.text ? 'nothing matches' : 'no files'}</Text>
      ) : (
        <Body lines={body} />
      )}
    </Pane>
  );
}

/** The file tree: only the visible rows are drawn, so a 20,000-file tree scrolls without flicker. */
import { Text } from 'ink';
import type { TreeRow } from '../fs/index.js';
import { formatBytes, formatMode } from '../render/format.js';
import { Pane, windowOf } from './Pane.js';
import { MARK_COLOR, c } from './theme.js';

export interface TreeState {
  filter: string;
  editingFilter: boolean;
  show: { added: boolean; modified: boolean; removed: boolean };
  sortBySize: boolean;
}

export function TreePane(props: { rows: TreeRow[]; cursor: number; focused: boolean; width: number; height: number; layer: number | null; state: TreeState }) {
  const { rows, cursor, focused, width, height, layer, state } = props;
  const flags = [
    layer === null ? 'merged' : `layer ${layer}`,
    state.sortBySize ? 'by size' : null,
    layer !== null ? ['A', 'M', 'D'].filter((_, i) => [state.show.added, state.show.modified, state.show.removed][i]).join('') || 'none' : null,
  ].filter(Boolean);
  const title = `Files (${flags.join(', ')})${state.filter || state.editingFilter ? `  /${state.filter}${state.editingFilter ? '▏' : ''}` : ''}`;
  const size = Math.max(1, height - 3);
  const [from, to] = windowOf(rows.length, cursor, size);
  return (
    <Pane title={title} focused={focused} width={width} height={height}>
      {rows.length === 0 ? <Text dimColor>{state.filter ? 'nothing matches' : 'no files'}</Text> : null}
      {rows.slice(from, to).map((r, i) => {
        const sel = from + i === cursor;
        const icon = r.isDir ? (r.expanded ? '▾' : '▸') : ' ';
        const mode = r.node ? formatMode(r.type, r.node.mode) : r.mark === 'D' ? '-' + '-'.repeat(9) : '          ';
        const link = r.linkTarget ? ` → ${r.linkTarget}` : '';
        return (
          <Text key={r.path} inverse={sel && focused} wrap="truncate-end">
            {sel ? '›' : ' '}
            {r.mark ? <Text color={c(MARK_COLOR[r.mark])}>{r.mark}</Text> : ' '} {mode} {formatBytes(r.size).padStart(8)} {'  '.repeat(r.depth)}
            {icon}
            <Text color={r.isDir ? c('blue') : r.type === 'symlink' ? c('cyan') : undefined} strikethrough={r.mark === 'D'}>
              {r.name}
            </Text>
            {link}
          </Text>
        );
      })}
    </Pane>
  );
}

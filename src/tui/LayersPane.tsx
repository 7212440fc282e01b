/** Layers: index, size, created_by and how many paths each added, modified and removed. Row 0 is the merged view. */
import { Text } from 'ink';
import { memo } from 'react';
import type { ImageModel } from '../load.js';
import { treeTotals } from '../fs/index.js';
import { formatBytes } from '../render/format.js';
import { shortCreatedBy } from '../render/text.js';
import { Pane, windowOf } from './Pane.js';
import { c } from './theme.js';

export const LayersPane = memo(function LayersPane({ model, cursor, focused, width, height }: { model: ImageModel; cursor: number; focused: boolean; width: number; height: number }) {
  const rows = [
    { key: 'all', text: `all  ${formatBytes(treeTotals(model.tree).bytes).padStart(8)}  the merged tree` },
    ...model.layers.map((l) => {
      const count = (k: string) => l.changes.changes.filter((x) => x.kind === k).length;
      return {
        key: String(l.index),
        text: `${String(l.index).padStart(3)}  ${formatBytes(l.changes.contentBytes).padStart(8)}  +${count('added')} ~${count('modified')} -${count('removed')}  ${shortCreatedBy(l.history?.createdBy ?? null) || '(no history)'}`,
      };
    }),
  ];
  const [from, to] = windowOf(rows.length, cursor, Math.max(1, height - 3));
  return (
    <Pane title={`Layers (${model.layers.length})`} focused={focused} width={width} height={height}>
      {rows.slice(from, to).map((r, i) => {
        const sel = from + i === cursor;
        return (
          <Text key={r.key} inverse={sel && focused} color={sel && !focused ? c('cyan') : undefined} wrap="truncate-end">
            {sel ? '›' : ' '}
            {r.text}
          </Text>
        );
      })}
    </Pane>
  );
});

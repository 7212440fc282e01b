/** Layers: row 0 is the final image, then each layer with its size, its changes and its build step. */
import { memo } from 'react';
import { formatBytes, printable } from '../render/format.js';
import type { ReportHead } from '../report/index.js';
import { layerStep } from './content.js';
import { Body, Pane } from './Pane.js';
import { windowOf } from './text.js';
import { styled } from './theme.js';

export const LayersPane = memo(function LayersPane({
  head,
  cursor,
  focused,
  width,
  height,
}: {
  head: ReportHead;
  cursor: number;
  focused: boolean;
  width: number;
  height: number;
}) {
  const rows = [
    { key: 'all', text: `all  ${formatBytes(head.files.bytes).padStart(8)}  the final image` },
    ...head.layers.map((l) => ({
      key: String(l.index),
      text: `${String(l.index).padStart(3)}  ${formatBytes(l.contentBytes).padStart(8)}  +${l.added} ~${l.modified} -${l.removed}  ${printable(layerStep(l.createdBy))}`,
    })),
  ];
  const room = Math.max(1, height - 3);
  const [from, to] = windowOf(rows.length, cursor, room);
  // what does not fit is said, not hidden
  const more = [from > 0 ? `↑${from}` : '', to < rows.length ? `↓${rows.length - to}` : ''].filter(Boolean).join(' ');
  return (
    <Pane title={`Layers (${head.layers.length})${more ? `  ${more} more` : ''}`} focused={focused} width={width} height={height}>
      <Body
        lines={rows.slice(from, to).map((r, i) => {
          const sel = from + i === cursor;
          return styled(
            [[`${sel ? '›' : ' '}${r.text}`, { inverse: sel && focused, color: sel && !focused ? 'cyan' : undefined }]],
            width - 2,
          );
        })}
      />
    </Pane>
  );
});

/** The wasted files: each version a later layer overwrote or removed; enter shows it in its layer. */
import { Text } from 'ink';
import { printable } from '../render/format.js';
import type { ReportHead } from '../report/index.js';
import type { WastedFile } from '../report/tree.js';
import { wastedHeader, wastedText } from './content.js';
import { Body, Pane, position } from './Pane.js';
import { windowOf } from './text.js';
import { c, styled } from './theme.js';

export function WastedPane({
  head,
  list,
  cursor,
  focused,
  width,
  height,
}: {
  head: ReportHead;
  list: WastedFile[] | null;
  cursor: number;
  focused: boolean;
  width: number;
  height: number;
}) {
  const room = Math.max(1, height - 5);
  const [from, to] = windowOf(list?.length ?? 0, cursor, room);
  return (
    <Pane title={`Wasted${position(from, room, list?.length ?? 0)}`} focused={focused} width={width} height={height}>
      <Body lines={wastedHeader(head, list).map((t) => styled([[t, { color: 'yellow' }]], width - 2))} />
      {!list ? (
        <Text dimColor>working out the list…</Text>
      ) : list.length === 0 ? (
        <Text color={c('green')}>nothing: no layer overwrites or removes a file</Text>
      ) : null}
      <Body
        lines={(list ?? [])
          .slice(from, to)
          .map((w, i) =>
            styled(
              [[`${from + i === cursor ? '›' : ' '}${printable(wastedText(w))}`, { inverse: focused && from + i === cursor }]],
              width - 2,
            ),
          )}
      />
    </Pane>
  );
}

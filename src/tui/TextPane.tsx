/** A pane of wrapped text that scrolls (Details, Diagnostics, Image), its position in the title. */
import { Body, Pane, position } from './Pane.js';
import type { Line } from './text.js';
import { styled } from './theme.js';

export function TextPane(props: {
  title: string;
  lines: Line[];
  scroll: number;
  focused: boolean;
  width: number;
  height: number;
  current?: number;
}) {
  const { title, lines, focused, width, height, current } = props;
  const room = Math.max(1, height - 3);
  const from = Math.max(0, Math.min(props.scroll, lines.length - room));
  const body = lines
    .slice(from, from + room)
    .map((l) => styled([[l.text, { color: l.color, bold: l.bold, inverse: focused && l.head === true && l.item === current }]], width - 2));
  return (
    <Pane title={`${title}${position(from, room, lines.length)}`} focused={focused} width={width} height={height}>
      <Body lines={body} />
    </Pane>
  );
}

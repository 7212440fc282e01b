/** A bordered pane with a title; the focused one stands out (colour, or a marker without colour). */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { c, colorOn } from './theme.js';

export function Pane({
  title,
  focused,
  width,
  height,
  children,
}: {
  title: string;
  focused: boolean;
  width: number;
  height: number;
  children: ReactNode;
}) {
  return (
    <Box
      flexDirection="column"
      borderStyle="round"
      borderColor={focused ? c('cyan') : c('gray')}
      width={width}
      height={height}
      overflow="hidden"
    >
      <Text bold={focused} color={focused ? c('cyan') : undefined} wrap="truncate-end">
        {focused && !colorOn() ? '▶ ' : ''}
        {title}
      </Text>
      {children}
    </Box>
  );
}

/** Lines already styled and cut to the pane's width, drawn as one text. */
export function Body({ lines }: { lines: string[] }) {
  return <Text wrap="truncate-end">{lines.join('\n')}</Text>;
}

/** "3–20 of 45" when not everything fits, else nothing. */
export function position(from: number, shown: number, count: number): string {
  return count > shown ? ` ${from + 1}–${Math.min(count, from + shown)} of ${count}` : '';
}

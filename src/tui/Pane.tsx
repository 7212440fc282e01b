/** A bordered pane with a title; the focused one stands out (colour, or a marker without colour). */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { c, colorOn } from './theme.js';

export function Pane({ title, focused, width, height, children }: { title: string; focused: boolean; width: number; height: number; children: ReactNode }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={focused ? c('cyan') : c('gray')} width={width} height={height} overflow="hidden">
      <Text bold={focused} color={focused ? c('cyan') : undefined} wrap="truncate-end">
        {focused && !colorOn() ? '▶ ' : ''}
        {title}
      </Text>
      {children}
    </Box>
  );
}

/** The slice of `count` rows to draw so that `cursor` stays in a window of `size`. */
export function windowOf(count: number, cursor: number, size: number): [number, number] {
  if (count <= size) return [0, count];
  const start = Math.min(Math.max(0, cursor - Math.floor(size / 2)), count - size);
  return [start, start + size];
}

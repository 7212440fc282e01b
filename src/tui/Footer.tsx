/** The keys, always on screen. */
import { Text } from 'ink';

/** Most needed first: on a narrow terminal the end of the footer is cut. */
export const KEYS: [string, string][] = [
  ['q', 'quit'],
  ['?', 'help'],
  ['tab', 'pane'],
  ['↑↓/jk', 'move'],
  ['←→/hl', 'fold'],
  ['enter', 'open'],
  ['/', 'filter'],
  ['e', 'entrypoint'],
  ['d', 'diagnostic'],
  ['s', 'by size'],
  ['a m r', 'show added/modified/removed'],
];

export function Footer() {
  return (
    <Text dimColor wrap="truncate-end">
      {KEYS.map(([k, v]) => `${k} ${v}`).join(' · ')}
    </Text>
  );
}

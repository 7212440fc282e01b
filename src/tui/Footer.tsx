/** The status line (a message, the export prompt, or filter hints) and the keys, always on screen. */
import { Text } from 'ink';
import { printable } from '../render/format.js';
import { type Action, type Bindings, keysFor } from './keys.js';
import type { State } from './state.js';
import { c } from './theme.js';

/** Most needed first: on a narrow terminal the end of the footer is cut. */
const HINTS: [Action, string][] = [
  ['quit', 'quit'],
  ['help', 'help'],
  ['next-pane', 'pane'],
  ['filter', 'filter'],
  ['entrypoint', 'entrypoint'],
  ['diagnostic', 'diagnostic'],
  ['wasted', 'wasted'],
  ['sort', 'sort'],
  ['changes-only', 'changes only'],
  ['export', 'export'],
];

export function Footer({ bindings }: { bindings: Bindings }) {
  const text = HINTS.map(([a, what]) => [keysFor(bindings, a)[0], what] as const)
    .filter(([k]) => k)
    .map(([k, what]) => `${k} ${what}`)
    .join(' · ');
  return (
    <Text dimColor wrap="truncate-end">
      {text}
    </Text>
  );
}

export function StatusLine({ s }: { s: State }) {
  if (s.prompt) {
    return (
      <Text wrap="truncate-start">
        <Text color={c('cyan')}>export {printable(s.prompt.path)} to: </Text>
        {printable(s.prompt.text)}▏<Text dimColor> (enter writes a new file, esc cancels)</Text>
      </Text>
    );
  }
  if (s.editing)
    return (
      <Text dimColor wrap="truncate-end">
        type to filter by {s.filter.regex ? 'regex' : 'substring'} · ctrl-r {s.filter.regex ? 'substring' : 'regex'} · enter keeps · esc
        clears
      </Text>
    );
  return (
    <Text color={c('yellow')} wrap="truncate-end">
      {s.status ? printable(s.status) : ' '}
    </Text>
  );
}

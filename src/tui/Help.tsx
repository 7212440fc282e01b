/** The help screen (?): every key and what it does. */
import { Box, Text } from 'ink';
import { KEYS } from './Footer.js';

const MORE: [string, string][] = [
  ['shift-tab', 'previous pane'],
  ['space', 'expand or collapse, like enter'],
  ['pgup/pgdn', 'a page up or down'],
  ['esc', 'clear the filter, close help'],
];

export function Help() {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>scratchscope keys</Text>
      {[...KEYS, ...MORE].map(([k, v]) => (
        <Text key={k}>
          {k.padEnd(12)} {v}
        </Text>
      ))}
      <Text dimColor>Panes: Layers, Files, Details, Diagnostics, Image. In Layers, pick a layer to see what it changed.</Text>
    </Box>
  );
}

/** The loading screen: bytes read of the total with a bar, the rate, the time left, and how to quit. */
import { Box, Text } from 'ink';
import { printable } from '../render/format.js';
import { type LoadView, progressBar, progressText } from './content.js';
import { c } from './theme.js';

export type { LoadView };

/** `checking`: every layer is read and the verdict known; the digests and file types are being checked. */
export function Progress({ load, width, checking = false }: { load: LoadView; width: number; checking?: boolean }) {
  const p = load.progress;
  const frac = p && p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
  const barWidth = Math.max(10, Math.min(60, width - 12));
  const bar = progressBar(frac, barWidth);
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text wrap="truncate-end">Reading {printable(load.reference)}</Text>
      <Text>
        <Text color={c('cyan')}>{bar.full}</Text>
        {bar.empty}▏{Math.floor(frac * 100)}%
      </Text>
      <Text dimColor wrap="truncate-end">
        {checking ? 'every layer read; checking digests and telling files apart…' : progressText(p, load.elapsed)}
      </Text>
      <Text dimColor>q or ctrl-c quits</Text>
    </Box>
  );
}

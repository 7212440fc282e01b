/** The loading screen: a bar with bytes and layers done, the total, and the rate. */
import { Box, Text } from 'ink';
import type { LoadProgress } from '../load.js';
import { formatBytes } from '../render/format.js';
import { c } from './theme.js';

export function Progress({ reference, progress, rate, width }: { reference: string; progress: LoadProgress | null; rate: number; width: number }) {
  const total = progress?.bytesTotal ?? 0;
  const done = progress?.bytesDone ?? 0;
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const barWidth = Math.max(10, Math.min(60, width - 30));
  const filled = Math.round(frac * barWidth);
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text>Reading {reference}</Text>
      <Text>
        <Text color={c('cyan')}>{'█'.repeat(filled)}</Text>
        {'░'.repeat(barWidth - filled)} {Math.round(frac * 100)}%
      </Text>
      <Text dimColor>
        {progress ? `${formatBytes(done)} of ${formatBytes(total)}, layer ${progress.layersDone}/${progress.layersTotal}, ${formatBytes(rate)}/s` : 'opening…'}
      </Text>
    </Box>
  );
}

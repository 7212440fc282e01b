/** The loading screen: bytes read of the total with a bar, the rate, the time left, and how to quit. */
import { Box, Text } from 'ink';
import type { LoadProgress } from '../load.js';
import { formatBytes, printable } from '../render/format.js';
import { c } from './theme.js';

export interface LoadView {
  reference: string;
  progress: LoadProgress | null;
  /** Milliseconds since loading started. */
  elapsed: number;
}

function duration(secs: number): string {
  if (secs < 1) return 'under a second';
  if (secs < 90) return `${Math.round(secs)} s`;
  return `${Math.round(secs / 60)} min`;
}

export function progressText(p: LoadProgress | null, elapsed: number): string {
  if (!p || p.bytesTotal === 0) return 'opening…';
  const secs = Math.max(0.05, elapsed / 1000);
  const rate = p.bytesDone / secs;
  const left = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : null;
  const parts = [`${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`, `${formatBytes(Math.round(rate))}/s`];
  if (left !== null && p.bytesDone > 0 && p.bytesDone < p.bytesTotal) parts.push(`about ${duration(left)} left`);
  parts.push(`layer ${Math.min(p.layersTotal, p.layersDone + 1)} of ${p.layersTotal}`);
  return parts.join(' · ');
}

export function Progress({ load, width }: { load: LoadView; width: number }) {
  const p = load.progress;
  const frac = p && p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
  const barWidth = Math.max(10, Math.min(60, width - 12));
  // eighths of a cell, so the bar moves smoothly
  const eighths = Math.round(frac * barWidth * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8 ? '▏▎▍▌▋▊▉'[(eighths % 8) - 1] : '';
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text wrap="truncate-end">Reading {printable(load.reference)}</Text>
      <Text>
        <Text color={c('cyan')}>
          {'█'.repeat(full)}
          {part}
        </Text>
        {' '.repeat(Math.max(0, barWidth - full - (part ? 1 : 0)))}▏{Math.floor(frac * 100)}%
      </Text>
      <Text dimColor wrap="truncate-end">
        {progressText(p, load.elapsed)}
      </Text>
      <Text dimColor>q or ctrl-c quits</Text>
    </Box>
  );
}

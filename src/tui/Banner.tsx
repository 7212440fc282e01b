/** The verdict: "will start" in green, or "will fail" in red with the runtime's line and the fix. */
import { Box, Text } from 'ink';
import { printable } from '../render/format.js';
import { type VerdictReport, runtimeLines } from '../report/index.js';
import { c } from './theme.js';

/** `report`: the report's verdict, or the one the layer indexes gave before it (the same, by test). */
export function Banner({ report, width }: { report: Pick<VerdictReport, 'verdict' | 'launch' | 'diagnostics'> | null; width: number }) {
  if (!report) return <Text dimColor>… decoding binaries and walking the launch</Text>;
  if (report.verdict === 'starts') {
    const warnings = report.diagnostics.filter((d) => d.severity === 'warning').length;
    return (
      <Text wrap="truncate-end">
        <Text color={c('green')} bold>
          ✔ WILL START
        </Text>{' '}
        {printable(JSON.stringify(report.launch.argv))}
        {warnings ? (
          <Text color={c('yellow')}>
            {' '}
            ({warnings} warning{warnings > 1 ? 's' : ''})
          </Text>
        ) : null}
      </Text>
    );
  }
  const first = report.diagnostics.find((d) => d.severity === 'error')!;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text color={c('red')} bold>
          ✘ WILL FAIL
        </Text>{' '}
        {printable(runtimeLines(first)[0] ?? first.message)}
      </Text>
      <Text wrap="truncate-end" dimColor>
        {'  '}
        {printable(first.message)}
      </Text>
      <Text wrap="truncate-end">
        {'  '}
        <Text color={c('cyan')}>fix:</Text> {printable(first.fix)}
      </Text>
    </Box>
  );
}

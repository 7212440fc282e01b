/** Loading, then the explorer; the terminal's size is followed as it changes. */
import { Text, useApp, useStdout } from 'ink';
import { useEffect, useState } from 'react';
import type { LoadOptions } from '../load.js';
import type { ReportOptions } from '../report/index.js';
import { App } from './App.js';
import { Progress } from './Progress.js';
import { useLoad } from './useLoad.js';

function useSize(): { width: number; height: number } {
  const { stdout } = useStdout();
  const read = () => ({ width: stdout.columns || 80, height: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const on = () => setSize(read());
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  });
  return size;
}

export function Root({ reference, options, onError }: { reference: string; options: LoadOptions & ReportOptions; onError: (message: string) => void }) {
  const { exit } = useApp();
  const state = useLoad(reference, options);
  const { width, height } = useSize();
  useEffect(() => {
    if (state.error) {
      onError(state.error);
      exit();
    }
  }, [state.error, exit, onError]);
  if (state.error) return <Text color="red">{state.error}</Text>;
  if (!state.model) return <Progress reference={reference} progress={state.progress} rate={state.rate} width={width} />;
  return <App model={state.model} report={state.report} width={width} height={height - 1} />;
}

/** Starts the terminal UI on the alternate screen and restores the terminal when it ends. */
import { render } from 'ink';
import type { LoadOptions } from '../load.js';
import type { ReportOptions } from '../report/index.js';
import { Root } from './Root.js';

export async function runTui(reference: string, options: LoadOptions & ReportOptions): Promise<string | null> {
  let error: string | null = null;
  const out = process.stdout;
  out.write('\x1b[?1049h\x1b[H'); // alternate screen: the shell's screen comes back untouched
  try {
    const app = render(<Root reference={reference} options={options} onError={(m) => (error = m)} />, { exitOnCtrlC: false, patchConsole: false });
    await app.waitUntilExit();
    app.cleanup();
  } finally {
    out.write('\x1b[?1049l');
  }
  return error;
}

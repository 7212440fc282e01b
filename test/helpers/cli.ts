/** Runs the real command line (the built bin) and captures what a user would see. */
import { spawnSync } from 'node:child_process';
import { checkJsonOutput } from './schema.js';

const BIN = new URL('../../bin/scratchscope.js', import.meta.url).pathname;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: Record<string, string | undefined> = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
    maxBuffer: 256 << 20,
  });
  const run = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  checkJsonOutput(args, run); // every JSON output matches docs/report.schema.json
  return run;
}

/** Exit codes of errors that are not bugs (README, "Exit codes"): usage, input, not found, unreachable. */
export const ERROR_EXITS = [2, 3, 4, 5];

/**
 * The failure contract: one line on stderr, no stack trace, and the exit code of an error
 * that is not a bug (exactly `code` when given).
 */
export function oneLineError(r: Run, code?: number): string {
  const lines = r.stderr.split('\n').filter(Boolean);
  const [line] = lines;
  const exitOk = code === undefined ? ERROR_EXITS.includes(r.status ?? -1) : r.status === code;
  if (!exitOk || lines.length !== 1 || line === undefined || !line.startsWith('scratchscope: ') || /\bat .*:\d+:\d+/.test(r.stderr)) {
    throw new Error(
      `expected exit ${code ?? ERROR_EXITS.join('/')} with one error line, got ${r.status}:\n${r.stderr}\n${r.stdout.slice(0, 500)}`,
    );
  }
  return line;
}

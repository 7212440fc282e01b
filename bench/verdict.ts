/**
 * The verdict first, and start-up: each against `node -e 0` measured in the same run,
 * interleaved run by run (the machine's speed drifts), median of `runs`.
 *   inspect --verdict-only --no-verify  the verdict read from the layer indexes
 *   inspect (text)                      until its first line (the verdict block) is out
 *   --version, explain CODE             start-up alone
 */
import { spawn } from 'node:child_process';
import { makeBenchImage } from './make-image.js';
import type { BenchContext, Row as TableRow } from './rows.js';

const BIN = new URL('../bin/scratchscope.js', import.meta.url).pathname;

export interface Row {
  what: string;
  /** Seconds, median. */
  value: number;
  /** `node -e 0`, seconds, median of the runs interleaved with these. */
  floor: number;
  /** Median of the run-by-run ratios. */
  ratio: number;
  goal: string;
}

/** Seconds until the process exits, or (firstLine) until its first line on stdout. */
function time(args: string[], firstLine = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let at: number | null = null;
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (at === null && firstLine && d.includes(10)) at = Number(process.hrtime.bigint() - t0) / 1e9;
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const end = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0 && code !== 1) reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      else resolve(firstLine ? (at ?? end) : end);
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

async function against(what: string, goal: string, args: string[], firstLine: boolean, runs: number): Promise<Row> {
  await time(args, firstLine); // warm-up (page cache, compiled code)
  const values: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < runs; i++) {
    values.push(await time(args, firstLine));
    floors.push(await time(['-e', '0']));
  }
  return { what, value: median(values), floor: median(floors), ratio: median(values.map((v, i) => v / (floors[i] ?? NaN))), goal };
}

/** The rows for bench.ts's table; `image` is an uncompressed docker save. */
export async function verdictRows(image: string, runs = 5): Promise<Row[]> {
  return [
    await against(
      'inspect --verdict-only --no-verify (uncompressed)',
      '<= 300 ms or <= 2.5x node -e 0',
      [BIN, 'inspect', '--verdict-only', '--no-verify', image],
      false,
      runs,
    ),
    await against(
      'inspect: the verdict block printed (uncompressed)',
      '<= 300 ms or <= 2.5x node -e 0',
      [BIN, 'inspect', image],
      true,
      runs,
    ),
    await against('--version', '<= 1.3x node -e 0', [BIN, '--version'], false, runs),
    await against('explain exec-format', '<= 1.3x node -e 0', [BIN, 'explain', 'exec-format'], false, runs),
  ];
}

/** bench.ts's row source: the verdict-first and start-up rows on the bench's uncompressed docker save. */
export async function rows(ctx: BenchContext): Promise<TableRow[]> {
  const image = await makeBenchImage();
  // these runs take a fraction of a second, where one slow moment of a loaded machine is a
  // large part: more of them, so the median is the machine's speed and not its mood
  const ours = await verdictRows(image.dockerTar, Math.max(ctx.runs, 11));
  return ours.map((r) => {
    const limit = Number(/<= ([\d.]+)x/.exec(r.goal)?.[1] ?? Infinity);
    // "<= 300 ms or <= 2.5x": either bound meets the goal
    const met = r.ratio <= limit || (r.goal.includes('300 ms') && r.value <= 0.3);
    return {
      what: r.what,
      value: r.value,
      floor: r.floor,
      floorWhat: 'node -e 0',
      ratio: r.ratio,
      goal: r.goal,
      met,
      peakMB: null,
      tempBytes: null,
    };
  });
}

export function formatRows(rows: Row[]): string {
  return rows
    .map(
      (r) =>
        `  ${r.what.padEnd(52)} ${(r.value * 1000).toFixed(0).padStart(5)} ms  node -e 0 ${(r.floor * 1000).toFixed(0).padStart(4)} ms  ratio ${r.ratio.toFixed(2)}x  (goal ${r.goal})`,
    )
    .join('\n');
}

// run alone: node --import tsx bench/verdict.ts IMAGE
if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const image = process.argv[2];
  if (!image) throw new Error('usage: node --import tsx bench/verdict.ts IMAGE.tar');
  console.log(formatRows(await verdictRows(image, Number(process.env.BENCH_RUNS ?? 5))));
}

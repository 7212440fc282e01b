/**
 * What every part of `npm run bench` hands back: rows of one table. bench/bench.ts (speed),
 * bench/scale.ts (memory and scale) and bench/verdict.ts (verdict first) each export
 * `rows(ctx: BenchContext): Promise<Row[]>`; bench.ts calls them in turn and prints one table
 *   what | scratchscope | floor | ratio | goal | peak RSS | temp bytes
 * Every figure is the median of `ctx.runs` runs, and each row's floor is measured in the same
 * run as its figure, so the ratio means something on a busy machine.
 */

export interface Sample {
  /** Wall-clock seconds. */
  seconds: number;
  /** Peak resident set (VmHWM) in MB, when the work ran in a child process. */
  peakMB: number | null;
  /** Largest size of the run's private TMPDIR seen while it ran, in bytes. */
  tempBytes: number | null;
}

export interface Row {
  /** What was measured, as the table names it. */
  what: string;
  /** scratchscope's median seconds (or another unit: see `unit`). */
  value: number | null;
  /** The floor's median, in the same unit; null when the row has no floor (e.g. bytes to TMPDIR). */
  floor: number | null;
  /** What the floor is, in a few words ("tar -tf over each layer tar"). */
  floorWhat?: string;
  /** value / floor; computed by the printer when left out. */
  ratio?: number | null;
  /** The goal as written in the issue ("<= 1.25x", "0 B", "< 200 MB"). */
  goal: string;
  /** Whether the goal is met; the printer shows ✓ / ✗ (null: not judged). */
  met?: boolean | null;
  /** Unit of value and floor; default seconds. */
  unit?: 's' | 'MB' | 'B' | 'x';
  peakMB: number | null;
  tempBytes: number | null;
  /** Anything a reader needs to trust the number (e.g. "3 runs, spread 12%"). */
  note?: string;
}

/** What bench.ts hands to each row source. */
export interface BenchContext {
  /** Absolute path of bin/scratchscope.js. */
  bin: string;
  /** Runs per figure; the median is reported. */
  runs: number;
  /** A folder that survives between runs, for images built from scripts (keyed by the script's hash). */
  cacheDir: string;
  /**
   * Runs a command with stdout discarded, its own TMPDIR, and polls its peak RSS and temp
   * bytes; rejects when the exit code is not `expect` (default 0).
   */
  run(cmd: string, args: string[], opts?: { env?: Record<string, string>; expect?: number; shell?: boolean }): Promise<Sample>;
  /** Median of `runs` samples of f (peak RSS and temp bytes: the largest seen). */
  median(f: () => Promise<Sample>): Promise<Sample>;
  /** Times an in-process async function. */
  time(f: () => Promise<void>): Promise<Sample>;
}

export type RowSource = (ctx: BenchContext) => Promise<Row[]>;

/** A row for "value against floor, goal a ratio": fills ratio and met. */
export function ratioRow(what: string, s: Sample, floor: Sample, floorWhat: string, goalRatio: number, note?: string): Row {
  const ratio = floor.seconds > 0 ? s.seconds / floor.seconds : null;
  return {
    what,
    value: s.seconds,
    floor: floor.seconds,
    floorWhat,
    ratio,
    goal: `<= ${goalRatio}x`,
    met: ratio === null ? null : ratio <= goalRatio,
    peakMB: s.peakMB,
    tempBytes: s.tempBytes,
    note,
  };
}

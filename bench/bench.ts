/**
 * npm run bench: every figure of issue 14's table, each against its floor measured in the
 * same run on the same bytes (median of BENCH_RUNS, default 3), printed as one table:
 *   what | scratchscope | floor | ratio | goal | peak RSS | temp bytes
 * Not a test: seconds vary by machine and load; ratios much less.
 *
 * Rows come from row sources, each `rows(ctx: BenchContext): Promise<Row[]>` (bench/rows.ts):
 * this file's speed rows, then bench/scale.ts (memory and scale) and bench/verdict.ts (the
 * verdict first) when they exist. `--only speed,scale` picks sources; `--hostile` adds the
 * hostile corpus' largest cases (peak RSS and temp bytes).
 * Images are built from scripts (bench/make-image.ts) into a cache folder keyed by the
 * script's hash, and reused while the script is unchanged.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { type BenchContext, type Row, type RowSource, type Sample, ratioRow } from './rows.js';
import { WORK, makeBenchImage, makeTinyLayers } from './make-image.js';

/** SCRATCHSCOPE_BENCH_BIN: another checkout's bin/scratchscope.js, to measure before and after with the same script. */
const BIN = process.env.SCRATCHSCOPE_BENCH_BIN ?? new URL('../bin/scratchscope.js', import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Bytes under a folder (the run's private TMPDIR). */
function bytesUnder(dir: string): number {
  let n = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      n += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
    }
  } catch {
    /* removed while we looked */
  }
  return n;
}

/**
 * Runs a command with stdout discarded; peak RSS from /proc while it runs (VmHWM of the
 * process, or of the shell's children with `shell`) and, with its own TMPDIR, the peak of
 * its temporary bytes. `expect` is the exit code.
 */
function run(cmd: string, args: string[], opts: { env?: Record<string, string>; expect?: number } = {}): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const tmp = mkdtempSync(join(tmpdir(), 'scratchscope-bench-'));
    const t0 = process.hrtime.bigint();
    // GNU time reports the CPU the command and its children used, on its last stderr line
    const timed = existsSync('/usr/bin/time');
    const child = spawn(timed ? '/usr/bin/time' : cmd, timed ? ['-f', 'BENCH-CPU %U %S', cmd, ...args] : args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, TMPDIR: tmp, ...opts.env },
    });
    let peak = 0;
    let temp = 0;
    let err = '';
    let ticks = 0;
    child.stderr.on('data', (d) => (err += d));
    const pids = () => {
      const out = [child.pid!];
      // under GNU time (and sh -c) the work is a child: look one and two levels down
      try {
        for (let i = 0; i < out.length && i < 8; i++)
          for (const c of readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
      } catch {
        /* exited */
      }
      return out;
    };
    const poll = setInterval(() => {
      for (const pid of pids()) {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
          if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        } catch {
          /* exited */
        }
      }
      if (ticks++ % 4 === 0) temp = Math.max(temp, bytesUnder(tmp));
    }, 5);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      temp = Math.max(temp, bytesUnder(tmp));
      rmSync(tmp, { recursive: true, force: true });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = /BENCH-CPU ([\d.]+) ([\d.]+)\s*$/.exec(err);
      if (cpu) err = err.slice(0, cpu.index).replace(/Command exited with non-zero status \d+\n$/, '');
      if (code !== (opts.expect ?? 0)) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ seconds, peakMB: peak || null, tempBytes: temp, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : null });
    });
  });
}

async function median(f: () => Promise<Sample>): Promise<Sample> {
  const all: Sample[] = [];
  for (let i = 0; i < RUNS; i++) all.push(await f());
  all.sort((a, b) => a.seconds - b.seconds);
  const peaks = all.map((s) => s.peakMB ?? 0);
  const temps = all.map((s) => s.tempBytes ?? -1);
  const cpus = all
    .map((s) => s.cpuSeconds)
    .filter((c): c is number => c != null)
    .sort((a, b) => a - b);
  return {
    cpuSeconds: cpus.length ? cpus[Math.floor(cpus.length / 2)]! : null,
    seconds: all[Math.floor(all.length / 2)]!.seconds,
    peakMB: Math.max(...peaks) || null,
    tempBytes: Math.max(...temps) < 0 ? null : Math.max(...temps),
  };
}

async function time(f: () => Promise<void>): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  await f();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, peakMB: null, tempBytes: null };
}

const sh = (script: string) => run('sh', ['-c', script]);
const q = (f: string) => `'${f.replace(/'/g, `'\\''`)}'`;

/** A Node script that inflates the given layers all at once (the floor for compressed formats). */
const INFLATE = `
const { createReadStream } = require('node:fs');
const { pipeline } = require('node:stream/promises');
const { Writable } = require('node:stream');
const kind = process.argv[1];
const files = process.argv.slice(2);
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
function inflater() {
  if (kind === 'gzip') return require('node:zlib').createGunzip({ chunkSize: 1 << 20 }); // its fastest piece size here
  const { Transform } = require('node:stream');
  const { Decompress } = require(process.env.FZSTD);
  const t = new Transform({
    transform(c, _e, cb) { this.d.push(c); cb(); },
    flush(cb) { this.d.push(new Uint8Array(0), true); cb(); },
  });
  t.d = new Decompress((chunk) => t.push(chunk));
  return t;
}
Promise.all(files.map((f) => pipeline(createReadStream(f, { highWaterMark: 1 << 20 }), inflater(), sink()))).catch((e) => {
  console.error(e);
  process.exit(1);
});
`;

const FZSTD = new URL('../node_modules/fzstd/lib/index.js', import.meta.url).pathname;

/** The speed rows: issue 14's table, first five lines. */
export const speedRows: RowSource = async (ctx) => {
  const img = await makeBenchImage();
  const tiny = await makeTinyLayers();
  const out: Row[] = [];
  const scope = (args: string[], env?: Record<string, string>) => ctx.median(() => ctx.run(process.execPath, [ctx.bin, ...args], { env }));
  // warm the page cache so every contender reads from memory
  for (const f of [img.dockerTar, img.ociGzip, img.ociZstd, ...img.layerTars, ...img.gzLayers, ...img.zstLayers])
    await pipeline(createReadStream(f), new Writable({ write: (_c, _e, cb) => cb() }));

  const tarList = await ctx.median(() => sh(img.layerTars.map((f) => `tar -tf ${q(f)} >/dev/null`).join(' && ')));
  const tarFloor = 'tar -tf over each layer tar';
  const inspectFast = await scope(['inspect', '--no-verify', img.dockerTar]);
  const filesFast = await scope(['files', '--no-verify', img.dockerTar]);
  // the issue's row: what the analysis adds to the walk (both --no-verify)
  out.push(ratioRow('inspect --no-verify (docker save, uncompressed)', inspectFast, filesFast, 'files --no-verify', 1.25));
  // a stricter reading of the same goal: each against listing the layer tars
  out.push(ratioRow('inspect --no-verify / tar -tf', inspectFast, tarList, tarFloor, 1.25));
  out.push(ratioRow('files --no-verify / tar -tf', filesFast, tarList, tarFloor, 1.25));

  const largest = [...img.layerTars].sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const openssl = await ctx.median(() => run('openssl', ['dgst', '-sha256', largest]));
  out.push(
    ratioRow(
      'files verified (docker save)',
      await scope(['files', img.dockerTar]),
      openssl,
      'openssl dgst -sha256 of the largest layer',
      1.2,
    ),
  );

  const inflateGz = await ctx.median(() => run(process.execPath, ['-e', INFLATE, 'gzip', ...img.gzLayers]));
  const gzInspect = await scope(['inspect', img.ociGzip]);
  out.push(ratioRow('gzip OCI inspect', gzInspect, inflateGz, 'parallel inflate of its layers in Node (zlib)', 1.3));
  out.push({
    what: 'gzip OCI inspect: bytes written to TMPDIR',
    value: gzInspect.tempBytes,
    floor: null,
    goal: '0 B',
    met: gzInspect.tempBytes === 0,
    unit: 'B',
    peakMB: gzInspect.peakMB,
    tempBytes: gzInspect.tempBytes,
  });

  const inflateZst = await ctx.median(() => run(process.execPath, ['-e', INFLATE, 'zstd', ...img.zstLayers], { env: { FZSTD } }));
  out.push(
    ratioRow(
      'zstd OCI inspect',
      await scope(['inspect', img.ociZstd]),
      inflateZst,
      'parallel inflate of its layers in Node (fzstd)',
      1.3,
      'no goal in the issue; the decoder choice is measured here',
    ),
  );

  const one = await scope(['inspect', tiny.one]);
  const many = await scope(['inspect', tiny.many]);
  out.push(ratioRow('1000 tiny layers: inspect', many, one, 'the same files in 1 layer', 4));
  // the same run under a 4 GB address-space limit: it must finish
  let limited: string;
  try {
    await run('sh', ['-c', `ulimit -v 4000000 && exec ${q(process.execPath)} ${q(ctx.bin)} inspect ${q(tiny.many)}`]);
    limited = 'ok';
  } catch (e) {
    limited = `failed: ${(e as Error).message.split('\n').slice(0, 2).join(' ')}`;
  }
  out.push({
    what: '1000 tiny layers: inspect under ulimit -v 4000000',
    value: null,
    floor: null,
    goal: 'finishes',
    met: limited === 'ok',
    peakMB: null,
    tempBytes: null,
    note: limited,
  });
  return out;
};

/** The hostile corpus' largest cases: what they cost in memory and temporary disk (one run each). */
const hostileRows: RowSource = async (ctx) => {
  const { corpus } = await import('../test/hostile/gen.js');
  const { cases } = corpus();
  const out: Row[] = [];
  for (const name of ['passwd-100mb', 'zstd-300k-frames', 'pax-global-150k-keys', 'one-file-many-layers', 'spool-bomb', 'deep-path-1mib']) {
    const c = cases.find((x) => x.name === name)!;
    const s = await ctx.run(process.execPath, [ctx.bin, 'inspect', c.args[c.args.length - 1]!], {
      env: c.env,
      expect: name === 'spool-bomb' || name === 'deep-path-1mib' ? 2 : 0,
    });
    out.push({ what: `hostile: ${name}`, value: s.seconds, floor: null, goal: '-', peakMB: s.peakMB, tempBytes: s.tempBytes });
  }
  return out;
};

function fmtValue(v: number | null | undefined, unit: Row['unit'] = 's'): string {
  if (v === null || v === undefined) return '-';
  if (unit === 's') return `${v.toFixed(2)} s`;
  if (unit === 'B') return fmtBytes(v);
  if (unit === 'MB') return `${v.toFixed(0)} MB`;
  return `${v.toFixed(2)}x`;
}

function fmtBytes(b: number | null): string {
  if (b === null) return '-';
  if (b < 1e3) return `${b} B`;
  if (b < 1e6) return `${(b / 1e3).toFixed(0)} kB`;
  if (b < 1e9) return `${(b / 1e6).toFixed(1)} MB`;
  return `${(b / 1e9).toFixed(2)} GB`;
}

/** One markdown table (pasteable into the README and the issue). */
export function printTable(rows: Row[]): void {
  const head = ['what', 'scratchscope', 'floor', 'ratio', 'goal', 'peak RSS', 'temp bytes'];
  const body = rows.map((r) => {
    const ratio = r.ratio !== undefined ? r.ratio : r.value !== null && r.floor ? r.value / r.floor : null;
    const mark = r.met === true ? ' ✓' : r.met === false ? ' ✗' : '';
    return [
      r.what,
      fmtValue(r.value, r.unit),
      r.floor === null ? '-' : `${fmtValue(r.floor, r.unit)}${r.floorWhat ? ` (${r.floorWhat})` : ''}`,
      ratio === null ? '-' : `${ratio.toFixed(2)}x`,
      r.goal + mark,
      r.peakMB === null ? '-' : `${r.peakMB.toFixed(0)} MB`,
      fmtBytes(r.tempBytes),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(line(head));
  console.log(line(head.map(() => '---')));
  for (const b of body) console.log(line(b));
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    console.log('');
    for (const r of notes) console.log(`- ${r.what}: ${r.note}`);
  }
}

async function main() {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]!.split(',')) : null;
  if (!existsSync(BIN.replace('bin/scratchscope.js', 'dist/cli.js'))) spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
  const ctx: BenchContext = {
    bin: BIN,
    runs: RUNS,
    cacheDir: WORK,
    run: (cmd, a, o) => run(cmd, a, o),
    median,
    time,
  };
  const sources: [string, RowSource][] = [['speed', speedRows]];
  for (const name of ['scale', 'verdict']) {
    const file = new URL(`./${name}.ts`, import.meta.url).pathname;
    if (!existsSync(file)) continue;
    const mod = (await import(`./${name}.js`)) as { rows?: RowSource };
    if (mod.rows) sources.push([name, mod.rows]);
  }
  if (args.includes('--hostile')) sources.push(['hostile', hostileRows]);
  const rows: Row[] = [];
  for (const [name, source] of sources) {
    if (only && !only.has(name)) continue;
    console.error(`bench: ${name}…`);
    rows.push(...(await source(ctx)));
  }
  const cpu = cpus();
  console.log(`${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, node ${process.version}; median of ${RUNS} runs; images in ${WORK}\n`);
  printTable(rows);
}

main().catch((e) => {
  console.error('bench:', (e as Error).message);
  process.exit(1);
});

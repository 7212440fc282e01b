/**
 * npm run bench: times scratchscope against baselines measured in the same run, on the
 * same layers, and prints ratios. Not a test: numbers vary by machine; ratios less so.
 *   docker save (uncompressed): `scratchscope files` vs `tar -tvf` over each layer tar
 *   gzip OCI archive:           `scratchscope files` vs inflating each layer (zlib, in order)
 *   hostile corpus:             peak RSS and peak temporary bytes of the largest cases
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpus } from '../test/hostile/gen.js';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { makeBenchImage } from './make-image.js';

const BIN = new URL('../bin/scratchscope.js', import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Sample {
  seconds: number;
  peakMB: number | null;
  /** Largest size of the run's temp folder seen while it ran. */
  tempMB?: number;
}

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
 * Runs a command with stdout discarded; peak RSS from /proc while it runs (VmHWM) and,
 * with its own TMPDIR, the peak of its temporary bytes. `expect` is the exit code.
 */
function run(cmd: string, args: string[], env: Record<string, string> = {}, expect = 0): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const tmp = mkdtempSync(join(tmpdir(), 'scratchscope-bench-'));
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: tmp, ...env } });
    let peak = 0;
    let temp = 0;
    let err = '';
    let ticks = 0;
    child.stderr.on('data', (d) => (err += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        /* exited */
      }
      if (ticks++ % 4 === 0) temp = Math.max(temp, bytesUnder(tmp) / 1e6);
    }, 5);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      rmSync(tmp, { recursive: true, force: true });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== expect) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ seconds, peakMB: peak || null, tempMB: temp });
    });
  });
}

async function best(f: () => Promise<Sample>): Promise<Sample> {
  let b = null as Sample | null;
  for (let i = 0; i < RUNS; i++) {
    const s = await f();
    const peakMB = Math.max(s.peakMB ?? 0, b?.peakMB ?? 0) || null;
    if (!b || s.seconds < b.seconds) b = { seconds: s.seconds, peakMB };
  }
  return b!;
}

async function inflateAll(files: string[]): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  for (const f of files)
    await pipeline(createReadStream(f, { highWaterMark: 1 << 20 }), createGunzip(), new Writable({ write: (_c, _e, cb) => cb() }));
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, peakMB: null };
}

async function seq(cmds: [string, string[]][]): Promise<Sample> {
  let seconds = 0;
  for (const [c, a] of cmds) seconds += (await run(c, a)).seconds;
  return { seconds, peakMB: null };
}

const fmt = (s: Sample) =>
  `${s.seconds.toFixed(2)} s${s.peakMB ? `, peak ${s.peakMB.toFixed(0)} MB` : ''}${s.tempMB !== undefined ? `, temp ${s.tempMB.toFixed(0)} MB` : ''}`;

/** The largest cases of the hostile corpus: what they cost in memory and temporary disk. */
async function hostile(): Promise<void> {
  const { cases } = corpus();
  console.log('\nhostile corpus (test/hostile/gen.ts): peak RSS and temporary bytes, one run each');
  for (const name of ['passwd-100mb', 'zstd-300k-frames', 'pax-global-150k-keys', 'one-file-many-layers', 'spool-bomb', 'deep-path-1mib']) {
    const c = cases.find((x) => x.name === name)!;
    const image = c.args.at(-1);
    if (image === undefined) throw new Error(`hostile case ${name} has no arguments`);
    const s = await run(process.execPath, [BIN, 'inspect', image], c.env, name === 'spool-bomb' || name === 'deep-path-1mib' ? 2 : 0);
    console.log(`  ${name.padEnd(22)} ${fmt(s)}`);
  }
}

async function main() {
  if (process.argv.includes('--hostile')) return hostile();
  if (!existsSync(BIN.replace('bin/scratchscope.js', 'dist/cli.js'))) spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
  const img = await makeBenchImage();
  const total = img.layerTars.reduce((n, f) => n + statSync(f).size, 0);
  const count = spawnSync('sh', ['-c', `for f in ${img.layerTars.join(' ')}; do tar -tf "$f"; done | wc -l`], {
    encoding: 'utf8',
  }).stdout.trim();
  console.log(
    `image: ${(total / 1e9).toFixed(2)} GB uncompressed, ${count} entries in ${img.layerTars.length} layers; gzip blobs ${(img.gzLayers.reduce((n, f) => n + statSync(f).size, 0) / 1e9).toFixed(2)} GB`,
  );
  console.log(`best of ${RUNS} runs each\n`);

  // warm the page cache so every contender reads from memory
  for (const f of [img.dockerTar, img.ociGzip]) await pipeline(createReadStream(f), new Writable({ write: (_c, _e, cb) => cb() }));

  const tarList = await best(() => seq(img.layerTars.map((f) => ['tar', ['-tvf', f]] as [string, string[]])));
  const filesNoVerify = await best(() => run(process.execPath, [BIN, 'files', '--no-verify', img.dockerTar]));
  const filesVerify = await best(() => run(process.execPath, [BIN, 'files', img.dockerTar]));
  console.log('docker save tar (uncompressed layers)');
  console.log(`  tar -tvf over the layer tars        ${fmt(tarList)}`);
  console.log(
    `  scratchscope files --no-verify      ${fmt(filesNoVerify)}   ratio ${(filesNoVerify.seconds / tarList.seconds).toFixed(2)}x (target < 1)`,
  );
  console.log(`  scratchscope files (sha256 checked) ${fmt(filesVerify)}   ratio ${(filesVerify.seconds / tarList.seconds).toFixed(2)}x`);
  const binaries = await best(() => run(process.execPath, [BIN, 'inspect', '--json', '--no-verify', img.dockerTar]));
  console.log(`  scratchscope inspect --json --no-verify (every ELF decoded and resolved) ${fmt(binaries)}`);
  console.log(
    `    against the walk alone (files --no-verify): +${(((binaries.seconds - filesNoVerify.seconds) / filesNoVerify.seconds) * 100).toFixed(0)}% (target <= 20%)`,
  );

  const inflate = await best(() => inflateAll(img.gzLayers));
  const filesGzip = await best(() => run(process.execPath, [BIN, 'files', img.ociGzip]));
  console.log('\ngzip OCI archive');
  console.log(`  gzip inflate of the layers (zlib)   ${fmt(inflate)}`);
  console.log(
    `  scratchscope files (digests checked) ${fmt(filesGzip)}  ratio ${(filesGzip.seconds / inflate.seconds).toFixed(2)}x (target <= 1.3)`,
  );
  const gzInspect = await best(() => run(process.execPath, [BIN, 'inspect', '--json', img.ociGzip]));
  console.log(
    `  scratchscope inspect --json (ELF files spooled, decoded, resolved) ${fmt(gzInspect)}  +${(((gzInspect.seconds - filesGzip.seconds) / filesGzip.seconds) * 100).toFixed(0)}% over files`,
  );
  await hostile();
}

main().catch((e: unknown) => {
  console.error('bench:', e instanceof Error ? e.message : e);
  process.exit(1);
});

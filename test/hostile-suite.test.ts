/**
 * The generated hostile-input suite (test/hostile/gen.ts builds the corpus into a cache
 * folder). Every case runs the real command line under `ulimit -v 4000000` with a private
 * TMPDIR and must end in its exit code and its one line, under 512 MB of peak RSS, with the
 * temporary folder gone; the slow ones are also stopped by SIGTERM mid-run.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type HostileCase, corpus } from './hostile/gen.js';
import { tempDir } from './helpers/build.js';
import { assertSchema } from './helpers/schema.js';
import { at } from './helpers/assert.js';
import { parseJson } from './helpers/json.js';
import type { FileRecord } from '../src/fs/index.js';

const BIN = new URL('../bin/scratchscope.js', import.meta.url).pathname;
const PRELOAD = new URL('./hostile/maxrss.cjs', import.meta.url).pathname;
const VMEM_KB = 4_000_000;
const RSS_LIMIT_KB = 512 * 1024;

const tmp = tempDir();
after(tmp.cleanup);
let runs = 0;

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  rssKb: number | null;
  tmpdir: string;
}

/** The command line as a shell runs it: memory-limited, optionally wrapped (unshare, redirections). */
function launch(
  c: HostileCase,
  shell: { before?: string; redirect?: string; tmpdir?: string } = {},
): { child: ChildProcess; tmpdir: string; rssFile: string } {
  const id = runs++;
  const tmpdir = shell.tmpdir ?? join(tmp.dir, `tmp${id}`);
  if (!shell.tmpdir) mkdirSync(tmpdir);
  const rssFile = join(tmp.dir, `rss${id}`);
  const script = `${shell.before ?? ''} ulimit -v ${VMEM_KB}; exec "${process.execPath}" -r "${PRELOAD}" "${BIN}" "$@" ${shell.redirect ?? ''}`;
  const child = spawn('sh', ['-c', script, 'sh', ...c.args], {
    env: { ...process.env, TMPDIR: tmpdir, HOSTILE_RSS_FILE: rssFile, ...c.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, tmpdir, rssFile };
}

async function finish(l: { child: ChildProcess; tmpdir: string; rssFile: string }): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  l.child.stdout!.on('data', (d) => (stdout += d));
  l.child.stderr!.on('data', (d) => (stderr += d));
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    l.child.on('close', (code, sig) => r([code, sig])),
  );
  const rssKb = existsSync(l.rssFile) ? Number(readFileSync(l.rssFile, 'utf8')) : null;
  return { status, signal, stdout, stderr, rssKb, tmpdir: l.tmpdir };
}

async function run(c: HostileCase, shell: Parameters<typeof launch>[1] = {}): Promise<Outcome> {
  return finish(launch(c, shell));
}

/** Waits (polling, no fixed sleep) until `cond` holds; fails after `ms`. */
async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether process `pid` has a file under `path` open (Linux: its /proc/PID/fd links). */
function opens(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(path);
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // not started yet, or gone
  }
}

/** The temp folder's watcher removes what a killed process left: wait for it. */
async function assertTempGone(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await waitFor(() => readdirSync(dir).length === 0, `${dir} to be emptied`, 30_000);
}

function assertOutcome(c: HostileCase, o: Outcome): void {
  const text = (c.status ?? 0) >= 2 ? o.stderr : o.stdout;
  assert.equal(o.status, c.status, `${c.name}: exit ${o.status} (${o.signal ?? ''})\n${o.stderr}\n${o.stdout.slice(0, 400)}`);
  assert.match(text, c.line, `${c.name}: ${text.slice(0, 600)}`);
  assert.doesNotMatch(o.stderr, /internal error|\n\s+at /, o.stderr);
  if ((c.status ?? 0) >= 2) assert.equal(o.stderr.split('\n').filter(Boolean).length, 1, `one line: ${o.stderr}`);
  assert.ok(o.rssKb !== null, `${c.name}: no peak RSS recorded`);
  assert.ok(o.rssKb < RSS_LIMIT_KB, `${c.name}: peak RSS ${o.rssKb} kB`);
}

const { cases, faults } = corpus();
const byName = (n: string) => [...cases, ...faults].find((c) => c.name === n)!;

describe('hostile inputs (generated corpus)', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.covers}`, { timeout: 300_000 }, async () => {
      const o = await run(c);
      assertOutcome(c, o);
      await assertTempGone(o.tmpdir);
    });
  }

  it('every class of the issue has a case', () => {
    const classes = new Set([...cases, ...faults].map((c) => c.covers.split(':')[0]));
    for (const k of ['tar', 'zstd', 'disk', 'valid', 'escaping', 'environment']) assert.ok(classes.has(k), k);
  });

  it('text output escapes what the image controls and keeps JSON exact', async () => {
    const c = byName('escape-names');
    const text = await run({ ...c, args: ['files', ...c.args.slice(1)] });
    assert.equal(text.status, 0);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(text.stdout, /[\x1b\x07\x9b\u202e]/, 'no raw control or bidi characters');
    assert.match(
      text.stdout,
      /f\\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[31mEVIL\\u202e\\x9b1m\\x0afake line$/m,
      'the name, escaped, on one line',
    );
    assert.match(text.stdout, /-> x\\x1b\[2J$/m, 'the link target, escaped');
    const json = await run({ ...c, args: ['files', '--json', ...c.args.slice(1)] });
    const listing = parseJson<FileRecord[]>(json.stdout);
    assertSchema(listing, 'FilesJson');
    const paths = listing.map((f) => f.path);
    assert.ok(paths.includes('/f\x1b]0;pwned\x07\x1b[2J\x1b[31mEVIL\u202e\x9b1m\nfake line'), 'JSON carries the exact name');
  });
});

describe('SIGTERM mid-run', () => {
  for (const c of cases.filter((x) => x.slow)) {
    it(`${c.name}: ends within 1 s and leaves no temporary files`, { timeout: 300_000 }, async () => {
      const image = at(c.args, c.args.length - 1);
      const l = launch({ ...c, args: ['inspect', '--json', image] });
      const done = finish(l);
      // mid-run: a temp folder exists (compressed layers), or the image's files are open (layers read by position, which need none)
      await waitFor(() => readdirSync(l.tmpdir).length > 0 || opens(l.child.pid!, image), 'the run to start reading layers');
      const t0 = process.hrtime.bigint();
      l.child.kill('SIGTERM');
      const o = await done;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.ok(o.signal === 'SIGTERM' || o.status === 143, `ended by ${o.signal ?? o.status}`);
      // the requirement itself; the kernel ends the process (default action), so load does not stretch it
      assert.ok(ms < 1000, `took ${ms} ms to end after SIGTERM`);
      await assertTempGone(l.tmpdir);
    });
  }
});

describe('faults of the environment', () => {
  /** Needs a temp folder: the whole archive is compressed, and is inflated there to be read by position. */
  let gz: HostileCase;
  let small: HostileCase;
  /** Compressed layers in a file: their bodies are kept in memory, not in a temp folder. */
  let layersGz: HostileCase;
  before(() => {
    gz = byName('rootfs-tar-gzip');
    small = byName('fifo-entrypoint');
    layersGz = byName('one-file-many-layers');
  });

  for (const c of faults) {
    it(`${c.name}: ${c.covers}`, { timeout: 120_000 }, async () => {
      const o = await run(c, c.name === 'stdout-full' ? { redirect: '>/dev/full' } : {});
      // the run's stdout went to /dev/full: nothing to see there
      assertOutcome(c, o);
      await assertTempGone(o.tmpdir);
    });
  }

  it('stdout closed: a clean run (Node puts /dev/null in its place, as for a discarded stdout)', async () => {
    const o = await run(small, { redirect: '>&-' });
    assert.equal(o.status, 0);
    assert.equal(o.stderr, '');
  });

  it('stderr closed: still the exit code of the error (4: a path not in the image)', async () => {
    const o = await run({ ...small, args: ['cat', at(small.args, 1), '/missing'] }, { redirect: '2>&-' });
    assert.equal(o.status, 4);
  });

  it('the reader of the pipe gone (| head): a clean exit', async () => {
    const c = byName('pax-global-150k-keys');
    // in a pipeline the shell cannot exec: it reports the producer's status itself
    const piped = spawn(
      'bash',
      [
        '-c',
        `ulimit -v ${VMEM_KB}; "${process.execPath}" "${BIN}" files "$1" | head -c 10 >/dev/null; echo "status=\${PIPESTATUS[0]}"`,
        'bash',
        at(c.args, 1),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    piped.stdout.on('data', (d) => (out += d));
    piped.stderr.on('data', (d) => (err += d));
    await new Promise((r) => piped.on('close', r));
    assert.match(out, /status=0/, err);
    assert.equal(err, '');
  });

  // A private mount namespace stands in for a read-only or full disk and a missing /proc.
  it('TMPDIR read-only: one line naming it, exit 3', async () => {
    const d = join(tmp.dir, 'ro');
    mkdirSync(d);
    const o = await run(gz, {
      tmpdir: d,
      before: `exec unshare -m --propagation private sh -c 'mount -t tmpfs -o ro tmpfs "${d}" && ulimit -v ${VMEM_KB} && exec "${process.execPath}" -r "${PRELOAD}" "${BIN}" "$@"' sh "$@"; `,
    });
    assertOutcome({ ...gz, status: 3, line: new RegExp(`^scratchscope: temporary folder ${d}.* is on a read-only file system`) }, o);
  });

  it('TMPDIR read-only, layers read by position or compressed in a file: no temp folder is needed, the report as usual', async () => {
    const d = join(tmp.dir, 'ro-plain');
    mkdirSync(d);
    for (const [c, args] of [small, layersGz].flatMap((c) =>
      [['inspect', '--json'], ['inspect'], ['closure']].map((a) => [c, a] as const),
    )) {
      const o = await run(
        { ...c, args: [...args, at(c.args, 1)] },
        {
          tmpdir: d,
          before: `exec unshare -m --propagation private sh -c 'mount -t tmpfs -o ro tmpfs "${d}" && ulimit -v ${VMEM_KB} && exec "${process.execPath}" -r "${PRELOAD}" "${BIN}" "$@"' sh "$@"; `,
        },
      );
      assert.equal(o.status, 0, `${args.join(' ')}: ${o.stderr}`);
      assert.equal(o.stderr, '');
    }
  });

  it('TMPDIR full: one line naming it, exit 3', async () => {
    const d = join(tmp.dir, 'full');
    mkdirSync(d);
    const o = await run(gz, {
      tmpdir: d,
      before: `exec unshare -m --propagation private sh -c 'mount -t tmpfs -o size=256k tmpfs "${d}" && ulimit -v ${VMEM_KB} && exec "${process.execPath}" -r "${PRELOAD}" "${BIN}" "$@"' sh "$@"; `,
    });
    assertOutcome(
      {
        ...gz,
        status: 3,
        line: new RegExp(
          `^scratchscope: (layer 0 \\(sha256:\\w+\\): )?temporary folder ${d}/scratchscope-\\w+ is full \\(no space left on device\\)`,
        ),
      },
      o,
    );
  });

  it('/proc missing: the analysis still runs', async () => {
    const o = await run(small, {
      before: `exec unshare -m --propagation private sh -c 'umount -l /proc && ulimit -v ${VMEM_KB} && exec "${process.execPath}" -r "${PRELOAD}" "${BIN}" "$@"' sh "$@"; `,
    });
    assertOutcome(small, o);
  });
  after(() => rmSync(join(tmp.dir, 'ro'), { recursive: true, force: true }));
});

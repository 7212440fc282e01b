/**
 * Start-up: --version, --help and explain never touch an image, so they must not load the
 * reading and analysis stages (nor ink and react). Checked by the modules the process
 * loads, not by timing (bench/verdict.ts measures the time).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { VERSION } from '../src/version.js';

const ROOT = new URL('../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/scratchscope.js');
const dir = mkdtempSync(join(tmpdir(), 'scratchscope-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A loader hook that lists every module the ESM loader loads (CommonJS ones are required inside their package).
// It writes to fd 2 at once: the hooks run on a thread of their own, whose process.stderr is
// flushed through the main thread, and a run that exits at once (--version) could lose it.
writeFileSync(
  join(dir, 'hooks.mjs'),
  `import { writeSync } from 'node:fs';\nexport async function load(url, ctx, next) { writeSync(2, 'LOADED ' + url + '\\n'); return next(url, ctx); }\n`,
);
writeFileSync(
  join(dir, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
);

/** The compiled modules in each file of the bundle (scripts/bundle.mjs writes the map). */
const META = join(ROOT, 'dist/bundle/meta.json');
const chunks = existsSync(META)
  ? (JSON.parse(readFileSync(META, 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> }).outputs
  : {};

/** The modules a run loads, each bundle file named by the compiled modules it holds; `files`: as loaded. */
function loaded(args: string[]): { status: number | null; stdout: string; modules: string[]; files: string[] } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, BIN, ...args], { encoding: 'utf8' });
  const files = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice('LOADED '.length).replace(pathToFileURL(ROOT).href, ''));
  const modules = files.flatMap((f) => (f.startsWith('dist/bundle/') ? Object.keys(chunks[f]?.inputs ?? { [f]: 0 }) : [f]));
  return { status: r.status, stdout: r.stdout, modules, files };
}

/** Stages that read or analyse an image, and the explorer's UI. */
const HEAVY =
  /^dist\/(load|fs|layers|archive|source|elf|loader|closure|report|tui|verdict)\b|^dist\/diagnose\/index|node_modules\/(ink|react)\//;

describe('start-up', () => {
  it('--version prints the version without loading the command line parser', () => {
    const r = loaded(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${VERSION}\n`);
    assert.deepEqual(
      r.modules.filter((m) => m.startsWith('dist/')),
      ['dist/version.js'],
    );
  });

  it('explain CODE answers without the parser, word for word as the parser path does', async () => {
    const { EXPLAIN } = await import('../src/diagnose/explain.js');
    for (const code of Object.keys(EXPLAIN)) {
      const fast = loaded(['explain', code]);
      assert.equal(fast.status, 0);
      assert.ok(!fast.modules.includes('dist/cli.js'), `explain ${code} loaded the parser`);
      const parsed = loaded(['--explain', code]);
      assert.ok(parsed.modules.includes('dist/cli.js'));
      assert.equal(fast.stdout, parsed.stdout, code);
    }
    // an unknown code goes to the parser, which says what the codes are
    const unknown = loaded(['explain', 'nope']);
    assert.equal(unknown.status, 2);
    assert.ok(unknown.modules.includes('dist/cli.js'));
  });

  it('the fast answers say a full disk as the parser path does', () => {
    const full = (args: string[]) => {
      const fd = openSync('/dev/full', 'w');
      try {
        return spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      } finally {
        closeSync(fd);
      }
    };
    const parsed = full(['--explain', 'exec-format']);
    assert.equal(parsed.status, 3);
    assert.match(parsed.stderr, /^scratchscope: cannot write to standard output: .*ENOSPC\)\n$/);
    for (const args of [['explain', 'exec-format'], ['--version']]) {
      const fast = full(args);
      assert.equal(fast.status, 3, args.join(' '));
      assert.equal(fast.stderr, parsed.stderr, args.join(' '));
    }
  });

  for (const args of [['--help'], ['explain', 'exec-format'], ['inspect', '--help'], ['-V', '--help']]) {
    it(`${args.join(' ')} loads no analysis stage`, () => {
      const r = loaded(args);
      assert.equal(r.status, 0);
      assert.ok(r.stdout.length > 0);
      assert.deepEqual(
        r.modules.filter((m) => HEAVY.test(m)),
        [],
      );
    });
  }

  it('the command line runs bundled when the bundle is built (npm test builds it)', () => {
    assert.ok(existsSync(META), 'dist/bundle/meta.json: run npm run build');
    const r = loaded(['inspect', '--help']);
    assert.equal(r.status, 0);
    assert.ok(r.files.includes('dist/bundle/cli.js'), r.files.join(' '));
    assert.ok(!r.files.includes('dist/cli.js'));
    assert.ok(r.modules.includes('dist/cli.js'));
  });

  it('a bundle older than the compiled command line is passed over (a tsc after an edit)', () => {
    const root = join(dir, 'stale');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'dist/bundle'), { recursive: true });
    copyFileSync(BIN, join(root, 'bin/scratchscope.js'));
    writeFileSync(join(root, 'package.json'), '{"type":"module"}');
    const main = (who: string) => `export async function main() { process.stdout.write('${who}'); }\n`;
    writeFileSync(join(root, 'dist/cli.js'), main('compiled'));
    writeFileSync(join(root, 'dist/bundle/cli.js'), main('bundled'));
    const run = () => spawnSync(process.execPath, [join(root, 'bin/scratchscope.js'), 'inspect', 'x'], { encoding: 'utf8' }).stdout;
    utimesSync(join(root, 'dist/cli.js'), 1000, 1000);
    utimesSync(join(root, 'dist/bundle/cli.js'), 2000, 2000);
    assert.equal(run(), 'bundled');
    utimesSync(join(root, 'dist/cli.js'), 3000, 3000);
    assert.equal(run(), 'compiled');
    rmSync(join(root, 'dist/bundle'), { recursive: true });
    assert.equal(run(), 'compiled');
  });

  it("the version is package.json's", () => {
    assert.equal(VERSION, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});

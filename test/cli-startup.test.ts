/**
 * Start-up: --version, --help and explain never touch an image, so they must not load the
 * reading and analysis stages (nor ink and react). Checked by the modules the process
 * loads, not by timing (bench/verdict.ts measures the time).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
writeFileSync(
  join(dir, 'hooks.mjs'),
  `export async function load(url, ctx, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, ctx); }\n`,
);
writeFileSync(
  join(dir, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
);

function loaded(args: string[]): { status: number | null; stdout: string; modules: string[] } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, BIN, ...args], { encoding: 'utf8' });
  const modules = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice('LOADED '.length).replace(pathToFileURL(ROOT).href, ''));
  return { status: r.status, stdout: r.stdout, modules };
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

  it("the version is package.json's", () => {
    assert.equal(VERSION, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});

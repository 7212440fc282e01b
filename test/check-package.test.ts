/**
 * `npm pack` gives a package that npx runs: it ships the built CLI and its documentation
 * only (no sources, tests or fixtures), declares its bin and engines, and, installed into
 * an empty project from the tarball, runs a check.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { tempDir } from './helpers/build.js';
import { parseJson } from './helpers/json.js';

const REPO = new URL('..', import.meta.url).pathname;
const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });

describe('npm pack', { timeout: 900_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);

  it('ships bin, dist and the docs, nothing a user does not run', () => {
    const r = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], REPO);
    assert.equal(r.status, 0, r.stderr);
    const [packed] = parseJson<{ files: { path: string }[] }[]>(r.stdout);
    assert.ok(packed, r.stdout);
    const files = packed.files.map((f) => f.path);
    assert.ok(files.includes('bin/scratchscope.js'));
    assert.ok(files.includes('dist/cli.js'));
    assert.ok(files.includes('docs/report.schema.json'));
    const stray = files.filter((f) => !/^(bin\/|dist\/|docs\/report\.schema\.json$|README\.md$|SECURITY\.md$|package\.json$)/.test(f));
    assert.deepEqual(stray, []);
    const pkg = parseJson<{ bin: unknown; engines?: { node?: string }; dependencies: Record<string, string> }>(
      readFileSync(`${REPO}package.json`, 'utf8'),
    );
    assert.deepEqual(pkg.bin, { scratchscope: 'bin/scratchscope.js' });
    assert.ok(pkg.engines?.node);
    assert.ok(
      !Object.keys(pkg.dependencies).some((d) => /^@types\/|^typescript$|^tsx$/.test(d)),
      'build tools are not runtime dependencies',
    );
  });

  it('installed from the tarball into an empty project, npx runs it', () => {
    const packed = npm(['pack', '--pack-destination', tmp.dir, '--silent'], REPO);
    assert.equal(packed.status, 0, packed.stderr);
    const tgz = `${tmp.dir}/${packed.stdout.trim().split('\n').pop()}`;
    writeFileSync(`${tmp.dir}/package.json`, JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // the dependencies come from npm's cache when it has them (npm ci filled it), else from the registry
    const installed = npm(['install', '--prefer-offline', '--no-save', tgz], tmp.dir);
    assert.equal(installed.status, 0, installed.stderr);
    const run = spawnSync('npx', ['--no-install', 'scratchscope', 'check', `${REPO}fixtures/images/hello.docker.tar`], {
      cwd: tmp.dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /✔ will start: \["\/hello"\]/);
    const broken = spawnSync('npx', ['--no-install', 'scratchscope', 'check', `${REPO}fixtures/images/broken.docker.tar`], {
      cwd: tmp.dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(broken.status, 1, broken.stderr);
  });
});

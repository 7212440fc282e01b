/**
 * A real distribution root (Debian bookworm, debootstrap minbase), read as a `docker
 * export`-style tar: every ELF decodes as readelf prints it, and every program's and
 * library's libraries resolve as that root's own ld.so lists them in a chroot.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { BinaryCatalog } from '../src/elf/catalog.js';
import type { ImageModel } from '../src/load.js';
import { loadImage } from '../src/load.js';
import { resolveProgram } from '../src/loader/index.js';
import { loaderContext } from '../src/diagnose/context.js';
import { tempDir } from './helpers/build.js';
import { available, ourList, realList, sh } from './helpers/roots.js';
import { buildReport } from '../src/report/index.js';
import type { ElfInfo } from '../src/elf/types.js';
import { docker, engineAvailable } from './helpers/engine.js';

const REPO = new URL('..', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root for debootstrap and chroot' : !available('readelf') ? 'needs readelf' : false;
if (skip && process.env.CI === 'true') throw new Error(`distribution tests cannot run under CI: ${skip}`);

const engine = skip ? false : engineAvailable();
const engineSkip = engine === true ? false : engine || 'no engine';

describe('a real Debian root', { skip, timeout: 900_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  let root = '';
  let model: ImageModel;
  let catalog: BinaryCatalog;

  before(async () => {
    const r = spawnSync('bash', [REPO + 'fixtures/debian-root.sh'], { encoding: 'utf8', timeout: 840_000 });
    assert.equal(r.status, 0, `debootstrap failed: ${r.stderr}`);
    root = r.stdout.trim();
    sh('tar', ['-C', root, '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./dev/*', '-cf', `${tmp.dir}/debian.tar`, '.']);
    model = await loadImage(`${tmp.dir}/debian.tar`, { analysis: true });
    catalog = new BinaryCatalog(model.tree, model.decoded);
  });
  after(async () => model?.close());

  it('every ELF file decodes as readelf prints it', () => {
    let n = 0;
    for (const [path, d] of catalog.all()) {
      assert.ok(d.ok, `${path}: ${!d.ok && d.error}`);
      const out = sh('readelf', ['-W', '-d', '-l', root + path]);
      const want = {
        interpreter: /Requesting program interpreter: (.*)\]/.exec(out)?.[1] ?? null,
        needed: [...out.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]),
        soname: /\(SONAME\)\s+Library soname: \[(.*)\]/.exec(out)?.[1] ?? null,
        rpath: /\(RPATH\)\s+Library rpath: \[(.*)\]/.exec(out)?.[1] ?? null,
        runpath: /\(RUNPATH\)\s+Library runpath: \[(.*)\]/.exec(out)?.[1] ?? null,
      };
      const i = d.info;
      assert.deepEqual({ interpreter: i.interpreter, needed: i.needed, soname: i.soname, rpath: i.rpath, runpath: i.runpath }, want, path);
      n++;
    }
    assert.ok(n > 300, `only ${n} ELF files`);
  });

  it('commands of the real distribution: every verdict equals docker run of the imported root', { skip: engineSkip }, async () => {
    const imported = docker(['import', '-c', 'CMD ["/bin/bash"]', `${tmp.dir}/debian.tar`, 'scratchscope-real/debian:bookworm']);
    assert.equal(imported.status, 0, imported.stderr);
    const commands = [
      ['/bin/bash', '-c', 'echo hi'],
      ['ls', '/'],
      ['apt-get', '--version'],
      ['perl', '-e', '1'],
      ['python3'],
      ['/etc/passwd'],
      ['/etc'],
      ['/usr/lib/x86_64-linux-gnu/libc.so.6'],
      ['/lib64/ld-linux-x86-64.so.2', '--version'],
      ['nonexistent'],
      ['./bin/true'],
    ];
    for (const argv of commands) {
      const real = docker([
        'run',
        '--rm',
        '--network',
        'none',
        '--entrypoint',
        argv[0],
        'scratchscope-real/debian:bookworm',
        ...argv.slice(1),
      ]);
      const realFailed = real.status !== 0 && /OCI runtime|exec |error while loading|No command/.test(real.stderr);
      const report = buildReport(model, { entrypoint: [argv[0]], cmd: argv.slice(1) });
      assert.equal(
        report.verdict,
        realFailed ? 'fails' : 'starts',
        `${JSON.stringify(argv)}: docker run said ${real.status} ${real.stderr}`,
      );
      const first = report.diagnostics.find((d) => d.severity === 'error');
      if (first)
        assert.ok(real.stderr.includes(first.runtimeError!), `${JSON.stringify(argv)}: ${real.stderr} lacks ${first.runtimeError}`);
    }
  });

  it("every dynamic object resolves to what the root's own ld.so lists", () => {
    const n = compareAll(root, model, catalog, '/lib64/ld-linux-x86-64.so.2');
    assert.ok(n > 300, `only ${n} dynamic objects`);
  });

  it('the system search path is read from the loader the chain of links leads to', () => {
    const r = resolveProgram(
      loaderContext(model, catalog),
      '/usr/bin/ls',
      catalog.at('/usr/bin/ls')!.ok ? (catalog.at('/usr/bin/ls') as { ok: true; info: ElfInfo }).info : assert.fail('ls'),
    );
    assert.deepEqual(r.defaultDirs, ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib']);
    assert.equal(r.defaultDirsFrom, 'read from /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
  });
});

/** Loads a root folder as an export-style tar, for the suites below. */
async function loadRoot(root: string, tar: string): Promise<{ model: ImageModel; catalog: BinaryCatalog }> {
  sh('tar', ['-C', root, '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./dev/*', '-cf', tar, '.']);
  const model = await loadImage(tar, { analysis: true });
  return { model, catalog: new BinaryCatalog(model.tree, model.decoded) };
}

/** Every dynamic ELF of the root, ours against the root's own loader in a chroot; returns how many. */
function compareAll(root: string, model: ImageModel, catalog: BinaryCatalog, loader: string, skipPath = /\/ld-linux|\/ld\.so$/): number {
  let n = 0;
  for (const [path, d] of catalog.all()) {
    if (!d.ok || d.info.needed.length === 0 || skipPath.test(path)) continue;
    const ours = ourList(resolveProgram(loaderContext(model, catalog), path, d.info));
    const real = realList(root, loader, path);
    assert.deepEqual({ error: ours.error, list: [...ours.list].sort() }, { error: real.error, list: [...real.list].sort() }, path);
    n++;
  }
  return n;
}

describe('the Debian root rearranged into the lib64 layout of Fedora and RHEL', { skip, timeout: 900_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  let root = '';
  let loaded: { model: ImageModel; catalog: BinaryCatalog };

  before(async () => {
    const r = spawnSync('bash', [REPO + 'fixtures/lib64-root.sh'], { encoding: 'utf8', timeout: 840_000 });
    assert.equal(r.status, 0, `building the lib64 root failed: ${r.stderr}`);
    root = r.stdout.trim();
    loaded = await loadRoot(root, `${tmp.dir}/lib64.tar`);
  });
  after(async () => loaded?.model.close());

  it("every dynamic object resolves to what that root's own ld.so lists", () => {
    const n = compareAll(root, loaded.model, loaded.catalog, '/lib64/ld-linux-x86-64.so.2');
    assert.ok(n > 300, `only ${n} dynamic objects`);
  });

  it('its loader says /lib64 and /usr/lib64, and that is what is searched', () => {
    const d = loaded.catalog.at('/usr/bin/ls')!;
    assert.ok(d.ok);
    const r = resolveProgram(loaderContext(loaded.model, loaded.catalog), '/usr/bin/ls', d.info);
    const help = sh('chroot', [root, '/lib64/ld-linux-x86-64.so.2', '--help']);
    const real = [...help.matchAll(/^\s+(\S+) \(system search path\)$/gm)].map((m) => m[1]);
    assert.deepEqual(r.defaultDirs, real);
    assert.deepEqual(real.slice(0, 2), ['/lib64', '/usr/lib64']);
    assert.equal(r.defaultDirsFrom, 'read from /usr/lib64/ld.so');
    assert.equal(r.dependencies.find((x) => x.name === 'libc.so.6')?.via, 'default');
  });
});

describe(
  "a musl root: Debian's musl and programs built with musl-gcc",
  { skip: skip || (!available('musl-gcc') && process.env.CI !== 'true' ? 'needs musl-gcc' : false), timeout: 600_000 },
  () => {
    const tmp = tempDir();
    after(tmp.cleanup);
    let root = '';
    let loaded: { model: ImageModel; catalog: BinaryCatalog };

    before(async () => {
      const r = spawnSync('bash', [REPO + 'fixtures/musl-root.sh'], { encoding: 'utf8', timeout: 540_000 });
      assert.equal(r.status, 0, `building the musl root failed: ${r.stderr}`);
      root = r.stdout.trim();
      loaded = await loadRoot(root, `${tmp.dir}/musl.tar`);
    });
    after(async () => loaded?.model.close());

    it('every dynamic object resolves to what ld-musl lists, missing libraries included', () => {
      const n = compareAll(root, loaded.model, loaded.catalog, '/lib/ld-musl-x86_64.so.1', /\/ld-musl-|\/libc\.so$/);
      assert.ok(n >= 6, `only ${n} dynamic objects`);
      const d = loaded.catalog.at('/usr/bin/app-missing')!;
      assert.ok(d.ok);
      const r = resolveProgram(loaderContext(loaded.model, loaded.catalog), '/usr/bin/app-missing', d.info);
      assert.equal(r.defaultDirsFrom, 'read from /etc/ld-musl-x86_64.path');
      assert.deepEqual(r.dependencies.find((x) => x.name === 'libgone.so.1')?.searched, [
        '/lib/x86_64-linux-musl/libgone.so.1',
        '/usr/lib/x86_64-linux-musl/libgone.so.1',
      ]);
    });
  },
);

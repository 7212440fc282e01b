/**
 * The cure on real programs: every case of the real-program corpus (fixtures/corpus) that
 * failed in `docker run` for want of files (no loader, a missing library, a glibc too old,
 * no user database) is repaired with the corpus's staging root as the donor (Debian's
 * packages, npm's binaries and our builds: the build stage users copy from). The repaired
 * image must run in a real engine and print what the same program printed where it was
 * packed right. A refusal passes only where it is listed below with its reason, and the
 * reason is checked against the donor itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/build.js';
import { cli } from './helpers/cli.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { parseJson, readJson } from './helpers/json.js';
import { CASES } from '../fixtures/corpus/cases.mjs';
import { cacheRoot, corpusHash } from '../fixtures/corpus/build.mjs';

interface Recorded {
  verdict: 'starts' | 'fails';
  exitCode: number;
  stdout: string;
  stderr: string;
}

const REPO = new URL('..', import.meta.url).pathname;
const FIXABLE = new Set(['interpreter-missing', 'library-missing', 'symbol-version-missing', 'user-missing']);
const cases = CASES.filter((c) => c.code && FIXABLE.has(c.code));
const available = engineAvailable();
if (available !== true && process.env.CI === 'true') throw new Error(`corpus repair tests cannot run under CI: ${available}`);
const skip = available === true ? false : available;

/**
 * Cases the donor cannot cure, and why: each reason is a fact about the donor that the test
 * checks, not what scratchscope said.
 */
const hasUser = (donor: string, user: string) =>
  existsSync(join(donor, 'etc/passwd')) &&
  readFileSync(join(donor, 'etc/passwd'), 'utf8')
    .split('\n')
    .some((l) => l.startsWith(`${user}:`));
/** Is there no `name` in any folder musl's loader searches in the donor (its path file's, else /lib:/usr/local/lib:/usr/lib)? */
const notForMusl = (donor: string, name: string) => {
  const pathFile = join(donor, 'etc/ld-musl-x86_64.path');
  const dirs = existsSync(pathFile)
    ? readFileSync(pathFile, 'utf8').split(/[:\n]/).filter(Boolean)
    : ['/lib', '/usr/local/lib', '/usr/lib'];
  return dirs.every((d) => !existsSync(join(donor, d, name)));
};
/** Is `path` an empty file in the image's layers (read from the docker save with tar)? */
const emptyInImage = (image: string, path: string) => {
  const [entry] = parseJson<{ Layers: string[] }[]>(spawnSync('tar', ['-xOf', image, 'manifest.json'], { encoding: 'utf8' }).stdout);
  assert.ok(entry, `${image}: no image in manifest.json`);
  const layers = entry.Layers;
  return layers.some((l) =>
    / 0 \d{4}-\d\d-\d\d /.test(
      spawnSync('sh', ['-c', `tar -xOf "$0" "$1" | tar -tvf - "$2" 2>/dev/null`, image, l, path], { encoding: 'utf8' }).stdout,
    ),
  );
};
/** Refused repairs: the donor lacks a file (exit 4), or its files do not make the image start (`unsupported`, exit 3). */
const REFUSED: Record<string, { because: RegExp; check: (donor: string, image: string) => boolean; exit?: number }> = {
  // The staging root holds Debian's packages unpacked: no base-passwd, so no user database.
  'jq-user-missing': { because: /cannot supply the user of USER app/, check: (d) => !hasUser(d, 'app') },
  'esbuild-user-missing': { because: /cannot supply the user of USER node/, check: (d) => !hasUser(d, 'node') },
  'gofmt-user-missing': { because: /cannot supply the user of USER gopher/, check: (d) => !hasUser(d, 'gopher') },
  // musl programs that need a C++ runtime or libgcc built for musl: the donor has glibc's only, where musl does not look.
  'lightningcss-musl-missing-libgcc': {
    because: /cannot supply libgcc_s\.so\.1 \(for x86_64, musl\)/,
    check: (d) => notForMusl(d, 'libgcc_s.so.1'),
  },
  'lightningcss-musl-missing-libgcc-path': {
    because: /cannot supply libgcc_s\.so\.1 \(for x86_64, musl\)/,
    check: (d) => notForMusl(d, 'libgcc_s.so.1'),
  },
  'lightningcss-musl-in-glibc': {
    because: /cannot supply libgcc_s\.so\.1 \(for x86_64, musl\)/,
    check: (d) => notForMusl(d, 'libgcc_s.so.1'),
  },
  'vips-musl-missing-libstdcxx': {
    because: /cannot supply libstdc\+\+\.so\.6 \(for x86_64, musl\)/,
    check: (d) => notForMusl(d, 'libstdc++.so.6'),
  },
  // A library of the other C library: its own libc is what it lacks, and no file of this donor serves that.
  'vips-musl-glibc-libstdcxx': {
    because: /cannot supply ld-linux-x86-64\.so\.2 \(for x86_64, musl\)/,
    check: (d) => notForMusl(d, 'ld-linux-x86-64.so.2'),
  },
  'vips-gnu-prog-musl-lib': {
    because: /cannot supply libc\.musl-x86_64\.so\.1 \(for x86_64, glibc\)/,
    check: (d) => spawnSync('find', [d, '-name', 'libc.musl-x86_64.so.1'], { encoding: 'utf8' }).stdout.trim() === '',
  },
  'glibc-prog-musl-lib': {
    because: /cannot supply libc\.so \(for x86_64, glibc\)/,
    check: (d) => !existsSync(join(d, 'lib/x86_64-linux-gnu/libc.so')) && !existsSync(join(d, 'usr/lib/x86_64-linux-gnu/libc.so')),
  },
  // An empty /etc/ld-musl-x86_64.path is an empty search path: no folder a new file could go in is searched.
  'musl-foo-path-file-empty': {
    because: /do not make it start: \[library-missing\]/,
    check: (_d, image) => emptyInImage(image, 'etc/ld-musl-x86_64.path'),
    exit: 3,
  },
};
/** Output that names a random temporary file differs from run to run. */
const steady = (s: string) => s.replace(/\/tmp\/[\w.-]+/g, '/tmp/…');

describe('repair of the real-program corpus, run by a real engine', { skip, timeout: 2_400_000 }, () => {
  let dir = join(cacheRoot(), `corpus-${corpusHash()}`);
  let real: Record<string, Recorded> = {};
  const tmp = tempDir();
  const prefix = `scratchscope-repair-corpus-${process.pid}`;

  before(() => {
    if (!existsSync(join(dir, '.complete'))) {
      const b = spawnSync('node', [REPO + 'fixtures/corpus/build.mjs'], { encoding: 'utf8', timeout: 1_500_000, maxBuffer: 64 << 20 });
      assert.equal(b.status, 0, `building the corpus failed: ${b.stderr.slice(-3000)}`);
      dir = b.stdout.trim();
    }
    real = readJson<Record<string, Recorded>>(join(dir, 'expectations.json'));
  });
  after(() => {
    spawnSync('sh', ['-c', `docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${prefix}' | xargs -r docker rmi -f`], {
      encoding: 'utf8',
    });
    tmp.cleanup();
  });

  it('has cases of every kind files cure', () => {
    for (const code of FIXABLE)
      assert.ok(
        cases.some((c) => c.code === code),
        `no corpus case of ${code}`,
      );
    assert.ok(cases.length >= 20, `${cases.length} cases`);
  });

  for (const c of cases) {
    it(c.name, () => {
      assert.equal(real[c.name]?.verdict, 'fails', `${c.name} failed in docker run`);
      const donor = join(dir, 'root');
      const out = join(tmp.dir, `${c.name}.tar`);
      const name = `${prefix}/${c.name}:repaired`;
      const r = cli(['repair', join(dir, 'images', `${c.name}.tar`), '--from', donor, '-o', out, '--name', name]);
      const refused = REFUSED[c.name];
      if (refused) {
        const exit = refused.exit ?? 4;
        assert.equal(r.status, exit, `${c.name} was expected to be refused with exit ${exit}: ${r.stderr}`);
        assert.match(r.stderr, refused.because);
        assert.ok(refused.check(donor, join(dir, 'images', `${c.name}.tar`)), `${c.name}: the reason for the refusal does not hold`);
        assert.equal(existsSync(out), false, 'a refused repair writes nothing');
        return;
      }
      assert.equal(r.status, 0, `repair of ${c.name}: ${r.stderr}`);
      assert.equal(docker(['load', '-q', '-i', out]).status, 0);
      const ran = docker(['run', '--rm', '--network', 'none', name]);
      assert.equal(ran.status, 0, `the repaired ${c.name} failed in docker run: ${ran.stderr}`);
      // what the same program printed where it was packed right
      const good = CASES.find((o) => o.program === c.program && real[o.name]?.verdict === 'starts' && !o.user);
      if (good) assert.equal(steady(ran.stdout), steady(real[good.name]!.stdout), `${c.name} repaired prints what ${good.name} printed`);
    });
  }
});

/**
 * The verdict on real programs: every case of fixtures/corpus (Debian packages, npm prebuilt
 * binaries, Go/Rust/C builds, packed FROM scratch the ways users pack them, and broken the
 * ways users break them) was built and run by a real engine, and fixtures/corpus/build.mjs
 * recorded what `docker run` printed. Here scratchscope reads each saved image and must
 * agree: the same verdict; for a failure, the code written in the case (from the real
 * stderr) and a runtime line that the real stderr contains byte for byte. A handful are read
 * again through the Engine API and from an OCI archive made by skopeo.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { CASES, PROGRAMS } from '../fixtures/corpus/cases.mjs';
import { cacheRoot, corpusHash, imageName } from '../fixtures/corpus/build.mjs';
import { readJson } from './helpers/json.js';

interface Recorded {
  verdict: 'starts' | 'fails';
  exitCode: number;
  stderr: string;
  stdout: string;
}

const REPO = new URL('..', import.meta.url).pathname;
const cases = CASES;
const cached = join(cacheRoot(), `corpus-${corpusHash()}`);
const haveCache = existsSync(join(cached, '.complete'));
// the saved images are enough once the corpus is cached; building it needs an engine
const available = engineAvailable();
const skip = haveCache || available === true ? false : available;
/** Read again through the Engine API and from an OCI archive: one of each family. */
const THROUGH_OTHER_SOURCES = [
  'jq-ldd',
  'jq-missing-lib-path',
  'jq-old-glibc',
  'lightningcss-musl-missing-libgcc',
  'c-musl-ldd',
  'glibc-prog-musl-lib',
  'esbuild-user-missing',
];

async function judge(src: string) {
  const m = await loadImage(src, { analysis: true });
  try {
    return buildReport(m);
  } finally {
    await m.close();
  }
}

function compare(name: string, where: string, real: Recorded, report: Awaited<ReturnType<typeof judge>>) {
  const want = cases.find((c) => c.name === name)!;
  const first = report.diagnostics.find((d) => d.severity === 'error');
  const ours = `ours: ${report.verdict}, ${first?.code ?? 'no error'}, ${JSON.stringify(first?.runtimeError ?? null)}`;
  assert.equal(
    report.verdict,
    real.verdict,
    `${where}: docker run ${real.verdict === 'starts' ? 'started it' : `failed (${real.exitCode}): ${real.stderr}`}; ${ours}`,
  );
  assert.equal(first?.code, want.code, `${where}: first error; real stderr ${JSON.stringify(real.stderr)}; ${ours}`);
  if (real.verdict === 'fails') {
    assert.ok(
      first?.runtimeError && real.stderr.includes(first.runtimeError),
      `${where}: real stderr ${JSON.stringify(real.stderr)} does not contain ${JSON.stringify(first?.runtimeError ?? null)}`,
    );
  }
}

describe('real programs against docker run (fixtures/corpus)', { skip, timeout: 1_800_000 }, () => {
  let dir = cached;
  let real: Record<string, Recorded> = {};
  /** What docker run did for case `name`. */
  const recorded = (name: string): Recorded => {
    const r = real[name];
    assert.ok(r, `nothing recorded for ${name}`);
    return r;
  };
  const tmp = tempDir();
  after(tmp.cleanup);

  before(() => {
    if (!haveCache) {
      const b = spawnSync('node', [REPO + 'fixtures/corpus/build.mjs'], { encoding: 'utf8', timeout: 1_500_000, maxBuffer: 64 << 20 });
      assert.equal(b.status, 0, `building the corpus failed: ${b.stderr.slice(-3000)}`);
      dir = b.stdout.trim();
    }
    real = readJson<Record<string, Recorded>>(join(dir, 'expectations.json'));
  });

  it('is dozens of real cases, recorded, starting and failing', () => {
    assert.deepEqual(Object.keys(real).sort(), cases.map((c) => c.name).sort());
    assert.ok(cases.length >= 40, `${cases.length} cases`);
    const fails = cases.filter((c) => recorded(c.name).verdict === 'fails').length;
    assert.ok(fails >= 15 && cases.length - fails >= 15, `${fails} failing of ${cases.length}`);
    assert.ok(Object.keys(PROGRAMS).length >= 15);
  });

  it('every case says in its definition what the real run showed', () => {
    // the written code and the recorded outcome agree: a case that started has no code
    for (const c of cases)
      assert.equal(
        c.code === undefined,
        recorded(c.name).verdict === 'starts',
        `${c.name}: code ${c.code}, real ${recorded(c.name).verdict}: ${recorded(c.name).stderr}`,
      );
  });

  for (const c of cases) {
    it(c.name, async () => {
      compare(c.name, `${c.name} (docker save)`, recorded(c.name), await judge(join(dir, 'images', `${c.name}.tar`)));
    });
  }

  it('reads the same through the Engine API and from an OCI archive', { skip: available === true ? false : available }, async () => {
    for (const name of THROUGH_OTHER_SOURCES) {
      const tar = join(dir, 'images', `${name}.tar`);
      if (docker(['image', 'inspect', imageName(name)]).status !== 0) {
        const l = docker(['load', '-q', '-i', tar]);
        assert.equal(l.status, 0, l.stderr);
      }
      const oci = join(tmp.dir, `${name}.oci.tar`);
      const s = spawnSync('skopeo', ['copy', '-q', `docker-archive:${tar}`, `oci-archive:${oci}`], { encoding: 'utf8' });
      assert.equal(s.status, 0, s.stderr);
      compare(name, `${name} (Engine API)`, recorded(name), await judge(`docker-daemon:${imageName(name)}:latest`));
      compare(name, `${name} (OCI archive)`, recorded(name), await judge(`oci-archive:${oci}`));
    }
  });
});

/**
 * The promise, tested: for every image of the diagnosis suite (fixtures/diagnose/cases),
 * built and run by a real engine, scratchscope's verdict equals what `docker run` did,
 * and for failures the real stderr contains the predicted runtime error. The same holds
 * when the image is read from `docker save`, from OCI archives (gzip and zstd, made by
 * skopeo) and through the Engine API.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { comparable, exportComparable } from './helpers/compare.js';
import { listFiles } from '../src/fs/index.js';
import { docker, engineAvailable } from './helpers/engine.js';

const REPO = new URL('..', import.meta.url).pathname;
const CASES = readdirSync(REPO + 'fixtures/diagnose/cases').sort();
const available = engineAvailable();
const skip = available === true ? false : available;

/** What each case is for: the first error's code, or the warnings a starting image must get. */
const EXPECT: Record<string, { error?: string; warnings?: string[] }> = {
  static: {},
  'user-missing': { error: 'user-missing' },
  'user-numeric': {},
  'user-numeric-signed': {},
  'user-trimmed': {},
  'user-range': { error: 'user-missing' },
  'path-empty': { error: 'exec-not-in-path' },
  'no-command': { error: 'no-command' },
  'shell-missing': { error: 'shell-missing' },
  'shell-form': { warnings: ['shell-form-signals'] },
  'exec-not-found': { error: 'exec-not-found' },
  'exec-dangling-symlink': { error: 'exec-not-found' },
  'exec-deleted': { error: 'exec-not-found' },
  'exec-not-in-path': { error: 'exec-not-in-path' },
  'path-custom': {},
  'workdir-relative': {},
  'symlink-chain': {},
  'not-executable': { error: 'not-executable' },
  'not-executable-user': { error: 'not-executable' },
  'exec-dir-unsearchable': { error: 'not-executable' },
  'path-relative': { error: 'exec-not-in-path' },
  'shebang-env-one-arg': { error: 'shebang-interpreter-missing' },
  'workdir-missing': {},
  'workdir-symlink': {},
  'exec-directory': { error: 'not-executable' },
  'exec-format-arch': { error: 'exec-format', warnings: ['arch-mismatch'] },
  'exec-format-text': { error: 'exec-format' },
  'interpreter-missing-glibc': { error: 'interpreter-missing' },
  'interpreter-missing-musl': { error: 'interpreter-missing' },
  'static-pie': {},
  'glibc-dynamic': {},
  'library-missing-glibc': { error: 'library-missing' },
  'library-missing-musl': { error: 'library-missing' },
  'runpath-origin': {},
  'ld-library-path': {},
  'symbol-version-missing': { error: 'symbol-version-missing' },
  'shebang-missing': { error: 'shebang-interpreter-missing' },
  'shebang-crlf': { error: 'shebang-interpreter-missing' },
  'shebang-script-works': {},
  'shebang-env-missing': { error: 'shebang-interpreter-missing' },
  'static-glibc-nss': { warnings: ['static-glibc-nss'] },
  'go-net': { warnings: ['ca-certificates-missing', 'tmp-missing', 'zoneinfo-missing'] },
  'go-cgo': { warnings: ['go-cgo-enabled', 'ca-certificates-missing'] },
  'go-cgo-nolibc': { error: 'interpreter-missing' },
  'entrypoint-blank': {},
  'entrypoint-blank-nocmd': { error: 'no-command' },
  'exec-not-dir': { error: 'exec-not-found' },
  'shebang-not-dir': { error: 'shebang-interpreter-missing' },
  'ld-library-path-not-dir': { error: 'library-missing' },
  'preload-missing': { warnings: ['preload-missing'] },
  'preload-needs-missing': { error: 'library-missing' },
  'shell-form-loader-missing': { error: 'shell-command-fails' },
  'shell-applet-no-link': { error: 'shell-command-fails' },
  'script-unreadable': { error: 'script-unreadable' },
  'init-program-missing': { error: 'init-command-fails' },
  'shell-c-no-script': { error: 'shell-command-fails' },
  'env-program-missing': { error: 'init-command-fails' },
  'env-applet': {},
  'gosu-program-missing': { error: 'init-command-fails' },
  'gosu-user-missing': { error: 'init-command-fails' },
  'shell-script-missing': { error: 'script-missing' },
  'entrypoint-exec-args': { error: 'shell-command-fails' },
  'entrypoint-crlf': { error: 'shell-command-fails' },
  'interp-relative': { error: 'interpreter-missing' },
  'interp-relative-workdir': {},
  'capability-denied': { error: 'capability-denied' },
  'capability-granted': {},
  'capability-secure-library-path': { error: 'library-missing' },
  'shebang-env-noloader': { error: 'interpreter-missing' },
};

describe('verdicts against docker run', { skip, timeout: 1_500_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const real = new Map<string, { started: boolean; stderr: string; status: number | null }>();

  before(() => {
    const b = spawnSync('bash', [REPO + 'fixtures/diagnose/build.sh', `${tmp.dir}/suite`], { encoding: 'utf8', timeout: 900_000 });
    assert.equal(b.status, 0, `building the suite failed: ${b.stderr.slice(-2000)}`);
    for (const c of CASES) {
      const r = docker(['run', '--rm', '--network', 'none', `scratchscope-case/${c}`]);
      real.set(c, { started: r.stdout.includes('scratchscope-started'), stderr: r.stderr, status: r.status });
      const saved = docker(['save', `scratchscope-case/${c}`, '-o', `${tmp.dir}/${c}.tar`]);
      assert.equal(saved.status, 0, `${c}: ${saved.stderr}`);
      // a placeholder command, so an image without one can still be created (and exported)
      const created = docker(['create', `scratchscope-case/${c}`, 'placeholder']);
      assert.equal(created.status, 0, `${c}: ${created.stderr}`);
      const cid = created.stdout.trim();
      const exported = docker(['export', cid, '-o', `${tmp.dir}/${c}.export.tar`]);
      assert.equal(exported.status, 0, `${c}: ${exported.stderr}`);
      docker(['rm', cid]);
      for (const [fmt, extra] of [
        ['gzip', []],
        ['zstd', ['--dest-compress-format', 'zstd']],
      ] as const) {
        const s = spawnSync(
          'skopeo',
          ['copy', '-q', ...extra, `docker-archive:${tmp.dir}/${c}.tar`, `oci-archive:${tmp.dir}/${c}.oci-${fmt}.tar`],
          { encoding: 'utf8' },
        );
        assert.equal(s.status, 0, s.stderr);
      }
    }
  });

  it('every case has an expectation, and every code is covered', () => {
    assert.deepEqual(CASES, Object.keys(EXPECT).sort());
  });

  it('the merged tree of every image equals docker export of a container made from it', async () => {
    let multi = 0;
    for (const c of CASES) {
      const img = await loadImage(`${tmp.dir}/${c}.tar`);
      const exp = await loadImage(`${tmp.dir}/${c}.export.tar`);
      try {
        if (img.layers.length > 1) multi++;
        assert.deepEqual(comparable(listFiles(img.tree)), exportComparable(listFiles(exp.tree), listFiles(img.tree)), c);
      } finally {
        await img.close();
        await exp.close();
      }
    }
    assert.ok(multi >= 10, `${multi} multi-layer images`);
  });

  for (const c of CASES) {
    it(c, async () => {
      const truth = real.get(c)!;
      const sources = [
        `${tmp.dir}/${c}.tar`,
        `oci-archive:${tmp.dir}/${c}.oci-gzip.tar`,
        `${tmp.dir}/${c}.oci-zstd.tar`,
        `docker-daemon:scratchscope-case/${c}:latest`,
      ];
      for (const src of sources) {
        const m = await loadImage(src, { analysis: true });
        let report;
        try {
          report = buildReport(m);
        } finally {
          await m.close();
        }
        const where = `${c} from ${src}`;
        assert.equal(
          report.verdict,
          truth.started ? 'starts' : 'fails',
          `${where}: docker run ${truth.started ? 'started it' : `failed: ${truth.stderr}`}`,
        );
        const first = report.diagnostics.find((d) => d.severity === 'error');
        const want = EXPECT[c];
        assert.ok(want, `${c}: no expectation`);
        assert.equal(first?.code, want.error, `${where}: first error`);
        if (first) {
          assert.ok(
            first.runtimeError && truth.stderr.includes(first.runtimeError),
            `${where}: real stderr ${JSON.stringify(truth.stderr)} does not contain ${JSON.stringify(first.runtimeError)}`,
          );
        }
        for (const w of want.warnings ?? [])
          assert.ok(
            report.diagnostics.some((d) => d.code === w),
            `${where}: expected warning ${w}, got ${report.diagnostics.map((d) => d.code).join(', ')}`,
          );
      }
    });
  }
});

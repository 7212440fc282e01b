/**
 * The loader's own line, byte for byte: images built here with real gcc / musl-gcc output,
 * run by a real engine, and the first line of their stderr compared with the runtimeError
 * scratchscope predicts. glibc starts its line with argv[0] as the process got it (the
 * name as typed when runc found it through PATH, else the path as given); musl names the
 * file that needs the library (the path execve got for the program, the path it opened a
 * library at).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { docker, engineAvailable } from './helpers/engine.js';

const SRC = new URL('../fixtures/src/loader/', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;

/** [image, argv, what the loader must say] */
const RUNS: [string, string[], string][] = [
  ['glibc', ['app'], 'app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory'],
  ['glibc', ['/usr/bin/app'], '/usr/bin/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory'],
  ['glibc', ['usr/bin/app'], 'usr/bin/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory'],
  ['glibc', ['app2', 'x'], 'app2: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory'],
  ['musl', ['app'], 'Error loading shared library libfoo.so.1: No such file or directory (needed by /usr/bin/app)'],
  ['musl', ['usr/bin/app'], 'Error loading shared library libfoo.so.1: No such file or directory (needed by usr/bin/app)'],
  ['musl', ['/usr/bin/app2'], 'Error loading shared library libfoo.so.1: No such file or directory (needed by /usr/lib/libbar.so.1)'],
];

describe('the loader\'s line, against docker run', { skip, timeout: 600_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const tars = new Map<string, string>();

  before(() => {
    for (const libc of ['glibc', 'musl'] as const) {
      const b = `${tmp.dir}/${libc}`;
      const ctx = `${b}/ctx`;
      mkdirSync(ctx, { recursive: true });
      const cc = (...args: string[]) => execFileSync(libc === 'glibc' ? 'gcc' : 'musl-gcc', ['-O1', ...args], { cwd: b });
      cc('-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-o', 'libfoo.so.1', SRC + 'foo.c');
      cc('-shared', '-fPIC', '-Wl,-soname,libbar.so.1', '-o', 'libbar.so.1', SRC + 'bar.c', '-L.', '-l:libfoo.so.1');
      cc('-o', 'app', SRC + 'app.c', '-L.', '-l:libfoo.so.1');
      cc('-DUSE_BAR', '-o', 'app2', SRC + 'app.c', '-L.', '-l:libbar.so.1', '-Wl,-rpath-link,.');
      const put = (from: string, to: string) => {
        mkdirSync(dirname(join(ctx, to)), { recursive: true });
        copyFileSync(from, join(ctx, to));
      };
      put(`${b}/app`, 'usr/bin/app');
      put(`${b}/app2`, 'usr/bin/app2');
      if (libc === 'glibc') {
        // as users copy what ldd lists: the loader as a regular file into /lib64
        put('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'lib64/ld-linux-x86-64.so.2');
        put('/lib/x86_64-linux-gnu/libc.so.6', 'lib/x86_64-linux-gnu/libc.so.6');
        put(`${b}/libbar.so.1`, 'usr/lib/x86_64-linux-gnu/libbar.so.1');
      } else {
        put('/lib/x86_64-linux-musl/libc.so', 'lib/ld-musl-x86_64.so.1');
        put(`${b}/libbar.so.1`, 'usr/lib/libbar.so.1');
      }
      writeFileSync(`${ctx}/Dockerfile`, 'FROM scratch\nCOPY . /\nWORKDIR /\nCMD ["app"]\n');
      const tag = `loader-rt/${libc}`;
      const built = docker(['build', '-q', '-t', tag, ctx]);
      assert.equal(built.status, 0, built.stderr);
      const saved = docker(['save', tag, '-o', `${tmp.dir}/${libc}.tar`]);
      assert.equal(saved.status, 0, saved.stderr);
      tars.set(libc, `${tmp.dir}/${libc}.tar`);
    }
  });

  for (const [libc, argv, expected] of RUNS) {
    it(`${libc}: ${JSON.stringify(argv)}`, async () => {
      const real = docker(['run', '--rm', '--network', 'none', '--entrypoint', argv[0], `loader-rt/${libc}`, ...argv.slice(1)]);
      const line = real.stderr.split('\n')[0];
      assert.equal(line, expected, `docker run printed ${JSON.stringify(real.stderr)}`);
      const m = await loadImage(tars.get(libc)!, { analysis: true });
      try {
        const report = buildReport(m, { entrypoint: [argv[0]], cmd: argv.slice(1) });
        assert.equal(report.verdict, 'fails');
        const first = report.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, 'library-missing');
        assert.equal(first.runtimeError, line);
      } finally {
        await m.close();
      }
    });
  }
});

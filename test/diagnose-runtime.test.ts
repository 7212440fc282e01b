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
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { docker, engineAvailable } from './helpers/engine.js';

const SRC = new URL('../fixtures/src/loader/', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;

/** [image, argv, what the loader (or, for execve, the runtime) must say] */
const RUNS: [string, [string, ...string[]], string][] = [
  // USER 1000, and libbar.so.1 readable by root only: the loader searches on; in the last folder, EACCES stays
  ['glibc-user', ['app2'], 'app2: error while loading shared libraries: libbar.so.1: cannot open shared object file: Permission denied'],
  ['musl-user', ['app2'], 'Error loading shared library libbar.so.1: Permission denied (needed by /usr/bin/app2)'],
  // the loader copied as data (0644): execve itself fails
  ['glibc-ld-0644', ['app'], 'exec /usr/bin/app: permission denied'],
  ['glibc', ['app'], 'app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory'],
  [
    'glibc',
    ['/usr/bin/app'],
    '/usr/bin/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory',
  ],
  [
    'glibc',
    ['usr/bin/app'],
    'usr/bin/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory',
  ],
  [
    'glibc',
    ['app2', 'x'],
    'app2: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory',
  ],
  ['glibc', ['app3'], 'app3: error while loading shared libraries: /usr/lib/x86_64-linux-gnu/libgone.so.1: file too short'],
  ['musl', ['app'], 'Error loading shared library libfoo.so.1: No such file or directory (needed by /usr/bin/app)'],
  ['musl', ['app3'], 'Error loading shared library libgone.so.1: Exec format error (needed by /usr/bin/app3)'],
  ['musl', ['usr/bin/app'], 'Error loading shared library libfoo.so.1: No such file or directory (needed by usr/bin/app)'],
  ['musl', ['/usr/bin/app2'], 'Error loading shared library libfoo.so.1: No such file or directory (needed by /usr/lib/libbar.so.1)'],
];

describe("the loader's line, against docker run", { skip, timeout: 600_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const tars = new Map<string, string>();

  before(() => {
    for (const variant of ['glibc', 'musl', 'glibc-user', 'musl-user', 'glibc-ld-0644'] as const) {
      const libc = variant.startsWith('glibc') ? 'glibc' : 'musl';
      const b = `${tmp.dir}/${variant}`;
      const ctx = `${b}/ctx`;
      mkdirSync(ctx, { recursive: true });
      const cc = (...args: string[]) => execFileSync(libc === 'glibc' ? 'gcc' : 'musl-gcc', ['-O1', ...args], { cwd: b });
      cc('-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-o', 'libfoo.so.1', SRC + 'foo.c');
      cc('-shared', '-fPIC', '-Wl,-soname,libbar.so.1', '-o', 'libbar.so.1', SRC + 'bar.c', '-L.', '-l:libfoo.so.1');
      cc('-o', 'app', SRC + 'app.c', '-L.', '-l:libfoo.so.1');
      cc('-DUSE_BAR', '-o', 'app2', SRC + 'app.c', '-L.', '-l:libbar.so.1', '-Wl,-rpath-link,.');
      // app3 needs libgone, whose file in the image is text, not a library
      cc('-shared', '-fPIC', '-Wl,-soname,libgone.so.1', '-o', 'libgone.so.1', SRC + 'foo.c');
      cc('-o', 'app3', SRC + 'app.c', '-L.', '-l:libgone.so.1');
      const put = (from: string, to: string) => {
        mkdirSync(dirname(join(ctx, to)), { recursive: true });
        copyFileSync(from, join(ctx, to));
      };
      put(`${b}/app`, 'usr/bin/app');
      put(`${b}/app2`, 'usr/bin/app2');
      put(`${b}/app3`, 'usr/bin/app3');
      const gone = libc === 'glibc' ? 'usr/lib/x86_64-linux-gnu/libgone.so.1' : 'usr/lib/libgone.so.1';
      mkdirSync(dirname(join(ctx, gone)), { recursive: true });
      writeFileSync(join(ctx, gone), 'not a library\n');
      if (libc === 'glibc') {
        // as users copy what ldd lists: the loader as a regular file into /lib64
        put('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'lib64/ld-linux-x86-64.so.2');
        put('/lib/x86_64-linux-gnu/libc.so.6', 'lib/x86_64-linux-gnu/libc.so.6');
        put(`${b}/libbar.so.1`, variant === 'glibc-user' ? 'usr/lib/libbar.so.1' : 'usr/lib/x86_64-linux-gnu/libbar.so.1');
        if (variant === 'glibc-ld-0644') chmodSync(join(ctx, 'lib64/ld-linux-x86-64.so.2'), 0o644);
      } else {
        put('/lib/x86_64-linux-musl/libc.so', 'lib/ld-musl-x86_64.so.1');
        put(`${b}/libbar.so.1`, 'usr/lib/libbar.so.1');
      }
      if (variant.endsWith('-user')) chmodSync(join(ctx, libc === 'glibc' ? 'usr/lib/libbar.so.1' : 'usr/lib/libbar.so.1'), 0o600);
      writeFileSync(
        `${ctx}/Dockerfile`,
        `FROM scratch\nCOPY . /\nWORKDIR /\n${variant.endsWith('-user') ? 'USER 1000\n' : ''}CMD ["app"]\n`,
      );
      const tag = `loader-rt/${variant}`;
      const built = docker(['build', '-q', '-t', tag, ctx]);
      assert.equal(built.status, 0, built.stderr);
      const saved = docker(['save', tag, '-o', `${tmp.dir}/${variant}.tar`]);
      assert.equal(saved.status, 0, saved.stderr);
      tars.set(variant, `${tmp.dir}/${variant}.tar`);
    }
  });

  for (const [variant, argv, expected] of RUNS) {
    it(`${variant}: ${JSON.stringify(argv)}`, async () => {
      const real = docker(['run', '--rm', '--network', 'none', '--entrypoint', argv[0], `loader-rt/${variant}`, ...argv.slice(1)]);
      // the loader writes its line first; the runtime wraps execve's error in its own words
      const execve = expected.startsWith('exec ');
      if (execve) assert.ok(real.stderr.includes(expected), `docker run printed ${JSON.stringify(real.stderr)}`);
      else assert.equal(real.stderr.split('\n')[0], expected, `docker run printed ${JSON.stringify(real.stderr)}`);
      const m = await loadImage(tars.get(variant)!, { analysis: true });
      try {
        const report = buildReport(m, { entrypoint: [argv[0]], cmd: argv.slice(1) });
        assert.equal(report.verdict, 'fails');
        const first = report.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, execve ? 'not-executable' : 'library-missing');
        assert.equal(first.runtimeError, expected);
      } finally {
        await m.close();
      }
    });
  }
});

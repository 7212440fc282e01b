/**
 * Programs that run programs, in turn: a shell's script names env, env names a shell, tini
 * runs `sh -c`, dumb-init runs env, which runs the program. Each chain runs for real in a
 * chroot of the same root (Debian's tini and dumb-init, dash as /bin/sh, GNU env), and the
 * verdict and the last line printed must be what it did; the closure lists every program on
 * the way, the last one's libraries too. gosu runs the same way, with /proc mounted (it reads
 * /proc/self/exe before it switches users).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { analyseClosure } from '../src/closure/index.js';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import {
  available,
  configAs,
  debianBusybox,
  debianPackage,
  glibcRoot,
  link,
  okPrograms,
  put,
  runWithProc,
  write,
} from './helpers/roots.js';

const isRoot = process.getuid?.() === 0;
const needs = ['gcc', 'chroot', 'dash', 'apt-get', 'dpkg-deb'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : !isRoot ? 'needs root for chroot' : false;
if (skip && process.env.CI === 'true') throw new Error(`hop tests cannot run under CI: ${skip}`);

describe('programs that run programs, followed hop by hop', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const b = `${tmp.dir}/build`;
  if (!skip) okPrograms(b);
  const tini = skip ? '' : `${debianPackage(b, 'tini')}/usr/bin/tini-static`;
  const dumb = skip ? '' : `${debianPackage(b, 'dumb-init')}/usr/bin/dumb-init`;

  /** A root with dash as /bin/sh, GNU env, tini and dumb-init, and `app` (a file of b/) at /app when given. */
  function root(app: string | null, extra: (r: string) => void = () => {}): string {
    const r = `${tmp.dir}/r-${Math.random().toString(36).slice(2)}`;
    glibcRoot(r);
    put(r, '/bin/sh', '/bin/dash');
    put(r, '/usr/bin/env', '/usr/bin/env');
    put(r, '/tini', tini);
    put(r, '/usr/bin/dumb-init', dumb);
    if (app) put(r, '/app', `${b}/${app}`);
    extra(r);
    return r;
  }

  const entry = (r: string) => {
    write(r, '/entrypoint.sh', '#!/bin/sh\nset -e\nexec "$@"\n');
    chmodSync(`${r}/entrypoint.sh`, 0o755);
  };
  /** `hops`: the programs found on the way after the command's own (a missing one is not among them). */
  const cases: { argv: string[]; app: string | null; extra?: (r: string) => void; code?: string; hops: number }[] = [
    { argv: ['/bin/sh', '-c', 'env FOO=1 /app'], app: null, code: 'init-command-fails', hops: 1 },
    { argv: ['/bin/sh', '-c', 'env FOO=1 /app'], app: 'ok-static', hops: 2 },
    { argv: ['/tini', '-s', '--', '/bin/sh', '-c', '/app'], app: null, code: 'shell-command-fails', hops: 1 },
    { argv: ['/tini', '-s', '--', 'sh', '-c', 'exec /app'], app: 'ok-static', hops: 2 },
    { argv: ['/tini', '-s', '--', '/bin/sh', '-c'], app: null, code: 'shell-command-fails', hops: 1 },
    { argv: ['/usr/bin/env', 'A=1', '/bin/sh', '-c', 'exec /app'], app: 'ok-noloader', code: 'shell-command-fails', hops: 2 },
    { argv: ['/bin/sh', '-c', 'exec /tini -s -- env /app'], app: null, code: 'init-command-fails', hops: 2 },
    {
      argv: ['dumb-init', 'env', 'LD_LIBRARY_PATH=/opt/lib', '/app'],
      app: 'ok-needsx',
      extra: (r) => put(r, '/opt/lib/libx.so.1', `${b}/libx.so.1`),
      hops: 2,
    },
    { argv: ['dumb-init', 'env', '/app'], app: 'ok-needsx', code: 'library-missing', hops: 2 },
    // tini runs an entrypoint script, which runs its arguments
    { argv: ['/tini', '-s', '--', '/entrypoint.sh', '/app'], app: null, extra: entry, code: 'shell-command-fails', hops: 1 },
    { argv: ['/tini', '-s', '--', '/entrypoint.sh', '/app'], app: 'ok-static', extra: entry, hops: 2 },
  ];

  for (const c of cases) {
    it(`${JSON.stringify(c.argv)}${c.app ? ` with ${c.app} at /app` : ''}`, async () => {
      const r = root(c.app, c.extra);
      const real = spawnSync('chroot', [r, ...c.argv], {
        encoding: 'utf8',
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      const m = await loadImage(r, { analysis: true });
      try {
        const report = buildReport(m, { entrypoint: c.argv });
        const stderr = real.stderr.trim();
        assert.equal(report.verdict, real.status === 0 ? 'starts' : 'fails', stderr);
        const closure = analyseClosure(m, { entrypoint: c.argv }).closure;
        const programs = closure.files.filter((f) => f.role === 'executable').map((f) => f.path);
        assert.equal(programs.length, 1 + c.hops, `every program on the way: ${programs.join(', ')}`);
        if (real.status === 0) {
          assert.equal(closure.program, '/app');
          if (c.app === 'ok-needsx') assert.ok(closure.files.some((f) => f.path === '/opt/lib/libx.so.1' && f.present));
          return;
        }
        const first = report.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, c.code);
        assert.equal(
          first.runtimeError,
          stderr
            .split('\n')
            .at(-1)!
            .replace(/^\[FATAL tini \(\d+\)\] /, ''),
        );
      } finally {
        await m.close();
        rmSync(r, { recursive: true, force: true });
      }
    });
  }
});

describe('gosu: switches to its user, then finds and runs the program as Go does', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const b = `${tmp.dir}/build`;
  if (!skip) okPrograms(b);
  const gosu = skip ? '' : `${debianPackage(b, 'gosu')}/usr/sbin/gosu`;

  const cases: { argv: string[]; user?: string; code?: string }[] = [
    { argv: ['gosu', 'app', '/app'] },
    { argv: ['gosu', 'app', 'hello'] },
    { argv: ['gosu', '1000:1000', 'hello'] },
    { argv: ['gosu', 'nobody', 'hello'] },
    { argv: ['gosu', 'app:nogroup', 'hello'] },
    { argv: ['gosu', 'app', '/usr/bin'] },
    { argv: ['gosu', 'app', 'nosuch'] },
    { argv: ['gosu', 'app', '/secret'] },
    { argv: ['gosu', 'app'] },
    { argv: ['gosu', 'app', 'hello'], user: '1000:1000' },
    { argv: ['gosu', 'nobody', 'hello'], user: '1000:1000' },
    { argv: ['gosu', 'app', '/bin/sh', '-c', 'exec /app'], code: 'shell-command-fails' },
    { argv: ['gosu', 'app', '/bin/sh', '-c', 'exec hello'] },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.argv)}${c.user ? ` as ${c.user}` : ''}`, async () => {
      const r = `${tmp.dir}/g-${Math.random().toString(36).slice(2)}`;
      glibcRoot(r);
      put(r, '/bin/sh', '/bin/dash');
      put(r, '/usr/local/bin/gosu', gosu);
      put(r, '/usr/bin/hello', `${b}/ok-static`);
      put(r, '/secret', `${b}/ok-static`);
      chmodSync(`${r}/secret`, 0o700);
      write(r, '/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
      write(r, '/etc/group', 'root:x:0:\napp:x:1000:\n');
      // gosu checks /proc/self/exe before it switches: the container has /proc
      const real = runWithProc(r, c.argv, c.user);
      const m = await loadImage(r, { analysis: true });
      try {
        if (c.user) m.config = configAs(c.argv, c.user);
        const report = buildReport(m, c.user ? {} : { entrypoint: c.argv });
        const stderr = real.stderr.trim();
        assert.equal(report.verdict, real.status === 0 ? 'starts' : 'fails', stderr);
        if (real.status === 0) {
          // a name is looked up in the user database: the closure holds it
          const files = analyseClosure(m, c.user ? {} : { entrypoint: c.argv }).closure.files.map((f) => f.path);
          assert.equal(files.includes('/etc/passwd'), !/^\d/.test(c.argv[1]!), files.join(' '));
          return;
        }
        const first = report.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, c.code ?? 'init-command-fails');
        // gosu's usage goes unworded (its first line is not the whole of it)
        assert.equal(first.runtimeError, c.argv.length < 3 ? null : stderr.split('\n').at(-1));
      } finally {
        await m.close();
        rmSync(r, { recursive: true, force: true });
      }
    });
  }
});

describe("busybox's own applets that run programs (env, sh), run by busybox itself", { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const b = `${tmp.dir}/build`;
  if (!skip) okPrograms(b);
  const busybox = skip ? '' : debianBusybox(b);
  const cases: { argv: string[]; app?: boolean }[] = [
    { argv: ['/usr/bin/env', 'sh', '-c', '/app'] },
    { argv: ['/usr/bin/env', 'sh', '-c', '/app'], app: true },
    { argv: ['/bin/sh', '-c', 'env sh -c /app'] },
    { argv: ['/bin/sh', '-c', 'exec env A=1 sh -c "/app"'] },
    { argv: ['/bin/busybox', 'env', '/app'] },
    { argv: ['/bin/busybox', 'env', 'A=1', '/app'], app: true },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.argv)}${c.app ? ' with /app' : ''}`, async () => {
      const r = `${tmp.dir}/bb-${Math.random().toString(36).slice(2)}`;
      put(r, '/bin/busybox', busybox);
      link(r, '/bin/sh', 'busybox');
      link(r, '/usr/bin/env', '/bin/busybox');
      if (c.app) put(r, '/app', `${b}/ok-static`);
      // busybox runs its applets again through /proc/self/exe: the container has /proc
      const real = runWithProc(r, c.argv);
      const m = await loadImage(r, { analysis: true });
      try {
        const report = buildReport(m, { entrypoint: c.argv });
        const stderr = real.stderr.trim();
        assert.equal(report.verdict, real.status === 0 ? 'starts' : 'fails', stderr);
        if (real.status === 0) return;
        const first = report.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.runtimeError, stderr.split('\n').at(-1));
      } finally {
        await m.close();
        rmSync(r, { recursive: true, force: true });
      }
    });
  }
});

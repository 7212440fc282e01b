/**
 * An init program as the command: tini (static and dynamic) and dumb-init, Debian's builds,
 * run for real in a chroot of the same root as `INIT … PROGRAM`; the verdict must be what they
 * did, and a failure's line what they printed (tini's after its "[FATAL tini (PID)] ", whose PID
 * varies). The option parsing is checked on its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { childArgv, envChild, initKind } from '../src/diagnose/init-program.js';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { available, configAs, debianBusybox, debianPackage, glibcRoot, link, okPrograms, put, sh, write } from './helpers/roots.js';

const isRoot = process.getuid?.() === 0;
const needs = ['gcc', 'chroot', 'apt-get', 'dpkg-deb'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : !isRoot ? 'needs root for chroot' : false;
if (skip && process.env.CI === 'true') throw new Error(`init program tests cannot run under CI: ${skip}`);

describe('init programs: what they name by their options', () => {
  it('tini and dumb-init take their options, then the program (-- ends them)', () => {
    assert.equal(initKind('/usr/bin/tini-static-amd64'), 'tini');
    assert.equal(initKind('/usr/local/bin/dumb-init_1.2.5_x86_64'), 'dumb-init');
    assert.equal(initKind('/usr/bin/tinier'), null);
    assert.deepEqual(childArgv('tini', ['--', '/app', '-x']), ['/app', '-x']);
    assert.deepEqual(childArgv('tini', ['-s', '-g', '-e', '143', '/app']), ['/app']);
    assert.deepEqual(childArgv('tini', ['-vvv', '-pSIGKILL', '--', 'app']), ['app']);
    assert.equal(childArgv('tini', ['-h']), null);
    assert.deepEqual(childArgv('tini', ['--']), []);
    assert.deepEqual(childArgv('tini', ['-s']), []);
    assert.deepEqual(childArgv('dumb-init', ['--single-child', '-r', '15:2', '/app']), ['/app']);
    assert.deepEqual(childArgv('dumb-init', ['--rewrite=15:2', '--', '/app']), ['/app']);
    assert.equal(childArgv('dumb-init', ['--version']), null);
  });

  it('env takes its options, then its assignments, then the program', () => {
    const env = ['PATH=/bin', 'HOME=/root'];
    assert.deepEqual(envChild(['python3', 'app.py'], env), { argv: ['python3', 'app.py'], env });
    assert.deepEqual(envChild(['-i', 'A=1', '=x', 'app'], env), { argv: ['app'], env: ['A=1', '=x'] });
    assert.deepEqual(envChild(['-uPATH', '-u', 'HOME', '--', 'B=2', 'app'], env), { argv: ['app'], env: ['B=2'] });
    assert.deepEqual(envChild(['--unset=HOME', '-i', 'app'], env), { argv: ['app'], env: [] });
    assert.deepEqual(envChild(['-0', 'app'], env), { error: 'cannot specify --null (-0) with command' });
    // a lone "-" is the first operand (as -i), whatever follows it
    assert.deepEqual(envChild(['-', '-i', 'app'], env), { argv: ['-i', 'app'], env: [] });
    assert.deepEqual(envChild(['--', '-', 'app'], env), { argv: ['app'], env: [] });
    assert.equal(envChild(['A=1'], env), null, 'no program: it prints the environment');
    // GNU's -S: its words where it stood, options again; -C, -v and the signal options change nothing run
    assert.deepEqual(envChild(['-S', 'app -x'], env), { argv: ['app', '-x'], env });
    assert.deepEqual(envChild(['-iS-uA B=1  app', 'y'], env), { argv: ['app', 'y'], env: ['B=1'] });
    assert.deepEqual(envChild(['--split-string=nosuch'], env), { argv: ['nosuch'], env });
    assert.equal(envChild(['-S', 'app "a b"'], env), null, 'quotes: not followed');
    assert.deepEqual(envChild(['-C', '/', '-v', '--ignore-signal', '--block-signal=INT', 'app'], env), { argv: ['app'], env });
    assert.equal(envChild(['-C', '/tmp', './app'], env), null, 'a path from the folder it enters: not followed');
    // busybox's env knows none of them
    assert.deepEqual(envChild(['-S', 'app'], env, false), { error: "invalid option -- 'S'" });
    assert.deepEqual(envChild(['-v', 'app'], env, false), { error: "invalid option -- 'v'" });
    assert.deepEqual(envChild(['-u'], env), { error: "option requires an argument -- 'u'" });
  });

  it('env with a config of a million words: each option once, not a pass over the Env or the words per option', () => {
    const n = 300_000;
    const big = Array.from({ length: n }, (_, i) => `V${i}=x`);
    const unsets = Array.from({ length: n }, (_, i) => `-uV${i * 2}`);
    const r = envChild([...unsets, '/app'], big);
    assert.ok(r && 'argv' in r);
    assert.deepEqual(r.argv, ['/app']);
    assert.equal(r.env.length, n / 2);
    assert.equal(r.env[0], 'V1=x');
    const zeros = envChild(['-' + '0'.repeat(n), ...Array.from({ length: n }, () => 'A=b'), '/app'], big);
    assert.deepEqual(zeros, { error: 'cannot specify --null (-0) with command' });
    assert.equal(envChild(['-0', 'A=b'], big), null, '-0 and no command: it prints the environment');
    assert.equal(envChild([...Array.from({ length: n }, () => '-S-i'), '/app'], big), null, 'thousands of -S: not followed');
  });
});

describe('init programs: the program they run, in their words', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const b = `${tmp.dir}/build`;
  if (!skip) okPrograms(b);
  const tini = skip ? '' : debianPackage(b, 'tini');
  const dumb = skip ? '' : debianPackage(b, 'dumb-init');
  const busybox = skip ? '' : debianBusybox(b);
  /** Name, file, options, where it goes in the root (default /NAME). */
  const inits: [string, string, string[], string?][] = [
    ['tini-static', `${tini}/usr/bin/tini-static`, ['-s', '--']],
    ['tini', `${tini}/usr/bin/tini`, []],
    ['dumb-init', `${dumb}/usr/bin/dumb-init`, []],
    ['env', '/usr/bin/env', []],
    ['busybox env', busybox, [], '/bin/env'],
  ];

  const cases: { what: string; argv: string[]; setup: (root: string) => void; code?: string; only?: 'env' }[] = [
    { what: 'no program: it prints its usage (env: the environment)', argv: [], setup: () => {} },
    { what: 'an empty program name', argv: [''], setup: () => {} },
    {
      what: '#!/usr/bin/env finding nothing ends the search: env says so',
      argv: ['app'],
      setup: (root) => {
        put(root, '/usr/bin/env', '/usr/bin/env');
        write(root, '/usr/local/bin/app', '#!/usr/bin/env python3\nprint(1)\n');
        chmodSync(`${root}/usr/local/bin/app`, 0o755);
        put(root, '/usr/bin/app', `${b}/ok-static`);
      },
    },
    {
      what: 'a loop of links in PATH stops the search',
      argv: ['app'],
      setup: (root) => {
        link(root, '/usr/local/bin/app', '/usr/local/bin/app');
        put(root, '/usr/bin/app', `${b}/ok-static`);
      },
    },
    {
      what: 'a file without #!: glibc runs it with /bin/sh',
      argv: ['/run'],
      setup: (root) => {
        put(root, '/bin/sh', '/bin/dash');
        write(root, '/run', 'echo started\n');
        chmodSync(`${root}/run`, 0o755);
      },
    },
    {
      what: 'a file without #! and no /bin/sh',
      argv: ['/run'],
      setup: (root) => {
        write(root, '/run', 'echo started\n');
        chmodSync(`${root}/run`, 0o755);
      },
    },
    { what: 'it runs', argv: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { what: 'the program is missing', argv: ['/app'], setup: () => {} },
    { what: 'a bare name PATH does not have', argv: ['app'], setup: () => {} },
    { what: 'a bare name PATH has', argv: ['app', 'x'], setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`) },
    { what: 'its loader is missing', argv: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-noloader`) },
    {
      what: 'PATH has one without its loader, then one that runs: execvp goes on',
      argv: ['app'],
      setup: (root) => {
        put(root, '/usr/local/bin/app', `${b}/ok-noloader`);
        put(root, '/usr/bin/app', `${b}/ok-static`);
      },
    },
    {
      what: 'PATH has one not executable, then one without its loader: EACCES is remembered',
      argv: ['app'],
      setup: (root) => {
        put(root, '/usr/local/bin/app', `${b}/ok-static`);
        chmodSync(`${root}/usr/local/bin/app`, 0o644);
        put(root, '/usr/bin/app', `${b}/ok-noloader`);
      },
    },
    { what: 'it is a folder', argv: ['/app'], setup: (root) => mkdirSync(`${root}/app`) },
    {
      what: 'a library it needs is missing: the loader says so',
      argv: ['/app'],
      setup: (root) => put(root, '/app', `${b}/ok-needsx`),
      code: 'library-missing',
    },
    {
      what: 'a #! interpreter that is missing',
      argv: ['/run'],
      setup: (root) => {
        write(root, '/run', '#!/usr/bin/python3\nprint(1)\n');
        chmodSync(`${root}/run`, 0o755);
      },
    },
    // env's own environment: its PATH finds the program, and its loader's LD_LIBRARY_PATH
    {
      what: 'an assignment to PATH',
      argv: ['PATH=/opt/bin', 'app'],
      setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`),
      only: 'env',
    },
    {
      what: "PATH unset: execvp's own default",
      argv: ['-u', 'PATH', 'app'],
      setup: (root) => put(root, '/usr/local/bin/app', `${b}/ok-static`),
      only: 'env',
    },
    { what: 'PATH unset, the program in /bin', argv: ['-i', 'app'], setup: (root) => put(root, '/bin/app', `${b}/ok-static`), only: 'env' },
    {
      what: 'an emptied environment, then PATH',
      argv: ['-', 'PATH=/opt/bin', 'app'],
      setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`),
      only: 'env',
    },
    { what: '-- then an assignment', argv: ['--', 'A=1', '/app'], setup: () => {}, only: 'env' },
    // GNU's -S, -C, -v and signal options run the program all the same (busybox's refuses them)
    { what: '-S with the program missing', argv: ['-S', 'nosuch x'], setup: () => {}, only: 'env' },
    {
      what: '-S splits the program and its arguments',
      argv: ['-S/app  x', 'y'],
      setup: (root) => put(root, '/app', `${b}/ok-static`),
      only: 'env',
    },
    { what: '-C and --ignore-signal, the program missing', argv: ['-C', '/', '--ignore-signal', 'nosuch'], setup: () => {}, only: 'env' },
    { what: '-v, the program runs', argv: ['-v', '/app'], setup: (root) => put(root, '/app', `${b}/ok-static`), only: 'env' },
    {
      what: 'a lone - then -i: -i is the program',
      argv: ['-', '-i', '/app'],
      setup: (root) => put(root, '/app', `${b}/ok-static`),
      only: 'env',
    },
    { what: '-- then a lone -', argv: ['--', '-', '/app'], setup: () => {}, only: 'env' },
    { what: '--unset NAME, then the program', argv: ['--unset', 'HOME', '/app'], setup: () => {}, only: 'env' },
    { what: 'an option env does not take', argv: ['-q', '/app'], setup: () => {}, only: 'env' },
    { what: '-u with no name', argv: ['-u'], setup: () => {}, only: 'env' },
    { what: 'an empty name to unset', argv: ['-u', '', '/app'], setup: () => {}, only: 'env' },
    {
      what: 'a folder in PATH',
      argv: ['PATH=/opt/bin', 'app'],
      setup: (root) => mkdirSync(`${root}/opt/bin/app`, { recursive: true }),
      only: 'env',
    },
    {
      what: 'LD_LIBRARY_PATH for the program',
      argv: ['LD_LIBRARY_PATH=/opt/lib', '/app'],
      setup: (root) => {
        put(root, '/app', `${b}/ok-needsx`);
        put(root, '/opt/lib/libx.so.1', `${b}/libx.so.1`);
      },
      only: 'env',
    },
    {
      what: 'the library the program needs elsewhere',
      argv: ['LD_LIBRARY_PATH=/usr/lib', '/app'],
      setup: (root) => {
        put(root, '/app', `${b}/ok-needsx`);
        put(root, '/opt/lib/libx.so.1', `${b}/libx.so.1`);
      },
      code: 'library-missing',
      only: 'env',
    },
  ];

  for (const [name, bin, opts, at = `/${name}`] of inits) {
    for (const c of cases) {
      if (c.only && !name.endsWith(c.only)) continue;
      it(`${name}: ${c.what}`, async () => {
        const root = `${tmp.dir}/${name.replace(' ', '-')}-${Math.random().toString(36).slice(2)}`;
        glibcRoot(root);
        put(root, at, bin);
        c.setup(root);
        const argv = [at, ...opts, ...c.argv];
        const real = spawnSync('chroot', [root, ...argv], {
          encoding: 'utf8',
          env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
        });
        const m = await loadImage(root, { analysis: true });
        let r;
        try {
          r = buildReport(m, { entrypoint: argv });
        } finally {
          await m.close();
        }
        rmSync(root, { recursive: true, force: true });
        const stderr = real.stderr.trim();
        assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', stderr);
        if (real.status === 0) return;
        const first = r.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, c.code ?? 'init-command-fails');
        if (first.runtimeError === null) {
          assert.ok(c.argv.length === 0 || name === 'busybox env', 'only a usage message goes unworded');
          return;
        }
        // as many lines as the prediction has (GNU env's complaints about its options end with a pointer to --help)
        const last = stderr.split('\n').slice(-first.runtimeError.split('\n').length).join('\n');
        if (name.startsWith('tini') && !c.code && !first.runtimeError.includes('env')) assert.match(last, /^\[FATAL tini \(\d+\)\] /);
        assert.equal(first.runtimeError, last.replace(/^\[FATAL tini \(\d+\)\] /, ''));
      });
    }
  }
});

/**
 * su-exec is Alpine's (no Debian package to run here): these lines were read off upstream
 * su-exec (github.com/ncopa/su-exec 89c016e) built with Debian's musl-gcc and run in a chroot
 * of the same root. Its file here is any static musl program (only its C library matters:
 * musl's execvp has no /bin/sh fallback).
 */
describe('su-exec: its user switch, then execvp as that user', { skip: available('musl-gcc') ? false : 'needs musl-gcc' }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const b = `${tmp.dir}/build`;
  mkdirSync(b, { recursive: true });
  writeFileSync(`${b}/ok.c`, '#include <stdio.h>\nint main(void) { puts("started"); return 0; }\n');
  sh('musl-gcc', ['-O1', '-static', '-o', `${b}/su-exec`, `${b}/ok.c`]);
  sh('gcc', ['-O1', '-static', '-o', `${b}/ok-static`, `${b}/ok.c`]);
  const cases: [string[], string | null, string?][] = [
    [['app', '/app'], 'su-exec: /app: No such file or directory'],
    [['app', 'hello'], null],
    [['1234', 'hello'], null],
    [['nobody', 'hello'], 'su-exec: getpwnam(nobody): Invalid argument'],
    [['app:nogroup', 'hello'], 'su-exec: getgrnam(nogroup): Invalid argument'],
    [['app', '/usr/bin'], 'su-exec: /usr/bin: Permission denied'],
    [['app', 'nosuch'], 'su-exec: nosuch: No such file or directory'],
    [['app', '/secret'], 'su-exec: /secret: Permission denied'],
    [['app', 'hello'], 'su-exec: setgroups: Operation not permitted', '1000:1000'],
  ];
  for (const [args, line, user] of cases) {
    it(`su-exec ${args.join(' ')}${user ? ` as ${user}` : ''}`, async () => {
      const root = `${tmp.dir}/r-${Math.random().toString(36).slice(2)}`;
      put(root, '/sbin/su-exec', `${b}/su-exec`);
      put(root, '/usr/bin/hello', `${b}/ok-static`);
      put(root, '/secret', `${b}/ok-static`);
      chmodSync(`${root}/secret`, 0o700);
      write(root, '/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
      write(root, '/etc/group', 'root:x:0:\napp:x:1000:\n');
      const m = await loadImage(root, { analysis: true });
      try {
        const argv = ['/sbin/su-exec', ...args];
        if (user) m.config = configAs(argv, user);
        const r = buildReport(m, user ? {} : { entrypoint: argv });
        assert.equal(r.verdict, line === null ? 'starts' : 'fails');
        if (line === null) return;
        const first = r.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, 'init-command-fails');
        assert.equal(first.runtimeError, line);
      } finally {
        await m.close();
      }
    });
  }
});

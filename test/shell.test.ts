/**
 * A shell-form command: the shell starts, then runs the script's program. Each case is run
 * for real, `sh -c SCRIPT` (and `sh -c "exec SCRIPT"`) in a chroot of the same root with
 * Debian's static busybox, dash and bash as /bin/sh, and the verdict and the shell's line must
 * be what they did. (The chroot has no /proc, so busybox runs only its fork-free applets by
 * bare name there; the cases use none but `ls`, which is one.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { lastCommand } from '../src/diagnose/shell.js';
import { available, configAs, debianBusybox, glibcRoot, link, put, sh, write } from './helpers/roots.js';
import { tempDir } from './helpers/build.js';

const isRoot = process.getuid?.() === 0;
const needs = ['gcc', 'chroot', 'dash', 'bash', 'apt-get', 'dpkg-deb'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : !isRoot ? 'needs root for chroot' : false;
if (skip && process.env.CI === 'true') throw new Error(`shell tests cannot run under CI: ${skip}`);

/** A glibc root with `shell` as /bin/sh: busybox (the file given) or dash copied there, bash linked there with its library. */
function shellRoot(root: string, shell: 'busybox' | 'dash' | 'bash', busybox: string): void {
  glibcRoot(root);
  if (shell === 'busybox') put(root, '/bin/sh', busybox);
  else if (shell === 'dash') put(root, '/bin/sh', '/bin/dash');
  else {
    put(root, '/usr/bin/bash', '/bin/bash');
    link(root, '/bin/sh', '/usr/bin/bash');
    put(root, '/lib/x86_64-linux-gnu/libtinfo.so.6', '/lib/x86_64-linux-gnu/libtinfo.so.6');
  }
}

describe("shell-form commands: the program the shell runs, in the shell's words", { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);

  type ShellName = 'busybox' | 'busybox-links' | 'dash' | 'bash';
  /** A root with `shell` as /bin/sh and what `setup` adds; the real run and scratchscope's report of `sh -c script [args]`. */
  async function both(shell: ShellName, script: string, setup: (root: string) => void, args: string[] = [], env: string[] = []) {
    return run(shell, ['-c', script, ...args], setup, undefined, false, env);
  }
  /** The same for `sh ARGS…`, whatever its options and words; `env`: the image's ENV beside PATH. */
  async function run(shell: ShellName, shArgs: string[], setup: (root: string) => void, user?: string, direct = false, env: string[] = []) {
    const argv = direct ? shArgs : ['/bin/sh', ...shArgs];
    const root = `${tmp.dir}/${shell}-${Math.random().toString(36).slice(2)}`;
    glibcRoot(root);
    // busybox and dash copied to /bin/sh (told by their bytes); bash linked (told by its name)
    if (shell === 'busybox') put(root, '/bin/sh', busybox);
    else if (shell === 'busybox-links') {
      put(root, '/bin/busybox', busyboxLinks);
      link(root, '/bin/sh', 'busybox');
      put(root, '/lib/x86_64-linux-gnu/libresolv.so.2', '/lib/x86_64-linux-gnu/libresolv.so.2');
    } else if (shell === 'dash') put(root, '/bin/sh', '/bin/dash');
    else {
      put(root, `/usr/bin/${shell}`, `/bin/${shell}`);
      link(root, '/bin/sh', `/usr/bin/${shell}`);
      put(root, '/lib/x86_64-linux-gnu/libtinfo.so.6', '/lib/x86_64-linux-gnu/libtinfo.so.6');
    }
    // the /dev/null a container has
    mkdirSync(`${root}/dev`);
    sh('mknod', ['-m', '666', `${root}/dev/null`, 'c', '1', '3']);
    setup(root);
    const real = spawnSync('chroot', [...(user ? [`--userspec=${user}`] : []), root, ...argv], {
      encoding: 'utf8',
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        ...Object.fromEntries(env.map((e): [string, string] => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      },
    });
    const m = await loadImage(root, { analysis: true });
    try {
      if (user || env.length) m.config = configAs(argv, user ?? '');
      if (env.length) m.config!.env.push(...env);
      // the chroot's environment is the whole one (PATH and `env`), as a container's recorded one is
      const r = buildReport(m, { ...(user ? {} : { entrypoint: argv }), envComplete: true });
      rmSync(root, { recursive: true, force: true });
      // a container's log holds both streams (2>&1 sends the shell's line to the other)
      return { real: { status: real.status, stderr: (real.stderr + real.stdout).trim() }, r };
    } finally {
      await m.close();
    }
  }

  const b = `${tmp.dir}/build`;
  mkdirSync(b, { recursive: true });
  writeFileSync(`${b}/ok.c`, '#include <stdio.h>\nint main(void) { puts("started"); return 0; }\n');
  sh('gcc', ['-O1', '-o', `${b}/ok`, `${b}/ok.c`]);
  sh('gcc', ['-O1', '-static', '-o', `${b}/ok-static`, `${b}/ok.c`]);
  sh('gcc', ['-O1', '-Wl,--dynamic-linker=/lib/ld-elsewhere.so.2', '-o', `${b}/ok-noloader`, `${b}/ok.c`]);
  writeFileSync(`${b}/x.c`, 'int x(void) { return 0; }\n');
  sh('gcc', ['-O1', '-shared', '-fPIC', '-Wl,-soname,libx.so.1', '-o', `${b}/libx.so.1`, `${b}/x.c`]);
  sh('gcc', ['-O1', '-o', `${b}/ok-needsx`, `${b}/ok.c`, `${b}/libx.so.1`]);
  writeFileSync(`${b}/noshebang`, 'echo started\n');
  chmodSync(`${b}/noshebang`, 0o755);
  const busybox = skip ? '' : debianBusybox(b);
  const busyboxLinks = skip ? '' : debianBusybox(b, 'busybox');
  const arm64 = new URL('../fixtures/foreign/hello-arm64', import.meta.url).pathname;
  const script = (root: string, path: string, text: string) => {
    write(root, path, text);
    chmodSync(`${root}${path}`, 0o755);
  };

  /** `code`: the first error's, when the loader (not the shell) prints it; `shells`: where the chroot can tell. */
  type Case = {
    what: string;
    script: string;
    setup: (root: string) => void;
    code?: string;
    args?: string[];
    shells?: ShellName[];
    /** The image's ENV (beside PATH). */
    env?: string[];
  };
  const cases: Case[] = [
    {
      what: 'a library it needs is missing: the loader says so, naming it as the shell called it',
      script: 'app',
      setup: (root) => put(root, '/usr/local/bin/app', `${b}/ok-needsx`),
      code: 'library-missing',
    },
    { what: 'it runs', script: '/app --flag "a b"', setup: (root) => put(root, '/app', `${b}/ok`) },
    { what: 'the program is missing', script: '/app', setup: () => {} },
    { what: 'a bare name PATH does not have', script: 'app x', setup: () => {} },
    { what: 'a bare name PATH has', script: 'app x', setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`) },
    {
      what: 'its loader is missing',
      script: '/app',
      setup: (root) => put(root, '/app', `${b}/ok-noloader`),
    },
    {
      what: 'its loader is missing, found in PATH',
      script: 'app',
      setup: (root) => put(root, '/usr/bin/app', `${b}/ok-noloader`),
    },
    {
      what: 'PATH has one without its loader, then one that runs (ash and dash go on, bash does not)',
      script: 'app',
      setup: (root) => {
        put(root, '/usr/local/bin/app', `${b}/ok-noloader`);
        put(root, '/usr/bin/app', `${b}/ok-static`);
      },
    },
    {
      what: 'it is not executable',
      script: 'FOO=1 /app',
      setup: (root) => {
        put(root, '/app', `${b}/ok-static`);
        chmodSync(`${root}/app`, 0o644);
      },
    },
    {
      what: 'it is not executable, found in PATH',
      script: 'app',
      setup: (root) => {
        put(root, '/usr/bin/app', `${b}/ok-static`);
        chmodSync(`${root}/usr/bin/app`, 0o644);
      },
    },
    {
      what: 'PATH has one not executable, then one that runs',
      script: 'app',
      setup: (root) => {
        put(root, '/usr/local/bin/app', `${b}/ok-static`);
        chmodSync(`${root}/usr/local/bin/app`, 0o644);
        put(root, '/usr/bin/app', `${b}/ok-static`);
      },
    },
    { what: 'it is a folder', script: '/app', setup: (root) => mkdirSync(`${root}/app`) },
    { what: 'PATH has a folder of its name', script: 'app', setup: (root) => mkdirSync(`${root}/usr/bin/app`, { recursive: true }) },
    { what: 'its path goes on from a file', script: '/app/x', setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { what: "another machine's program", script: '/app', setup: (root) => put(root, '/app', arm64) },
    {
      what: 'a script without #!: the shell reads it',
      script: '/run.sh',
      setup: (root) => put(root, '/run.sh', `${b}/noshebang`),
      shells: ['dash', 'bash'], // busybox reads it by running itself again, through /proc/self/exe
    },
    {
      what: 'a #! interpreter that is missing',
      script: '/run.py',
      setup: (root) => script(root, '/run.py', '#!/usr/bin/python3\nprint(1)\n'),
    },
    {
      what: 'a #! interpreter that is missing, found in PATH',
      script: 'run',
      setup: (root) => script(root, '/usr/bin/run', '#!/usr/bin/python3\nprint(1)\n'),
    },
    {
      what: 'a #! interpreter that is a folder',
      script: '/run',
      setup: (root) => {
        mkdirSync(`${root}/opt`);
        script(root, '/run', '#!/opt\necho\n');
      },
    },
    {
      what: '#!/usr/bin/env and a program PATH does not have: env says so, and the shell nothing more',
      script: '/run.py',
      setup: (root) => {
        put(root, '/usr/bin/env', '/usr/bin/env');
        script(root, '/run.py', '#!/usr/bin/env python3\nprint(1)\n');
      },
    },
    ...(['sh\r', 'python3 -u', "it's"] as const).map((line) => ({
      what: `#!/usr/bin/env ${JSON.stringify(line)}: env quotes the name as coreutils does`,
      script: '/run',
      setup: (root: string) => {
        put(root, '/usr/bin/env', '/usr/bin/env');
        script(root, '/run', `#!/usr/bin/env ${line}\necho\n`);
      },
    })),
    { what: 'the shell is named by the word after the script ($0)', script: '/app', args: ['myname', 'a'], setup: () => {} },
    {
      what: 'exec runs no builtin: it looks for echo in PATH',
      script: 'echo hi',
      setup: () => {},
      shells: ['busybox-links', 'dash', 'bash'],
    },
    {
      what: 'ls: a busybox applet (without links, only a standalone one runs it), a missing program elsewhere',
      script: 'ls /',
      setup: () => {},
    },
    {
      what: 'ls through its link to busybox',
      script: 'ls /',
      setup: (root) => link(root, '/bin/ls', 'busybox'),
      shells: ['busybox-links'],
    },
    {
      what: 'PATH has one not executable, then one without its loader (ash tries from the first regular file, dash from the first it may run)',
      script: 'app',
      setup: (root) => {
        put(root, '/usr/local/bin/app', `${b}/ok-static`);
        chmodSync(`${root}/usr/local/bin/app`, 0o644);
        put(root, '/usr/bin/app', `${b}/ok-noloader`);
      },
    },
    {
      what: 'PATH has a folder, then one without its loader',
      script: 'app',
      setup: (root) => {
        mkdirSync(`${root}/usr/local/bin/app`, { recursive: true });
        put(root, '/usr/bin/app', `${b}/ok-noloader`);
      },
    },
    {
      what: 'PATH has a folder, then one not executable (bash: the first thing there is no file)',
      script: 'app',
      setup: (root) => {
        mkdirSync(`${root}/usr/local/bin/app`, { recursive: true });
        put(root, '/usr/bin/app', `${b}/ok-static`);
        chmodSync(`${root}/usr/bin/app`, 0o644);
      },
    },
    { what: 'redirected to /dev/null, errors too: it fails, and says nothing', script: '/app > /dev/null 2>&1', setup: () => {} },
    { what: 'errors sent to the output: the line is there', script: '/app 2>&1 >/dev/null', setup: () => {} },
    { what: 'redirected and it runs', script: '/app </dev/null 2>/dev/null', setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { what: 'command runs the program as is', script: 'command /app', setup: () => {} },
    { what: 'command -- and command exec', script: 'command -- /app', setup: () => {} },
    { what: 'command exec runs it', script: 'command exec /app', setup: (root) => put(root, '/app', `${b}/ok-static`) },
    {
      what: "a file of another owner, mode 0700: root runs it (dash's test is any x bit for root)",
      script: 'app',
      setup: (root) => {
        put(root, '/usr/bin/app', `${b}/ok-static`);
        chmodSync(`${root}/usr/bin/app`, 0o700);
        chownSync(`${root}/usr/bin/app`, 1000, 1000);
      },
    },
    {
      what: '#!/usr/bin/env finding nothing ends the search: a later program of that name is not tried',
      script: 'app',
      setup: (root) => {
        put(root, '/usr/bin/env', '/usr/bin/env');
        script(root, '/usr/local/bin/app', '#!/usr/bin/env python3\nprint(1)\n');
        put(root, '/usr/bin/app', `${b}/ok-static`);
      },
    },
    {
      what: 'a loop of links in PATH',
      script: 'app',
      setup: (root) => link(root, '/usr/local/bin/app', '/usr/local/bin/app'),
    },
    // an assignment before exec is in the program's environment, PATH for its search too
    {
      what: 'PATH assigned before exec finds the program',
      script: 'PATH=/opt/bin exec app',
      setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`),
    },
    { what: 'PATH assigned before exec, the program not there', script: 'PATH=/opt/bin exec app', setup: () => {} },
    {
      what: 'LD_LIBRARY_PATH assigned before exec finds the library',
      script: 'LD_LIBRARY_PATH=/opt/lib exec /app',
      setup: (root) => {
        put(root, '/app', `${b}/ok-needsx`);
        put(root, '/opt/lib/libx.so.1', `${b}/libx.so.1`);
      },
    },
    // bash's exec names a relative path by its whole path ("/./app" less its "./")
    { what: 'a relative path, not there', script: './app', setup: () => {} },
    {
      what: 'a relative path, not executable',
      script: 'opt/app',
      setup: (root) => {
        put(root, '/opt/app', `${b}/ok-static`);
        chmodSync(`${root}/opt/app`, 0o644);
      },
    },
    { what: 'exec -a NAME (dash has no options)', script: 'exec -a x /app', setup: () => {} },
    { what: 'exec -x (an option bash and busybox refuse)', script: 'exec -x /app', setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { what: 'exec -- (dash has no options)', script: 'exec -- /app', setup: () => {} },
    {
      what: "busybox's own env applet runs the program in turn",
      script: 'env FOO=1 /app',
      setup: () => {},
      shells: ['busybox'],
      code: 'init-command-fails',
    },
    {
      what: "busybox's env applet, the program there",
      script: 'env /app',
      setup: (root) => put(root, '/app', `${b}/ok-static`),
      shells: ['busybox'],
    },
    // the container's environment is whole: a variable ENV sets has its value, any other is unset
    { what: 'a program named by a variable ENV sets', script: '$APP --version', setup: () => {}, env: ['APP=/usr/bin/nope'] },
    {
      what: 'a variable that names one that runs',
      script: '$APP --version',
      setup: (root) => put(root, '/app', `${b}/ok-static`),
      env: ['APP=/app'],
    },
    { what: 'a bare name from a variable, PATH does not have it', script: '${APP} x', setup: () => {}, env: ['APP=jq'] },
    { what: 'an unset variable is no word: its argument is the command', script: '$APP --version', setup: () => {} },
    { what: 'an unset variable with a default', script: '${APP:-/app} -v', setup: () => {} },
    { what: 'an empty variable with a default', script: '${APP:-/app} -v', setup: () => {}, env: ['APP='] },
    { what: 'an empty variable without the colon keeps its emptiness', script: '${APP-/nope} /app', setup: () => {}, env: ['APP='] },
    {
      what: 'a variable of several words splits',
      script: '$CMD',
      setup: (root) => put(root, '/app', `${b}/ok-static`),
      env: ['CMD=/app --port 80'],
    },
    { what: 'a variable of several words in quotes is one word', script: '"$CMD"', setup: () => {}, env: ['CMD=/app --port 80'] },
    { what: 'the arguments from variables, the program missing', script: '/app $OPTS "$MORE"', setup: () => {}, env: ['OPTS=-a -b'] },
    {
      what: 'a folder from a variable',
      script: '$BIN/app $X',
      setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`),
      env: ['BIN=/opt/bin'],
    },
    // a JSON array written with single quotes is shell form: its brackets match nothing and stay
    {
      what: "CMD ['/app','--version'] with single quotes",
      script: "['/app','--version']",
      setup: (root) => put(root, '/app', `${b}/ok-static`),
    },
    { what: "CMD ['./app', 'x'] with single quotes and a blank", script: "['./app', 'x']", setup: () => {} },
    {
      what: 'time: a word of bash, a program for dash',
      script: 'time /app',
      setup: (root) => put(root, '/app', `${b}/ok-static`),
      shells: ['busybox-links', 'dash', 'bash'], // the standalone busybox's time applet needs /proc/self/exe, which the chroot has not
    },
  ];

  for (const shell of ['busybox', 'busybox-links', 'dash', 'bash'] as const) {
    for (const c of cases) {
      if (c.shells && !c.shells.includes(shell)) continue;
      for (const exec of [false, true]) {
        const run = exec ? `exec ${c.script}` : c.script;
        it(`${shell}: ${c.what}${exec ? ' (exec)' : ''}`, async () => {
          const { real, r } = await both(shell, run, c.setup, c.args, c.env);
          const started = real.status === 0;
          assert.equal(r.verdict, started ? 'starts' : 'fails', `${run}: ${real.stderr}`);
          if (started) return;
          const first = r.diagnostics.find((d) => d.severity === 'error')!;
          assert.equal(first.code, c.code ?? 'shell-command-fails');
          // busybox reads another machine's program as a script: its words then depend on the bytes
          assert.equal(
            first.runtimeError,
            (shell.startsWith('busybox') && c.what.includes('machine')) || !real.stderr ? null : real.stderr,
          );
        });
      }
    }
  }
  // the options come first, -c among them, up to "--" or the first other word: that is the
  // script; none after them, and the shell refuses ("-c requires an argument", exit 2)
  const optionCases: { args: string[]; app?: boolean; shells?: ShellName[] }[] = [
    { args: ['-eo', 'errexit', '-c', '/app'] },
    { args: ['-co', 'errexit', '/app'] },
    { args: ['+c', '/app'] },
    { args: ['-c', '-', '/app'] },
    { args: ['-O', 'extglob', '-c', '/app'], shells: ['bash'] },
    { args: ['-c'] },
    { args: ['-ec'] },
    { args: ['-c', '-e'] },
    { args: ['-c', '--'] },
    { args: ['-c', '-e', '/app'] },
    { args: ['-c', '-e', '/app'], app: true },
    { args: ['-c', '--', '/app'] },
    { args: ['-c', '-x', '/app'], app: true },
    { args: ['-c', '--', '-e', '/app'], app: true },
    { args: ['-e', '-c', '/app', 'name'] },
  ];
  for (const shell of ['busybox', 'busybox-links', 'dash', 'bash'] as const) {
    for (const c of optionCases) {
      if (c.shells && !c.shells.includes(shell)) continue;
      it(`${shell}: sh ${c.args.join(' ')}${c.app ? ' (with /app)' : ''}`, async () => {
        const { real, r } = await run(shell, c.args, (root) => (c.app ? put(root, '/app', `${b}/ok-static`) : undefined));
        const started = real.status === 0;
        assert.equal(r.verdict, started ? 'starts' : 'fails', `${c.args.join(' ')}: ${real.stderr}`);
        if (started) return;
        const first = r.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, 'shell-command-fails');
        // `sh -x`'s trace goes to stderr before the failure
        assert.equal(first.runtimeError, real.stderr.split('\n').at(-1));
      });
    }
  }
  // a script file the shell is given: it opens it as the container's user (bash: PATH too, for a bare name)
  const fileCases: { args: string[]; user?: string }[] = [
    { args: ['/missing.sh'] },
    { args: ['missing.sh'] },
    { args: ['-e', '/missing.sh'] },
    { args: ['/adir'] },
    { args: ['here.sh'] },
    { args: ['-x', '/here.sh'] },
    { args: ['inpath.sh'] },
    { args: ['/unread.sh'], user: '1000:1000' },
    { args: ['/here.sh'], user: '1000:1000' },
    { args: ['-s', 'missing.sh'] },
    { args: [''] },
    { args: ['/loop'] },
  ];
  const scripts = (root: string) => {
    mkdirSync(`${root}/adir`);
    write(root, '/here.sh', 'echo started\n');
    write(root, '/usr/local/bin/inpath.sh', 'echo started\n');
    write(root, '/unread.sh', 'echo started\n');
    chmodSync(`${root}/unread.sh`, 0o600);
    link(root, '/loop', '/loop');
  };
  for (const shell of ['busybox', 'dash', 'bash'] as const) {
    for (const c of fileCases) {
      it(`${shell}: sh ${c.args.join(' ')}${c.user ? ` as ${c.user}` : ''}`, async () => {
        const { real, r } = await run(shell, c.args, scripts, c.user);
        const started = real.status === 0;
        assert.equal(r.verdict, started ? 'starts' : 'fails', `${c.args.join(' ')}: ${real.stderr}`);
        if (started) return;
        const first = r.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, 'script-missing');
        assert.equal(first.runtimeError, real.stderr.split('\n').at(-1));
      });
    }
  }
});

describe("an entrypoint script's last command: its arguments run as the shell runs them", { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const b = `${tmp.dir}/build`;
  mkdirSync(b, { recursive: true });
  writeFileSync(`${b}/ok.c`, '#include <stdio.h>\nint main(void) { puts("started"); return 0; }\n');
  sh('gcc', ['-O1', '-static', '-o', `${b}/ok-static`, `${b}/ok.c`]);
  writeFileSync(`${b}/x.c`, 'int x(void) { return 0; }\n');
  sh('gcc', ['-O1', '-shared', '-fPIC', '-Wl,-soname,libx.so.1', '-o', `${b}/libx.so.1`, `${b}/x.c`]);
  sh('gcc', ['-O1', '-o', `${b}/ok-needsx`, `${b}/ok.c`, `${b}/libx.so.1`]);
  const busybox = skip ? '' : debianBusybox(b);
  const entry = {
    plain: '#!/bin/sh\nset -e\n\n# hand over to the command\nexec "$@"\n',
    prefixed: '#!/bin/sh\nset -eu\nexec /app --flag "$@"\n',
    path: '#!/bin/sh\nexport PATH=/opt/bin:/usr/bin\nexec app "$@"\n',
    assigned: '#!/bin/sh\nPATH=/opt/bin\nexec app "$@"\n',
    forked: '#!/bin/sh\n"$@"\n',
    assignOnly: '#!/bin/sh\nset -e\nFOO=bar\nexec "$@"\n',
    comment: '#!/bin/sh\nexec "$@" # hand over\n',
    braced: '#!/bin/sh\nexec "${@}"\n',
    nested: '#!/bin/sh\nexec /start.sh "$@"\n',
    cd: '#!/bin/sh\nset -e\ncd /srv\nexec ./app "$@"\n',
    pathAdded: '#!/bin/sh\nexport PATH="/opt/bin:$PATH"\nexec app "$@"\n',
    pathAppended: '#!/bin/sh\nPATH=${PATH}:/opt/bin\nexec app\n',
    pathQuoted: "#!/bin/sh\nexport PATH='/opt/bin:$PATH'\nexec app\n",
    login: '#!/bin/sh -l\nexec app "$@"\n',
    unsetOneLine: '#!/bin/sh -u\nif [ "${1#-}" != "$1" ]; then set -- app "$@"; fi\nexec app "$@"\n',
    quoteInComment: '#!/bin/sh\nexec "$@" # don\'t worry\n',
    optionFirst: '#!/bin/sh\nset -eu\nif [ "${1#-}" != "$1" ]; then\n\tset -- app "$@"\nfi\n\nexec "$@"\n',
    // saved on Windows (CRLF), whole or in part
    crlfSet: '#!/bin/sh\nset -e\r\nexec "$@"\r\n',
    crlfAll: '#!/bin/sh\r\nset -eu\r\nexec "$@"\r\n',
    crlfBlank: '#!/bin/sh\r\n# start\r\n\r\nexec /app\r\n',
    crlfBlankErrexit: '#!/bin/sh\nset -e\n\r\nexec /app\n',
    crlfArgs: '#!/bin/sh\nexec "$@"\r\n',
    crlfBare: '#!/bin/sh\r\napp\r\n',
    crlfArgOnly: '#!/bin/sh\r\nexec /app --port 80\r\n',
    crlfLoneWord: '#!/bin/sh\r\nexec /app \r\n',
    crlfComment: '#!/bin/sh\nexec /app # go\r\n',
    crlfPath: '#!/bin/sh\r\nexport PATH=/usr/bin:/bin\r\nexec app\n',
    crlfCd: '#!/bin/sh\r\ncd /srv\r\nexec /app\n',
    crlfShebangOption: '#!/bin/sh -e\r\nexec "$@"\r\n',
    shebangTwoOptions: '#!/bin/sh -e -u\nexec "$@"\n',
    crlfSetBash: '#!/usr/bin/bash\nset -e\r\nexec "$@"\r\n',
    optionFirstOneLine: '#!/bin/sh\nif [ "${1#-}" != "$1" ]; then set -- app --verbose "$@"; fi\nexec "$@"\n',
  };
  const start = (root: string) => {
    write(root, '/start.sh', '#!/bin/sh\nset -e\nexec "$@"\n');
    chmodSync(`${root}/start.sh`, 0o755);
  };
  const profile = (root: string) => {
    write(root, '/etc/profile', 'export PATH=/opt/bin:$PATH\n');
    put(root, '/opt/bin/app', `${b}/ok-static`);
  };
  const cases: {
    script: keyof typeof entry;
    args: string[];
    setup?: (root: string) => void;
    code?: string;
    shells?: string[];
    options?: string[];
    noLine?: boolean;
  }[] = [
    // saved on Windows: each line's CR ends its last word (the #! line's too, when the kernel reads it)
    { script: 'crlfSet', args: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'crlfAll', args: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`), options: [] },
    { script: 'crlfBlank', args: [], setup: (root) => put(root, '/app', `${b}/ok-static`), options: [] },
    { script: 'crlfBlankErrexit', args: [], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'crlfArgs', args: [] },
    { script: 'crlfArgs', args: ['/app', '-v'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'crlfBare', args: [], setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`), options: [] },
    { script: 'crlfArgOnly', args: [], setup: (root) => put(root, '/app', `${b}/ok-static`), options: [] },
    { script: 'crlfLoneWord', args: [], setup: (root) => put(root, '/app', `${b}/ok-static`), options: [] },
    { script: 'crlfComment', args: [], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'crlfPath', args: [], setup: (root) => put(root, '/bin/app', `${b}/ok-static`), options: [] },
    { script: 'crlfShebangOption', args: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'shebangTwoOptions', args: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    // bash named bash reads on after set's error; named sh (POSIX mode), it stops there
    { script: 'crlfSetBash', args: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`), shells: ['bash'] },
    // under set -e, bash's exec of a file it may not run ends the shell at its first line
    {
      script: 'plain',
      args: ['/app'],
      setup: (root) => {
        put(root, '/app', `${b}/ok-static`);
        chmodSync(`${root}/app`, 0o644);
      },
    },
    { script: 'forked', args: ['/app'], setup: (root) => mkdirSync(`${root}/app`) },
    { script: 'plain', args: ['/app'], setup: (root) => mkdirSync(`${root}/app`) },
    { script: 'plain', args: ['app', 'x'] },
    { script: 'plain', args: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'plain', args: ['/app'] },
    { script: 'plain', args: ['app'], setup: (root) => put(root, '/usr/bin/app', `${b}/ok-needsx`), code: 'library-missing' },
    { script: 'prefixed', args: ['x'] },
    { script: 'prefixed', args: ['x'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'path', args: [], setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`) },
    { script: 'path', args: [] },
    { script: 'assigned', args: [], setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`) },
    { script: 'assigned', args: [], setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`) },
    { script: 'assignOnly', args: ['app'] },
    { script: 'comment', args: ['app'] },
    { script: 'braced', args: ['app'] },
    { script: 'braced', args: ['/app'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    { script: 'nested', args: ['app'], setup: start },
    { script: 'nested', args: ['/app'], setup: (root) => (start(root), put(root, '/app', `${b}/ok-static`)) },
    { script: 'cd', args: [], setup: (root) => put(root, '/srv/app', `${b}/ok-static`) },
    { script: 'cd', args: ['x'], setup: (root) => mkdirSync(`${root}/srv`) },
    { script: 'pathAdded', args: [], setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`) },
    { script: 'pathAdded', args: ['x'] },
    { script: 'pathAppended', args: [], setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`) },
    { script: 'pathAppended', args: [] },
    { script: 'pathQuoted', args: [], setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`) },
    { script: 'pathQuoted', args: [], setup: (root) => put(root, '/opt/bin/app', `${b}/ok-static`) },
    { script: 'optionFirst', args: ['--port', '1'] },
    { script: 'optionFirst', args: ['--port', '1'], setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`) },
    { script: 'optionFirst', args: ['/app', '--port'] },
    { script: 'optionFirstOneLine', args: ['-x'] },
    { script: 'optionFirstOneLine', args: ['app'], setup: (root) => put(root, '/bin/app', `${b}/ok-static`) },
    // a login shell reads /etc/profile first: the script is not followed (its PATH may change)
    { script: 'login', args: [], setup: profile },
    { script: 'plain', args: ['app'], setup: profile, options: ['-l'] },
    { script: 'quoteInComment', args: ['app'] },
    // a first argument that is an option: bash's and busybox's exec refuse it, dash's looks for a program of that name
    { script: 'plain', args: ['-x', 'y'] },
    { script: 'plain', args: ['--verbose'] },
    { script: 'plain', args: ['-a'] },
    // under set -u, the option test reads $1: with no arguments the shell stops there
    { script: 'optionFirst', args: [] },
    { script: 'unsetOneLine', args: [] },
    { script: 'unsetOneLine', args: ['-x'], setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`) },
    // bash's exec prints its help text and fails: the verdict, and no line of its words
    { script: 'plain', args: ['--help'], shells: ['bash'], noLine: true },
    { script: 'plain', args: ['-l', '/app'], setup: (root) => put(root, '/app', `${b}/ok-static`) },
    // a first word from "$@" is a name, never bash's time keyword
    { script: 'forked', args: ['time', '/app'], setup: (root) => put(root, '/app', `${b}/ok-static`), shells: ['dash', 'bash'] },
    { script: 'forked', args: ['/app'] },
    { script: 'forked', args: ['app'], setup: (root) => put(root, '/bin/app', `${b}/ok-static`) },
  ];
  for (const shell of ['busybox', 'dash', 'bash'] as const) {
    for (const c of cases) {
      if (c.shells && !c.shells.includes(shell)) continue;
      for (const direct of c.options ? [false] : [true, false]) {
        const argv = direct ? ['/entrypoint.sh', ...c.args] : ['/bin/sh', ...(c.options ?? []), '/entrypoint.sh', ...c.args];
        it(`${shell}: ${c.script} script, ${JSON.stringify(argv)}${c.setup ? '' : ', nothing else'}`, async () => {
          const root = `${tmp.dir}/${shell}-${Math.random().toString(36).slice(2)}`;
          shellRoot(root, shell, busybox);
          write(root, '/entrypoint.sh', entry[c.script]);
          chmodSync(`${root}/entrypoint.sh`, 0o755);
          c.setup?.(root);
          const real = spawnSync('chroot', [root, ...argv], {
            encoding: 'utf8',
            env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
          });
          const m = await loadImage(root, { analysis: true });
          try {
            const r = buildReport(m, { entrypoint: argv });
            // only the line ends: a line the shell prints may end in a blank or a CR (a script saved on Windows)
            const stderr = (real.stderr + real.stdout).replace(/^\n+|\n+$/g, '');
            assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', stderr);
            if (real.status === 0) return;
            const first = r.diagnostics.find((d) => d.severity === 'error')!;
            assert.equal(first.code, c.code ?? 'shell-command-fails');
            assert.equal(first.runtimeError, c.noLine ? null : stderr);
          } finally {
            await m.close();
          }
        });
      }
    }
  }
});

// busybox 1.32.1 and before (Alpine 3.13 and before) number the words of `sh -c` line 1, 1.33 on line 0:
// Debian's 1.35 says so here, and the same binary under an older banner is read as the older release
describe('busybox numbers the words of sh -c by its release', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  it('line 0 from 1.33 on, line 1 before', async () => {
    const busybox = debianBusybox(tmp.dir);
    const real = spawnSync(busybox, ['sh', '-c', 'exec nosuch'], { encoding: 'utf8' });
    for (const [banner, line] of [
      [null, 0],
      ['BusyBox v1.31.1', 1],
    ] as const) {
      const root = `${tmp.dir}/root-${line}`;
      mkdirSync(`${root}/bin`, { recursive: true });
      const bytes = readFileSync(busybox);
      if (banner) {
        const at = bytes.indexOf('BusyBox v1.35.0');
        assert.ok(at > 0, 'the banner of the release Debian ships');
        bytes.write(banner, at, 'latin1');
      }
      writeFileSync(`${root}/bin/busybox`, bytes, { mode: 0o755 });
      link(root, '/bin/sh', 'busybox');
      const m = await loadImage(root, { analysis: true });
      try {
        const r = buildReport(m, { entrypoint: ['/bin/sh', '-c', 'exec nosuch'] });
        const said = r.diagnostics.find((d) => d.severity === 'error')?.runtimeError;
        assert.equal(said, `/bin/sh: exec: line ${line}: nosuch: not found`);
        if (!banner) assert.equal(real.stderr.trim(), 'sh: exec: line 0: nosuch: not found');
      } finally {
        await m.close();
      }
    }
  });
});

describe('a #! script the user may execute but not read: its interpreter starts, then cannot open it', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const busybox = skip ? '' : debianBusybox(tmp.dir);

  for (const shell of ['busybox', 'dash', 'bash'] as const) {
    for (const [mode, argv] of [
      [0o711, ['/app.sh']],
      [0o711, ['/bin/sh', '-c', '/app.sh']],
      [0o755, ['/app.sh']],
    ] as const) {
      it(`${shell}: mode ${mode.toString(8)}, ${JSON.stringify(argv)} as uid 1000`, async () => {
        const root = `${tmp.dir}/${shell}-${mode.toString(8)}-${argv.length}`;
        shellRoot(root, shell, busybox);
        write(root, '/app.sh', '#!/bin/sh\necho started\n');
        chmodSync(`${root}/app.sh`, mode);
        const real = spawnSync('chroot', ['--userspec=1000:1000', root, ...argv], {
          encoding: 'utf8',
          env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
        });
        const m = await loadImage(root, { analysis: true });
        try {
          m.config = configAs([...argv], '1000:1000');
          const r = buildReport(m, {});
          assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', real.stderr);
          if (real.status === 0) return;
          const first = r.diagnostics.find((d) => d.severity === 'error')!;
          assert.equal(first.code, 'script-unreadable');
          assert.equal(first.runtimeError, real.stderr.trim());
        } finally {
          await m.close();
        }
      });
    }
  }
});

describe('an entrypoint script the shells may read differently is not followed', () => {
  const follows = (text: string, env: string[] = []) => lastCommand(text, env, ['app'], () => '/srv') !== null;
  it('follows the plain shape', () => assert.equal(follows('#!/bin/sh\nset -e\nexec "$@"\n'), true));
  it("a shell-form command's variable the image does not set may be given at run time: not followed, unless the environment is whole", async () => {
    const tmp = tempDir();
    try {
      glibcRoot(tmp.dir);
      put(tmp.dir, '/bin/sh', '/bin/dash');
      const m = await loadImage(tmp.dir, { analysis: true });
      try {
        const argv = ['/bin/sh', '-c', 'exec $APP_HOME/bin/server'];
        assert.equal(buildReport(m, { entrypoint: argv }).verdict, 'starts');
        assert.equal(buildReport(m, { entrypoint: argv, envComplete: true }).verdict, 'fails');
      } finally {
        await m.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
  it('~ after = or : is the home folder to the shells', () => {
    assert.equal(follows('#!/bin/sh\nexport PATH=~/bin:/usr/bin\nexec app\n'), false);
    assert.equal(follows('#!/bin/sh\nPATH=/usr/bin:~/.local/bin\nexec app\n'), false);
  });
  it('a relative cd looks in CDPATH first', () => {
    assert.equal(follows('#!/bin/sh\ncd srv\nexec ./app\n'), true);
    assert.equal(follows('#!/bin/sh\ncd srv\nexec ./app\n', ['CDPATH=/opt']), false);
    assert.equal(follows('#!/bin/sh\ncd /srv\nexec ./app\n', ['CDPATH=/opt']), true);
  });
  it('a script saved on Windows is followed only where the shell is known, and only with the CR at the end of a line', () => {
    const crlf = '#!/bin/sh\r\nset -e\r\nexec "$@"\r\n';
    assert.equal(
      lastCommand(crlf, [], ['app'], () => null),
      null,
    );
    assert.deepEqual(
      lastCommand(crlf, [], ['app'], () => null, '/', { kind: 'dash' }),
      { stop: 2, said: [{ line: 2, what: 'set' }] },
    );
    assert.equal(
      lastCommand('#!/bin/sh\nexec app\rx\n', [], [], () => null, '/', { kind: 'dash' }),
      null,
    );
    // the option test's lines with a CR are a syntax error to the shells: not followed
    const idiom = '#!/bin/sh\r\nif [ "${1#-}" != "$1" ]; then\r\n\tset -- app "$@"\r\nfi\r\nexec "$@"\r\n';
    assert.equal(
      lastCommand(idiom, [], ['-x'], () => null, '/', { kind: 'busybox' }),
      null,
    );
  });
  it('under set -u, the option test of an unset $1 stops the shell', () => {
    const idiom = '#!/bin/sh\nset -u\nif [ "${1#-}" != "$1" ]; then set -- app "$@"; fi\nexec app "$@"\n';
    assert.deepEqual(
      lastCommand(idiom, [], [], () => null),
      { unsetArg: 3 },
    );
    assert.notEqual(
      lastCommand(idiom, [], ['-x'], () => null),
      null,
    );
  });
});

/**
 * A shell-form command: the shell starts, then runs the script's program. Each case is run
 * for real, `sh -c SCRIPT` in a chroot of the same root with dash and with bash as /bin/sh,
 * and the verdict and the shell's line must be what they did. (busybox's words are checked
 * against docker run in the diagnosis suite: shell-form-loader-missing.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { available, glibcRoot, link, put, sh, write } from './helpers/roots.js';
import { tempDir } from './helpers/build.js';

const isRoot = process.getuid?.() === 0;
const needs = ['gcc', 'chroot', 'dash', 'bash'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : !isRoot ? 'needs root for chroot' : false;
if (skip && process.env.CI === 'true') throw new Error(`shell tests cannot run under CI: ${skip}`);

describe("shell-form commands: the program the shell runs, in the shell's words", { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);

  /** A root with `shell` as /bin/sh and what `setup` adds; the real run and scratchscope's report of `sh -c script`. */
  async function both(shell: 'dash' | 'bash', script: string, setup: (root: string) => void) {
    const root = `${tmp.dir}/${shell}-${Math.random().toString(36).slice(2)}`;
    glibcRoot(root);
    // dash copied to /bin/sh (told by its bytes); bash linked (told by its name)
    if (shell === 'dash') put(root, '/bin/sh', '/bin/dash');
    else {
      put(root, `/usr/bin/${shell}`, `/bin/${shell}`);
      link(root, '/bin/sh', `/usr/bin/${shell}`);
    }
    if (shell === 'bash') put(root, '/lib/x86_64-linux-gnu/libtinfo.so.6', '/lib/x86_64-linux-gnu/libtinfo.so.6');
    setup(root);
    const real = spawnSync('chroot', [root, '/bin/sh', '-c', script], {
      encoding: 'utf8',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const m = await loadImage(root, { analysis: true });
    try {
      const r = buildReport(m, { entrypoint: ['/bin/sh', '-c', script] });
      rmSync(root, { recursive: true, force: true });
      return { real: { status: real.status, stderr: real.stderr.trim() }, r };
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

  /** `code`: the first error's, when the loader (not the shell) prints it. */
  const cases: { what: string; script: string; setup: (root: string) => void; code?: string }[] = [
    {
      what: 'a library it needs is missing: the loader says so, naming it as the shell called it',
      script: 'app',
      setup: (root) => put(root, '/usr/local/bin/app', `${b}/ok-needsx`),
      code: 'library-missing',
    },
    { what: 'it runs', script: '/app --flag "a b"', setup: (root) => put(root, '/app', `${b}/ok`) },
    { what: 'the program is missing', script: '/app', setup: () => {} },
    { what: 'a bare name PATH does not have', script: 'app x', setup: () => {} },
    { what: 'a bare name PATH has', script: 'exec app x', setup: (root) => put(root, '/usr/bin/app', `${b}/ok-static`) },
    {
      what: 'its loader is missing',
      script: '/app',
      setup: (root) => put(root, '/app', `${b}/ok-noloader`),
    },
    {
      what: 'it is not executable',
      script: 'FOO=1 /app',
      setup: (root) => {
        put(root, '/app', `${b}/ok-static`);
        chmodSync(`${root}/app`, 0o644);
      },
    },
    { what: 'it is a folder', script: '/app', setup: (root) => mkdirSync(`${root}/app`) },
    { what: 'a script without #!: the shell reads it', script: '/run.sh', setup: (root) => put(root, '/run.sh', `${b}/noshebang`) },
    {
      what: 'a #! interpreter that is missing',
      script: '/run.py',
      setup: (root) => {
        write(root, '/run.py', '#!/usr/bin/python3\nprint(1)\n');
        chmodSync(`${root}/run.py`, 0o755);
      },
    },
  ];

  for (const shell of ['dash', 'bash'] as const) {
    for (const c of cases) {
      it(`${shell}: ${c.what}`, async () => {
        const { real, r } = await both(shell, c.script, c.setup);
        const started = real.status === 0;
        assert.equal(r.verdict, started ? 'starts' : 'fails', `${c.script}: ${real.stderr}`);
        if (started) return;
        const first = r.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, c.code ?? 'shell-command-fails');
        assert.equal(first.runtimeError, real.stderr);
      });
    }
  }
});

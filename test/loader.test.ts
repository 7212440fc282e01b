/**
 * Every loader rule, each on a root built from real gcc / musl-gcc output, checked
 * against what the real loader prints for the same root in a chroot.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { decodeElf } from '../src/elf/decode.js';
import { FileBytes } from '../src/fs/index.js';
import { renderLdd } from '../src/render/ldd.js';
import { dirname, join } from 'node:path';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { readFileSync } from 'node:fs';
import { LIMITS } from '../src/loader/index.js';
import { preloadFileNames } from '../src/loader/preload.js';
import { tinyElf } from './helpers/tinyelf.js';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/build.js';
import { at } from './helpers/assert.js';
import { analyzeBinaries, closure } from '../src/report/binaries.js';
import {
  type Listing,
  available,
  configAs,
  glibcRoot,
  link,
  muslRoot,
  ourList,
  put,
  realList,
  realRun,
  resolveIn,
  sh,
  write,
} from './helpers/roots.js';

const SRC = new URL('../fixtures/src/loader/', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;
const needs = ['gcc', 'musl-gcc', 'chroot', 'ldconfig', 'unshare'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : !isRoot ? 'needs root for chroot' : false;
if (skip && process.env.CI === 'true') throw new Error(`loader tests cannot run under CI: ${skip}`);

const GLIBC_LD = '/lib64/ld-linux-x86-64.so.2';

function same(ours: Listing, real: Listing, prog: string) {
  assert.deepEqual(
    { error: ours.error, list: [...ours.list].sort() },
    { error: real.error, list: [...real.list].sort() },
    `${prog}: scratchscope and the real loader disagree`,
  );
}

/**
 * A checker for one loader: builds a root (its loader, then `setup`), asks scratchscope and
 * the real loader in a chroot, compares, and returns scratchscope's answer for further checks.
 */
function comparer(dir: () => string, makeRoot: (root: string) => void, loader: string) {
  let n = 0;
  return async (setup: (root: string) => void, prog: string, libraryPath?: string) => {
    const root = `${dir()}/root${n++}`;
    makeRoot(root);
    setup(root);
    const ours = await resolveIn(root, prog, libraryPath ? [`LD_LIBRARY_PATH=${libraryPath}`] : []);
    same(ourList(ours), realList(root, loader, prog, libraryPath), prog);
    return ours;
  };
}
const MUSL_LD = '/lib/ld-musl-x86_64.so.1';

describe('glibc loader rules, checked against ld.so itself', { skip }, () => {
  const tmp = tempDir();
  const b = `${tmp.dir}/build`;
  after(tmp.cleanup);

  before(() => {
    mkdirSync(b);
    const cc = (...args: string[]) => sh('gcc', ['-O1', ...args], { cwd: b });
    cc('-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-o', 'libfoo.so.1', SRC + 'foo.c');
    cc('-shared', '-fPIC', '-Wl,-soname,libbar.so.1', '-o', 'libbar.so.1', SRC + 'bar.c', '-L.', '-l:libfoo.so.1');
    cc('-o', 'app-plain', SRC + 'app.c', '-L.', '-l:libfoo.so.1');
    cc('-o', 'app-rpath', SRC + 'app.c', '-L.', '-l:libfoo.so.1', '-Wl,--disable-new-dtags,-rpath,/opt/rp');
    cc('-o', 'app-runpath', SRC + 'app.c', '-L.', '-l:libfoo.so.1', '-Wl,--enable-new-dtags,-rpath,/opt/rn');
    cc('-o', 'app-origin', SRC + 'app.c', '-L.', '-l:libfoo.so.1', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib');
    cc(
      '-DUSE_BAR',
      '-o',
      'app-bar-rpath',
      SRC + 'app.c',
      '-L.',
      '-l:libbar.so.1',
      '-Wl,-rpath-link,.',
      '-Wl,--disable-new-dtags,-rpath,/opt/chain',
    );
    cc(
      '-DUSE_BAR',
      '-o',
      'app-bar-runpath',
      SRC + 'app.c',
      '-L.',
      '-l:libbar.so.1',
      '-Wl,-rpath-link,.',
      '-Wl,--enable-new-dtags,-rpath,/opt/chain',
    );
    cc('-shared', '-fPIC', '-Wl,-soname,libver.so.1', '-Wl,--version-script=' + SRC + 'ver1.map', '-o', 'libver-v1.so', SRC + 'ver.c');
    cc(
      '-DWITH_V2',
      '-shared',
      '-fPIC',
      '-Wl,-soname,libver.so.1',
      '-Wl,--version-script=' + SRC + 'ver2.map',
      '-o',
      'libver-v2.so',
      SRC + 'ver.c',
    );
    cc('-o', 'app-ver', SRC + 'verapp.c', 'libver-v2.so');
    cc('-m32', '-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-o', 'libfoo32.so.1', SRC + 'foo.c');
  });

  const both = comparer(() => tmp.dir, glibcRoot, GLIBC_LD);
  const via = (r: Awaited<ReturnType<typeof both>>, name: string) => r.dependencies.find((d) => d.name === name)!;

  it('finds nothing where nothing is, and says where it looked', async () => {
    const r = await both((root) => put(root, '/app', `${b}/app-plain`), '/app');
    const d = via(r, 'libfoo.so.1');
    assert.equal(d.error, 'cannot open shared object file: No such file or directory');
    assert.deepEqual(d.searched, [
      '/lib/x86_64-linux-gnu/libfoo.so.1',
      '/usr/lib/x86_64-linux-gnu/libfoo.so.1',
      '/lib/libfoo.so.1',
      '/usr/lib/libfoo.so.1',
    ]);
  });

  // a folder opens, and its read fails (EISDIR): ld.so stops there, naming it ("Error 21": its
  // own short list of errno words). A loop of links (ELOOP) ends the list it is in; the next
  // list is still searched.
  it('a folder at a candidate stops the search, naming it', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      mkdirSync(`${root}/lib/x86_64-linux-gnu/libfoo.so.1`, { recursive: true });
      put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    assert.deepEqual(
      [via(r, 'libfoo.so.1').error, via(r, 'libfoo.so.1').errorPath],
      ['cannot read file data: Error 21', '/lib/x86_64-linux-gnu/libfoo.so.1'],
    );
  });

  it('a library shorter than an ELF header is "file too short", its magic or not', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      mkdirSync(`${root}/lib/x86_64-linux-gnu`, { recursive: true });
      writeFileSync(`${root}/lib/x86_64-linux-gnu/libfoo.so.1`, readFileSync(`${b}/libfoo.so.1`).subarray(0, 40));
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').error, 'file too short');
  });

  it('-z nodefaultlib: the cache is used, less its entries in the system directories', async () => {
    sh('gcc', ['-O1', '-o', `${b}/app-nodeflib`, SRC + 'app.c', '-L.', '-l:libfoo.so.1', '-Wl,-z,nodefaultlib'], { cwd: b });
    for (const dir of ['/usr/local/lib', '/usr/lib/x86_64-linux-gnu']) {
      const r = await both((root) => {
        put(root, '/app', `${b}/app-nodeflib`);
        put(root, `${dir}/libfoo.so.1`, `${b}/libfoo.so.1`);
        write(root, '/etc/ld.so.conf', `${dir}\n`);
        sh('ldconfig', ['-r', root]);
      }, '/app');
      assert.equal(!via(r, 'libfoo.so.1').error, dir === '/usr/local/lib', dir);
    }
  });

  // set-user-ID to root, run as another user: secure mode, where ld.so drops LD_LIBRARY_PATH and $ORIGIN
  it("a set-user-ID program run as another user ignores LD_LIBRARY_PATH and its own $ORIGIN; a library's $ORIGIN stands", async () => {
    sh(
      'gcc',
      [
        '-O1',
        '-shared',
        '-fPIC',
        '-Wl,-soname,libbar.so.1',
        '-o',
        'libbar-origin.so.1',
        SRC + 'bar.c',
        '-L.',
        '-l:libfoo.so.1',
        '-Wl,--enable-new-dtags,-rpath,$ORIGIN',
      ],
      { cwd: b },
    );
    for (const [what, prog, env, libs] of [
      ['LD_LIBRARY_PATH', 'app-plain', ['LD_LIBRARY_PATH=/opt/l'], [['/opt/l/libfoo.so.1', 'libfoo.so.1']]],
      ['$ORIGIN', 'app-origin', [], [['/lib/libfoo.so.1', 'libfoo.so.1']]],
      [
        "a library's $ORIGIN",
        'app-bar-runpath',
        [],
        [
          ['/opt/chain/libbar.so.1', 'libbar-origin.so.1'],
          ['/opt/chain/libfoo.so.1', 'libfoo.so.1'],
        ],
      ],
    ] as const) {
      for (const mode of [0o4755, 0o755]) {
        const root = `${tmp.dir}/suid-${what.replace(/\W/g, '')}-${mode.toString(8)}`;
        glibcRoot(root);
        put(root, '/bin/app', `${b}/${prog}`);
        chmodSync(`${root}/bin/app`, mode);
        for (const [to, from] of libs) put(root, to, `${b}/${from}`);
        const real = spawnSync('chroot', ['--userspec=1000:1000', root, '/bin/app'], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, ...Object.fromEntries(env.map((e) => e.split('=') as [string, string])) },
        });
        const m = await loadImage(root, { analysis: true });
        try {
          m.config = configAs(['/bin/app'], '1000:1000');
          m.config.env.push(...env);
          const r = buildReport(m);
          assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', `${what} ${mode.toString(8)}: ${real.stderr}`);
          if (real.status !== 0) assert.equal(r.diagnostics.find((d) => d.severity === 'error')?.runtimeError, real.stderr.trim());
        } finally {
          await m.close();
        }
      }
    }
  });

  // file capabilities a user other than root gains put the program in secure mode too (commoncap.c);
  // root gains none it lacks. The layer carries them as GNU tar --xattrs writes them.
  it('a program with file capabilities run by a user other than root ignores LD_LIBRARY_PATH; run by root it does not', async () => {
    const root = `${tmp.dir}/fcaps`;
    glibcRoot(root);
    put(root, '/bin/app', `${b}/app-plain`);
    put(root, '/opt/l/libfoo.so.1', `${b}/libfoo.so.1`);
    sh('setcap', ['cap_net_bind_service+ep', `${root}/bin/app`]);
    const tar = `${tmp.dir}/fcaps.tar`;
    sh('tar', ['--xattrs', '--xattrs-include=security.capability', '-cf', tar, '-C', root, '.']);
    for (const user of ['1000:1000', '0:0']) {
      const real = spawnSync('chroot', [`--userspec=${user}`, root, '/bin/app'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, LD_LIBRARY_PATH: '/opt/l' },
      });
      const m = await loadImage(tar, { analysis: true });
      try {
        m.config = configAs(['/bin/app'], user);
        m.config.env.push('LD_LIBRARY_PATH=/opt/l');
        const r = buildReport(m);
        assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', `${user}: ${real.stderr}`);
        if (real.status !== 0) {
          const e = r.diagnostics.find((d) => d.severity === 'error');
          assert.equal(e?.runtimeError, real.stderr.trim());
          assert.match(e?.fix ?? '', /secure mode \(file capabilities, run by uid 1000\).*\/opt\/l\/libfoo\.so\.1/);
        }
      } finally {
        await m.close();
      }
    }
  });

  it('a loop of links ends the list it is in', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      link(root, '/lib/x86_64-linux-gnu/libfoo.so.1', '/lib/x86_64-linux-gnu/libfoo.so.1');
      put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').error, 'cannot open shared object file: Error 40');
    const next = await both(
      (root) => {
        put(root, '/app', `${b}/app-plain`);
        link(root, '/opt/l/libfoo.so.1', '/opt/l/libfoo.so.1');
        put(root, '/opt/m/libfoo.so.1', `${b}/libfoo.so.1`);
        put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      },
      '/app',
      '/opt/l:/opt/m',
    );
    assert.equal(via(next, 'libfoo.so.1').via, 'default');
  });

  it('a path through a file (ENOTDIR) does not end the list', async () => {
    const r = await both(
      (root) => {
        put(root, '/app', `${b}/app-plain`);
        put(root, '/opt/m/libfoo.so.1', `${b}/libfoo.so.1`);
      },
      '/app',
      '/app:/opt/m',
    );
    assert.equal(via(r, 'libfoo.so.1').via, 'LD_LIBRARY_PATH');
  });

  // a file cut short: its segments are mapped all the same, and the first touch of a page past
  // the end kills the process (SIGBUS, SIGSEGV) with no message. Cut section headers alone are harmless.
  it('a program, loader or library cut short crashes at start; cut section headers do not', async () => {
    const cut = (from: string, to: string, bytes: number) => {
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, readFileSync(from).subarray(0, bytes));
    };
    const size = (f: string) => statSync(f).size;
    const lib = `${b}/libfoo.so.1`;
    const ld = '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2';
    const cases: [string, (root: string) => void][] = [
      ['the library', (root) => cut(lib, `${root}/lib/x86_64-linux-gnu/libfoo.so.1`, 4096)],
      ['the program', (root) => (put(root, '/lib/x86_64-linux-gnu/libfoo.so.1', lib), cut(`${b}/app-plain`, `${root}/app`, 4096))],
      ['the loader', (root) => (put(root, '/lib/x86_64-linux-gnu/libfoo.so.1', lib), cut(ld, `${root}${ld}`, size(ld) >> 1))],
      ['the section headers only', (root) => cut(lib, `${root}/lib/x86_64-linux-gnu/libfoo.so.1`, size(lib) - 64)],
    ];
    for (const [what, make] of cases) {
      const root = `${tmp.dir}/cut-${what.replace(/ /g, '-')}`;
      glibcRoot(root);
      put(root, '/app', `${b}/app-plain`);
      make(root);
      const real = realRun(root, '/app');
      const m = await loadImage(root, { analysis: true });
      try {
        const r = buildReport(m, { entrypoint: ['/app'] });
        assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', `${what}: ${real.status} ${real.stderr}`);
        if (real.status !== 0) {
          assert.equal(real.stderr, '', what);
          assert.equal(r.diagnostics.find((d) => d.severity === 'error')?.code, 'elf-truncated', what);
        }
      } finally {
        await m.close();
      }
    }
  });

  it('DT_RPATH', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-rpath`);
      put(root, '/opt/rp/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').via, 'rpath');
  });

  it('DT_RUNPATH, and $ORIGIN', async () => {
    let r = await both((root) => {
      put(root, '/app', `${b}/app-runpath`);
      put(root, '/opt/rn/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').via, 'runpath');
    const origin = (root: string) => {
      put(root, '/srv/bin/app', `${b}/app-origin`);
      put(root, '/srv/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      link(root, '/usr/local/bin/app', '/srv/bin/app');
    };
    r = await both(origin, '/srv/bin/app');
    assert.deepEqual([via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved], ['runpath', '/srv/bin/../lib/libfoo.so.1']);
    // Started through a symlink, $ORIGIN is still the program's real folder (the kernel
    // execs it, ld.so reads /proc/self/exe); `ld.so --list` would not show that, a run does.
    const root = `${tmp.dir}/origin-link`;
    glibcRoot(root);
    origin(root);
    r = await resolveIn(root, '/usr/local/bin/app');
    assert.equal(via(r, 'libfoo.so.1').resolved, '/srv/bin/../lib/libfoo.so.1');
    assert.deepEqual(realRun(root, '/usr/local/bin/app'), { status: 0, stderr: '' });
  });

  it('DT_RPATH is inherited by dependencies; DT_RUNPATH is not', async () => {
    const setup = (app: string) => (root: string) => {
      put(root, '/app', `${b}/${app}`);
      put(root, '/opt/chain/libbar.so.1', `${b}/libbar.so.1`);
      put(root, '/opt/chain/libfoo.so.1', `${b}/libfoo.so.1`);
    };
    const r1 = await both(setup('app-bar-rpath'), '/app');
    assert.equal(via(r1, 'libfoo.so.1').via, 'rpath');
    const r2 = await both(setup('app-bar-runpath'), '/app');
    assert.equal(via(r2, 'libbar.so.1').via, 'runpath');
    assert.ok(via(r2, 'libfoo.so.1').error, "libbar cannot use the program's RUNPATH");
  });

  it('LD_LIBRARY_PATH comes before DT_RUNPATH', async () => {
    const r = await both(
      (root) => {
        put(root, '/app', `${b}/app-runpath`);
        put(root, '/opt/rn/libfoo.so.1', `${b}/libfoo.so.1`);
        put(root, '/opt/ld/libfoo.so.1', `${b}/libfoo.so.1`);
      },
      '/app',
      '/opt/ld',
    );
    assert.deepEqual([via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved], ['LD_LIBRARY_PATH', '/opt/ld/libfoo.so.1']);
  });

  it('LD_LIBRARY_PATH: ";" separates too, and an empty element is the working folder, opened by the bare name', async () => {
    const root = `${tmp.dir}/llp`;
    glibcRoot(root);
    put(root, '/app', `${b}/app-plain`);
    put(root, '/opt/ld/libfoo.so.1', `${b}/libfoo.so.1`);
    let r = await resolveIn(root, '/app', ['LD_LIBRARY_PATH=/x;/opt/ld']);
    assert.equal(via(r, 'libfoo.so.1').resolved, '/opt/ld/libfoo.so.1');
    const run = spawnSync('chroot', [root, '/app'], { env: { ...process.env, LD_LIBRARY_PATH: '/x;/opt/ld' } });
    assert.equal(run.status, 0, String(run.stderr));
    const root2 = `${tmp.dir}/llp-empty`;
    glibcRoot(root2);
    put(root2, '/app', `${b}/app-plain`);
    put(root2, '/libfoo.so.1', `${b}/libfoo.so.1`);
    r = await resolveIn(root2, '/app', ['LD_LIBRARY_PATH=/x::/y']);
    assert.deepEqual([via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved], ['LD_LIBRARY_PATH', 'libfoo.so.1']);
    // ld.so lists an object whose name is its path without "=>"
    assert.match(sh('chroot', [root2, GLIBC_LD, '--library-path', '/x::/y', '--list', '/app']), /^\tlibfoo\.so\.1 \(0x/m);
  });

  it("LD_LIBRARY_PATH expands $ORIGIN (the program's folder), $LIB and $PLATFORM; another $NAME stays as written", async () => {
    const r = await both(
      (root) => {
        put(root, '/usr/bin/app', `${b}/app-plain`);
        put(root, '/usr/lib/own/libfoo.so.1', `${b}/libfoo.so.1`);
      },
      '/usr/bin/app',
      '/x/$FOO:$ORIGIN/../lib/own',
    );
    assert.deepEqual([via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved], ['LD_LIBRARY_PATH', '/usr/bin/../lib/own/libfoo.so.1']);
    assert.equal(via(r, 'libfoo.so.1').searched[0], '/x/$FOO/libfoo.so.1');
    const r2 = await both(
      (root) => {
        put(root, '/usr/bin/app', `${b}/app-plain`);
        put(root, '/opt/lib/x86_64-linux-gnu/libfoo.so.1', `${b}/libfoo.so.1`);
      },
      '/usr/bin/app',
      '/opt/${LIB}',
    );
    assert.equal(via(r2, 'libfoo.so.1').resolved, '/opt/lib/x86_64-linux-gnu/libfoo.so.1');
  });

  it('/etc/ld.so.cache built by ldconfig -r; a ld.so.conf without a cache does nothing', async () => {
    const setup = (cache: boolean) => (root: string) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/opt/cached/libfoo.so.1', `${b}/libfoo.so.1`);
      write(root, '/etc/ld.so.conf', '/opt/cached\n');
      if (cache) sh('ldconfig', ['-r', root]);
    };
    const r = await both(setup(true), '/app');
    assert.deepEqual([via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved], ['ld.so.cache', '/opt/cached/libfoo.so.1']);
    const r2 = await both(setup(false), '/app');
    assert.ok(via(r2, 'libfoo.so.1').error);
    assert.ok(r2.notes.some((x) => /ld\.so\.conf has no effect/.test(x)));
  });

  it('ld.so.cache: entries of another class are never taken; a stale entry is not made up for by another', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/opt/c32/libfoo.so.1', `${b}/libfoo32.so.1`);
      write(root, '/etc/ld.so.conf', '/opt/c32\n');
      sh('ldconfig', ['-r', root]);
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').error, 'cannot open shared object file: No such file or directory');
    assert.deepEqual(via(r, 'libfoo.so.1').skipped, []);
    const stale = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/opt/a/libfoo.so.1', `${b}/libfoo.so.1`);
      put(root, '/opt/b/libfoo.so.1', `${b}/libfoo.so.1`);
      write(root, '/etc/ld.so.conf', '/opt/a\n/opt/b\n');
      sh('ldconfig', ['-r', root]);
      rmSync(`${root}/opt/a/libfoo.so.1`);
    }, '/app');
    assert.ok(via(stale, 'libfoo.so.1').error);
  });

  it('a library of the wrong class is skipped, and named when nothing else fits', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-rpath`);
      put(root, '/opt/rp/libfoo.so.1', `${b}/libfoo32.so.1`);
      put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    const d = via(r, 'libfoo.so.1');
    assert.deepEqual([d.via, d.resolved], ['default', '/usr/lib/libfoo.so.1']);
    assert.deepEqual(d.skipped, [{ path: '/opt/rp/libfoo.so.1', reason: 'wrong ELF class: ELFCLASS32' }]);
    const r2 = await both((root) => {
      put(root, '/app', `${b}/app-rpath`);
      put(root, '/opt/rp/libfoo.so.1', `${b}/libfoo32.so.1`);
    }, '/app');
    assert.equal(via(r2, 'libfoo.so.1').error, 'wrong ELF class: ELFCLASS32');
  });

  it('a missing symbol version is found as ld.so reports it', async () => {
    const root = `${tmp.dir}/ver`;
    glibcRoot(root);
    put(root, '/app', `${b}/app-ver`);
    put(root, '/usr/lib/libver.so.1', `${b}/libver-v1.so`);
    const r = await resolveIn(root, '/app');
    assert.deepEqual(r.versionProblems, [{ library: '/usr/lib/libver.so.1', version: 'VER_2', requiredBy: '/app', weak: false }]);
    const real = sh('sh', ['-c', `chroot ${root} /app 2>&1; true`]);
    assert.match(real, /\/app: \/usr\/lib\/libver\.so\.1: version `VER_2' not found \(required by \/app\)/);
    // the cure is the build stage's libver, not a newer glibc
    const m = await loadImage(root, { analysis: true });
    try {
      const d = buildReport(m, { entrypoint: ['/app'] }).diagnostics.find((x) => x.code === 'symbol-version-missing');
      assert.deepEqual(d?.dockerfile, ['COPY --from=build /usr/lib/libver.so.1 /usr/lib/']);
      assert.match(d?.fix ?? '', /The build stage's \/usr\/lib\/libver\.so\.1/);
    } finally {
      await m.close();
    }
    put(root, '/usr/lib/libver.so.1', `${b}/libver-v2.so`);
    assert.deepEqual((await resolveIn(root, '/app')).versionProblems, []);
  });

  it('programs of one shape each get their own version problems, named after themselves', async () => {
    const root = `${tmp.dir}/ver-shape`;
    glibcRoot(root);
    put(root, '/app', `${b}/app-ver`);
    put(root, '/app2', `${b}/app-ver`);
    put(root, '/usr/lib/libver.so.1', `${b}/libver-v1.so`);
    const m = await loadImage(root, { analysis: true });
    try {
      const bins = analyzeBinaries(m);
      for (const p of ['/app', '/app2']) {
        const dep = bins.find((x) => x.path === p)!.dependencies.find((d) => d.name === 'libver.so.1')!;
        assert.deepEqual(dep.failedVersions, [{ version: 'VER_2', requiredBy: p, weak: false }]);
      }
    } finally {
      await m.close();
    }
  });

  it('a library that the first of its shape loads is answered as itself, not as a copy of that answer', async () => {
    // libA.so and libX.so need libY.so at VER_2 (one shape); libY.so defines VER_1 only and
    // needs libX.so: to ld.so, libX.so's libY.so needs libX.so itself, already loaded
    const d = `${tmp.dir}/self-shape`;
    mkdirSync(d, { recursive: true });
    writeFileSync(`${d}/y.c`, 'int y(void){return 1;}\n');
    writeFileSync(`${d}/x.c`, 'extern int y(void); int x(void){return y();}\n');
    writeFileSync(`${d}/v1.map`, 'VER_1 { global: y; local: *; };\n');
    writeFileSync(`${d}/v2.map`, 'VER_2 { global: y; local: *; };\n');
    const so = (out: string, soname: string, ...rest: string[]) =>
      sh('gcc', ['-shared', '-fPIC', '-nostdlib', '-Wl,--no-as-needed', `-Wl,-soname,${soname}`, '-o', out, ...rest], { cwd: d });
    so('libX-stub.so', 'libX.so', 'y.c');
    so('libY-v2.so', 'libY.so', '-Wl,--version-script=v2.map', 'y.c');
    so('libA.so', 'libA.so', 'x.c', 'libY-v2.so');
    so('libX.so', 'libX.so', 'x.c', 'libY-v2.so');
    so('libY.so', 'libY.so', '-Wl,--version-script=v1.map', 'y.c', 'libX-stub.so');
    const reportOf = async (withA: boolean) => {
      const root = `${d}/root-${withA}`;
      for (const f of withA ? ['libA.so', 'libX.so', 'libY.so'] : ['libX.so', 'libY.so']) put(root, `/lib/${f}`, `${d}/${f}`);
      const m = await loadImage(root, { analysis: true });
      try {
        return analyzeBinaries(m).find((x) => x.path === '/lib/libX.so')!;
      } finally {
        await m.close();
      }
    };
    const alone = await reportOf(false);
    assert.deepEqual(alone.missingVersions, ['VER_2 (/lib/libY.so)']);
    // resolved after libA.so, whose answer loads /lib/libX.so as a library: the same as alone
    assert.deepEqual(await reportOf(true), alone);
  });

  it("the system search path is the loader's own, read from the file PT_INTERP leads to, whatever the links", async () => {
    const HOST_LD = '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2';
    const base = (root: string) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6');
      put(root, '/usr/lib/x86_64-linux-gnu/libfoo.so.1', `${b}/libfoo.so.1`);
    };
    const shapes: [string, (root: string) => void, string][] = [
      // cp -L of what ldd lists: the loader as a regular file in /lib64
      ['a regular file', (root) => put(root, GLIBC_LD, HOST_LD), GLIBC_LD],
      ['an absolute link', (root) => (put(root, '/opt/ld/ld.so', HOST_LD), link(root, GLIBC_LD, '/opt/ld/ld.so')), '/opt/ld/ld.so'],
      [
        'a relative link',
        (root) => (put(root, HOST_LD, HOST_LD), link(root, GLIBC_LD, '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')),
        HOST_LD,
      ],
      [
        'a chain through /lib64 -> usr/lib64',
        (root) => {
          put(root, `/usr${HOST_LD}`, HOST_LD);
          link(root, '/lib64', 'usr/lib64');
          link(root, '/usr/lib64/ld-linux-x86-64.so.2', '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
        },
        `/usr${HOST_LD}`,
      ],
    ];
    const bare = comparer(
      () => `${tmp.dir}/shapes`,
      () => {},
      GLIBC_LD,
    );
    for (const [what, place, real] of shapes) {
      const r = await bare((root) => (base(root), place(root)), '/app').catch((e: Error) => assert.fail(`${what}: ${e.message}`));
      assert.equal(r.defaultDirsFrom, `read from ${real}`, what);
      assert.deepEqual(r.defaultDirs, ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib'], what);
      assert.deepEqual(
        [via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved],
        ['default', '/usr/lib/x86_64-linux-gnu/libfoo.so.1'],
        what,
      );
    }
  });

  it('without a loader to read, the defaults are assumed, and said to be', async () => {
    const root = `${tmp.dir}/noloader`;
    put(root, '/app', `${b}/app-plain`);
    put(root, '/lib/x86_64-linux-gnu/libfoo.so.1', `${b}/libfoo.so.1`);
    const r = await resolveIn(root, '/app');
    assert.match(r.defaultDirsFrom, /^assumed \(the loader is not in the image\): Debian's multiarch layout/);
    assert.equal(via(r, 'libfoo.so.1').via, 'default-assumed');
    const bytes = new FileBytes(`${root}/app`, 0, statSync(`${root}/app`).size);
    const text = renderLdd('/app', decodeElf(bytes), r);
    bytes.release();
    assert.match(
      text,
      /^ {2}default path \/lib\/x86_64-linux-gnu:\/usr\/lib\/x86_64-linux-gnu:\/lib:\/usr\/lib \(assumed \(the loader is not in the image\)/m,
    );
  });

  it('inspect lists the whole set a binary loads, not only its own needs', async () => {
    const root = `${tmp.dir}/closure`;
    glibcRoot(root);
    put(root, '/app', `${b}/app-bar-rpath`);
    put(root, '/opt/chain/libbar.so.1', `${b}/libbar.so.1`);
    put(root, '/opt/chain/libfoo.so.1', `${b}/libfoo.so.1`);
    const deps = closure(await resolveIn(root, '/app'));
    assert.deepEqual(
      deps.map((d) => [d.name, d.requiredBy, d.depth, d.resolved, d.via]),
      [
        ['libbar.so.1', '/app', 1, '/opt/chain/libbar.so.1', 'rpath'],
        ['libc.so.6', '/app', 1, '/lib/x86_64-linux-gnu/libc.so.6', 'default'],
        ['libfoo.so.1', '/opt/chain/libbar.so.1', 2, '/opt/chain/libfoo.so.1', 'rpath'],
      ],
    );
    assert.deepEqual(at(deps).searched, ['/opt/chain/libbar.so.1']);
  });

  it('glibc 2.36 still probes the legacy tls and platform subfolders of each folder first', async () => {
    for (const sub of ['tls', 'x86_64', 'tls/x86_64']) {
      const r = await both((root) => {
        put(root, '/app', `${b}/app-plain`);
        put(root, `/usr/lib/x86_64-linux-gnu/${sub}/libfoo.so.1`, `${b}/libfoo.so.1`);
        put(root, '/usr/lib/x86_64-linux-gnu/libfoo.so.1', `${b}/libfoo.so.1`);
      }, '/app');
      assert.equal(via(r, 'libfoo.so.1').resolved, `/usr/lib/x86_64-linux-gnu/${sub}/libfoo.so.1`, sub);
    }
  });

  it('a file that is not a library stops the search: ld.so names its path ("file too short", "invalid ELF header")', async () => {
    for (const [text, message] of [
      ['hello\n', 'file too short'],
      ['/* GNU ld script */\nINPUT(libfoo.so.2)\n'.padEnd(200, ' '), 'invalid ELF header'],
    ] as const) {
      const r = await both((root) => {
        put(root, '/app', `${b}/app-plain`);
        write(root, '/usr/lib/x86_64-linux-gnu/libfoo.so.1', text);
        put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      }, '/app');
      assert.deepEqual([via(r, 'libfoo.so.1').error, via(r, 'libfoo.so.1').errorPath], [message, '/usr/lib/x86_64-linux-gnu/libfoo.so.1']);
    }
  });

  it("LD_PRELOAD, then /etc/ld.so.preload: one that cannot be loaded is skipped in ld.so's words; one that loads brings its needs, which must be there", async () => {
    const root = `${tmp.dir}/preload`;
    glibcRoot(root);
    writeFileSync(`${b}/plain.c`, 'int main(void) { return 0; }\n');
    sh('gcc', ['-O1', '-o', `${b}/app-libc`, `${b}/plain.c`]);
    // a static helper sets the variable inside the root: the host's own chroot would be preloaded too
    writeFileSync(
      `${b}/with.c`,
      '#include <stdlib.h>\n#include <unistd.h>\nint main(int c, char **v) { putenv(v[1]); execv(v[2], v + 2); return 126; }\n',
    );
    sh('gcc', ['-O1', '-static', '-o', `${b}/with-env`, `${b}/with.c`]);
    put(root, '/with-env', `${b}/with-env`);
    put(root, '/app', `${b}/app-libc`);
    put(root, '/usr/lib/libbar.so.1', `${b}/libbar.so.1`); // needs libfoo.so.1, not there yet
    const real = (env: string) => sh('sh', ['-c', `chroot ${root} /with-env '${env}' /app 2>&1; echo "exit $?"`]);
    const shown = (r: Awaited<ReturnType<typeof resolveIn>>) => r.preloads.map((p) => [p.name, p.from, p.resolved, p.error]);

    let r = await resolveIn(root, '/app', ['LD_PRELOAD=/nope.so']);
    assert.deepEqual(shown(r), [['/nope.so', 'LD_PRELOAD', null, 'cannot open shared object file']]);
    assert.deepEqual(
      r.dependencies.filter((d) => d.error),
      [],
    );
    assert.equal(
      real('LD_PRELOAD=/nope.so'),
      "ERROR: ld.so: object '/nope.so' from LD_PRELOAD cannot be preloaded (cannot open shared object file): ignored.\nexit 0\n",
    );

    // a preloaded library's own need missing stops the start, as the program's would
    r = await resolveIn(root, '/app', ['LD_PRELOAD=libbar.so.1']);
    assert.deepEqual(shown(r), [['libbar.so.1', 'LD_PRELOAD', '/usr/lib/libbar.so.1', null]]);
    assert.deepEqual(
      r.dependencies.filter((d) => d.error).map((d) => [d.name, d.requiredBy]),
      [['libfoo.so.1', '/usr/lib/libbar.so.1']],
    );
    assert.match(
      real('LD_PRELOAD=libbar.so.1'),
      /error while loading shared libraries: libfoo\.so\.1: cannot open shared object file.*\nexit 127\n$/,
    );

    // /etc/ld.so.preload: names apart by white space or ":", after LD_PRELOAD's. Its "#" comments are
    // blanked by a loop that rescans from the file's start within a shrinking count: the second
    // comment is blanked only in part, and ld.so tries what is left of it as names
    write(root, '/etc/ld.so.preload', '# preloads\n/gone.so:libbar.so.1 # the one that loads\n');
    put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    r = await resolveIn(root, '/app', ['LD_PRELOAD=/nope.so']);
    assert.deepEqual(shown(r).slice(0, 3), [
      ['/nope.so', 'LD_PRELOAD', null, 'cannot open shared object file'],
      ['/gone.so', '/etc/ld.so.preload', null, 'cannot open shared object file'],
      ['libbar.so.1', '/etc/ld.so.preload', '/usr/lib/libbar.so.1', null],
    ]);
    assert.ok(r.preloads.length > 3, 'the comment left in part');
    assert.deepEqual(
      r.dependencies.filter((d) => d.error),
      [],
    );
    const lines = r.preloads
      .filter((p) => p.error)
      .map((p) => `ERROR: ld.so: object '${p.name}' from ${p.from} cannot be preloaded (${p.error}): ignored.\n`);
    assert.equal(real('LD_PRELOAD=/nope.so'), lines.join('') + 'exit 0\n');

    // the file's names, cut as ld.so cuts them: each missing one is named on its own line
    for (const text of [
      'a.so',
      'a.so b.so\n',
      '#x\n#y\na.so\n',
      'a.so#c\nb.so',
      'a.so\0b.so c.so\n',
      ' : a.so:\tb.so ',
      '# one\n# two three four\nz.so\n',
    ]) {
      write(root, '/etc/ld.so.preload', text);
      const tried = [...real('X=1').matchAll(/object '([^']*)' from \/etc\/ld\.so\.preload/g)].map((m) => m[1]);
      assert.deepEqual(preloadFileNames(Buffer.from(text, 'latin1')), tried, JSON.stringify(text));
    }

    // a path is opened as given: a folder's header cannot be read; a library of the other class is
    // named so, by path or by name; a name longer than 255 bytes is tried like any other; a program is refused
    write(root, '/etc/ld.so.preload', '');
    mkdirSync(`${root}/d`);
    put(root, '/usr/lib/arm.so', new URL('../fixtures/foreign/hello-armhf', import.meta.url).pathname);
    // a program is no library: a PIE (the app itself) and one linked -no-pie are refused by name
    sh('gcc', ['-O1', '-no-pie', '-o', `${b}/app-nopie`, `${b}/plain.c`]);
    put(root, '/nopie', `${b}/app-nopie`);
    for (const name of [
      '/d',
      '/usr/lib/arm.so',
      'arm.so',
      `${'/'.repeat(300)}gone.so`,
      `${'/'.repeat(300)}usr/lib/libbar.so.1`,
      '/app',
      '/nopie',
    ]) {
      r = await resolveIn(root, '/app', [`LD_PRELOAD=${name}`]);
      const said = r.preloads
        .filter((p) => p.error)
        .map((p) => `ERROR: ld.so: object '${p.name}' from ${p.from} cannot be preloaded (${p.error}): ignored.\n`);
      assert.equal(real(`LD_PRELOAD=${name}`), said.join('') + 'exit 0\n', name.slice(-20));
      assert.equal(r.preloads.length, 1);
    }
  });

  it('GLIBC_x.y needs are checked against the libc in the image', async () => {
    const root = `${tmp.dir}/glibcver`;
    glibcRoot(root);
    put(root, '/app', `${b}/app-plain`);
    put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    const r = await resolveIn(root, '/app');
    assert.deepEqual(r.versionProblems, []);
    assert.equal(r.dependencies.find((d) => d.name === 'libc.so.6')?.via, 'default');
  });
});

describe('musl loader rules, checked against ld-musl itself', { skip }, () => {
  const tmp = tempDir();
  const b = `${tmp.dir}/build`;
  after(tmp.cleanup);

  before(() => {
    mkdirSync(b);
    const cc = (...args: string[]) => sh('musl-gcc', ['-O1', ...args], { cwd: b });
    cc('-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-o', 'libfoo.so.1', SRC + 'foo.c');
    cc('-shared', '-fPIC', '-Wl,-soname,libbar.so.1', '-o', 'libbar.so.1', SRC + 'bar.c', '-L.', '-l:libfoo.so.1');
    cc('-o', 'app-plain', SRC + 'app.c', '-L.', '-l:libfoo.so.1');
    cc(
      '-DUSE_BAR',
      '-o',
      'app-bar-runpath',
      SRC + 'app.c',
      '-L.',
      '-l:libbar.so.1',
      '-Wl,-rpath-link,.',
      '-Wl,--enable-new-dtags,-rpath,/opt/chain',
    );
  });

  const both = comparer(() => tmp.dir, muslRoot, MUSL_LD);
  const via = (r: Awaited<ReturnType<typeof both>>, name: string) => r.dependencies.find((d) => d.name === name)!;

  it('libc is the loader itself; the default path is /lib:/usr/local/lib:/usr/lib', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/usr/local/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    assert.equal(via(r, 'libc.so').via, 'musl-libc');
    assert.deepEqual([via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved], ['default', '/usr/local/lib/libfoo.so.1']);
  });

  it('every name musl serves itself is never missing: lib + c|pthread|rt|m|dl|util|xnet + ".", any suffix, every arch', async () => {
    const archs = [
      'x86_64',
      'i386',
      'x32',
      'aarch64',
      'aarch64_be',
      'arm',
      'armhf',
      'armeb',
      'armebhf',
      'mips',
      'mipsel',
      'mips-sf',
      'mips64',
      'mips64el',
      'mipsn32',
      'powerpc',
      'powerpc-sf',
      'powerpc64',
      'powerpc64le',
      'riscv32',
      'riscv64',
      's390x',
      'sh',
      'microblaze',
      'or1k',
      'loongarch64',
    ];
    const names = [
      ...archs.map((a) => `libc.musl-${a}.so.1`),
      'libc.so.6',
      'libm.so.6',
      'libpthread.so.0',
      'librt.so.1',
      'libdl.so.2',
      'libutil.so.1',
      'libxnet.so.1',
    ];
    const stubs = `${b}/stubs`;
    mkdirSync(stubs, { recursive: true });
    for (const n of names) sh('musl-gcc', ['-shared', '-fPIC', `-Wl,-soname,${n}`, '-o', `${stubs}/${n}`, SRC + 'foo.c']);
    sh('musl-gcc', ['-o', `${b}/app-names`, SRC + 'app.c', '-L.', '-l:libfoo.so.1', ...names.map((n) => `${stubs}/${n}`)], { cwd: b });
    const root = `${tmp.dir}/names`;
    muslRoot(root);
    put(root, '/app', `${b}/app-names`);
    put(root, '/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    const r = await resolveIn(root, '/app');
    for (const n of names) assert.deepEqual([via(r, n).via, via(r, n).error], ['musl-libc', null], n);
    // ld-musl --list names each of its own names only once; what it lists, we list alike.
    const real = realList(root, MUSL_LD, '/app');
    assert.equal(real.error, null);
    const ours = ourList(r);
    for (const [n, p] of real.list) assert.equal(ours.list.get(n), p, n);
  });

  // a folder opens, and its read fails (EISDIR); a loop of links fails to open (ELOOP): musl goes
  // on only after ENOENT, ENOTDIR, EACCES, so each stops the search in its words
  it('a folder or a loop of links at a candidate stops the search', async () => {
    for (const [what, make] of [
      ['folder', (root: string) => mkdirSync(`${root}/lib/libfoo.so.1`, { recursive: true })],
      ['loop', (root: string) => link(root, '/lib/libfoo.so.1', '/lib/libfoo.so.1')],
    ] as const) {
      const r = await both((root) => {
        put(root, '/app', `${b}/app-plain`);
        make(root);
        put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      }, '/app');
      assert.ok(via(r, 'libfoo.so.1').error, what);
    }
  });

  it('a file that is not a library stops the search with "Exec format error", naming the needed name', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      write(root, '/lib/libfoo.so.1', 'hello\n');
      put(root, '/usr/lib/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').error, 'Exec format error');
  });

  it('a path file that is a folder empties the path, and the search of nowhere says why', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      mkdirSync(`${root}/etc/ld-musl-x86_64.path`, { recursive: true });
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').error, 'Is a directory');
  });

  it('a path file replaces the default path, and an empty one empties it', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/opt/m/libfoo.so.1', `${b}/libfoo.so.1`);
      write(root, '/etc/ld-musl-x86_64.path', '/opt/m\n');
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').via, 'ld-musl.path');
    const r2 = await both((root) => {
      put(root, '/app', `${b}/app-plain`);
      put(root, '/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      write(root, '/etc/ld-musl-x86_64.path', '');
    }, '/app');
    assert.equal(via(r2, 'libfoo.so.1').error, 'No error information');
  });

  it("the path file is read beside the loader's parent folder: /usr/lib/ld-musl-… reads /usr/etc/ld-musl-….path", async () => {
    sh(
      'musl-gcc',
      ['-O1', '-o', 'app-usrld', SRC + 'app.c', '-L.', '-l:libfoo.so.1', '-Wl,--dynamic-linker=/usr/lib/ld-musl-x86_64.so.1'],
      { cwd: b },
    );
    const usrLoader = comparer(
      () => `${tmp.dir}/usrld`,
      (root) => put(root, '/usr/lib/ld-musl-x86_64.so.1', '/lib/x86_64-linux-musl/libc.so'),
      '/usr/lib/ld-musl-x86_64.so.1',
    );
    const r = await usrLoader((root) => {
      put(root, '/app', `${b}/app-usrld`);
      put(root, '/opt/u/libfoo.so.1', `${b}/libfoo.so.1`);
      put(root, '/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      write(root, '/usr/etc/ld-musl-x86_64.path', '/opt/u\n');
      write(root, '/etc/ld-musl-x86_64.path', '/nowhere\n');
    }, '/app');
    assert.equal(r.defaultDirsFrom, 'read from /usr/etc/ld-musl-x86_64.path');
    assert.deepEqual([via(r, 'libfoo.so.1').via, via(r, 'libfoo.so.1').resolved], ['ld-musl.path', '/opt/u/libfoo.so.1']);
  });

  it('rpath and runpath are searched up the chain of needing objects; LD_LIBRARY_PATH first', async () => {
    const r = await both((root) => {
      put(root, '/app', `${b}/app-bar-runpath`);
      put(root, '/opt/chain/libbar.so.1', `${b}/libbar.so.1`);
      put(root, '/opt/chain/libfoo.so.1', `${b}/libfoo.so.1`);
    }, '/app');
    assert.equal(via(r, 'libfoo.so.1').via, 'runpath');
    const r2 = await both(
      (root) => {
        put(root, '/app', `${b}/app-plain`);
        put(root, '/opt/ld/libfoo.so.1', `${b}/libfoo.so.1`);
        put(root, '/lib/libfoo.so.1', `${b}/libfoo.so.1`);
      },
      '/app',
      '/opt/ld',
    );
    assert.equal(via(r2, 'libfoo.so.1').via, 'LD_LIBRARY_PATH');
  });
});

describe("a foreign program (Debian's hello for arm64)", () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const HELLO = new URL('../fixtures/foreign/hello-arm64', import.meta.url).pathname;

  it("searches that machine's multiarch folders and passes over libraries of another machine", async () => {
    const root = `${tmp.dir}/arm`;
    put(root, '/usr/bin/hello', HELLO);
    put(root, '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', HELLO); // stands in: any aarch64 ELF
    link(root, '/lib/ld-linux-aarch64.so.1', 'aarch64-linux-gnu/ld-linux-aarch64.so.1');
    put(root, '/lib/aarch64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6'); // the wrong machine
    const r = await resolveIn(root, '/usr/bin/hello');
    assert.equal(r.interpreter?.resolved, '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1');
    assert.deepEqual(r.defaultDirs, ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib', '/usr/lib']);
    const libc = r.dependencies.find((d) => d.name === 'libc.so.6')!;
    assert.equal(libc.error, 'cannot open shared object file: No such file or directory');
    assert.deepEqual(libc.skipped, [{ path: '/lib/aarch64-linux-gnu/libc.so.6', reason: 'wrong machine: x86_64' }]);
  });

  it('without its interpreter, says so', async () => {
    const root = `${tmp.dir}/arm2`;
    put(root, '/usr/bin/hello', HELLO);
    const r = await resolveIn(root, '/usr/bin/hello');
    assert.deepEqual(r.interpreter, { path: '/lib/ld-linux-aarch64.so.1', resolved: null, error: 'No such file or directory' });
  });
});

/**
 * Hostile library sets (issue 13): each must end with the right answer or a "too many …"
 * finding, never a hang. Bounded by counting the loader's work, not by the clock.
 */
describe('bounded work on hostile library sets', () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  let n = 0;
  const image = (files: Record<string, Buffer>) => {
    const root = `${tmp.dir}/img${n++}`;
    for (const [p, b] of Object.entries(files)) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), b, { mode: 0o755 });
    }
    return root;
  };
  const lib = (i: number) => `lib${String(i).padStart(6, '0')}.so.1`;

  it('a chain of 1500 libraries, each with an rpath the next must walk back through', async () => {
    const files: Record<string, Buffer> = {};
    const N = 1500;
    for (let i = 0; i < N; i++)
      files[`/usr/lib/${lib(i)}`] = tinyElf({ soname: lib(i), needed: i + 1 < N ? [lib(i + 1)] : [], rpath: `/rp/${i}` });
    const root = image(files);
    const r = await resolveIn(root, `/usr/lib/${lib(0)}`);
    const deps = closure(r);
    assert.equal(deps.length, N - 1);
    assert.ok(deps.every((d) => d.error === null && d.via === 'default-assumed'));
    assert.deepEqual(r.limits, []);
    // every binary of the image: the work over all of them is capped, and says so
    const m = await loadImage(root, { analysis: true });
    try {
      const bins = analyzeBinaries(m);
      assert.equal(bins.length, N);
      assert.equal(bins.find((x) => x.path === `/usr/lib/${lib(0)}`)!.dependencies.length, N - 1);
      assert.ok(bins.every((x) => (x.loader?.limits.length ?? 0) > 0 || x.dependencies.every((d) => d.error === null)));
      assert.ok(bins.some((x) => /^too many libraries to follow in this image/.test(x.loader?.limits[0] ?? '')));
    } finally {
      await m.close();
    }
  });

  it('programs alike are resolved once: each answered with its own path, the image budget spent as by each alone', async () => {
    const LD = '/lib64/ld-linux-x86-64.so.2';
    const files: Record<string, Buffer> = {
      '/usr/lib/libx.so.1': tinyElf({ soname: 'libx.so.1', needed: ['liby.so.1'] }),
      '/usr/lib/liby.so.1': tinyElf({ soname: 'liby.so.1' }),
      '/opt/rp/libgone.so.1': tinyElf({ soname: 'libgone.so.1' }),
      // the same needs, and an rpath: its own answer (libgone.so.1 is found there)
      '/bin/rp': tinyElf({ needed: ['libx.so.1', 'libgone.so.1'], interpreter: LD, rpath: '/opt/rp' }),
    };
    const N = 40;
    const progs = Array.from({ length: N }, (_, i) => `/bin/p${String(i).padStart(2, '0')}`);
    for (const p of progs) files[p] = tinyElf({ needed: ['libx.so.1', 'libgone.so.1'], interpreter: LD });
    const root = image(files);
    const m = await loadImage(root, { analysis: true });
    try {
      const bins = analyzeBinaries(m);
      for (const p of progs) {
        const b = bins.find((x) => x.path === p)!;
        assert.deepEqual(
          b.dependencies.map((d) => [d.name, d.requiredBy, d.resolved]),
          [
            ['libx.so.1', p, '/usr/lib/libx.so.1'],
            ['libgone.so.1', p, null],
            ['liby.so.1', '/usr/lib/libx.so.1', '/usr/lib/liby.so.1'],
          ],
        );
        assert.deepEqual(b.missing, ['libgone.so.1']);
      }
      const rp = bins.find((x) => x.path === '/bin/rp')!;
      assert.deepEqual(rp.missing, []);
      assert.equal(rp.dependencies.find((d) => d.name === 'libgone.so.1')!.via, 'rpath');
      // a budget that runs out among them: those before answered whole, the rest cut, as each resolved alone would be
      const whole = bins.filter((x) => progs.includes(x.path));
      const saved = LIMITS.imageSteps;
      LIMITS.imageSteps = 300;
      let cut: typeof bins;
      try {
        cut = analyzeBinaries(m).filter((x) => progs.includes(x.path));
      } finally {
        LIMITS.imageSteps = saved;
      }
      const first = cut.findIndex((x) => (x.loader?.limits.length ?? 0) > 0);
      assert.ok(first > 0 && first < N, `the budget runs out among the programs (at ${first})`);
      assert.deepEqual(cut.slice(0, first), whole.slice(0, first));
      assert.ok(cut.slice(first).every((x) => /^too many libraries to follow in this image/.test(x.loader!.limits[0]!)));
    } finally {
      await m.close();
    }
  });

  it('a mesh of 120 libraries, each needing all the others', async () => {
    const N = 120;
    const all = Array.from({ length: N }, (_, i) => lib(i));
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < N; i++) files[`/usr/lib/${lib(i)}`] = tinyElf({ soname: lib(i), needed: all.filter((x) => x !== lib(i)) });
    files['/app'] = tinyElf({ needed: all, interpreter: '/lib64/ld-linux-x86-64.so.2' });
    const root = image(files);
    const r = await resolveIn(root, '/app');
    assert.equal(r.dependencies.length, N * N);
    assert.equal(closure(r).length, N);
    const m = await loadImage(root, { analysis: true });
    try {
      const bins = analyzeBinaries(m);
      assert.equal(bins.length, N + 1);
      assert.ok(bins.every((b) => b.dependencies.length >= N - 1 || (b.loader?.limits.length ?? 0) > 0));
    } finally {
      await m.close();
    }
  });

  it('more DT_NEEDED entries than the emulation follows: a "too many" finding, not a hang', async () => {
    const N = 200; // 200 × 199 = 39800 entries, past LIMITS.steps only with the search work
    const all = Array.from({ length: N }, (_, i) => lib(i));
    const files: Record<string, Buffer> = {};
    // each library also has 60 rpath folders that do not exist, walked for every need that is not loaded yet
    const rp = Array.from({ length: 60 }, (_, k) => `/nowhere/${k}`).join(':');
    for (let i = 0; i < N; i++)
      files[`/usr/lib/${lib(i)}`] = tinyElf({ soname: lib(i), needed: all.filter((x) => x !== lib(i)), rpath: rp });
    files['/app'] = tinyElf({ needed: all, interpreter: '/lib64/ld-linux-x86-64.so.2' });
    const r = await resolveIn(`${image(files)}`, '/app');
    assert.equal(closure(r).length, N);
    const saved = LIMITS.steps;
    LIMITS.steps = 10_000;
    try {
      const cut = await resolveIn(`${tmp.dir}/img${n - 1}`, '/app');
      assert.match(cut.limits[0] ?? '', /^too many places to look/);
      assert.ok(cut.dependencies.length < N * N);
    } finally {
      LIMITS.steps = saved;
    }
  });

  it('an LD_LIBRARY_PATH of 100k folders: each missing folder is tried once, as ld.so does', async () => {
    const N = 20;
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < N; i++) files[`/usr/lib/${lib(i)}`] = tinyElf({ soname: lib(i) });
    files['/app'] = tinyElf({ needed: Array.from({ length: N }, (_, i) => lib(i)), interpreter: '/lib64/ld-linux-x86-64.so.2' });
    const root = image(files);
    const dirs = Array.from({ length: 100_000 }, (_, i) => `/d${i}`);
    const r = await resolveIn(root, '/app', [`LD_LIBRARY_PATH=${dirs.join(':')}`]);
    assert.ok(r.dependencies.every((d) => d.resolved === `/usr/lib/${d.name}`));
    const first = at(r.dependencies);
    assert.equal(first.searched.length, LIMITS.searched);
    // the 100k folders, then /lib (missing) and /usr/lib
    assert.equal(first.searched.length + first.searchedOmitted, 100_000 + 2);
    // every folder is still listed for every library, but opened only once: far fewer steps than 20 × 100k
    assert.equal(at(r.dependencies, 1).searched.length + at(r.dependencies, 1).searchedOmitted, 100_000 + 2);
    const saved = LIMITS.steps;
    LIMITS.steps = 150_000;
    try {
      assert.deepEqual((await resolveIn(root, '/app', [`LD_LIBRARY_PATH=${dirs.join(':')}`])).limits, []);
    } finally {
      LIMITS.steps = saved;
    }
    assert.ok(r.notes.some((x) => /LD_LIBRARY_PATH is \d+ bytes long: the kernel passes no environment string over 131072 bytes/.test(x)));
  });

  it('an ld.so.cache of 300k entries is searched, not unpacked', async () => {
    const N = 300_000;
    // glibc-ld.so.cache1.1: header, entries sorted as ldconfig sorts (descending), strings
    const names = Array.from({ length: N }, (_, i) => `libc${String(i).padStart(6, '0')}.so.1`)
      .sort()
      .reverse();
    const strings: Buffer[] = [];
    let strOff = 48 + N * 24;
    const table = Buffer.alloc(48 + N * 24);
    table.write('glibc-ld.so.cache1.1', 0, 'latin1');
    table.writeUInt32LE(N, 20);
    table[32] = 2; // little endian
    names.forEach((name, i) => {
      const o = 48 + i * 24;
      table.writeUInt32LE(0x0303, o);
      table.writeUInt32LE(strOff, o + 4);
      const k = Buffer.from(`${name}\0/cached/${name}\0`);
      table.writeUInt32LE(strOff + name.length + 1, o + 8);
      strings.push(k);
      strOff += k.length;
    });
    const want = 'libc123456.so.1';
    const root = image({
      '/etc/ld.so.cache': Buffer.concat([table, ...strings]),
      [`/cached/${want}`]: tinyElf({ soname: want }),
      '/app': tinyElf({ needed: [want, 'libc000001.so.1'], interpreter: '/lib64/ld-linux-x86-64.so.2' }),
    });
    const r = await resolveIn(root, '/app');
    const d = r.dependencies.find((x) => x.name === want)!;
    assert.deepEqual([d.via, d.resolved], ['ld.so.cache', `/cached/${want}`]);
    const gone = r.dependencies.find((x) => x.name === 'libc000001.so.1')!;
    assert.equal(gone.searched[0], '/cached/libc000001.so.1');
    assert.ok(gone.error);
  });
});

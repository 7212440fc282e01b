/**
 * The closure's COPY lines: what they leave out because no copied file cures it (a program env
 * looks up in PATH, a #! line with a carriage return), and a shell-form command's shell, which
 * is followed for what it needs to start but not for the files it would open itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { analyseClosure, closureCopies, closureUncopyable } from '../src/closure/index.js';
import { checkDonor } from '../src/closure/donor.js';
import { loadImage } from '../src/load.js';
import { tempDir } from './helpers/build.js';
import { available, configAs, debianBusybox, glibcRoot, link, put, sh, write } from './helpers/roots.js';

const needs = ['gcc', 'apt-get', 'dpkg-deb'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : false;
if (skip && process.env.CI === 'true') throw new Error(`closure tests cannot run under CI: ${skip}`);

describe('closure: COPY lines only where a copy cures', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);

  async function closureOf(root: string, entrypoint: string[]) {
    const m = await loadImage(root, { analysis: true });
    try {
      const a = analyseClosure(m, { entrypoint });
      return { closure: a.closure, copies: closureCopies(a.closure, false), notes: closureUncopyable(a.closure) };
    } finally {
      await m.close();
    }
  }

  it("a shell form under a static busybox: the script's program is followed, the shell's own NSS and zoneinfo are not", async () => {
    const root = `${tmp.dir}/bb`;
    write(tmp.dir, '/hello.c', '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    sh('gcc', ['-O1', '-o', `${tmp.dir}/hello`, `${tmp.dir}/hello.c`]);
    put(root, '/bin/sh', debianBusybox(tmp.dir));
    put(root, '/app', `${tmp.dir}/hello`);
    const { closure, copies } = await closureOf(root, ['/bin/sh', '-c', '/app']);
    assert.equal(closure.program, '/app');
    assert.deepEqual(
      closure.files.filter((f) => f.neededBy.includes('/bin/sh')).map((f) => f.path),
      [],
    );
    assert.deepEqual(
      copies.map((c) => c.to),
      ['/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/libc.so.6'],
    );
  });

  it('#!/usr/bin/env python3 without python3: no COPY of a bare name, a note to install it', async () => {
    const root = `${tmp.dir}/env`;
    glibcRoot(root);
    put(root, '/usr/bin/env', '/usr/bin/env');
    write(root, '/run.py', '#!/usr/bin/env python3\nprint(1)\n');
    chmodSync(`${root}/run.py`, 0o755);
    const { closure, copies, notes } = await closureOf(root, ['/run.py']);
    assert.ok(closure.files.some((f) => f.path === 'python3' && !f.present));
    assert.deepEqual(copies, []);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /install python3 in the image/);
  });

  it('#!/usr/bin/env sh where env has no loader: env is a program too, its loader and libc are copied', async () => {
    const root = `${tmp.dir}/env-noloader`;
    put(root, '/usr/bin/env', '/usr/bin/env');
    put(root, '/bin/sh', debianBusybox(tmp.dir));
    write(root, '/run.sh', '#!/usr/bin/env sh\necho hi\n');
    chmodSync(`${root}/run.sh`, 0o755);
    const { closure, copies } = await closureOf(root, ['/run.sh']);
    assert.ok(closure.files.some((f) => f.role === 'loader' && !f.present && f.neededBy.includes('/usr/bin/env')));
    assert.ok(closure.missingLibraries.some((l) => l.name === 'libc.so.6' && l.neededBy === '/usr/bin/env'));
    assert.ok(copies.some((c) => c.to === '/lib64/ld-linux-x86-64.so.2'));
  });

  // the user database a program asks for, where the image has none: nginx's getpwnam("nobody")
  // fails without it, and it exits; glibc 2.34 on has files and dns inside libc (no libnss_*
  // to copy, with libc in the image or not); gconv where this libc looks for it
  it('getpwnam without /etc/passwd, and iconv_open: the user database, no NSS modules, gconv where libc reads it', async () => {
    write(
      tmp.dir,
      '/pw.c',
      '#include <pwd.h>\n#include <iconv.h>\n#include <stdio.h>\nint main(void) { struct passwd *p = getpwnam("nobody"); iconv_t c = iconv_open("UTF-16", "UTF-8"); printf("%d %d\\n", p != 0, c != (iconv_t)-1); return p == 0; }\n',
    );
    sh('gcc', ['-O1', '-o', `${tmp.dir}/pw`, `${tmp.dir}/pw.c`]);
    for (const withLibc of [true, false]) {
      const root = `${tmp.dir}/pw-${withLibc}`;
      if (withLibc) glibcRoot(root);
      put(root, '/app', `${tmp.dir}/pw`);
      const { closure, copies } = await closureOf(root, ['/app']);
      const to = copies.map((c) => c.to);
      assert.ok(to.includes('/etc/passwd') && to.includes('/etc/group'), `${withLibc}: ${to.join(' ')}`);
      assert.ok(!to.some((t) => /libnss_/.test(t)), `${withLibc}: no NSS module: ${to.join(' ')}`);
      assert.ok(
        closure.files.some((f) => f.role === 'gconv' && f.path === '/usr/lib/x86_64-linux-gnu/gconv'),
        closure.files.map((f) => f.path).join(' '),
      );
    }
    // and what it says is so: with libc and loader only, getpwnam finds no user; with the build
    // stage's passwd and group (this machine's), it does
    if (process.getuid?.() !== 0) return; // chroot needs root (CI has it)
    const root = `${tmp.dir}/pw-true`;
    assert.equal(spawnSync('chroot', [root, '/app']).status, 1, 'no /etc/passwd: getpwnam finds nobody');
    put(root, '/etc/passwd', '/etc/passwd');
    put(root, '/etc/group', '/etc/group');
    assert.equal(spawnSync('chroot', [root, '/app']).status, 0, 'the copied user database answers it');
  });

  // date with TZ=Europe/Paris prints CET from the zone file, UTC without it: the file is kept
  it("TZ naming a zone: a program that asks for local time needs that zone's file", async () => {
    const root = `${tmp.dir}/tz`;
    glibcRoot(root);
    put(root, '/usr/bin/date', '/usr/bin/date');
    const argv = ['/usr/bin/date', '-d', '@0', '+%Z'];
    const paths = async (tz: string) => {
      const m = await loadImage(root, { analysis: true });
      try {
        m.config = { ...configAs(argv, ''), env: [`TZ=${tz}`] };
        return analyseClosure(m)
          .closure.files.filter((f) => f.role === 'zoneinfo')
          .map((f) => f.path);
      } finally {
        await m.close();
      }
    };
    assert.deepEqual(await paths('Europe/Paris'), ['/usr/share/zoneinfo/Europe/Paris']);
    assert.deepEqual(await paths('CET-1CEST,M3.5.0,M10.5.0/3'), [], 'a POSIX rule names no file');
    if (process.getuid?.() !== 0) return;
    const zone = (tz: string) =>
      spawnSync('chroot', [root, ...argv], { encoding: 'utf8', env: { PATH: process.env.PATH, TZ: tz } }).stdout.trim();
    assert.equal(zone('Europe/Paris'), 'Europe', 'without the file: no zone');
    put(root, '/usr/share/zoneinfo/Europe/Paris', '/usr/share/zoneinfo/Europe/Paris');
    assert.equal(zone('Europe/Paris'), 'CET');
  });

  it('the loader a link to nothing: the COPY line supplies where the link leads', async () => {
    const root = `${tmp.dir}/dangling-loader`;
    write(tmp.dir, '/hi.c', '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    sh('gcc', ['-O1', '-o', `${tmp.dir}/hi`, `${tmp.dir}/hi.c`]);
    put(root, '/app', `${tmp.dir}/hi`);
    put(root, '/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6');
    link(root, '/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    const { closure, copies } = await closureOf(root, ['/app']);
    const target = '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2';
    assert.ok(closure.files.some((f) => f.path === target && !f.present && f.role === 'loader'));
    assert.ok(
      copies.some((c) => c.to === target),
      copies.map((c) => c.to).join(' '),
    );
    if (process.getuid?.() !== 0) return;
    assert.notEqual(spawnSync('chroot', [root, '/app']).status, 0);
    put(root, target, target);
    assert.equal(spawnSync('chroot', [root, '/app'], { encoding: 'utf8' }).stdout, 'hi\n');
  });

  // runc looks USER up in the image's passwd: one without the name is as good as none
  it("USER's name missing from the image's /etc/passwd: the build stage's user database replaces it, if it has the name", async () => {
    const root = `${tmp.dir}/pw-root-only`;
    put(root, '/app', '/bin/true');
    glibcRoot(root);
    write(root, '/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    write(root, '/etc/group', 'root:x:0:\n');
    const m = await loadImage(root, { analysis: true });
    try {
      m.config = configAs(['/app'], 'nobody');
      const a = analyseClosure(m);
      const to = closureCopies(a.closure, false).map((c) => c.to);
      assert.ok(to.includes('/etc/passwd') && to.includes('/etc/group'), to.join(' '));
      // a donor whose passwd lacks the name cannot cure it: said, not copied
      const donorRoot = `${tmp.dir}/donor-without-nobody`;
      write(donorRoot, '/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
      const donor = await loadImage(donorRoot, { analysis: true });
      try {
        const checked = checkDonor(a, closureCopies(a.closure, false), donor);
        assert.ok(!checked.items.some((i) => i.to === '/etc/passwd'));
        assert.ok(
          checked.lacking.some((l) => /defines the user of USER nobody/.test(l)),
          checked.lacking.join('; '),
        );
      } finally {
        await donor.close();
      }
    } finally {
      await m.close();
    }
  });

  it('a #! line with a carriage return: convert the file, copy nothing', async () => {
    const root = `${tmp.dir}/crlf`;
    glibcRoot(root);
    write(root, '/run.sh', '#!/bin/sh\r\necho hi\r\n');
    chmodSync(`${root}/run.sh`, 0o755);
    const { copies, notes } = await closureOf(root, ['/run.sh']);
    assert.deepEqual(copies, []);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /Windows line ends.*"\/bin\/sh\\r".*dos2unix/);
  });
});

/**
 * The closure's COPY lines: what they leave out because no copied file cures it (a program env
 * looks up in PATH, a #! line with a carriage return), and a shell-form command's shell, which
 * is followed for what it needs to start but not for the files it would open itself.
 */
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { analyseClosure, closureCopies, closureUncopyable } from '../src/closure/index.js';
import { loadImage } from '../src/load.js';
import { tempDir } from './helpers/build.js';
import { available, debianBusybox, glibcRoot, put, sh, write } from './helpers/roots.js';

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

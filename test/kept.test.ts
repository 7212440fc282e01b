/**
 * Bodies out of compressed layers in a file are kept in memory, not copied to TMPDIR: of an
 * ELF file the ranges its decoding and its symbol table read, of a script all of it; a read
 * anywhere else brings the whole body back by inflating the layer again. Checked against the
 * same layers uncompressed, on real programs of this machine (env, true, their libc and
 * loader), with TMPDIR pointing nowhere.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BinaryCatalog } from '../src/elf/catalog.js';
import { readDynamicSymbols, symbolKey } from '../src/elf/dynsym.js';
import { openBytes } from '../src/fs/index.js';
import type { Node } from '../src/fs/index.js';
import { refetchBodies } from '../src/layers/kept.js';
import { BodyArena } from '../src/layers/arena.js';
import { type ImageModel, loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { ScopeError } from '../src/errors.js';
import { cli } from './helpers/cli.js';
import { parseReport } from './helpers/json.js';
import { makeTar, tempDir, writeOciLayout } from './helpers/build.js';

const t = tempDir();
after(() => t.cleanup());

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const LD = '/lib64/ld-linux-x86-64.so.2';
/** More programs than the decoder keeps to this thread (16): the rest go to the pool's threads. */
const COPIES = 24;

function damaged(): Buffer {
  const b = Buffer.from(readFileSync('/usr/bin/env').subarray(0, 20000));
  b.writeUInt16LE(0xffff, 56); // e_phnum
  return b;
}

let plainDir = '';
let gzDir = '';
/** The base layer, to write again with a changed body. */
let base: Buffer;

before(async () => {
  base = await makeTar([
    { name: 'lib/x86_64-linux-gnu/libc.so.6', body: readFileSync(LIBC), mode: 0o755 },
    { name: 'lib64/ld-linux-x86-64.so.2', body: readFileSync(LD), mode: 0o755 },
    { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\n' },
  ]);
  const top = await makeTar([
    { name: 'usr/bin/env', body: readFileSync('/usr/bin/env'), mode: 0o755 },
    { name: 'usr/bin/true', body: readFileSync('/usr/bin/true'), mode: 0o755 },
    ...Array.from({ length: COPIES }, (_, i) => ({ name: `opt/bin/true${i}`, body: readFileSync('/usr/bin/true'), mode: 0o755 })),
    { name: 'usr/local/bin/hello.sh', body: '#!/usr/bin/env true\necho hello\n', mode: 0o755 },
    // damaged: cut short, and 65,535 program headers, past its end; decoding stops where it did in place
    { name: 'opt/bin/cut-short', body: damaged(), mode: 0o755 },
  ]);
  const spec = { layers: [base, top], config: { Entrypoint: ['/usr/bin/env'], Cmd: ['true'] } };
  plainDir = writeOciLayout(join(t.dir, 'plain'), spec);
  gzDir = writeOciLayout(join(t.dir, 'gz'), { ...spec, gzip: true });
});

/** Loads with analysis while TMPDIR names a folder that does not exist: any temp file fails the load. */
async function loadNoTemp(dir: string): Promise<ImageModel> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = '/nonexistent/scratchscope-kept';
  try {
    return await loadImage(dir, { analysis: true });
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

function elves(m: ImageModel): [string, Node][] {
  return [...m.tree.walk()].filter(([, n]) => n.magic === 'elf');
}

describe('bodies kept out of compressed layers', () => {
  it('decodes every program and library as read in place, with no temp file and no second inflation', async () => {
    const gz = await loadNoTemp(gzDir);
    const plain = await loadImage(plainDir, { analysis: true });
    try {
      const list = elves(gz);
      assert.equal(list.length, COPIES + 5);
      const gzCat = new BinaryCatalog(gz.tree, gz.decoded);
      const plainCat = new BinaryCatalog(plain.tree, plain.decoded);
      for (const [path, node] of list) {
        const kept = node.content?.kept;
        assert.ok(kept && node.content!.file === null, `${path}: kept in memory, not in a file`);
        assert.deepEqual(gzCat.of(node), plainCat.at(path), path);
        if (path === '/opt/bin/cut-short') {
          const d = gzCat.of(node);
          assert.ok(d?.ok && d.info.problems.length > 0, JSON.stringify(d));
          continue;
        }
        for (const program of [true, false]) {
          const mine = readDynamicSymbols(openBytes(node.content!), { program })!;
          const theirs = readDynamicSymbols(openBytes(plain.tree.get(path)!.content!), { program })!;
          const data = (s: typeof mine) => ({ ...s, lookup: null, definitions: null });
          assert.deepEqual(data(mine), data(theirs), `${path} symbols`);
          assert.deepEqual(mine.definitions(), theirs.definitions(), `${path} definitions`);
          // every name looked up as the loader looks it up (through the hash table)
          for (const name of theirs.definitions().keys())
            assert.deepEqual(mine.lookup(symbolKey(name)), theirs.lookup(symbolKey(name)), name);
        }
        // the launch's program is held whole as it passes; the others only in part, and all the
        // reads above were served from that part
        assert.equal(kept.isWhole, path === '/usr/bin/env', `${path}: whole?`);
        assert.ok(path === '/usr/bin/env' || kept.keptBytes < node.content!.size / 2, `${path}: ${kept.keptBytes} bytes kept`);
      }
    } finally {
      await gz.close();
      await plain.close();
    }
  });

  it('a read outside what is kept brings the whole body back, byte for byte', async () => {
    const gz = await loadNoTemp(gzDir);
    const plain = await loadImage(plainDir, { analysis: true });
    try {
      for (const path of [LIBC, '/usr/bin/true', '/usr/local/bin/hello.sh', '/etc/passwd']) {
        const node = gz.tree.get(path)!;
        const ref = plain.tree.get(path)!.content!;
        const want = readFileSync(ref.file!).subarray(ref.offset, ref.offset + ref.size);
        const got = openBytes(node.content!).read(0, node.content!.size);
        assert.ok(got.equals(want), path);
        assert.ok(node.content!.kept!.isWhole, path);
      }
    } finally {
      await gz.close();
      await plain.close();
    }
  });

  it('the report equals the one of the same layers uncompressed', async () => {
    const gz = await loadNoTemp(gzDir);
    const plain = await loadImage(plainDir, { analysis: true });
    try {
      const a = buildReport(gz);
      const b = buildReport(plain);
      assert.equal(a.verdict, 'starts');
      assert.deepEqual(a.diagnostics, b.diagnostics);
      assert.deepEqual(a.binaries, b.binaries);
      assert.deepEqual(a.closure, b.closure);
    } finally {
      await gz.close();
      await plain.close();
    }
  });

  it('from the command line (the decoding threads at work): the same report, nothing in TMPDIR', () => {
    const env = { TMPDIR: '/nonexistent/scratchscope-kept' };
    const a = cli(['inspect', '--json', gzDir], env);
    const b = cli(['inspect', '--json', plainDir]);
    assert.equal(a.status, 0, a.stderr);
    const ra = parseReport(a.stdout);
    const rb = parseReport(b.stdout);
    assert.deepEqual(ra.binaries, rb.binaries);
    assert.deepEqual(ra.diagnostics, rb.diagnostics);
    const c = cli(['closure', gzDir], env);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout, cli(['closure', plainDir]).stdout);
  });

  it('a layer changed since it was read: one clear error, not other bytes', async () => {
    const gz = writeOciLayout(join(t.dir, 'changing-gz'), { layers: [base], config: { Entrypoint: ['/nothing'] }, gzip: true });
    const m = await loadNoTemp(gz);
    try {
      const node = m.tree.get(LIBC)!;
      const kept = node.content!.kept!;
      // the layer's blob rewritten in place: its first file now a different size
      const other = await makeTar([{ name: 'lib/x86_64-linux-gnu/libc.so.6', body: Buffer.alloc(10), mode: 0o755 }]);
      writeFileSync(kept.blob.file, Buffer.concat([gzipSync(other), Buffer.alloc(Math.max(0, kept.blob.size - gzipSync(other).length))]));
      assert.throws(
        () => refetchBodies([kept]),
        (e: unknown) => e instanceof ScopeError && /changed while it was read/.test(e.message),
      );
      assert.equal(kept.isWhole, false);
    } finally {
      await m.close();
    }
  });
});

describe('the shared memory bodies wait in to be decoded (layers/arena.ts)', () => {
  it('gives runs out first-fit, takes them back in any order, and joins free neighbours', () => {
    const arena = new BodyArena(1024);
    const a = arena.take(100)!;
    const b = arena.take(200)!;
    const c = arena.take(300)!;
    assert.ok(a.buffer instanceof SharedArrayBuffer, 'one shared memory, readable by the decoding threads');
    assert.equal(a.buffer, c.buffer);
    assert.deepEqual([a.length, b.length, c.length], [100, 200, 300]);
    // runs never overlap, and start 16-byte aligned
    assert.ok(a.byteOffset + 112 <= b.byteOffset && b.byteOffset + 208 <= c.byteOffset);
    for (const r of [a, b, c]) assert.equal(r.byteOffset % 16, 0);
    a.fill(1);
    b.fill(2);
    c.fill(3);
    assert.ok(a.every((x) => x === 1) && b.every((x) => x === 2));
    assert.equal(arena.take(1024), null, 'no free run holds it: the caller makes its own');
    arena.give(b);
    const b2 = arena.take(150)!;
    assert.equal(b2.byteOffset, b.byteOffset, 'the first free run that fits');
    arena.give(c);
    arena.give(a);
    arena.give(b2);
    assert.equal(arena.freeBytes, 1024, 'all of it back');
    assert.equal(arena.take(1024)!.byteOffset, 0, 'joined into one run again');
  });

  it('retired (a load that stopped), gives out no run again, even one given back', () => {
    const arena = new BodyArena(256);
    const a = arena.take(64)!;
    arena.retire();
    arena.give(a);
    assert.equal(arena.take(16), null);
    assert.equal(arena.freeBytes, 0);
  });

  it('lets go only of its own runs', () => {
    const arena = new BodyArena(256);
    const mine = arena.take(64)!;
    arena.give(Buffer.alloc(64));
    assert.equal(arena.freeBytes, 256 - 64);
    arena.give(mine);
    assert.equal(arena.freeBytes, 256);
  });
});

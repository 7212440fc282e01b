import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { listChanges, listFiles, resolvePath } from '../src/fs/index.js';
import { loadImage } from '../src/load.js';
import { makeTar, tempDir, writeOciLayout } from './helpers/build.js';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;

async function load(layers: Parameters<typeof makeTar>[0][], gzip = false) {
  const dir = writeOciLayout(`${tmp.dir}/img${n++}`, { layers: await Promise.all(layers.map(makeTar)), gzip });
  return loadImage(dir);
}

const paths = (m: Awaited<ReturnType<typeof load>>) => listFiles(m.tree).map((f) => f.path);

describe('whiteouts, as the OCI layer spec says', () => {
  it('.wh.NAME hides NAME from lower layers', async () => {
    const m = await load([[{ name: 'a/' }, { name: 'a/x', body: 'x' }, { name: 'a/y', body: 'yy' }], [{ name: 'a/.wh.x' }]]);
    assert.deepEqual(paths(m), ['/a', '/a/y']);
    assert.deepEqual(
      listChanges(m.tree, 1).map((c) => [c.change, c.path]),
      [['removed', '/a/x']],
    );
    await m.close();
  });

  it('a whiteout and then a new file of the same name in one layer: the new file stays', async () => {
    const m = await load([[{ name: 'f', body: 'old' }], [{ name: '.wh.f' }, { name: 'f', body: 'new!' }]]);
    const f = listFiles(m.tree).find((x) => x.path === '/f')!;
    assert.equal(f.size, 4);
    assert.equal(f.layer, 1);
    assert.equal(m.tree.wastedBytes, 3);
    await m.close();
  });

  it("a whiteout after its layer's own file removes that file too, as the engines unpack in tar order", async () => {
    // docker load and run: moby's UnpackLayer (and containerd's apply) remove whatever is at the path then
    const m = await load([
      [
        { name: 'f', body: 'old' },
        { name: 'keep', body: 'k' },
      ],
      [
        { name: 'f', body: 'new!' },
        { name: 'g', body: 'gg' },
        { name: 'd/x', body: 'xxx' },
        { name: '.wh.f' },
        { name: '.wh.g' },
        { name: '.wh.d' },
      ],
    ]);
    assert.deepEqual(paths(m), ['/keep']);
    assert.equal(m.tree.wastedBytes, 3 + 4 + 2 + 3);
    assert.deepEqual(
      listChanges(m.tree, 1).map((c) => [c.change, c.path]),
      [['removed', '/f']],
    );
    assert.equal(m.tree.layers[1]?.contentBytes, 4 + 2 + 3);
    await m.close();
  });

  it("an opaque whiteout hides lower children but keeps the same layer's, whatever their order", async () => {
    const m = await load([
      [{ name: 'd/' }, { name: 'd/lower1', body: '1' }, { name: 'd/sub/' }, { name: 'd/sub/lower2', body: '22' }],
      [{ name: 'd/' }, { name: 'd/mine-before', body: 'a' }, { name: 'd/.wh..wh..opq' }, { name: 'd/mine-after', body: 'b' }],
    ]);
    assert.deepEqual(paths(m), ['/d', '/d/mine-after', '/d/mine-before']);
    assert.equal(m.tree.wastedBytes, 3);
    await m.close();
  });

  it('a directory deleted and recreated keeps only the new children', async () => {
    const m = await load([
      [{ name: 'keep/' }, { name: 'keep/old', body: 'old' }],
      [{ name: '.wh.keep' }, { name: 'keep/', mode: 0o700 }, { name: 'keep/new', body: 'n' }],
    ]);
    assert.deepEqual(paths(m), ['/keep', '/keep/new']);
    assert.equal(listFiles(m.tree)[0]?.mode, 0o700);
    await m.close();
  });

  it('a path written twice in one layer is one change of it, whatever came between', async () => {
    const m = await load([
      [{ name: 'low', body: 'l' }, { name: 'gone', body: 'g' }, { name: 'd/' }, { name: 'x', body: 'x' }],
      [
        { name: 'new', body: '1' }, // added, then rewritten: added, with the last size
        { name: 'new', body: '22' },
        { name: 'low', body: '333' }, // a lower file rewritten twice: modified once
        { name: 'low', body: '4444' },
        { name: '.wh.gone' }, // hidden, then written again: modified
        { name: 'gone', body: '55555' },
        { name: 'd/' }, // the same folder again (no change), then with new permissions, then again
        { name: 'd/', mode: 0o700 },
        { name: 'd/', mode: 0o700 },
        { name: 'f', body: 'f' }, // a file of this layer that a later entry makes a folder
        { name: 'f/inner', body: 'i' },
        { name: '.wh.x' }, // a lower file hidden, then a folder made where it was
        { name: 'x/y', body: 'y' },
      ],
    ]);
    assert.deepEqual(
      listChanges(m.tree, 1).map((c) => [c.change, c.path, c.size]),
      // a merged change stays where the path first changed (the whiteouts come first)
      [
        ['modified', '/gone', 5],
        ['modified', '/x', 0],
        ['added', '/new', 2],
        ['modified', '/low', 4],
        ['modified', '/d', 0],
        ['added', '/f', 0],
        ['added', '/f/inner', 1],
        ['added', '/x/y', 1],
      ],
    );
    await m.close();
  });

  it('aufs metadata (.wh..wh.*) is skipped, and whiteouts of nothing change nothing', async () => {
    const m = await load([
      [{ name: 'a', body: 'a' }],
      [{ name: '.wh..wh.plnk/' }, { name: '.wh..wh.plnk/123.456', body: 'x' }, { name: '.wh.missing' }],
    ]);
    assert.deepEqual(paths(m), ['/a']);
    await m.close();
  });

  it('a file over a directory replaces the whole subtree and counts it as waste', async () => {
    const m = await load([[{ name: 'x/' }, { name: 'x/big', body: Buffer.alloc(1000) }], [{ name: 'x', body: 'file' }]]);
    assert.deepEqual(
      listFiles(m.tree).map((f) => [f.path, f.type]),
      [['/x', 'file']],
    );
    assert.equal(m.tree.wastedBytes, 1000);
    await m.close();
  });

  it('wasted space counts only versions that no longer show', async () => {
    const m = await load([
      [
        { name: 'a', body: 'aaaa' },
        { name: 'keep', body: 'kk' },
      ],
      [{ name: 'a', body: 'aaaaaa' }],
      [{ name: 'a', body: 'a' }],
    ]);
    assert.equal(m.tree.wastedBytes, 10);
    assert.deepEqual(m.tree.wasted(), [{ path: '/a', size: 10, count: 2 }]);
    await m.close();
  });

  it('implicit parents are created as directories', async () => {
    const m = await load([[{ name: 'usr/local/bin/tool', body: 't', mode: 0o755 }]]);
    assert.deepEqual(
      listFiles(m.tree).map((f) => [f.path, f.type]),
      [
        ['/usr', 'dir'],
        ['/usr/local', 'dir'],
        ['/usr/local/bin', 'dir'],
        ['/usr/local/bin/tool', 'file'],
      ],
    );
    await m.close();
  });
});

describe('links', () => {
  it("a hard link takes its target's size and content; a missing target is a layer problem", async () => {
    const m = await load([
      [
        { name: 'bin/' },
        { name: 'bin/a', body: 'abc' },
        { name: 'bin/b', type: 'link', linkname: 'bin/a' },
        { name: 'bin/c', type: 'link', linkname: 'nope' },
      ],
    ]);
    const b = listFiles(m.tree).find((f) => f.path === '/bin/b')!;
    assert.deepEqual([b.type, b.size, b.linkTarget], ['hardlink', 3, '/bin/a']);
    assert.match(m.layers[0]?.changes.problems[0] ?? '', /\/bin\/c points at \/nope, which does not exist/);
    await m.close();
  });

  it('a hard link to a symlink is that symlink, as link(2) and GNU tar make it', async () => {
    const entries: Parameters<typeof makeTar>[0] = [
      { name: 'bin/' },
      { name: 'bin/real', body: 'program' },
      { name: 'bin/abs', type: 'symlink', linkname: '/bin/real' },
      { name: 'bin/rel', type: 'symlink', linkname: 'real' },
      { name: 'app', type: 'link', linkname: 'bin/abs' },
      { name: 'app2', type: 'link', linkname: 'bin/rel' },
    ];
    const layer = await makeTar(entries);
    const out = `${tmp.dir}/hl-symlink`;
    mkdirSync(out);
    writeFileSync(`${out}.tar`, layer);
    execFileSync('tar', ['-xf', `${out}.tar`, '-C', out]);
    const m = await load([entries]);
    for (const p of ['app', 'app2']) {
      const f = listFiles(m.tree).find((x) => x.path === `/${p}`)!;
      assert.ok(lstatSync(`${out}/${p}`).isSymbolicLink(), p);
      assert.deepEqual([f.type, f.linkTarget], ['symlink', readlinkSync(`${out}/${p}`)], p);
    }
    // /app2's "real" is read from its own folder, the root: nothing there
    const app = resolvePath(m.tree, '/app');
    assert.deepEqual([app.ok, app.ok && app.path], [true, '/bin/real']);
    assert.equal(resolvePath(m.tree, '/app2').ok, false);
    assert.deepEqual(m.layers[0]?.changes.problems, []);
    await m.close();
  });

  // dockerd's overlay2 store unpacks a layer into an empty folder: a link to a lower layer's file finds nothing there
  it("a hard link to an earlier layer's file is read (containerd, vfs) and named a layer problem (dockerd's overlay2 refuses it)", async () => {
    const m = await load([
      [{ name: 'bin/' }, { name: 'bin/real', body: 'program' }],
      [{ name: 'app', type: 'link', linkname: 'bin/real' }],
    ]);
    assert.deepEqual(paths(m), ['/app', '/bin', '/bin/real']);
    assert.deepEqual(m.layers[0]?.changes.problems, []);
    assert.match(
      m.layers[1]?.changes.problems[0] ?? '',
      /hard link \/app points at \/bin\/real, which an earlier layer holds: dockerd's overlay2/,
    );
    await m.close();
  });

  it('symlinks resolve inside the image root only', async () => {
    const m = await load([
      [
        { name: 'lib/' },
        { name: 'lib/libc.so', body: 'libc' },
        { name: 'lib64', type: 'symlink', linkname: 'lib' },
        { name: 'abs', type: 'symlink', linkname: '/lib/libc.so' },
        { name: 'escape', type: 'symlink', linkname: '../../../../lib/libc.so' },
        { name: 'loop1', type: 'symlink', linkname: 'loop2' },
        { name: 'loop2', type: 'symlink', linkname: '/loop1' },
        { name: 'dangling', type: 'symlink', linkname: '/nowhere' },
      ],
    ]);
    const ok = (p: string) => {
      const r = resolvePath(m.tree, p);
      assert.ok(r.ok, p);
      return r.path;
    };
    assert.equal(ok('/lib64/libc.so'), '/lib/libc.so');
    assert.equal(ok('/abs'), '/lib/libc.so');
    assert.equal(ok('/escape'), '/lib/libc.so');
    assert.equal(ok('/../../lib64/../lib/libc.so'), '/lib/libc.so');
    const loop = resolvePath(m.tree, '/loop1');
    assert.equal(!loop.ok && loop.reason, 'loop');
    const dangling = resolvePath(m.tree, '/dangling');
    assert.deepEqual(!dangling.ok && [dangling.reason, dangling.at], ['missing', '/nowhere']);
    const noFollow = resolvePath(m.tree, '/dangling', { followLast: false });
    assert.ok(noFollow.ok && noFollow.node.type === 'symlink');
    const notDir = resolvePath(m.tree, '/abs/x');
    assert.equal(!notDir.ok && notDir.reason, 'not-a-directory');
    // the kernel looks inside each step but the last: "file/..", "file/." and "file/" are ENOTDIR
    for (const p of ['/lib/libc.so/..', '/lib/libc.so/../libc.so', '/lib/libc.so/.', '/lib/libc.so/', '/abs/', '/abs/../lib']) {
      const r = resolvePath(m.tree, p);
      assert.deepEqual(!r.ok && [r.reason, r.at], ['not-a-directory', '/lib/libc.so'], p);
    }
    assert.equal(ok('/lib/'), '/lib');
    assert.equal(ok('/lib64/.'), '/lib');
    assert.equal(ok('/lib/./libc.so'), '/lib/libc.so');
    // a trailing "/" follows the last link even where the last is not followed
    const slash = resolvePath(m.tree, '/lib64/', { followLast: false });
    assert.ok(slash.ok && slash.path === '/lib');
    const dangles = resolvePath(m.tree, '/dangling/', { followLast: false });
    assert.equal(!dangles.ok && dangles.reason, 'missing');
    await m.close();
  });
});

describe('hostile names', () => {
  it('../ and absolute names stay inside the root', async () => {
    const m = await load(
      [
        [
          { name: '../../etc/evil', body: 'e' },
          { name: '/abs/file', body: 'a' },
          { name: './dot/./x', body: 'd' },
        ],
      ],
      true,
    );
    assert.deepEqual(paths(m), ['/abs', '/abs/file', '/dot', '/dot/x', '/etc', '/etc/evil']);
    await m.close();
  });
});

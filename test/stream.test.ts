/**
 * The streamed outputs (files, files --layer, --json, the inspect report) are the bytes the
 * whole-string renderers made, on fixtures with awkward names, several layers, whiteouts,
 * links and an opaque folder; and the compact change lists read back as the changes made.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { changeRecords, fileRecords, listChanges, listFiles } from '../src/fs/index.js';
import { ChangeList } from '../src/fs/tree.js';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { changesText, filesText, jsonDocument, jsonLines, jsonPieces } from '../src/render/stream.js';
import { renderChanges, renderFiles } from '../src/render/text.js';
import { makeTar, tempDir, writeOciLayout } from './helpers/build.js';

const tmp = tempDir();
after(tmp.cleanup);

const join = (g: Iterable<string>) => [...g].join('');

/** The --json array as cli.ts wrote it before it streamed: built whole. */
function wholeJsonArray(items: unknown[]): string {
  if (items.length === 0) return '[]\n';
  let buf = '[\n';
  for (let i = 0; i < items.length; i++) buf += '  ' + JSON.stringify(items[i]) + (i + 1 < items.length ? ',\n' : '\n');
  return buf + ']\n';
}

async function fixture() {
  const layers = await Promise.all(
    [
      [
        { name: 'etc/' },
        { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
        { name: 'app/' },
        { name: 'app/a very long file name with spaces and more.txt', body: 'x'.repeat(1234), uid: 1000, gid: 4294967 },
        { name: 'app/trailing space ', body: 'y' },
        { name: 'app/esc\x1b[31mred', body: 'z' },
        { name: 'app/ünïcødé-名前.js', body: 'u', mode: 0o4755 },
        { name: 'app/lib/' },
        { name: 'app/lib/one.js', body: '1' },
        { name: 'app/lib/two.js', body: '22' },
        { name: 'bin/' },
        { name: 'bin/sh', type: 'symlink' as const, linkname: '/app/lib/one.js' },
        { name: 'bin/hard', type: 'link' as const, linkname: 'app/lib/two.js' },
        { name: 'dev/' },
        { name: 'dev/fifo', type: 'fifo' as const },
      ],
      [{ name: 'app/lib/.wh.one.js' }, { name: 'app/lib/three.js', body: '333' }, { name: 'etc/passwd', body: 'root:x:0:0::/:/x\n' }],
      [
        { name: 'app/lib/' },
        { name: 'app/lib/.wh..wh..opq' },
        { name: 'app/lib/four.js', body: '4444' },
        { name: 'newdir/deep/file', body: 'd' },
      ],
      [],
    ].map(makeTar),
  );
  return loadImage(writeOciLayout(`${tmp.dir}/img`, { layers }), { analysis: true });
}

describe('streamed output equals the whole-built output', () => {
  it('files, text and --json', async () => {
    const m = await fixture();
    const files = listFiles(m.tree);
    assert.ok(files.length > 10);
    assert.equal(join(filesText(() => fileRecords(m.tree))), renderFiles(files));
    assert.equal(join(jsonLines(fileRecords(m.tree))), wholeJsonArray(files));
    assert.deepEqual(JSON.parse(join(jsonLines(fileRecords(m.tree)))), files);
    await m.close();
  });

  it('files --layer N, text and --json, for every layer (the empty one too)', async () => {
    const m = await fixture();
    for (let i = 0; i < m.layers.length; i++) {
      const changes = listChanges(m.tree, i);
      assert.equal(join(changesText(() => changeRecords(m.tree, i))), renderChanges(changes), `layer ${i}`);
      assert.equal(join(jsonLines(changeRecords(m.tree, i))), wholeJsonArray(changes), `layer ${i}`);
    }
    assert.equal(join(changesText(() => changeRecords(m.tree, 3))), '');
    assert.equal(join(jsonLines(changeRecords(m.tree, 3))), '[]\n');
    await m.close();
  });

  it('the inspect report: JSON.stringify(r, null, 2) byte for byte', async () => {
    const m = await fixture();
    const r = buildReport(m);
    assert.equal(join(jsonDocument(r)), JSON.stringify(r, null, 2) + '\n');
    await m.close();
  });

  it('jsonPieces: what JSON.stringify does with awkward values', () => {
    const values: unknown[] = [
      null,
      0,
      -1.5,
      NaN,
      'a"b\\c\n\u2028\ud800',
      [],
      {},
      [[], {}, [[]], [undefined, () => 1, null]],
      { a: undefined, b: () => 1, c: [1, { d: {} }], e: new Date(0), f: { toJSON: () => ({ g: [1, 2] }) } },
      { 'ключ "x"': { nested: { deeper: [true, false] } } },
    ];
    for (const v of values) assert.equal([...jsonPieces(v)].join(''), JSON.stringify(v, null, 2), JSON.stringify(v));
  });
});

describe('the compact change list', () => {
  it('reads back what was put, nulls included, and grows', () => {
    const l = new ChangeList(1);
    const put = Array.from({ length: 100 }, (_, i) => ({
      kind: (['added', 'modified', 'removed'] as const)[i % 3]!,
      type: (['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'] as const)[i % 7]!,
      size: i * 1e9,
      mode: i % 3 === 2 ? null : 0o755,
      uid: i % 3 === 2 ? null : 2 ** 40 + i,
      gid: i % 3 === 2 ? null : 0,
      linkTarget: i % 7 === 2 ? `/t/${i}` : null,
    }));
    put.forEach((c, i) => l.put(i, i % 2 ? '/' : '/some/dir', `n${i}`, c));
    l.put(5, '/x', 'y', put[6]!); // a second change of a path replaces the first
    l.trim();
    assert.equal(l.length, 100);
    const got = [...l];
    assert.deepEqual(got[5], { ...put[6], path: '/x/y' });
    assert.deepEqual(got[7], { ...put[7], path: '/n7' });
    assert.deepEqual(got[8], { ...put[8], path: '/some/dir/n8' });
    assert.equal(l.count('removed'), got.filter((c) => c.kind === 'removed').length);
    assert.equal(l.at(-1)?.path, '/n99');
    assert.equal(l.at(100), undefined);
  });
});

/**
 * The verdict first (src/verdict): read from the layer indexes and the few bodies it needs,
 * it must be exactly the full analysis' verdict, with the same diagnostics (codes, messages,
 * runtime lines, fixes, evidence) and the same launch, on every image the suite has: the
 * committed fixtures here, the corpus of real programs in verdict-corpus.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ReportOptions } from '../src/report/index.js';
import { parseRuntime } from '../src/diagnose/runtimes.js';
import { core, fromQuick, full, quick, same } from './helpers/verdict.js';
import { FileRangeReader } from '../src/archive/reader.js';
import { walkTar } from '../src/archive/walk.js';
import { cli } from './helpers/cli.js';
import { makeTar, sha256, tempDir, writeOciLayout } from './helpers/build.js';
import { explore } from '../src/report/explore.js';

const REPO = new URL('..', import.meta.url).pathname;
const FX = join(REPO, 'fixtures/images');
const tmp = tempDir();
after(tmp.cleanup);

/** Every image (file or folder) under fixtures/images. */
function fixtures(): string[] {
  const out: string[] = [];
  for (const dir of [FX, join(FX, 'archives')])
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      if (n === 'archives' || n.endsWith('.txt')) continue;
      if (statSync(p).isDirectory() || n.endsWith('.tar')) out.push(p);
    }
  return out;
}

describe('the verdict from the layer indexes equals the full analysis', () => {
  it('on every fixture image, and from the indexes wherever the layers are uncompressed', async () => {
    const refs = fixtures();
    assert.ok(refs.length >= 15, `${refs.length} fixtures`);
    let quickOnes = 0;
    for (const ref of refs) {
      const wasQuick = await same(ref);
      if (wasQuick) quickOnes++;
      if (wasQuick !== null && /\.docker(25)?\.tar$|podman|export/.test(ref)) assert.equal(wasQuick, true, `${ref}: no fast path`);
      if (/gzip|zstd/.test(ref)) assert.equal(wasQuick, false, `${ref}: compressed, yet read from an index`);
    }
    assert.ok(quickOnes >= 8, `${quickOnes} read from the indexes`);
  });

  it('with the command, user and runtime overridden', async () => {
    const ref = join(FX, 'layers.docker.tar');
    for (const opts of [
      { entrypoint: ['/nonexistent/app'] },
      { entrypoint: ['hello'] },
      { entrypoint: ['/bin/sh', '-c', 'hello world'] },
      { cmd: ['--flag'] },
      { runtime: parseRuntime('crun@1.8') },
    ] as ReportOptions[])
      assert.equal(await same(ref, opts), true);
    assert.equal(await same(join(FX, 'broken.docker.tar'), { runtime: parseRuntime('podman') }), true);
  });

  it('on a root filesystem folder', async () => {
    const root = join(tmp.dir, 'rootfs');
    mkdirSync(root);
    const x = spawnSync('tar', ['-xf', join(FX, 'layers.export.tar'), '-C', root], { encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    assert.equal(await same(root), true);
  });

  it('refuses a layer whose digest does not match, as the full analysis does', async () => {
    const copy = join(tmp.dir, 'corrupt.docker.tar');
    copyFileSync(join(FX, 'layers.docker.tar'), copy);
    // flip a byte in the middle of the largest layer's body
    const r = new FileRangeReader(copy, 0, statSync(copy).size);
    let at = -1;
    let biggest = 0;
    for await (const e of walkTar(r))
      if (e.type === 'file' && /layer\.tar$|blobs\//.test(e.path) && e.size > biggest) [biggest, at] = [e.size, e.dataPos + (e.size >> 1)];
    r.close();
    assert.ok(at > 0);
    const fd = openSync(copy, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b.writeUInt8(b.readUInt8(0) ^ 0xff, 0);
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    const q = await quick(copy);
    assert.ok('error' in q && /does not match|corrupt|checksum/.test(q.error), JSON.stringify(core(q)).slice(0, 300));
    const f = await full(copy);
    assert.deepEqual(core(q), core(f));
    // the analysis that goes on from the quick verdict's tree checks the digests too
    assert.deepEqual(await fromQuick(copy), f);
  });

  it('an image broken twice names the first failing layer, whether the quick verdict went first or not', async () => {
    const dir = join(tmp.dir, 'twice');
    const good = await makeTar([{ name: 'a', body: 'a'.repeat(2000) }]);
    const cut = await makeTar([{ name: 'c', body: 'c'.repeat(5000) }]);
    // layer 2: an honest digest of a tar that ends inside a body; layer 0: a byte flipped after the digest was taken
    writeOciLayout(dir, { layers: [good, await makeTar([{ name: 'b', body: 'b' }]), cut.subarray(0, 1536)] });
    const blob = join(dir, 'blobs/sha256', sha256(good).slice(7));
    const fd = openSync(blob, 'r+');
    writeSync(fd, Buffer.from('A'), 0, 1, 1000);
    closeSync(fd);
    const text = cli(['inspect', dir]);
    const json = cli(['inspect', '--json', dir]);
    assert.equal(json.status, 3, json.stderr);
    assert.match(json.stderr, /layer 0\b.*does not match/);
    assert.equal(text.status, 3);
    assert.equal(text.stderr, json.stderr);
    await assert.rejects(explore(dir, {}), (e: Error) => `scratchscope: ${e.message}\n` === json.stderr);
  });

  it('inspect --verdict-only --json prints the verdict part of inspect --json, and nothing else', () => {
    for (const name of ['broken.docker.tar', 'layers.docker.tar', 'layers.oci-gzip.tar']) {
      const v = cli(['inspect', '--verdict-only', '--json', join(FX, name)]);
      const r = cli(['inspect', '--json', join(FX, name)]);
      assert.equal(v.status, 0, v.stderr);
      assert.equal(r.status, 0, r.stderr);
      const vj = JSON.parse(v.stdout) as Record<string, unknown>;
      const rj = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(vj), ['schemaVersion', 'source', 'image', 'launch', 'verdict', 'diagnostics']);
      for (const k of Object.keys(vj)) assert.deepEqual(vj[k], rj[k], `${name}: ${k}`);
      // text: the verdict block is what inspect prints first
      const vt = cli(['inspect', '--verdict-only', join(FX, name)]).stdout;
      const rt = cli(['inspect', join(FX, name)]).stdout;
      assert.ok(vt.length > 0 && rt.startsWith(vt + '\n'), name);
    }
  });
});

/**
 * Loading an image's layers: a layer hashed by position (a docker save's uncompressed tars)
 * is checked beside the walks, so a large layer's hash does not hold back the layers after
 * it, and a mismatch found late still fails the load. The hashing is a stand-in whose
 * answers the test hands out, so the order is the test's, not the machine's speed.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { hashRange, hashRangeSync } from '../src/archive/hash.js';
import type { DecodePool } from '../src/elf/pool.js';
import { ScopeError } from '../src/errors.js';
import { loadOpened } from '../src/load.js';
import type { LayerSource, OpenedImage } from '../src/source/types.js';
import { makeTar, sha256, tempDir } from './helpers/build.js';

const t = tempDir();
after(() => t.cleanup());

/** A docker-save-like image of `n` uncompressed layers, each with one file; the layers in `wrong` have digests that lie. */
async function image(n: number, wrong: number | number[] = -1): Promise<OpenedImage> {
  const liars = new Set([wrong].flat());
  const layers: LayerSource[] = [];
  for (let i = 0; i < n; i++) {
    // sizes apart by more than a tar block: the stand-in pool tells layers by size
    const tarBytes = await makeTar([{ name: `f${i}`, body: `layer ${i}\n`.padEnd(10 + i * 600, '.') }]);
    const file = join(t.dir, `image${n}-${[...liars].join('_')}-layer${i}.tar`);
    writeFileSync(file, tarBytes);
    const digest = liars.has(i) ? sha256(`something else ${i}`) : sha256(tarBytes);
    layers.push({ index: i, digest, diffId: digest, mediaType: null, dir: null, blob: { file, offset: 0, size: tarBytes.length } });
  }
  return {
    source: {
      kind: 'docker-archive',
      reference: 'test',
      location: 'test',
      image: null,
      platform: null,
      manifestDigest: null,
      configDigest: null,
    },
    config: null,
    history: [],
    layers,
    close: async () => {},
  };
}

/**
 * A pool whose hashes answer only when the test says: `release(i)` answers layer i's with its
 * true digest. The layers in `here` count as hashed on the calling thread, the rest on the pool's.
 */
function heldPool(opened: OpenedImage, here = new Set<number>()) {
  const asked: number[] = [];
  const answers = new Map<number, (d: string) => void>();
  const whenAsked: (() => void)[] = [];
  const pool = {
    results: new Map(),
    add() {},
    close() {},
    drain: () => Promise.resolve(),
    hashesHere: (size: number) => here.has(opened.layers.findIndex((l) => l.blob?.size === size)),
    hash(file: string) {
      const i = opened.layers.findIndex((l) => l.blob?.file === file);
      asked.push(i);
      for (const w of whenAsked.splice(0)) w();
      return new Promise<string>((resolve) => answers.set(i, resolve));
    },
  };
  return {
    pool: pool as unknown as DecodePool,
    asked,
    /** Resolves once layer i's hash is asked for, or null after `turns` turns of the event loop without it. */
    async asks(i: number, turns = 2000): Promise<boolean> {
      for (let n = 0; n < turns; n++) {
        if (asked.includes(i)) return true;
        await new Promise((r) => setImmediate(r));
      }
      return asked.includes(i);
    },
    /** Answers layer i's hash with the digest of its bytes (not what the manifest says when that lies). */
    release(i: number) {
      const l = opened.layers[i]!.blob!;
      answers.get(i)?.(sha256(readFileSync(l.file!)));
    },
  };
}

describe('loading layers: digests checked beside the walks', () => {
  it("a layer's hash does not hold back the next layers' walks", async () => {
    const opened = await image(4);
    const held = heldPool(opened);
    const loading = loadOpened(opened, { verify: true, concurrency: 1, analysis: false }, held.pool);
    // one walk at a time: the last layer is walked only after every layer before it, whose hashes are all held
    assert.ok(await held.asks(3), `only layers ${held.asked.join(', ')} were asked for while layer 0's hash was held`);
    for (const i of [3, 2, 1, 0]) held.release(i);
    const model = await loading;
    assert.deepEqual(
      model.layers.map((l) => l.verified),
      [true, true, true, true],
    );
    assert.deepEqual(
      [...model.tree.walk()].map(([p]) => p).filter((p) => p !== '/'),
      ['/f0', '/f1', '/f2', '/f3'],
    );
  });

  it('a mismatch found after later layers were walked still fails the load', async () => {
    const opened = await image(3, 0);
    const held = heldPool(opened);
    const loading = loadOpened(opened, { verify: true, concurrency: 1, analysis: false }, held.pool);
    assert.ok(await held.asks(2));
    held.release(2);
    held.release(1);
    held.release(0);
    await assert.rejects(loading, (e: unknown) => e instanceof ScopeError && e.code === 'digest-mismatch' && /^layer 0\b/.test(e.message));
  });

  it('of two layers that fail, the first in layer order is named, whichever hash answers first', async () => {
    // both hashed on the pool's threads: the later layer's answer comes first
    const both = await image(3, [0, 2]);
    const a = heldPool(both);
    const first = loadOpened(both, { verify: true, concurrency: 1, analysis: false }, a.pool);
    assert.ok(await a.asks(2));
    a.release(2);
    a.release(1);
    a.release(0);
    await assert.rejects(first, (e: unknown) => e instanceof ScopeError && /^layer 0\b/.test(e.message), 'layer 2 named');
    // layer 0 on the pool, layer 1 on this thread (awaited in the loop): layer 1's answer comes first
    const mixed = await image(2, [0, 1]);
    const b = heldPool(mixed, new Set([1]));
    const second = loadOpened(mixed, { verify: true, concurrency: 1, analysis: false }, b.pool);
    assert.ok(await b.asks(1));
    b.release(1);
    assert.equal(await b.asks(99, 200), false); // let layer 1's failure be seen while layer 0 still hashes
    b.release(0);
    await assert.rejects(second, (e: unknown) => e instanceof ScopeError && /^layer 0\b/.test(e.message), 'layer 1 named');
  });

  it('checks left open behind the walks are bounded', async () => {
    const opened = await image(20);
    const held = heldPool(opened);
    const loading = loadOpened(opened, { verify: true, concurrency: 1, analysis: false }, held.pool);
    // with every hash held, the walks stop a few layers ahead of the oldest open check
    assert.equal(await held.asks(19, 500), false, 'all 20 layers were walked with none of their hashes answered');
    const most = held.asked.length;
    assert.ok(most >= 2 && most < 20, `${most} checks open at once`);
    for (let i = 0; i < 20; i++) {
      held.release(i);
      await held.asks(Math.min(19, i + most));
    }
    const model = await loading;
    assert.ok(model.layers.every((l) => l.verified));
  });
});

/**
 * The layers of `opened` as gzip streams, as a registry sends them (no digests to check).
 * Each stream waits for `onOpen(i)` before it sends its bytes; `tar(i)` may stand in for a
 * layer's own tar.
 */
function streamGzip(
  opened: OpenedImage,
  onOpen: (i: number) => Promise<void> | void,
  tar: (i: number) => Buffer | null = () => null,
): void {
  opened.layers = opened.layers.map((l, i) => {
    const bytes = gzipSync(tar(i) ?? readFileSync(l.blob!.file!));
    return {
      ...l,
      digest: null,
      diffId: null,
      blob: {
        file: null,
        offset: 0,
        size: bytes.length,
        async *open() {
          await onOpen(i);
          yield bytes;
        },
      },
    };
  });
}

describe('reading layers: a read that ends starts the next', () => {
  it('a slow first layer does not hold back the reads after it', async () => {
    // Layer 0 sends its bytes only once layers 1 to 4 are read: started only as layers were
    // applied, layer 2 would wait for layer 0, nothing would be left to run, and the test
    // would end unresolved (the runner fails it so).
    const opened = await image(5);
    let othersRead!: () => void;
    const others = new Promise<void>((r) => (othersRead = r));
    streamGzip(opened, (i) => (i === 0 ? others : undefined));
    let readFirst = -1;
    const onProgress = (p: { layersDone: number }) => {
      if (p.layersDone === 4 && readFirst < 0) {
        readFirst = 4;
        othersRead();
      }
    };
    const model = await loadOpened(opened, { verify: true, concurrency: 2, analysis: false, onProgress }, heldPool(opened).pool);
    assert.equal(readFirst, 4, 'layers 1 to 4 were read before layer 0');
    assert.deepEqual(
      [...model.tree.walk()].map(([p]) => p).filter((p) => p !== '/'),
      ['/f0', '/f1', '/f2', '/f3', '/f4'],
    );
  });
});

describe('reading layers: a load that failed starts no more reads', () => {
  it('a read that ends after the failure does not start the next', async () => {
    const opened = await image(6);
    const opens: number[] = [];
    let send!: () => void;
    const sent = new Promise<void>((r) => (send = r));
    streamGzip(
      opened,
      (i) => {
        opens.push(i);
        return i === 1 ? sent : undefined;
      },
      (i) => (i === 0 ? Buffer.alloc(1024, 0x41) : null), // layer 0: not a tar
    );
    const loading = loadOpened(opened, { verify: true, concurrency: 2, analysis: false }, heldPool(opened).pool);
    await assert.rejects(loading, (e: unknown) => e instanceof ScopeError && /^layer 0\b/.test(e.message));
    send(); // layer 1's read ends now, after the load failed
    for (let n = 0; n < 200; n++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(opens, [0, 1], 'no layer read was started after the failure');
  });
});

describe('hashing a byte range', () => {
  it("the blocking hash (the pool threads') answers as the event-loop one does", async () => {
    const file = join(t.dir, 'range.bin');
    const bytes = Buffer.alloc(3 * (1 << 20) + 12345);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    writeFileSync(file, bytes);
    for (const [offset, size] of [
      [0, bytes.length],
      [7, (1 << 20) + 1],
      [bytes.length - 10, 10],
      [5, 0],
    ] as const) {
      const want = sha256(bytes.subarray(offset, offset + size));
      assert.equal(hashRangeSync(file, offset, size), want);
      assert.equal(await hashRange(file, offset, size), want);
    }
    assert.throws(
      () => hashRangeSync(file, 10, bytes.length),
      (e: unknown) => e instanceof ScopeError && e.code === 'truncated',
    );
    assert.throws(
      () => hashRangeSync(join(t.dir, 'absent'), 0, 1),
      (e: unknown) => e instanceof ScopeError && e.code === 'io',
    );
  });
});

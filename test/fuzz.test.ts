/**
 * Seeded, reproducible fuzzing of real fixtures at every level: outer tars, manifest /
 * index / config JSON, layer tars, gzip and zstd streams, ELF headers, program headers,
 * dynamic sections, string tables, version sections, ld.so.cache and passwd files.
 * Every mutant must end in bounded time with an analysis or a ScopeError (ElfDamage for
 * the bare ELF decoder), never with anything else.
 *
 *   FUZZ_SEED=n FUZZ_ITERATIONS=n npm run fuzz     (CI runs a bounded default)
 * A failure names its seed, iteration, target and mutation: rerun with that seed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { FileRangeReader } from '../src/archive/reader.js';
import { walkTar } from '../src/archive/walk.js';
import { decodeElf } from '../src/elf/decode.js';
import { ElfDamage } from '../src/elf/reader.js';
import { ScopeError } from '../src/errors.js';
import { BufferBytes } from '../src/fs/index.js';
import { loadImage } from '../src/load.js';
import { parseLdCache } from '../src/loader/ldcache.js';
import { buildReport } from '../src/report/index.js';
import { TarBundle } from '../src/source/bundle.js';
import { makeTar, tempDir, writeOciLayout } from './helpers/build.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 240);
const FX = new URL('../fixtures/', import.meta.url).pathname;

/** The member names of a tar, in archive order, each once. */
async function memberNames(file: string): Promise<string[]> {
  const names = new Set<string>();
  const reader = new FileRangeReader(file, 0, statSync(file).size);
  try {
    for await (const e of walkTar(reader)) names.add(e.path);
  } finally {
    reader.close();
  }
  return [...names];
}

/** mulberry32: small, fast, and the same on every machine. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = ReturnType<typeof rng>;
function pick<T>(r: Rand, xs: readonly T[]): T {
  const x = xs[Math.floor(r() * xs.length)];
  if (x === undefined) throw new Error('pick from an empty list');
  return x;
}
const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x2f, 0x2e, 0x30, 0x37, 0x20];

/** Mutates `buf` inside [from, to): bit flips, interesting bytes, a zeroed run, a cut, or a copied chunk. */
function mutate(r: Rand, buf: Buffer, from = 0, to = buf.length): { out: Buffer; what: string } {
  const span = Math.max(1, to - from);
  const at = from + Math.floor(r() * span);
  const out = Buffer.from(buf);
  switch (Math.floor(r() * 5)) {
    case 0: {
      const k = 1 + Math.floor(r() * 8);
      for (let i = 0; i < k; i++) {
        const j = from + Math.floor(r() * span);
        out[j] = (out[j] ?? 0) ^ (1 << Math.floor(r() * 8)); // past the end (an empty buffer): a no-op, as on any Buffer
      }
      return { out, what: `flip ${k} bits in [${from},${to})` };
    }
    case 1: {
      const k = 1 + Math.floor(r() * 4);
      for (let i = 0; i < k; i++) out[Math.min(out.length - 1, at + i)] = pick(r, INTERESTING);
      return { out, what: `set ${k} bytes at ${at}` };
    }
    case 2: {
      const len = 1 + Math.floor(r() * 64);
      out.fill(0, at, Math.min(out.length, at + len));
      return { out, what: `zero ${len} bytes at ${at}` };
    }
    case 3:
      return { out: out.subarray(0, at), what: `cut at ${at}` };
    default: {
      const src = from + Math.floor(r() * span);
      const len = 1 + Math.floor(r() * 256);
      out.copy(out, at, src, Math.min(out.length, src + len));
      return { out, what: `copy ${len} bytes from ${src} to ${at}` };
    }
  }
}

describe(`fuzzing (seed ${SEED}, ${ITERATIONS} iterations)`, () => {
  const tmp = tempDir();
  after(tmp.cleanup);

  /** An image through the whole pipeline: only an analysis or a ScopeError may come out. */
  async function survive(ref: string, verify = true): Promise<void> {
    let m;
    try {
      // without digest checks a damaged layer gets past the door and into the tree
      m = await loadImage(ref, { analysis: true, verify });
    } catch (e) {
      if (e instanceof ScopeError) return;
      throw e;
    }
    try {
      const r = buildReport(m);
      JSON.stringify(r);
    } catch (e) {
      if (!(e instanceof ScopeError)) throw e;
    } finally {
      await m.close();
    }
  }

  it('every mutant ends in an analysis or one clear error', async () => {
    const r = rng(SEED);
    const images = [
      'images/layers.docker.tar',
      'images/layers.docker25.tar',
      'images/layers.containerd.tar',
      'images/layers.oci-gzip.tar',
      'images/layers.oci-zstd.tar',
      'images/broken.docker.tar',
    ];
    const bytes = new Map(images.map((p) => [p, readFileSync(FX + p)]));
    // where the interesting parts of each archive are: members (JSON, blobs) by name
    const members = new Map<string, { name: string; offset: number; size: number }[]>();
    for (const p of images) {
      const b = await TarBundle.open(FX + p);
      members.set(
        p,
        (await memberNames(FX + p)).filter((n) => b.has(n)).map((n) => ({ name: n, ...b.blob(n) })),
      );
    }
    const elves = ['foreign/hello-arm64', 'foreign/hello-armhf', 'foreign/hello-ppc64el', 'foreign/hello-s390x'].map((p) =>
      readFileSync(FX + p),
    );
    const cache = (() => {
      try {
        return execFileSync('sh', ['-c', `ldconfig -C ${tmp.dir}/ld.so.cache -f /dev/null 2>/dev/null; cat ${tmp.dir}/ld.so.cache`], {
          maxBuffer: 1 << 26,
        });
      } catch {
        return Buffer.from('glibc-ld.so.cache1.1');
      }
    })();
    const passwd = Buffer.from('root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/sbin/nologin\n');
    const group = Buffer.from('root:x:0:\nstaff:x:50:app\n');

    const targets = ['archive', 'member', 'elf', 'elf-in-image', 'ldcache', 'passwd'] as const;
    const slowest = { ms: 0, what: '' };
    for (let i = 0; i < ITERATIONS; i++) {
      const target = pick(r, [...targets]);
      const t0 = Date.now();
      let what = '';
      try {
        if (target === 'archive' || target === 'member') {
          const img = pick(r, images);
          const orig = bytes.get(img)!;
          let m;
          if (target === 'member') {
            const mem = pick(r, members.get(img)!);
            // JSON members get edits inside them; blobs get edits in their first bytes (headers, compressed frames)
            const end =
              mem.name.endsWith('.json') || /index|manifest/.test(mem.name) ? mem.offset + mem.size : mem.offset + Math.min(mem.size, 4096);
            m = mutate(r, orig, mem.offset, end);
            what = `${img} member ${mem.name}: ${m.what}`;
          } else {
            m = mutate(r, orig);
            what = `${img}: ${m.what}`;
          }
          const file = `${tmp.dir}/m.tar`;
          writeFileSync(file, m.out);
          await survive(file, r() < 0.5);
        } else if (target === 'elf') {
          const e = pick(r, elves);
          // headers, program headers and the dynamic area are where decoders look
          const region = pick<[number, number]>(r, [
            [0, 64],
            [64, 1024],
            [0, Math.min(e.length, 16384)],
            [0, e.length],
          ]);
          const m = mutate(r, e, region[0], Math.min(e.length, region[1]));
          what = `ELF: ${m.what}`;
          try {
            decodeElf(new BufferBytes(m.out));
          } catch (err) {
            if (!(err instanceof ElfDamage)) throw err;
          }
        } else if (target === 'elf-in-image') {
          const e = pick(r, elves);
          const m = mutate(r, e, 0, Math.min(e.length, 8192));
          what = `ELF in an image: ${m.what}`;
          const d = writeOciLayout(`${tmp.dir}/e${i}`, {
            layers: [
              await makeTar([
                { name: 'app', body: m.out, mode: 0o755 },
                { name: 'lib/ld-linux-aarch64.so.1', body: e, mode: 0o755 },
              ]),
            ],
            config: { Entrypoint: ['/app'] },
            architecture: 'arm64',
          });
          await survive(d);
        } else if (target === 'ldcache') {
          const m = mutate(r, cache);
          what = `ld.so.cache: ${m.what}`;
          parseLdCache(m.out);
          const d = writeOciLayout(`${tmp.dir}/c${i}`, {
            layers: [
              await makeTar([
                { name: 'etc/ld.so.cache', body: m.out },
                { name: 'app', body: elves[0], mode: 0o755 },
                { name: 'lib/ld-linux-aarch64.so.1', body: elves[0], mode: 0o755 },
              ]),
            ],
            config: { Entrypoint: ['/app'] },
            architecture: 'arm64',
          });
          await survive(d);
        } else {
          const m = mutate(r, passwd);
          const g = mutate(r, group);
          what = `passwd: ${m.what}; group: ${g.what}`;
          const d = writeOciLayout(`${tmp.dir}/p${i}`, {
            layers: [
              await makeTar([
                { name: 'etc/passwd', body: m.out },
                { name: 'etc/group', body: g.out },
                { name: 'app', body: 'x', mode: 0o755 },
              ]),
            ],
            config: { Entrypoint: ['/app'], User: pick(r, ['app', 'app:staff', 'root', '1000:staff', 'nobody']) },
          });
          await survive(d);
        }
      } catch (e) {
        assert.fail(`seed ${SEED}, iteration ${i}, ${target} (${what}): ${(e as Error)?.stack ?? String(e)}`);
      }
      const ms = Date.now() - t0;
      if (ms > slowest.ms) Object.assign(slowest, { ms, what: `${target} ${what}` });
      assert.ok(ms < 15_000, `seed ${SEED}, iteration ${i}: ${target} (${what}) took ${ms} ms`);
    }
    console.log(`# fuzz: ${ITERATIONS} mutants survived; slowest ${slowest.ms} ms (${slowest.what})`);
  });
});

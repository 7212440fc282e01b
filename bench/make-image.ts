/**
 * Builds the benchmark images once into a cache folder keyed by this script's hash
 * ($SCRATCHSCOPE_BENCH_CACHE, else <tmpdir>/scratchscope-bench-cache/<hash>), so a changed
 * script builds afresh and an unchanged one reuses what it made:
 * - the main image: real ELF-heavy content from this machine's /usr (with its loader and
 *   /etc/ld.so.cache, so every program resolves) plus synthetic files, over several layers
 *   with overwrites and deletions, as a pre-25 `docker save` tar, a gzip
 *   OCI archive and a zstd OCI archive;
 * - 1000 tiny layers, and the same files in 1 layer (the per-layer cost).
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
  renameSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

const SCRIPT = new URL(import.meta.url).pathname;
/** The cache folder for this version of the script. */
export const WORK = join(
  process.env.SCRATCHSCOPE_BENCH_CACHE ?? join(tmpdir(), 'scratchscope-bench-cache'),
  createHash('sha256').update(readFileSync(SCRIPT)).digest('hex').slice(0, 16),
);

type Item =
  | { name: string; kind: 'real'; from: string }
  | { name: string; kind: 'bytes'; size: number; seed: number }
  | { name: string; kind: 'symlink'; target: string }
  | { name: string; kind: 'dir' };

function realTree(root: string, as: string, out: Item[]): void {
  for (const n of readdirSync(root).sort()) {
    const full = join(root, n);
    const st = lstatSync(full);
    const name = `${as}/${n}`;
    if (st.isSymbolicLink()) out.push({ name, kind: 'symlink', target: readlinkSync(full) });
    else if (st.isDirectory()) {
      out.push({ name: name + '/', kind: 'dir' });
      realTree(full, name, out);
    } else if (st.isFile()) out.push({ name, kind: 'real', from: full });
  }
}

/** Deterministic, moderately compressible bytes (text-like), generated in blocks. */
function synthetic(size: number, seed: number): Buffer {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', '\n', '0x', '{}', 'lib'];
  const block = Buffer.alloc(Math.min(size, 64 * 1024));
  let x = seed * 2654435761 + 1;
  let pos = 0;
  while (pos < block.length) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = words[x % words.length] + (x & 0x100 ? ' ' : '');
    pos += block.write(w + (x % 97).toString(36), pos);
  }
  if (size <= block.length) return block.subarray(0, size);
  const out = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += block.length) block.copy(out, o, 0, Math.min(block.length, size - o));
  // make blocks differ a little so the content is not trivially repetitive
  for (let o = 0; o < size; o += 4096) out[o] = (seed + o) & 0xff;
  return out;
}

async function writeLayer(file: string, items: Item[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(file));
  for (const it of items) {
    if (it.kind === 'dir') pack.entry({ name: it.name, type: 'directory', mode: 0o755, mtime: new Date(0) });
    else if (it.kind === 'symlink') pack.entry({ name: it.name, type: 'symlink', linkname: it.target, mode: 0o777, mtime: new Date(0) });
    else if (it.kind === 'bytes') pack.entry({ name: it.name, mode: 0o644, mtime: new Date(0) }, synthetic(it.size, it.seed));
    else {
      const size = statSync(it.from).size;
      const mode = statSync(it.from).mode & 0o7777;
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: it.name, size, mode, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve()));
        createReadStream(it.from).pipe(entry);
      });
    }
  }
  pack.finalize();
  await done;
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  h.update(readFileSync(file));
  return h.digest('hex');
}

/** A pre-25 `docker save` tar of uncompressed layer tars. */
async function writeDockerSave(out: string, layerTars: string[], entrypoint: string[]): Promise<void> {
  const diffIds = layerTars.map((f) => 'sha256:' + sha256File(f));
  const config = configFor(diffIds, entrypoint);
  const configHex = createHash('sha256').update(config).digest('hex');
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(out + '.tmp'));
  const names: string[] = [];
  const seen = new Set<string>();
  for (const [i, file] of layerTars.entries()) {
    const id = diffIds[i]!.slice(7);
    names.push(`${id}/layer.tar`);
    if (seen.has(id)) continue;
    seen.add(id);
    pack.entry({ name: `${id}/`, type: 'directory', mtime: new Date(0) });
    await new Promise<void>((resolve, reject) =>
      createReadStream(file).pipe(
        pack.entry({ name: `${id}/layer.tar`, size: statSync(file).size, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve())),
      ),
    );
  }
  pack.entry({ name: `${configHex}.json` }, config);
  pack.entry({ name: 'manifest.json' }, JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['bench:latest'], Layers: names }]));
  pack.finalize();
  await done;
  renameSync(out + '.tmp', out);
}

function configFor(diffIds: string[], entrypoint: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: entrypoint },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created_by: `bench layer ${i}` })),
    }),
  );
}

/** An OCI archive whose layers are the given compressed blobs. */
async function writeOci(out: string, layerTars: string[], blobs: string[], mediaType: string, entrypoint: string[]): Promise<void> {
  const config = configFor(
    layerTars.map((f) => 'sha256:' + sha256File(f)),
    entrypoint,
  );
  const configHex = createHash('sha256').update(config).digest('hex');
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(out + '.tmp'));
  const layerDescs = [];
  for (const blob of blobs) {
    const hex = sha256File(blob);
    layerDescs.push({ mediaType, digest: 'sha256:' + hex, size: statSync(blob).size });
    await new Promise<void>((resolve, reject) =>
      createReadStream(blob).pipe(
        pack.entry({ name: `blobs/sha256/${hex}`, size: statSync(blob).size, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve())),
      ),
    );
  }
  pack.entry({ name: `blobs/sha256/${configHex}` }, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:' + configHex, size: config.length },
      layers: layerDescs,
    }),
  );
  const mHex = createHash('sha256').update(manifest).digest('hex');
  pack.entry({ name: `blobs/sha256/${mHex}` }, manifest);
  pack.entry({ name: 'oci-layout' }, '{"imageLayoutVersion":"1.0.0"}');
  pack.entry(
    { name: 'index.json' },
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + mHex, size: manifest.length }],
    }),
  );
  pack.finalize();
  await done;
  renameSync(out + '.tmp', out);
}

export interface BenchImage {
  dockerTar: string;
  ociGzip: string;
  ociZstd: string;
  layerTars: string[];
  gzLayers: string[];
  zstLayers: string[];
}

export async function makeBenchImage(): Promise<BenchImage> {
  mkdirSync(WORK, { recursive: true });
  const layerTars = [0, 1, 2, 3, 4].map((i) => join(WORK, `layer${i}.tar`));
  const gzLayers = layerTars.map((f) => f + '.gz');
  const zstLayers = layerTars.map((f) => f + '.zst');
  const dockerTar = join(WORK, 'bench.docker.tar');
  const ociGzip = join(WORK, 'bench.oci-gzip.tar');
  const ociZstd = join(WORK, 'bench.oci-zstd.tar');
  const img = { dockerTar, ociGzip, ociZstd, layerTars, gzLayers, zstLayers };
  if ([dockerTar, ociGzip, ociZstd, ...layerTars, ...gzLayers, ...zstLayers].every(existsSync)) return img;

  console.error('bench: building the benchmark image (once) in', WORK);
  const layers: Item[][] = [[], [], [], [], []];
  layers[0]!.push({ name: 'usr/', kind: 'dir' }, { name: 'usr/lib/', kind: 'dir' }, { name: 'usr/lib/x86_64-linux-gnu/', kind: 'dir' });
  realTree('/usr/lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', layers[0]!);
  layers[1]!.push({ name: 'usr/bin/', kind: 'dir' });
  realTree('/usr/bin', 'usr/bin', layers[1]!);
  layers[2]!.push({ name: 'srv/', kind: 'dir' });
  for (let d = 0; d < 120; d++) {
    layers[2]!.push({ name: `srv/d${d}/`, kind: 'dir' });
    for (let f = 0; f < 100; f++)
      layers[2]!.push({ name: `srv/d${d}/f${f}.txt`, kind: 'bytes', size: 1000 + (((d * 100 + f) * 7919) % 19000), seed: d * 100 + f });
  }
  layers[3]!.push({ name: 'opt/', kind: 'dir' });
  for (let b = 0; b < 12; b++) layers[3]!.push({ name: `opt/blob${b}.bin`, kind: 'bytes', size: 30_000_000, seed: 1000 + b });
  // deletions and overwrites
  for (let b = 0; b < 4; b++) layers[4]!.push({ name: `opt/.wh.blob${b}.bin`, kind: 'bytes', size: 0, seed: 0 });
  for (let f = 0; f < 100; f++) layers[4]!.push({ name: `srv/d0/f${f}.txt`, kind: 'bytes', size: 5000, seed: 99_000 + f });
  layers[4]!.push({ name: 'srv/d1/.wh..wh..opq', kind: 'bytes', size: 0, seed: 0 });
  // a Debian-like merged /usr with the loader's cache, so every program's libraries resolve
  // as on a real image (ld.so.cache read, the loader found)
  layers[4]!.push(
    { name: 'lib', kind: 'symlink', target: 'usr/lib' },
    { name: 'lib64', kind: 'symlink', target: 'usr/lib64' },
    { name: 'usr/lib64/', kind: 'dir' },
    { name: 'usr/lib64/ld-linux-x86-64.so.2', kind: 'symlink', target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
    { name: 'etc/', kind: 'dir' },
    { name: 'etc/ld.so.cache', kind: 'real', from: '/etc/ld.so.cache' },
  );

  await Promise.all(
    layers.map((items, i) => writeLayer(layerTars[i]! + '.tmp', items).then(() => renameSync(layerTars[i]! + '.tmp', layerTars[i]!))),
  );
  await Promise.all(layerTars.map((f, i) => pipeline(createReadStream(f), createGzip({ level: 1 }), createWriteStream(gzLayers[i]!))));
  for (const [i, file] of layerTars.entries()) {
    const r = spawnSync('zstd', ['-q', '-f', '-3', '-T0', file, '-o', zstLayers[i]!], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('zstd failed (is the zstd command installed?)');
  }
  const entrypoint = ['/usr/bin/env'];
  await writeDockerSave(dockerTar, layerTars, entrypoint);
  await writeOci(ociGzip, layerTars, gzLayers, 'application/vnd.oci.image.layer.v1.tar+gzip', entrypoint);
  await writeOci(ociZstd, layerTars, zstLayers, 'application/vnd.oci.image.layer.v1.tar+zstd', entrypoint);
  writeFileSync(join(WORK, 'README'), 'Generated by npm run bench (bench/make-image.ts); safe to delete.\n');
  return img;
}

/**
 * The per-layer cost: a program (/usr/bin/env with its loader and libc) and 999 small files,
 * once as 1000 layers (the program in the first, one file in each of the others) and once
 * as a single layer holding the same files.
 */
export async function makeTinyLayers(): Promise<{ many: string; one: string }> {
  const dir = join(WORK, 'tiny');
  mkdirSync(dir, { recursive: true });
  const many = join(WORK, 'tiny-1000.docker.tar');
  const one = join(WORK, 'tiny-1.docker.tar');
  if (existsSync(many) && existsSync(one)) return { many, one };
  console.error('bench: building the 1000-layer image (once) in', WORK);
  const base: Item[] = [
    { name: 'usr/', kind: 'dir' },
    { name: 'usr/bin/', kind: 'dir' },
    { name: 'usr/bin/env', kind: 'real', from: '/usr/bin/env' },
    { name: 'lib64/', kind: 'dir' },
    { name: 'lib64/ld-linux-x86-64.so.2', kind: 'real', from: '/lib64/ld-linux-x86-64.so.2' },
    { name: 'lib/', kind: 'dir' },
    { name: 'lib/x86_64-linux-gnu/', kind: 'dir' },
    { name: 'lib/x86_64-linux-gnu/libc.so.6', kind: 'real', from: '/lib/x86_64-linux-gnu/libc.so.6' },
    { name: 'data/', kind: 'dir' },
  ];
  const small = (i: number): Item => ({ name: `data/f${i}.txt`, kind: 'bytes', size: 200 + (i % 50), seed: i });
  const tars: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const f = join(dir, `l${i}.tar`);
    await writeLayer(f, i === 0 ? base : [small(i)]);
    tars.push(f);
  }
  const all = join(dir, 'all.tar');
  await writeLayer(all, [...base, ...Array.from({ length: 999 }, (_, i) => small(i + 1))]);
  await writeDockerSave(many, tars, ['/usr/bin/env']);
  await writeDockerSave(one, [all], ['/usr/bin/env']);
  return { many, one };
}

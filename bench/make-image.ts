/**
 * Builds the benchmark image once into bench/work: real ELF-heavy content from this
 * machine's /usr plus synthetic files, over several layers with overwrites and deletions,
 * as a pre-25 `docker save` tar and as a gzip OCI archive.
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
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

export const WORK = new URL('./work/', import.meta.url).pathname;

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

/** xs[i], which the caller knows is there. */
function nth<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no item ${i} among ${xs.length}`);
  return x;
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  h.update(readFileSync(file));
  return h.digest('hex');
}

export async function makeBenchImage(): Promise<{ dockerTar: string; ociGzip: string; layerTars: string[]; gzLayers: string[] }> {
  mkdirSync(WORK, { recursive: true });
  const layerTars = [0, 1, 2, 3, 4].map((i) => join(WORK, `layer${i}.tar`));
  const gzLayers = layerTars.map((f) => f + '.gz');
  const dockerTar = join(WORK, 'bench.docker.tar');
  const ociGzip = join(WORK, 'bench.oci-gzip.tar');
  if ([dockerTar, ociGzip, ...layerTars, ...gzLayers].every(existsSync)) return { dockerTar, ociGzip, layerTars, gzLayers };

  console.error('bench: building the benchmark image (once) in', WORK);
  const layers: [Item[], Item[], Item[], Item[], Item[]] = [[], [], [], [], []];
  layers[0].push({ name: 'usr/', kind: 'dir' }, { name: 'usr/lib/', kind: 'dir' }, { name: 'usr/lib/x86_64-linux-gnu/', kind: 'dir' });
  realTree('/usr/lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', layers[0]);
  layers[1].push({ name: 'usr/bin/', kind: 'dir' });
  realTree('/usr/bin', 'usr/bin', layers[1]);
  layers[2].push({ name: 'srv/', kind: 'dir' });
  for (let d = 0; d < 120; d++) {
    layers[2].push({ name: `srv/d${d}/`, kind: 'dir' });
    for (let f = 0; f < 100; f++)
      layers[2].push({ name: `srv/d${d}/f${f}.txt`, kind: 'bytes', size: 1000 + (((d * 100 + f) * 7919) % 19000), seed: d * 100 + f });
  }
  layers[3].push({ name: 'opt/', kind: 'dir' });
  for (let b = 0; b < 12; b++) layers[3].push({ name: `opt/blob${b}.bin`, kind: 'bytes', size: 30_000_000, seed: 1000 + b });
  // deletions and overwrites
  for (let b = 0; b < 4; b++) layers[4].push({ name: `opt/.wh.blob${b}.bin`, kind: 'bytes', size: 0, seed: 0 });
  for (let f = 0; f < 100; f++) layers[4].push({ name: `srv/d0/f${f}.txt`, kind: 'bytes', size: 5000, seed: 99_000 + f });
  layers[4].push({ name: 'srv/d1/.wh..wh..opq', kind: 'bytes', size: 0, seed: 0 });

  await Promise.all(
    layers.map((items, i) => {
      const file = nth(layerTars, i);
      return writeLayer(file + '.tmp', items).then(() => renameSync(file + '.tmp', file));
    }),
  );
  await Promise.all(layerTars.map((f, i) => pipeline(createReadStream(f), createGzip({ level: 1 }), createWriteStream(nth(gzLayers, i)))));

  const diffIds = layerTars.map((f) => 'sha256:' + sha256File(f));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/usr/bin/env'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map((_, i) => ({ created_by: `bench layer ${i}` })),
    }),
  );
  const configHex = createHash('sha256').update(config).digest('hex');

  // pre-25 docker save
  {
    const pack = tar.pack();
    const done = pipeline(pack, createWriteStream(dockerTar + '.tmp'));
    const names: string[] = [];
    for (const [i, layerTar] of layerTars.entries()) {
      const id = nth(diffIds, i).slice(7);
      names.push(`${id}/layer.tar`);
      pack.entry({ name: `${id}/`, type: 'directory', mtime: new Date(0) });
      await new Promise<void>((resolve, reject) =>
        createReadStream(layerTar).pipe(
          pack.entry({ name: `${id}/layer.tar`, size: statSync(layerTar).size, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve())),
        ),
      );
    }
    pack.entry({ name: `${configHex}.json` }, config);
    pack.entry({ name: 'manifest.json' }, JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['bench:latest'], Layers: names }]));
    pack.finalize();
    await done;
    renameSync(dockerTar + '.tmp', dockerTar);
  }
  // gzip OCI archive
  {
    const pack = tar.pack();
    const done = pipeline(pack, createWriteStream(ociGzip + '.tmp'));
    const layerDescs = [];
    for (const gz of gzLayers) {
      const hex = sha256File(gz);
      layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'sha256:' + hex, size: statSync(gz).size });
      await new Promise<void>((resolve, reject) =>
        createReadStream(gz).pipe(
          pack.entry({ name: `blobs/sha256/${hex}`, size: statSync(gz).size, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve())),
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
    renameSync(ociGzip + '.tmp', ociGzip);
  }
  writeFileSync(join(WORK, 'README'), 'Generated by npm run bench; safe to delete.\n');
  return { dockerTar, ociGzip, layerTars, gzLayers };
}

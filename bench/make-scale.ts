/**
 * Builds the scale benchmark images as OCI layout folders with uncompressed layer blobs
 * (no engine, no copying through an outer tar), cached under the temp dir in a folder
 * keyed by this script's hash, so a change here builds them again:
 *
 *   makeScaleImage(files)  a node_modules-heavy image: `files` regular files (plus their
 *                          folders) over 127 layers; later layers overwrite some files of
 *                          earlier ones and remove a few packages (whiteouts, one opaque
 *                          folder), as `npm install` layer after layer does. Layer 0 holds
 *                          /usr/bin/env with its loader and libc, the entrypoint.
 *   makeBigImage(gb)       a `gb` GB image whose one layer holds 80% of the bytes in a few
 *                          huge files, the rest in 4 layers; the bodies are holes (sparse
 *                          files on disk), so it takes little disk, yet every byte is read.
 *
 * Tar headers are written byte by byte (ustar, name split into prefix/name).
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT_HASH = createHash('sha256')
  .update(readFileSync(new URL(import.meta.url).pathname))
  .digest('hex')
  .slice(0, 12);
/** Where the images go: `root`/scratchscope-scale-<this script's hash>; older hashes' folders are removed. */
function cacheFor(root: string): string {
  const dir = join(root, `scratchscope-scale-${SCRIPT_HASH}`);
  mkdirSync(root, { recursive: true });
  for (const old of readdirSync(root))
    if (old.startsWith('scratchscope-scale-') && join(root, old) !== dir) rmSync(join(root, old), { recursive: true, force: true });
  return dir;
}

export interface ScaleImage {
  /** The OCI layout folder. */
  dir: string;
  /** The layer blobs (uncompressed tars), bottom first. */
  layerTars: string[];
  /** Entries over all layer tars (what `tar -tf` lists). */
  entries: number;
  /** Bytes of all layer tars. */
  bytes: number;
}

function octal(n: number, len: number, h: Buffer, at: number): void {
  h.write(n.toString(8).padStart(len - 1, '0') + '\0', at, 'latin1');
}

/** A ustar header; names up to 255 bytes (split at a slash into prefix and name). */
function header(name: string, type: string, size: number, mode: number, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`name too long for ustar: ${prefix}/${name}`);
  }
  h.write(name, 0, 'utf8');
  octal(mode, 8, h, 100);
  octal(1000, 8, h, 108);
  octal(1000, 8, h, 116);
  octal(size, 12, h, 124);
  octal(1700000000, 12, h, 136);
  h.write(type, 156, 'latin1');
  if (linkname) h.write(linkname, 157, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write(prefix, 345, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  octal(sum, 7, h, 148);
  h[155] = 0x20;
  return h;
}

/** Writes a tar to a file, hashing what it writes; bodies may be holes (`hole`: seek past them). */
class TarWriter {
  private readonly fd: number;
  private readonly hash = createHash('sha256');
  private buf: Buffer[] = [];
  private pending = 0;
  private pos = 0;
  entries = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  private put(b: Buffer): void {
    this.buf.push(b);
    this.pending += b.length;
    if (this.pending > 1 << 20) this.flush();
  }

  private flush(): void {
    if (!this.pending) return;
    const all = Buffer.concat(this.buf);
    writeSync(this.fd, all, 0, all.length, this.pos);
    this.hash.update(all);
    this.pos += all.length;
    this.buf = [];
    this.pending = 0;
  }

  dir(name: string): void {
    this.entries++;
    this.put(header(name.endsWith('/') ? name : name + '/', '5', 0, 0o755));
  }

  symlink(name: string, target: string): void {
    this.entries++;
    this.put(header(name, '2', 0, 0o777, target));
  }

  file(name: string, body: Buffer, mode = 0o644): void {
    this.entries++;
    this.put(header(name, '0', body.length, mode));
    if (body.length) {
      this.put(body);
      const rem = body.length % 512;
      if (rem) this.put(Buffer.alloc(512 - rem));
    }
  }

  /** A file of `size` zero bytes left as a hole on disk (hashed as zeros all the same). */
  holeFile(name: string, size: number): void {
    this.entries++;
    this.put(header(name, '0', size, 0o644));
    this.flush();
    const padded = size + ((512 - (size % 512)) % 512);
    const zeros = Buffer.alloc(1 << 22);
    for (let left = padded; left > 0; left -= zeros.length) this.hash.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
    this.pos += padded;
  }

  /** Ends the archive; returns the sha256 of its bytes. */
  end(): string {
    this.put(Buffer.alloc(1024));
    this.flush();
    ftruncateSync(this.fd, this.pos);
    closeSync(this.fd);
    return this.hash.digest('hex');
  }
}

/** Deterministic text-like bytes: a JavaScript-ish body of `size` bytes. */
const TEXT = Buffer.from(
  "'use strict';\nmodule.exports = function (a, b) {\n  if (a == null) return b;\n  return Object.assign({}, a, b);\n};\n// lorem ipsum dolor sit amet\n".repeat(
    64,
  ),
);
function body(size: number, seed: number): Buffer {
  const b = Buffer.from(TEXT.subarray(0, Math.min(size, TEXT.length)));
  if (b.length) b[0] = 0x20 + (seed % 90); // files differ a little
  return b;
}

/** A small deterministic generator (xorshift). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function writeLayout(dir: string, tars: string[], digests: string[], entrypoint: string[]): void {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const layers = tars.map((f, i) => {
    const to = join(dir, 'blobs/sha256', digests[i]!);
    renameSync(f, to);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:' + digests[i], size: statSync(to).size };
  });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: entrypoint, Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: layers.map((_, i) => ({ created_by: `/bin/sh -c #(nop) COPY scale layer ${i} in /` })),
    }),
  );
  const cHex = createHash('sha256').update(config).digest('hex');
  writeFileSync(join(dir, 'blobs/sha256', cHex), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:' + cHex, size: config.length },
      layers,
    }),
  );
  const mHex = createHash('sha256').update(manifest).digest('hex');
  writeFileSync(join(dir, 'blobs/sha256', mHex), manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + mHex, size: manifest.length }],
    }),
  );
}

function cached(dir: string): ScaleImage | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'scale.json'), 'utf8')) as ScaleImage;
  } catch {
    return null;
  }
}

function finish(dir: string, tmp: string, tars: string[], digests: string[], entries: number, entrypoint: string[]): ScaleImage {
  writeLayout(tmp, tars, digests, entrypoint);
  const layerTars = digests.map((d) => join(dir, 'blobs/sha256', d));
  const bytes = digests.reduce((n, d) => n + statSync(join(tmp, 'blobs/sha256', d)).size, 0);
  const img: ScaleImage = { dir, layerTars, entries, bytes };
  writeFileSync(join(tmp, 'scale.json'), JSON.stringify(img));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return img;
}

export const SCALE_LAYERS = 127;

/** The node_modules-heavy image with `files` regular files over 127 layers (cached). */
export function makeScaleImage(files: number, cacheRoot = tmpdir()): ScaleImage {
  const dir = join(cacheFor(cacheRoot), `files-${files}`);
  const hit = cached(dir);
  if (hit && hit.layerTars.every(existsSync)) return hit;
  console.error(`bench: building the ${files}-file, ${SCALE_LAYERS}-layer image (once) in ${dir}`);
  const tmp = dir + '.tmp';
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const rand = rng(files);
  const tars: string[] = [];
  const digests: string[] = [];
  let entries = 0;
  // layer 0: a program that starts, with its loader and libc, and /etc/passwd
  {
    const w = new TarWriter(join(tmp, 'layer0.tar'));
    for (const d of ['etc', 'usr', 'usr/bin', 'lib', 'lib/x86_64-linux-gnu', 'lib64', 'app', 'app/node_modules']) w.dir(d);
    w.file('etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n'));
    w.file('usr/bin/env', readFileSync('/usr/bin/env'), 0o755);
    w.file('lib/x86_64-linux-gnu/libc.so.6', readFileSync('/lib/x86_64-linux-gnu/libc.so.6'), 0o755);
    w.file('lib64/ld-linux-x86-64.so.2', readFileSync('/lib64/ld-linux-x86-64.so.2'), 0o755);
    w.file('app/index.js', body(300, 0));
    w.file('app/package.json', body(500, 1));
    digests.push(w.end());
    tars.push(w.path);
    entries += w.entries;
  }
  // layers 1..126: packages of node_modules, ~15 files in ~4 folders each
  const perLayer = Math.ceil(files / (SCALE_LAYERS - 1));
  const written: string[] = []; // every package folder so far, for overwrites and removals
  let pkg = 0;
  for (let l = 1; l < SCALE_LAYERS; l++) {
    const w = new TarWriter(join(tmp, `layer${l}.tar`));
    let n = 0;
    // rewrite a few files of earlier packages, and remove a package now and then
    if (l > 1) {
      for (let k = 0; k < perLayer / 100; k++) {
        const p = written[Math.floor(rand() * written.length)]!;
        w.file(`${p}/package.json`, body(400 + Math.floor(rand() * 800), l * 7 + k));
        n++;
      }
      if (l % 5 === 0) {
        const i = Math.floor(rand() * written.length);
        const p = written[i]!;
        const slash = p.lastIndexOf('/');
        w.file(`${p.slice(0, slash)}/.wh.${p.slice(slash + 1)}`, Buffer.alloc(0));
        written.splice(i, 1);
      }
      if (l % 25 === 0) {
        // an opaque folder: the package's lib/ replaced whole
        const p = written[Math.floor(rand() * written.length)]!;
        w.dir(`${p}/lib`);
        w.file(`${p}/lib/.wh..wh..opq`, Buffer.alloc(0));
        w.file(`${p}/lib/index.js`, body(900, l));
        n++;
      }
    }
    while (n < perLayer) {
      const scope = pkg % 7 === 0 ? `@scope${pkg % 97}/` : '';
      const p = `app/node_modules/${scope}package-${pkg.toString(36)}-${(pkg * 2654435761) % 100000}`;
      pkg++;
      if (scope) w.dir(`app/node_modules/${scope.slice(0, -1)}`);
      w.dir(p);
      w.file(`${p}/package.json`, body(300 + Math.floor(rand() * 1500), pkg));
      w.file(`${p}/README.md`, body(200 + Math.floor(rand() * 4000), pkg + 1));
      w.file(`${p}/LICENSE`, body(1070, pkg + 2));
      n += 3;
      for (const sub of ['lib', 'dist', 'lib/util']) {
        if (n >= perLayer) break;
        w.dir(`${p}/${sub}`);
        const k = 1 + Math.floor(rand() * 6);
        for (let f = 0; f < k && n < perLayer; f++, n++)
          w.file(`${p}/${sub}/module_${f}${rand() < 0.3 ? '.d.ts' : '.js'}`, body(Math.floor(rand() * rand() * 6000), pkg * 31 + f));
      }
      if (rand() < 0.1) {
        w.dir(`${p}/bin`);
        w.symlink(`${p}/bin/cli`, '../lib/module_0.js');
      }
      written.push(p);
    }
    digests.push(w.end());
    tars.push(w.path);
    entries += w.entries;
  }
  return finish(dir, tmp, tars, digests, entries, ['/usr/bin/env', 'true']);
}

/** A `gb` GB image: one layer of 80% of the bytes in a few huge files, 4 layers of the rest; bodies are holes. */
export function makeBigImage(gb: number, cacheRoot = tmpdir()): ScaleImage {
  const dir = join(cacheFor(cacheRoot), `big-${gb}`);
  const hit = cached(dir);
  if (hit && hit.layerTars.every(existsSync)) return hit;
  console.error(`bench: building the ${gb} GB image (once, sparse) in ${dir}`);
  const tmp = dir + '.tmp';
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const total = gb * 1e9;
  const tars: string[] = [];
  const digests: string[] = [];
  let entries = 0;
  const sizes = [total * 0.05, total * 0.8, total * 0.05, total * 0.05, total * 0.05];
  sizes.forEach((bytes, l) => {
    const w = new TarWriter(join(tmp, `layer${l}.tar`));
    if (l === 0) {
      for (const d of ['etc', 'usr', 'usr/bin', 'lib', 'lib/x86_64-linux-gnu', 'lib64']) w.dir(d);
      w.file('usr/bin/env', readFileSync('/usr/bin/env'), 0o755);
      w.file('lib/x86_64-linux-gnu/libc.so.6', readFileSync('/lib/x86_64-linux-gnu/libc.so.6'), 0o755);
      w.file('lib64/ld-linux-x86-64.so.2', readFileSync('/lib64/ld-linux-x86-64.so.2'), 0o755);
    }
    w.dir(`data${l}`);
    const count = l === 1 ? 4 : 2;
    for (let f = 0; f < count; f++) w.holeFile(`data${l}/blob${f}.bin`, Math.floor(bytes / count));
    digests.push(w.end());
    tars.push(w.path);
    entries += w.entries;
  });
  return finish(dir, tmp, tars, digests, entries, ['/usr/bin/env', 'true']);
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const arg = process.argv[2] ?? '200000';
  const img = arg.endsWith('gb') ? makeBigImage(Number(arg.slice(0, -2))) : makeScaleImage(Number(arg));
  console.log(JSON.stringify({ ...img, layerTars: img.layerTars.length }));
}

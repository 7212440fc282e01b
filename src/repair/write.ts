/**
 * Writes an image: the layers as they were (their bytes copied, never re-packed), any new
 * layers, and a config; as a docker-archive (what `docker load` reads), an OCI archive, or
 * an OCI layout folder. Written in a private folder beside the destination and renamed into
 * place at the end, so a failure (a signal included) leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import {
  type Stats,
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import tar from 'tar-stream';
import { ScopeError, fsError } from '../errors.js';
import { inflater } from '../archive/decompress.js';
import { packMember } from './pack.js';
import { makeWatchedDir, removeTempDir } from '../source/tempdir.js';

export type ImageFormat = 'docker-archive' | 'oci-archive' | 'oci';

/** A layer's bytes: a range of a file, stored as it is (compressed or not). */
export interface LayerBytes {
  file: string;
  offset: number;
  size: number;
  compression: 'none' | 'gzip' | 'zstd';
  /** sha256 of the uncompressed tar, as the config lists it. */
  diffId: string;
}

export interface ImageToWrite {
  config: Record<string, unknown>;
  layers: LayerBytes[];
  /** A name for the image (docker-archive RepoTags, OCI ref.name annotation). */
  name: string | null;
  /** A folder for intermediate files (zstd layers inflated for docker load). */
  tempDir: string;
}

const MEDIA: Record<LayerBytes['compression'], string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** The sha256 of a file range, read in chunks. */
async function hashRange(file: string, offset: number, size: number): Promise<string> {
  const h = createHash('sha256');
  if (size > 0)
    await pipeline(
      createReadStream(file, { start: offset, end: offset + size - 1 }),
      new Writable({ write: (c: Buffer, _e, cb) => (h.update(c), cb()) }),
    );
  return 'sha256:' + h.digest('hex');
}

/** docker load of Docker 20.10 reads gzip but not zstd: such layers are written inflated. */
async function forDockerLoad(l: LayerBytes, tempDir: string, i: number): Promise<LayerBytes> {
  if (l.compression !== 'zstd') return l;
  const file = join(tempDir, `layer-${i}.tar`);
  await pipeline(createReadStream(l.file, { start: l.offset, end: l.offset + l.size - 1 }), inflater('zstd'), createWriteStream(file));
  return { file, offset: 0, size: statSync(file).size, compression: 'none', diffId: l.diffId };
}

interface Sink {
  /** Adds a named member from a file range. */
  file(name: string, file: string, offset: number, size: number): Promise<void>;
  bytes(name: string, data: Buffer): Promise<void>;
  finish(): Promise<void>;
}

function tarSink(out: string): Sink {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(out));
  done.catch(() => {}); // awaited in finish; an early failure surfaces there
  // One member at a time: its body is written, then tar-stream calls back.
  const member = async (name: string, size: number, body: AsyncIterable<Buffer> | Buffer) => {
    await packMember(pack, { name, size, mode: 0o644, mtime: new Date(0) }, async (put) => {
      if (Buffer.isBuffer(body)) await put(body);
      else for await (const chunk of body) await put(chunk);
    });
  };
  return {
    file: (name, file, offset, size) =>
      member(name, size, size > 0 ? createReadStream(file, { start: offset, end: offset + size - 1 }) : Buffer.alloc(0)),
    bytes: (name, data) => member(name, data.length, data),
    async finish() {
      pack.finalize();
      await done;
    },
  };
}

function dirSink(root: string): Sink {
  return {
    async file(name, file, offset, size) {
      const to = join(root, name);
      mkdirSync(dirname(to), { recursive: true });
      if (size > 0) await pipeline(createReadStream(file, { start: offset, end: offset + size - 1 }), createWriteStream(to));
      else writeFileSync(to, '');
    },
    bytes(name, data) {
      const to = join(root, name);
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, data); // a throw here reaches the awaiting caller as a rejection would
      return Promise.resolve();
    },
    async finish() {},
  };
}

async function writeDocker(img: ImageToWrite, sink: Sink): Promise<void> {
  const paths: string[] = [];
  for (const [i, layer] of img.layers.entries()) {
    const l = await forDockerLoad(layer, img.tempDir, i);
    const name = `${l.diffId.replace(/^sha256:/, '')}/layer.tar`;
    if (!paths.includes(name)) await sink.file(name, l.file, l.offset, l.size);
    paths.push(name);
  }
  const config = Buffer.from(JSON.stringify(img.config));
  const configName = `${sha256(config).slice(7)}.json`;
  await sink.bytes(configName, config);
  await sink.bytes(
    'manifest.json',
    Buffer.from(JSON.stringify([{ Config: configName, RepoTags: img.name ? [img.name] : [], Layers: paths }])),
  );
}

async function writeOci(img: ImageToWrite, sink: Sink): Promise<void> {
  await sink.bytes('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  const written = new Set<string>();
  for (const l of img.layers) {
    const digest = await hashRange(l.file, l.offset, l.size);
    if (!written.has(digest)) await sink.file(`blobs/sha256/${digest.slice(7)}`, l.file, l.offset, l.size);
    written.add(digest);
    layers.push({ mediaType: MEDIA[l.compression], digest, size: l.size });
  }
  const blob = async (data: Buffer) => {
    const digest = sha256(data);
    if (!written.has(digest)) await sink.bytes(`blobs/sha256/${digest.slice(7)}`, data);
    written.add(digest);
    return { digest, size: data.length };
  };
  const config = await blob(Buffer.from(JSON.stringify(img.config)));
  const manifest = await blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers,
      }),
    ),
  );
  const c = img.config;
  const platform =
    typeof c.architecture === 'string'
      ? {
          platform: {
            os: typeof c.os === 'string' ? c.os : 'linux',
            architecture: c.architecture,
            ...(typeof c.variant === 'string' ? { variant: c.variant } : {}),
          },
        }
      : {};
  const ref = img.name
    ? {
        annotations: {
          'org.opencontainers.image.ref.name': img.name.slice(img.name.lastIndexOf(':') + 1) || 'latest',
          'io.containerd.image.name': img.name,
        },
      }
    : {};
  await sink.bytes(
    'index.json',
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, ...platform, ...ref }],
      }),
    ),
  );
}

/** Writes the image to `out` in `format`; nothing is left at `out` if it fails. */
export async function writeImage(img: ImageToWrite, format: ImageFormat, out: string): Promise<void> {
  // what is at `out` now, its links not followed: the rename below replaces a link itself
  const there = lstatOrNull(out);
  if (format === 'oci' && there && (!there.isDirectory() || readdirSync(out).length > 0)) {
    throw new ScopeError('usage', `${out}: exists and is not an empty folder; name a new folder for the OCI layout`);
  }
  if (format !== 'oci' && there?.isDirectory()) throw new ScopeError('usage', `${out}: is a folder; name a file for the ${format}`);
  if (format !== 'oci' && there && !there.isFile()) {
    // a device, FIFO, socket or symlink would be replaced by the file: never what was meant
    throw new ScopeError('usage', `${out}: exists and is not a regular file; name a new file for the ${format}`);
  }
  const parentDir = dirname(out);
  if (!existsSync(parentDir) || !statSync(parentDir).isDirectory())
    throw new ScopeError('usage', `${out}: ${parentDir} is not a folder; name a path in an existing folder`);
  // Written inside a private folder beside `out` (same file system, for the rename), made
  // afresh with a random name and removed however the process ends (a signal included).
  const work = makeWatchedDir(parentDir, '.scratchscope-', (e) => fsError(e, parentDir));
  const temp = join(work, 'image');
  try {
    const sink = format === 'oci' ? dirSink(temp) : tarSink(temp);
    await (format === 'docker-archive' ? writeDocker(img, sink) : writeOci(img, sink));
    await sink.finish();
    if (format === 'oci' && existsSync(out)) rmSync(out, { recursive: true });
    renameSync(temp, out);
  } catch (e) {
    if (e instanceof ScopeError) throw e;
    throw fsError(e, out);
  } finally {
    removeTempDir(work);
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

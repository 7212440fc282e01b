/**
 * Opens an image from wherever the user has it. A reference may name its transport the
 * way skopeo spells it (docker-archive:PATH, oci-archive:PATH, oci:DIR[:TAG],
 * docker-daemon:NAME); a bare argument is a path when one exists, else an image name
 * for the local engine. What a file or folder holds is sniffed from its content.
 */
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ScopeError, fsError } from '../errors.js';
import { type Compression, guardBombs, inflater, readHead, sniffCompression } from '../layers/decompress.js';
import { type Bundle, DirBundle, TarBundle } from './bundle.js';
import { BLOCK, decodeHeader } from '../layers/tar.js';
import { parseConfig } from './config.js';
import { saveImage } from './daemon.js';
import { pickFromManifestJson, readManifestJson, tagsByConfig } from './docker-archive.js';
import { type Picked, pickFromIndex } from './oci.js';
import { budgeted, makeTempDir, removeTempDir, tempError } from './tempdir.js';
import type { LayerSource, OpenOptions, OpenedImage, SourceInfo, SourceKind } from './types.js';

export type * from './types.js';
export { findEngine } from './daemon.js';

type Transport = 'docker-archive' | 'oci-archive' | 'oci' | 'docker-daemon' | 'auto';

function splitTransport(ref: string): { transport: Transport; rest: string } {
  const m = /^(docker-archive|oci-archive|oci|docker-daemon):(.*)$/.exec(ref);
  if (m) return { transport: m[1] as Transport, rest: m[2] };
  if (/^docker:\/\//.test(ref)) throw new ScopeError('unsupported', `${ref}: registries are not read; pull the image and use its name, or docker save it`);
  return { transport: 'auto', rest: ref };
}

export async function openImage(reference: string, opts: OpenOptions = {}): Promise<OpenedImage> {
  const { transport, rest } = splitTransport(reference);
  const temps: string[] = [];
  const close = async () => {
    for (const t of temps.splice(0)) removeTempDir(t);
  };
  try {
    return await openWith(reference, transport, rest, opts, temps, close);
  } catch (e) {
    await close();
    throw e;
  }
}

async function openWith(reference: string, transport: Transport, rest: string, opts: OpenOptions, temps: string[], close: () => Promise<void>): Promise<OpenedImage> {
  if (transport === 'docker-daemon' || (transport === 'auto' && !existsSync(rest))) {
    // What reads as a path (./x, /x, image.tar) is a missing file, not an image name.
    if (transport === 'auto' && (rest.startsWith('.') || rest.startsWith('/') || /\.(tar|tgz|tar\.gz|tar\.zst|oci)$/i.test(rest))) {
      throw fsError(Object.assign(new Error(), { code: 'ENOENT' }), rest);
    }
    const tmp = makeTempDir();
    temps.push(tmp);
    const file = join(tmp, 'image.tar');
    const saved = await saveImage(rest, file);
    const bundle = await TarBundle.open(file);
    // newer engines save an OCI index too (platforms); the archive holds just this image
    const picked = pickImage(bundle, { platform: opts.platform });
    return build(reference, 'docker-daemon', saved.engine, picked, close, rest);
  }
  let path = rest;
  let ociTag: string | undefined;
  if (transport === 'oci') {
    // oci:DIR[:TAG] — the tag is after the last colon only when DIR itself does not exist
    const colon = rest.lastIndexOf(':');
    if (!existsSync(rest) && colon > 0) {
      path = rest.slice(0, colon);
      ociTag = rest.slice(colon + 1);
    }
  }
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw fsError(e, path);
  }
  if (st.isDirectory()) {
    const dir = new DirBundle(path);
    if (existsSync(join(path, 'oci-layout')) && existsSync(join(path, 'index.json'))) {
      return build(reference, 'oci-layout', path, pickFromIndex(dir, { ...opts, tag: opts.tag ?? ociTag }), close);
    }
    if (transport === 'oci') throw new ScopeError('not-an-image', `${path}: not an OCI image layout (no oci-layout and index.json)`);
    if (existsSync(join(path, 'manifest.json'))) {
      return build(reference, 'docker-archive', path, pickImage(dir, opts), close);
    }
    const layer: LayerSource = { index: 0, digest: null, diffId: null, mediaType: null, blob: null, dir: path };
    return {
      source: info(reference, 'rootfs-dir', path, null, null),
      config: null,
      history: [],
      layers: [layer],
      close,
    };
  }
  if (!st.isFile()) throw new ScopeError('not-an-image', `${path}: not a file or folder`);
  let file = path;
  const compression = sniffCompression(readHead(path, 0, 4));
  if (compression !== 'none') {
    // `docker save | gzip` and compressed rootfs tars: inflate once into the temp folder so it can be read by seeking.
    const tmp = makeTempDir();
    temps.push(tmp);
    file = join(tmp, 'outer.tar');
    await inflateFile(path, file, compression);
  }
  if (!looksLikeTar(file)) {
    throw new ScopeError('not-an-image', `${path}: not an image (neither a tar archive, an OCI layout nor a root filesystem folder)`);
  }
  const bundle = await TarBundle.open(file);
  const hasIndex = bundle.has('oci-layout') && bundle.has('index.json');
  const hasManifest = bundle.has('manifest.json');
  if (hasIndex || hasManifest) {
    const kind: SourceKind = hasManifest ? 'docker-archive' : 'oci-archive';
    if (transport === 'oci-archive' && !hasIndex) throw new ScopeError('not-an-image', `${path}: not an OCI archive (no index.json)`);
    return build(reference, kind, path, pickImage(bundle, opts), close);
  }
  if (transport !== 'auto') throw new ScopeError('not-an-image', `${path}: no manifest.json or index.json inside, so not a ${transport}`);
  // A tar with neither is a root filesystem (docker export): one layer, no config.
  const layer: LayerSource = { index: 0, digest: null, diffId: null, mediaType: null, blob: { file, offset: 0, size: statSync(file).size }, dir: null };
  return { source: info(reference, 'rootfs-tar', path, null, null), config: null, history: [], layers: [layer], close };
}

/** Prefer the OCI index (platforms, nested indexes); fall back to Docker's manifest.json. */
function pickImage(bundle: Bundle, opts: OpenOptions): Picked {
  if (bundle.has('index.json') && bundle.has('oci-layout')) {
    const names = bundle.has('manifest.json') ? tagsByConfig(readManifestJson(bundle)) : new Map<string, string[]>();
    return pickFromIndex(bundle, opts, names);
  }
  return pickFromManifestJson(bundle, opts);
}

function info(reference: string, kind: SourceKind, location: string, picked: Picked | null, image: string | null): SourceInfo {
  return {
    kind,
    reference,
    location,
    image: picked?.name ?? image,
    platform: picked?.platform ?? null,
    manifestDigest: picked?.manifestDigest ?? null,
    configDigest: picked?.configDigest ?? null,
  };
}

function build(reference: string, kind: SourceKind, location: string, picked: Picked, close: () => Promise<void>, image: string | null = null): OpenedImage {
  const where = `${location}${picked.configDigest ? ` (config ${picked.configDigest.slice(0, 19)})` : ''}`;
  const { config, history, diffIds } = parseConfig(picked.configRaw, where);
  if (diffIds.length && diffIds.length !== picked.layers.length) {
    throw new ScopeError('corrupt', `${location}: the manifest lists ${picked.layers.length} layers but the config ${diffIds.length}`);
  }
  const layers: LayerSource[] = picked.layers.map((l, i) => ({
    index: i,
    digest: l.digest,
    diffId: diffIds[i] ?? null,
    mediaType: l.mediaType,
    blob: l.blob,
    dir: null,
  }));
  if (!picked.platform && config.architecture) picked.platform = `${config.os ?? 'linux'}/${config.architecture}${config.variant ? '/' + config.variant : ''}`;
  return { source: info(reference, kind, location, picked, image), config, history, layers, close };
}

/** A first block that decodes as a tar header (its checksum holds) starts a tar. */
function looksLikeTar(file: string): boolean {
  const head = readHead(file, 0, BLOCK);
  if (head.length < BLOCK) return false;
  try {
    decodeHeader(head);
    return true;
  } catch {
    return false;
  }
}

async function inflateFile(from: string, to: string, compression: Exclude<Compression, 'none'>): Promise<void> {
  const inflate = inflater(compression);
  const counts = { stored: 0 };
  const raw = createReadStream(from);
  raw.on('data', (c) => (counts.stored += (c as Buffer).length));
  try {
    await pipeline(raw, inflate, (s: AsyncIterable<Buffer>) => budgeted(guardBombs(s, counts, compression), from), createWriteStream(to));
  } catch (e) {
    if (e instanceof ScopeError) throw e.code === 'too-large' && e.message.startsWith(from) ? e : new ScopeError(e.code, `${from}: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    if (err?.syscall && err.path !== from) throw tempError(e, dirname(to));
    throw new ScopeError('corrupt', `${from}: corrupt ${compression} data (${(e as Error).message})`);
  }
}


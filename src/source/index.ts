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
import { type Compression, guardBombs, inflater, readHead, sniffCompression } from '../archive/decompress.js';
import { type Bundle, DirBundle, TarBundle, readJson } from './bundle.js';
import { sameImage } from './reference.js';
import { BLOCK, decodeHeader } from '../archive/tar.js';
import { parseConfig } from './config.js';
import { pickFromManifestJson, readManifestJson, tagsByConfig } from './docker-archive.js';
import { isLegacySave, pickLegacy } from './legacy.js';
import { configPlatform, formatPlatform } from './platform.js';
import { type Picked, indexIsEmpty, pickFromIndex } from './oci.js';
import { SkopeoDirBundle } from './skopeo-dir.js';
import { allowTempFor, budgeted, makeTempDir, removeTempDir, tempError } from './tempdir.js';
import type { LayerSource, OpenOptions, OpenedImage, SourceInfo, SourceKind } from './types.js';

export type * from './types.js';

type Transport = 'docker-archive' | 'oci-archive' | 'oci' | 'dir' | 'docker-daemon' | 'registry' | 'auto';

function splitTransport(ref: string): { transport: Transport; rest: string } {
  const m = /^(docker-archive|oci-archive|oci|dir|docker-daemon|registry):(.*)$/.exec(ref);
  if (m) return { transport: m[1] as Transport, rest: m[2] ?? '' };
  if (ref.startsWith('docker://')) return { transport: 'registry', rest: ref.slice('docker://'.length) };
  return { transport: 'auto', rest: ref };
}

/**
 * skopeo's `docker-archive:PATH[:REF|:@N]`, `oci-archive:PATH[:REF]`, `oci:DIR[:REF]`: the
 * path ends at the first colon (containers/image cuts there), unless the whole exists.
 */
function splitPathAndRef(rest: string): { path: string; ref: string | null } {
  const colon = rest.indexOf(':');
  if (existsSync(rest) || colon <= 0) return { path: rest, ref: null };
  return { path: rest.slice(0, colon), ref: rest.slice(colon + 1) };
}

/** Folds the REF of a transport into the options: a name is a tag, `@N` an index into manifest.json. */
function withRef(transport: Transport, ref: string | null, opts: OpenOptions): OpenOptions {
  if (ref === null) return opts;
  if (ref.startsWith('@')) {
    if (transport !== 'docker-archive' || !/^@\d+$/.test(ref))
      throw new ScopeError('usage', `${ref}: a source index (@N, a number from 0) is only for docker-archive:PATH:@N`);
    return { ...opts, sourceIndex: Number(ref.slice(1)) };
  }
  if (opts.tag && opts.tag !== ref && !sameImage(opts.tag, ref))
    throw new ScopeError('usage', `the reference names ${ref} but --tag ${opts.tag}; give one`);
  return { ...opts, tag: ref };
}

async function fromRegistry(reference: string, rest: string, opts: OpenOptions, close: () => Promise<void>): Promise<OpenedImage> {
  // loaded only for a registry: its HTTP client instantiates WebAssembly (llhttp), which a
  // low `ulimit -v` refuses, and archives never need it
  const { openRegistry } = await import('./registry/index.js');
  const r = await openRegistry(rest, opts.platform, opts.registry);
  const closeAll = async () => {
    await r.close();
    await close();
  };
  try {
    return build(reference, 'registry', r.location, r.picked, closeAll);
  } catch (e) {
    await r.close();
    throw e;
  }
}

export async function openImage(reference: string, opts: OpenOptions = {}): Promise<OpenedImage> {
  const { transport, rest } = splitTransport(reference);
  const temps: string[] = [];
  const close = () =>
    new Promise<void>((resolve) => {
      for (const t of temps.splice(0)) removeTempDir(t);
      resolve();
    });
  try {
    return await openWith(reference, transport, rest, opts, temps, close);
  } catch (e) {
    await close();
    throw e;
  }
}

async function openWith(
  reference: string,
  transport: Transport,
  rest: string,
  opts: OpenOptions,
  temps: string[],
  close: () => Promise<void>,
): Promise<OpenedImage> {
  if (transport === 'registry') return fromRegistry(reference, rest, opts, close);
  if (transport === 'docker-daemon' || (transport === 'auto' && !existsSync(rest))) {
    // What reads as a path (./x, /x, image.tar) is a missing file, not an image name.
    if (transport === 'auto' && (rest.startsWith('.') || rest.startsWith('/') || /\.(tar|tgz|tar\.gz|tar\.zst|oci)$/i.test(rest))) {
      throw fsError(Object.assign(new Error(), { code: 'ENOENT' }), rest);
    }
    const tmp = makeTempDir();
    temps.push(tmp);
    const file = join(tmp, 'image.tar');
    let saved;
    try {
      // the engine's HTTP client is loaded only for an image in an engine
      const { saveImage } = await import('./daemon.js');
      saved = await saveImage(rest, file);
    } catch (e) {
      // A bare name the engine lacks (or no engine at all) is read from its registry.
      const absent = e instanceof ScopeError && (e.code === 'image-not-found' || e.code === 'daemon-unavailable');
      if (transport !== 'auto' || !absent || !(await isImageReference(rest))) throw e;
      try {
        return await fromRegistry(reference, rest, opts, close);
      } catch (e2) {
        if (e2 instanceof ScopeError) throw new ScopeError(e2.code, `${e2.message} (${rest} is not in the local engine either)`);
        throw e2;
      }
    }
    const bundle = await TarBundle.open(file);
    // newer engines save an OCI index too (platforms); the archive holds just this image
    const picked = pickImage(bundle, { platform: opts.platform }, formatOf(bundle) ?? 'docker');
    return build(reference, 'docker-daemon', saved.engine, picked, close, rest);
  }
  let path = rest;
  if (transport !== 'auto') {
    const split = splitPathAndRef(rest);
    path = split.path;
    opts = withRef(transport, split.ref, opts);
  }
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw fsError(e, path);
  }
  if (st.isDirectory()) {
    const dir = new DirBundle(path);
    const skopeo = transport === 'auto' || transport === 'dir' ? SkopeoDirBundle.open(dir) : null;
    if (skopeo) return build(reference, 'skopeo-dir', path, pickFromIndex(skopeo, opts, new Map(), skopeo.index()), close);
    if (transport === 'dir') throw new ScopeError('not-an-image', `${path}: not a skopeo dir: folder (no manifest.json of one image)`);
    const format = formatOf(dir);
    if (transport === 'oci' && format !== 'oci') {
      if (dir.has('index.json')) readJson(dir, 'index.json'); // an index.json that is no JSON says so
      throw new ScopeError(
        'not-an-image',
        `${path}: not an OCI image layout (${dir.has('index.json') ? 'its index.json has no manifests list' : 'no index.json'}${format ? `; it is a ${format === 'legacy' ? 'pre-1.10 docker save' : 'docker save'} folder` : ''})`,
      );
    }
    if (format) return build(reference, format === 'oci' ? 'oci-layout' : 'docker-archive', path, pickImage(dir, opts, format), close);
    // oci-layout marks an OCI layout (a root filesystem has no such file): without its index it is a broken one
    if (dir.has('oci-layout'))
      throw new ScopeError('not-an-image', `${path}: an OCI image layout (it has oci-layout) without an index.json file to read`);
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
    allowTempFor(statSync(path).size);
    await inflateFile(path, file, compression);
  }
  if (!looksLikeTar(file)) {
    throw new ScopeError('not-an-image', `${path}: not an image (neither a tar archive, an OCI layout nor a root filesystem folder)`);
  }
  const bundle = await TarBundle.open(file, path);
  const format = formatOf(bundle);
  if (format) {
    const kind: SourceKind = format === 'oci' && !bundle.has('manifest.json') ? 'oci-archive' : 'docker-archive';
    if (transport === 'oci-archive' && format !== 'oci')
      throw new ScopeError('not-an-image', `${path}: not an OCI archive (no index.json)`);
    return build(reference, kind, path, pickImage(bundle, opts, format), close);
  }
  if (transport !== 'auto')
    throw new ScopeError('not-an-image', `${path}: no manifest.json, index.json or repositories inside, so not a ${transport}`);
  // A tar with neither is a root filesystem (docker export): one layer, no config.
  const layer: LayerSource = {
    index: 0,
    digest: null,
    diffId: null,
    mediaType: null,
    blob: { file, offset: 0, size: statSync(file).size },
    dir: null,
  };
  return { source: info(reference, 'rootfs-tar', path, null, null), config: null, history: [], layers: [layer], close };
}

type Format = 'oci' | 'docker' | 'legacy';

/**
 * Which image format a bundle holds, by the files that name each. An index.json is OCI with
 * or without `oci-layout` beside it (skopeo reads such a layout; only the index is needed)
 * unless it is not an index at all (a root filesystem may hold a file of that name).
 */
function formatOf(bundle: Bundle): Format | null {
  if (bundle.has('index.json') && (bundle.has('oci-layout') || looksLikeIndex(bundle))) return 'oci';
  if (bundle.has('manifest.json')) return 'docker';
  if (isLegacySave(bundle)) return 'legacy';
  return null;
}

function looksLikeIndex(bundle: Bundle): boolean {
  if (bundle.children('').includes('blobs')) return true;
  try {
    const index = readJson(bundle, 'index.json');
    return !!index && typeof index === 'object' && 'manifests' in index;
  } catch {
    return false;
  }
}

/**
 * Prefer the OCI index (platforms, nested indexes); Docker's manifest.json when the index
 * names nothing (Docker 25.0.0 saved by id or digest wrote `"manifests": null`, moby#47210,
 * and Docker itself loads such a save through manifest.json) or when `@N` picks an entry of it.
 */
function pickImage(bundle: Bundle, opts: OpenOptions, format: Format): Picked {
  const hasManifestJson = bundle.has('manifest.json');
  if (opts.sourceIndex !== undefined) {
    if (!hasManifestJson)
      throw new ScopeError(
        'usage',
        `${bundle.location}: @${opts.sourceIndex} counts the entries of a docker save's manifest.json, and it has none`,
      );
    return pickFromManifestJson(bundle, opts);
  }
  if (format === 'oci') {
    const index = readJson(bundle, 'index.json', null, opts.verify);
    if (!indexIsEmpty(index) || !hasManifestJson) {
      const names = hasManifestJson ? tagsByConfig(readManifestJson(bundle, opts.verify)) : new Map<string, string[]>();
      return pickFromIndex(bundle, opts, names, index);
    }
  }
  if (format === 'legacy') return pickLegacy(bundle, opts);
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

function build(
  reference: string,
  kind: SourceKind,
  location: string,
  picked: Picked,
  close: () => Promise<void>,
  image: string | null = null,
): OpenedImage {
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
  if (!picked.platform) {
    const p = configPlatform(config);
    if (p) picked.platform = formatPlatform(p);
  }
  return { source: info(reference, kind, location, picked, image), config, configRaw: picked.configRaw, history, layers, close };
}

/** A first block that decodes as a tar header (its checksum holds) starts a tar. */
function looksLikeTar(file: string): boolean {
  return isTarHeader(readHead(file, 0, BLOCK));
}

function isTarHeader(head: Buffer): boolean {
  if (head.length < BLOCK) return false;
  try {
    decodeHeader(head);
    return true;
  } catch {
    return false;
  }
}

/**
 * Passes a compressed archive's inflated bytes on once its first block reads as a tar
 * header: what does not start like a tar is refused at once, not after gigabytes of it
 * (a gzip of zeros, say) have been inflated to disk.
 */
async function* tarOnly(s: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | null = Buffer.alloc(0);
  for await (const c of s) {
    if (head === null) {
      yield c;
      continue;
    }
    head = Buffer.concat([head, c]);
    if (head.length < BLOCK) continue;
    if (!isTarHeader(head.subarray(0, BLOCK)))
      throw new ScopeError('not-an-image', 'not an image (the compressed data does not hold a tar archive)');
    yield head;
    head = null;
  }
  if (head !== null && head.length) throw new ScopeError('not-an-image', 'not an image (the compressed data does not hold a tar archive)');
}

async function inflateFile(from: string, to: string, compression: Exclude<Compression, 'none'>): Promise<void> {
  const inflate = inflater(compression);
  const counts = { stored: 0 };
  const raw = createReadStream(from);
  raw.on('data', (c) => (counts.stored += (c as Buffer).length));
  try {
    await pipeline(
      raw,
      inflate,
      (s: AsyncIterable<Buffer>) => budgeted(tarOnly(guardBombs(s, counts, compression)), from),
      createWriteStream(to),
    );
  } catch (e) {
    if (e instanceof ScopeError)
      throw e.code === 'too-large' && e.message.startsWith(from) ? e : new ScopeError(e.code, `${from}: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    if (err?.syscall && err.path !== from) throw tempError(e, dirname(to));
    throw new ScopeError('corrupt', `${from}: corrupt ${compression} data (${(e as Error).message})`);
  }
}

/** The reference grammar is loaded only when a name must be told from a path. */
async function isImageReference(text: string): Promise<boolean> {
  const { parseRegistryRef } = await import('./registry/reference.js');
  try {
    parseRegistryRef(text);
    return true;
  } catch {
    return false;
  }
}

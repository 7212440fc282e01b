/**
 * OCI image layout (a folder, an OCI archive, or the layout inside a Docker 25+ `docker
 * save`): index.json -> (nested indexes) -> manifest -> config + layers. Picks one image
 * by name and platform; attestation manifests and platforms whose blobs are absent (never
 * pulled) are not candidates unless asked for by name.
 */
import { HEX_LENGTH, algorithmOf } from '../archive/hash.js';
import { ScopeError } from '../errors.js';
import { type Bundle, readJson } from './bundle.js';
import { type Platform, configPlatform, formatPlatform, hostPlatform, parsePlatform, platformMatches } from './platform.js';
import { sameImage, shortName } from './reference.js';
import type { BlobRef } from './types.js';

type Json = Record<string, unknown>;

export const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

export interface Descriptor {
  mediaType: string | null;
  digest: string;
  size: number;
  platform: Platform | null;
  annotations: Record<string, string>;
}

export interface Picked {
  name: string | null;
  platform: string | null;
  manifestDigest: string | null;
  configDigest: string | null;
  configRaw: unknown;
  layers: { digest: string | null; mediaType: string | null; blob: BlobRef }[];
}

export function descriptor(v: unknown, where: string): Descriptor {
  const o = (v && typeof v === 'object' ? v : {}) as Json;
  if (typeof o.digest !== 'string' || !/^[a-z0-9]+:[a-f0-9]+$/.test(o.digest))
    throw new ScopeError('corrupt', `${where}: descriptor without a valid digest`);
  let algorithm;
  try {
    algorithm = algorithmOf(o.digest);
  } catch (e) {
    throw new ScopeError('unsupported', `${where}: ${(e as Error).message}`);
  }
  if (o.digest.length !== o.digest.indexOf(':') + 1 + HEX_LENGTH[algorithm])
    throw new ScopeError('corrupt', `${where}: descriptor digest ${o.digest.slice(0, 40)} has the wrong length for its algorithm`);
  const p = o.platform as Json | undefined;
  const annotations: Record<string, string> = {};
  for (const [k, val] of Object.entries((o.annotations as Json) ?? {})) if (typeof val === 'string') annotations[k] = val;
  return {
    mediaType: typeof o.mediaType === 'string' ? o.mediaType : null,
    digest: o.digest,
    size: typeof o.size === 'number' ? o.size : -1,
    platform:
      p && typeof p.architecture === 'string'
        ? {
            os: typeof p.os === 'string' ? p.os : 'linux',
            architecture: p.architecture,
            variant: typeof p.variant === 'string' ? p.variant : undefined,
          }
        : null,
    annotations,
  };
}

export function blobPath(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

/** Media types of an image config; a manifest whose config is anything else is an artifact. */
const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/**
 * More manifests than any real index tree lists (a Docker 25 save of every tag of a
 * registry mirror stays far below). Counted before a list is followed, so an index whose
 * children fan out is refused before any work grows with it.
 */
export const DESCRIPTOR_LIMIT = 10_000;
const INDEX_DEPTH_LIMIT = 8;

export interface PickOptions {
  tag?: string;
  platform?: string;
  verify?: boolean;
}

export interface Candidate {
  /** Full image names (io.containerd.image.name, or a name inherited from a parent index). */
  names: string[];
  /** org.opencontainers.image.ref.name values: a tag or a full name. */
  refNames: string[];
  desc: Descriptor;
  available: boolean;
  /** The artifact type an index entry declares (OCI 1.1 descriptors carry it). */
  artifactType: string | null;
}

interface Walk {
  verify: boolean;
  listed: number;
  /** Candidates by manifest digest (and declared platform): an image listed twice (two tags) is one image. */
  byDigest: Map<string, Candidate>;
  /** Candidate keys each followed nested index produced, so a repeat only adds names. */
  nested: Map<string, string[]>;
}

export function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  );
}

function addNames(c: Candidate, names: string[], refNames: string[]): void {
  for (const n of names) if (!c.names.includes(n)) c.names.push(n);
  for (const r of refNames) if (!c.refNames.includes(r)) c.refNames.push(r);
}

/** A descriptor's own name, then those of the indexes above it: a tag on an index names every image under it. */
function withOwn(own: string | undefined, inherited: string[]): string[] {
  return own === undefined || inherited.includes(own) ? inherited : [own, ...inherited];
}

function collect(
  bundle: Bundle,
  list: unknown,
  where: string,
  inherited: string[],
  inheritedRef: string[],
  walk: Walk,
  depth: number,
): string[] {
  if (depth > INDEX_DEPTH_LIMIT)
    throw new ScopeError('too-large', `${bundle.location}: ${where}: indexes nested more than ${INDEX_DEPTH_LIMIT} deep`);
  if (!Array.isArray(list)) throw new ScopeError('corrupt', `${bundle.location}: ${where} has no manifests list`);
  walk.listed += list.length;
  if (walk.listed > DESCRIPTOR_LIMIT) {
    throw new ScopeError(
      'too-large',
      `${bundle.location}: the index lists more than ${DESCRIPTOR_LIMIT} manifests (nested indexes that fan out); no real image has that many`,
    );
  }
  // each image once, in first-listed order: an index listing the same child again and again,
  // nested, would otherwise list its images width^depth times
  const produced = new Set<string>();
  for (const item of list) {
    const d = descriptor(item, where);
    const name = withOwn(d.annotations['io.containerd.image.name'], inherited);
    const refName = withOwn(d.annotations['org.opencontainers.image.ref.name'], inheritedRef);
    const path = blobPath(d.digest);
    const present = bundle.has(path);
    let isIndex = d.mediaType ? INDEX_TYPES.has(d.mediaType) : false;
    let body: Json | null = null;
    if (!d.mediaType && present) {
      body = readJson(bundle, path, d.digest, walk.verify) as Json;
      isIndex = Array.isArray(body?.manifests);
    }
    if (isIndex) {
      if (!present) continue; // an index of something never pulled
      const seen = walk.nested.get(d.digest);
      if (seen) {
        // the same index again (a second tag): its images gain the name, nothing is re-read
        for (const key of seen) {
          addNames(walk.byDigest.get(key)!, name, refName);
          produced.add(key);
        }
        continue;
      }
      walk.nested.set(d.digest, []);
      body ??= readJson(bundle, path, d.digest, walk.verify) as Json;
      const inner = collect(bundle, body?.manifests, path, name, refName, walk, depth + 1);
      walk.nested.set(d.digest, inner);
      for (const key of inner) produced.add(key);
    } else if (!isAttestation(d)) {
      const key = d.digest + (d.platform ? ' ' + formatPlatform(d.platform) : '');
      let c = walk.byDigest.get(key);
      if (!c) {
        c = {
          names: [],
          refNames: [],
          desc: d,
          available: present,
          artifactType: typeof (item as Json).artifactType === 'string' ? ((item as Json).artifactType as string) : null,
        };
        walk.byDigest.set(key, c);
      }
      addNames(c, name, refName);
      produced.add(key);
    }
  }
  return [...produced];
}

function matchesTag(c: Candidate, tag: string): string | null {
  for (const n of c.names) if (sameImage(n, tag)) return n;
  for (const r of c.refNames) if (r === tag || sameImage(r, tag)) return r;
  return null;
}

/** How a candidate reads in lists and errors. */
function label(c: Candidate): string {
  if (c.names.length) return c.names.map(shortName).join(' / ');
  if (c.refNames.length) return c.refNames.join(' / ');
  return c.desc.digest.slice(0, 19);
}

/** An index whose `manifests` is null or empty names no image (Docker 25.0.0 wrote null: moby#47210). */
export function indexIsEmpty(index: unknown): boolean {
  const m = (index as Json | null)?.manifests;
  return m === null || m === undefined || (Array.isArray(m) && m.length === 0);
}

export function pickFromIndex(
  bundle: Bundle,
  opts: PickOptions,
  extraNames: Map<string, string[]> = new Map(),
  index: unknown = readJson(bundle, 'index.json'),
): Picked {
  const verify = opts.verify ?? true;
  const walk: Walk = { verify, listed: 0, byDigest: new Map(), nested: new Map() };
  collect(bundle, (index as Json | null)?.manifests, 'index.json', [], [], walk, 0);
  let all = [...walk.byDigest.values()];
  if (all.length === 0) throw new ScopeError('not-an-image', `${bundle.location}: the index lists no image manifests`);
  // Docker's manifest.json knows the tags of images whose index entry has none.
  if (extraNames.size) {
    for (const c of all) {
      if (c.names.length || !c.available) continue;
      const cfg = (readJson(bundle, blobPath(c.desc.digest), c.desc.digest, verify) as Json)?.config as Json | undefined;
      for (const t of (typeof cfg?.digest === 'string' && extraNames.get(cfg.digest)) || []) addNames(c, [t], []);
    }
  }
  // Signatures and SBOMs kept beside an image are not candidates; an index of nothing else is an artifact.
  const images = all.filter((c) => !c.artifactType);
  if (images.length === 0) throw artifactError(bundle, all[0]?.artifactType ?? ''); // all is not empty, and all are artifacts
  // a tag that names one of them says what it is
  const taggedArtifact = opts.tag ? all.find((c) => c.artifactType && matchesTag(c, opts.tag!)) : undefined;
  if (taggedArtifact && !images.some((c) => matchesTag(c, opts.tag!))) throw artifactError(bundle, taggedArtifact.artifactType!);
  all = images;

  let pool = all;
  let picked: string | null = null;
  if (opts.tag) {
    pool = all.filter((c) => matchesTag(c, opts.tag!));
    const hit = pool[0];
    if (hit === undefined) {
      throw new ScopeError('not-found', `${bundle.location}: no image tagged ${opts.tag}; it holds ${listNames(all)}`);
    }
    picked = matchesTag(hit, opts.tag);
  } else {
    // Entries that share their names are one image (its platforms); different names are different images.
    const keys = new Set(
      all.map((c) =>
        c.names.length || c.refNames.length ? [...c.names].sort().join(' ') + '|' + [...c.refNames].sort().join(' ') : c.desc.digest,
      ),
    );
    if (keys.size > 1) {
      throw new ScopeError('ambiguous-image', `${bundle.location} holds several images; pick one with --tag: ${listNames(all)}`);
    }
  }
  // Many layouts (skopeo's, for one) put no platform in the index: the config has it.
  for (const c of pool) if (!c.desc.platform && c.available) c.desc.platform = platformFromConfig(bundle, c.desc, verify);
  const chosen = pickPlatform(pool, opts.platform, bundle.location);
  const manifestPath = blobPath(chosen.desc.digest);
  const manifest = readJson(bundle, manifestPath, chosen.desc.digest, verify) as Json;
  if (!manifest || typeof manifest !== 'object' || !manifest.config) {
    throw new ScopeError('corrupt', `${bundle.location}: ${manifestPath} is not an image manifest`);
  }
  const artifact = artifactTypeOf(manifest);
  if (artifact) throw artifactError(bundle, artifact);
  if (!Array.isArray(manifest.layers))
    throw new ScopeError('corrupt', `${bundle.location}: ${manifestPath} is not an image manifest (no layers)`);
  const config = descriptor(manifest.config, manifestPath);
  const configPath = blobPath(config.digest);
  if (!bundle.has(configPath)) throw new ScopeError('missing-blob', `${bundle.location}: config blob ${config.digest} is missing`);
  const layers = (manifest.layers as unknown[]).map((l, i) => {
    const d = descriptor(l, manifestPath);
    const p = blobPath(d.digest);
    if (!bundle.has(p)) throw new ScopeError('missing-blob', `${bundle.location}: layer ${i} blob ${d.digest} is missing`);
    return { digest: d.digest, mediaType: d.mediaType, blob: bundle.blob(p) };
  });
  const plat = chosen.desc.platform;
  const name = picked ?? chosen.names[0] ?? chosen.refNames[0] ?? null;
  return {
    name: name && (chosen.names.includes(name) ? shortName(name) : name),
    platform: plat ? formatPlatform(plat) : null,
    manifestDigest: chosen.desc.digest,
    configDigest: config.digest,
    configRaw: readJson(bundle, configPath, config.digest, verify),
    layers,
  };
}

/**
 * The artifact type of a manifest that is not a container image, else null: its config
 * media type is not an image config (a Helm chart, a WASM module, a signature), or it has
 * an empty config and an `artifactType` (OCI 1.1 artifacts).
 */
export function artifactTypeOf(manifest: Json): string | null {
  const cfg = (manifest.config ?? {}) as Json;
  const cfgType = typeof cfg.mediaType === 'string' ? cfg.mediaType : null;
  if (cfgType && IMAGE_CONFIG_TYPES.has(cfgType)) return null;
  if (typeof manifest.artifactType === 'string') return manifest.artifactType;
  return cfgType;
}

function artifactError(bundle: Bundle, type: string): ScopeError {
  return new ScopeError('not-an-image', `${bundle.location}: this is an OCI artifact (${printableType(type)}), not a container image`);
}

/** A media type is short ASCII by RFC 6838; anything else is shown cut and escaped by the caller. */
function printableType(t: string): string {
  return t.length > 120 ? t.slice(0, 120) + '…' : t;
}

function platformFromConfig(bundle: Bundle, d: Descriptor, verify: boolean): Platform | null {
  const manifest = readJson(bundle, blobPath(d.digest), d.digest, verify) as Json;
  const cfg = manifest?.config as Json | undefined;
  if (!cfg || typeof cfg.digest !== 'string' || !bundle.has(blobPath(cfg.digest))) return null;
  if (cfg.mediaType !== undefined && (typeof cfg.mediaType !== 'string' || !IMAGE_CONFIG_TYPES.has(cfg.mediaType))) return null; // an artifact's config says nothing of platforms
  return configPlatform(readJson(bundle, blobPath(cfg.digest), cfg.digest, verify));
}

function listNames(all: Candidate[]): string {
  return [...new Set(all.map(label))].join(', ');
}

export function pickPlatform(pool: Candidate[], wanted: string | undefined, where: string): Candidate {
  const label = (c: Candidate) =>
    (c.desc.platform ? formatPlatform(c.desc.platform) : 'unknown platform') + (c.available ? '' : ' (blobs absent)');
  if (wanted) {
    const want = parsePlatform(wanted);
    const hits = pool.filter((c) => c.desc.platform && platformMatches(c.desc.platform, want));
    if (hits.length === 0) {
      throw new ScopeError('unknown-platform', `${where}: no image for ${wanted}; available: ${pool.map(label).join(', ')}`);
    }
    const present = hits.find((c) => c.available);
    if (!present) throw new ScopeError('missing-blob', `${where}: ${wanted} is listed but its blobs are not in the archive (never pulled)`);
    return present;
  }
  const present = pool.filter((c) => c.available);
  const only = present[0];
  if (present.length === 1 && only) return only;
  if (present.length === 0) {
    const listed = pool.map((c) => `${c.desc.platform ? formatPlatform(c.desc.platform) : 'no platform'} ${c.desc.digest.slice(0, 19)}`);
    throw new ScopeError(
      'missing-blob',
      `${where}: no manifest it lists is in the archive (${listed.join(', ')}): never pulled, or removed`,
    );
  }
  const host = present.filter((c) => c.desc.platform && platformMatches(c.desc.platform, hostPlatform()));
  const onHost = host[0];
  if (onHost) return onHost;
  throw new ScopeError('unknown-platform', `${where}: several platforms, pick one with --platform: ${present.map(label).join(', ')}`);
}

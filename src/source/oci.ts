/**
 * OCI image layout (a folder, an OCI archive, or the layout inside a Docker 25+ `docker
 * save`): index.json -> (nested indexes) -> manifest -> config + layers. Picks one image
 * by name and platform; attestation manifests and platforms whose blobs are absent (never
 * pulled) are not candidates unless asked for by name.
 */
import { ScopeError } from '../errors.js';
import { type Bundle, readJson } from './bundle.js';
import { type Platform, formatPlatform, hostPlatform, parsePlatform, platformMatches } from './platform.js';
import { sameImage, shortName } from './reference.js';
import type { BlobRef } from './types.js';

type Json = Record<string, unknown>;

export const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

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
  if (typeof o.digest !== 'string' || !/^[a-z0-9]+:[a-f0-9]+$/.test(o.digest)) throw new ScopeError('corrupt', `${where}: descriptor without a valid digest`);
  const p = o.platform as Json | undefined;
  const annotations: Record<string, string> = {};
  for (const [k, val] of Object.entries((o.annotations as Json) ?? {})) if (typeof val === 'string') annotations[k] = val;
  return {
    mediaType: typeof o.mediaType === 'string' ? o.mediaType : null,
    digest: o.digest,
    size: typeof o.size === 'number' ? o.size : -1,
    platform: p && typeof p.architecture === 'string' ? { os: String(p.os ?? 'linux'), architecture: p.architecture, variant: typeof p.variant === 'string' ? p.variant : undefined } : null,
    annotations,
  };
}

export function blobPath(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

function nameOf(d: Descriptor, inherited: string | null): string | null {
  return d.annotations['io.containerd.image.name'] ?? inherited ?? d.annotations['org.opencontainers.image.ref.name'] ?? null;
}

export interface Candidate {
  name: string | null;
  refName: string | null;
  desc: Descriptor;
  available: boolean;
}

export function isAttestation(d: Descriptor): boolean {
  return d.annotations['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

function collect(bundle: Bundle, list: unknown, where: string, inherited: string | null, inheritedRef: string | null, out: Candidate[], depth: number): void {
  if (depth > 8) throw new ScopeError('corrupt', `${where}: indexes nested too deep`);
  if (!Array.isArray(list)) throw new ScopeError('corrupt', `${where}: no manifests list`);
  for (const item of list) {
    const d = descriptor(item, where);
    const name = nameOf(d, inherited);
    const refName = d.annotations['org.opencontainers.image.ref.name'] ?? inheritedRef;
    const path = blobPath(d.digest);
    const present = bundle.has(path);
    let isIndex = d.mediaType ? INDEX_TYPES.has(d.mediaType) : false;
    if (!d.mediaType && present) isIndex = Array.isArray((readJson(bundle, path) as Json)?.manifests);
    if (isIndex) {
      if (!present) continue; // an index of something never pulled
      collect(bundle, (readJson(bundle, path) as Json).manifests, path, name, refName, out, depth + 1);
    } else if (!isAttestation(d)) {
      out.push({ name, refName, desc: d, available: present });
    }
  }
}

function matchesTag(c: Candidate, tag: string): boolean {
  if (c.name && sameImage(c.name, tag)) return true;
  if (c.refName && (c.refName === tag || sameImage(c.refName, tag))) return true;
  return false;
}

export function pickFromIndex(bundle: Bundle, opts: { tag?: string; platform?: string }, extraNames: Map<string, string[]> = new Map()): Picked {
  const index = readJson(bundle, 'index.json') as Json;
  const all: Candidate[] = [];
  collect(bundle, index?.manifests, 'index.json', null, null, all, 0);
  // Docker's manifest.json knows tags of images whose index entry has none.
  for (const c of all) if (!c.name && extraNames.has(c.desc.digest)) c.name = extraNames.get(c.desc.digest)![0];
  if (all.length === 0) throw new ScopeError('not-an-image', `${bundle.location}: the index lists no image manifests`);

  let pool = all;
  if (opts.tag) {
    pool = all.filter((c) => matchesTag(c, opts.tag!));
    if (pool.length === 0) {
      throw new ScopeError('not-found', `${bundle.location}: no image tagged ${opts.tag}; it holds ${listNames(all)}`);
    }
  } else {
    const names = new Set(all.map((c) => c.name ?? c.desc.digest));
    if (names.size > 1) {
      throw new ScopeError('ambiguous-image', `${bundle.location} holds several images; pick one with --tag: ${listNames(all)}`);
    }
  }
  // Many layouts (skopeo's, for one) put no platform in the index: the config has it.
  for (const c of pool) if (!c.desc.platform && c.available) c.desc.platform = platformFromConfig(bundle, c.desc);
  const chosen = pickPlatform(pool, opts.platform, bundle.location);
  const manifestPath = blobPath(chosen.desc.digest);
  const manifest = readJson(bundle, manifestPath, chosen.desc.digest) as Json;
  if (!manifest || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new ScopeError('corrupt', `${bundle.location}: ${manifestPath} is not an image manifest`);
  }
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
  return {
    name: chosen.name ? shortName(chosen.name) : chosen.refName,
    platform: plat ? formatPlatform(plat) : null,
    manifestDigest: chosen.desc.digest,
    configDigest: config.digest,
    configRaw: readJson(bundle, configPath, config.digest),
    layers,
  };
}

function platformFromConfig(bundle: Bundle, d: Descriptor): Platform | null {
  const manifest = readJson(bundle, blobPath(d.digest), d.digest) as Json;
  const cfg = manifest?.config as Json | undefined;
  if (!cfg || typeof cfg.digest !== 'string' || !bundle.has(blobPath(cfg.digest))) return null;
  const config = readJson(bundle, blobPath(cfg.digest), cfg.digest) as Json;
  if (!config || typeof config.architecture !== 'string') return null;
  return { os: typeof config.os === 'string' ? config.os : 'linux', architecture: config.architecture, variant: typeof config.variant === 'string' ? config.variant : undefined };
}

function listNames(all: Candidate[]): string {
  const names = [...new Set(all.map((c) => (c.name ? shortName(c.name) : (c.refName ?? c.desc.digest.slice(0, 19)))))];
  return names.join(', ');
}

export function pickPlatform(pool: Candidate[], wanted: string | undefined, where: string): Candidate {
  const label = (c: Candidate) => (c.desc.platform ? formatPlatform(c.desc.platform) : 'unknown platform') + (c.available ? '' : ' (blobs absent)');
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
  if (present.length === 1) return present[0];
  if (present.length === 0) throw new ScopeError('missing-blob', `${where}: the manifest blobs of ${pool.map(label).join(', ')} are missing`);
  const host = present.filter((c) => c.desc.platform && platformMatches(c.desc.platform, hostPlatform()));
  if (host.length >= 1) return host[0];
  throw new ScopeError('unknown-platform', `${where}: several platforms, pick one with --platform: ${present.map(label).join(', ')}`);
}

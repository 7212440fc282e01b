/**
 * `docker save` manifest.json: [{Config, RepoTags, Layers}]. Used for archives without an
 * OCI index (Docker before 25, podman's docker-archive) and for Docker 25.0.0 saves whose
 * index lists nothing; layer paths may be symlinks to another layer's tar, which the
 * bundle resolves.
 */
import { ScopeError } from '../errors.js';
import { type Bundle, readJson, readJsonByPath } from './bundle.js';
import type { Picked } from './oci.js';
import { configPlatform, formatPlatform, requirePlatform } from './platform.js';
import { sameImage, shortName } from './reference.js';

interface ManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

export interface ManifestPick {
  tag?: string;
  platform?: string;
  verify?: boolean;
  /** skopeo's `docker-archive:PATH:@N`: the Nth entry of manifest.json, from 0. */
  sourceIndex?: number;
}

/** More images than one save holds in practice; a list this long is refused before it is read further. */
const ENTRY_LIMIT = 10_000;

export function readManifestJson(bundle: Bundle, verify = true): ManifestEntry[] {
  const raw = readJson(bundle, 'manifest.json', null, verify);
  if (!Array.isArray(raw)) throw new ScopeError('corrupt', `${bundle.location}: manifest.json is not a list`);
  if (raw.length > ENTRY_LIMIT)
    throw new ScopeError('too-large', `${bundle.location}: manifest.json lists ${raw.length} images, more than ${ENTRY_LIMIT}`);
  return raw.map((e, i) => {
    const o = (e ?? {}) as Record<string, unknown>;
    if (typeof o.Config !== 'string' || !Array.isArray(o.Layers) || !o.Layers.every((l): l is string => typeof l === 'string')) {
      throw new ScopeError('corrupt', `${bundle.location}: manifest.json entry ${i} has no Config or Layers`);
    }
    // RepoTags is null for an image saved by ID or digest
    const tags = Array.isArray(o.RepoTags) ? o.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { Config: o.Config, RepoTags: tags, Layers: o.Layers };
  });
}

/** Config digest -> tags, so an OCI index without names can still be picked by tag. */
export function tagsByConfig(entries: ManifestEntry[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const e of entries) m.set(digestOfPath(e.Config) ?? e.Config, e.RepoTags);
  return m;
}

function digestOfPath(p: string): string | null {
  const m = /(?:^|\/)blobs\/([a-z0-9]+)\/([a-f0-9]{32,})$/.exec(p) ?? /^([a-f0-9]{64})\.json$/.exec(p);
  if (!m) return null;
  return m.length === 3 ? `${m[1]}:${m[2]}` : `sha256:${m[1]}`;
}

/** Entries with the same config and layers are one image saved under several names. */
function mergeSame(entries: ManifestEntry[]): ManifestEntry[] {
  const byKey = new Map<string, ManifestEntry>();
  for (const e of entries) {
    const key = JSON.stringify([e.Config, e.Layers]);
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...e, RepoTags: [...e.RepoTags] });
    else for (const t of e.RepoTags) if (!seen.RepoTags.includes(t)) seen.RepoTags.push(t);
  }
  return [...byKey.values()];
}

export function pickFromManifestJson(bundle: Bundle, opts: ManifestPick): Picked {
  const verify = opts.verify ?? true;
  const listed = readManifestJson(bundle, verify);
  if (listed.length === 0) throw new ScopeError('not-an-image', `${bundle.location}: manifest.json lists no images`);
  const entries = mergeSame(listed);
  let chosen: ManifestEntry;
  let name: string | null;
  const all = () => entries.map((e) => (e.RepoTags.length ? e.RepoTags.map(shortName).join(' / ') : e.Config.slice(0, 19))).join(', ');
  if (opts.sourceIndex !== undefined) {
    // skopeo counts the entries as written, duplicates included
    const at = listed[opts.sourceIndex];
    if (at === undefined) {
      throw new ScopeError(
        'not-found',
        `${bundle.location}: no image @${opts.sourceIndex}; manifest.json lists ${listed.length} (@0 to @${listed.length - 1})`,
      );
    }
    chosen = entries.find((e) => e.Config === at.Config && JSON.stringify(e.Layers) === JSON.stringify(at.Layers))!;
    name = at.RepoTags[0] ? shortName(at.RepoTags[0]) : null;
  } else if (opts.tag) {
    const hit = entries.find((e) => e.RepoTags.some((t) => sameImage(t, opts.tag!)));
    if (!hit) throw new ScopeError('not-found', `${bundle.location}: no image tagged ${opts.tag}; it holds ${all()}`);
    chosen = hit;
    name = shortName(hit.RepoTags.find((t) => sameImage(t, opts.tag!))!);
  } else {
    if (entries.length > 1)
      throw new ScopeError('ambiguous-image', `${bundle.location} holds several images; pick one with --tag: ${all()}`);
    const only = entries[0];
    if (!only) throw new ScopeError('not-an-image', `${bundle.location}: manifest.json lists no images`);
    chosen = only;
    name = chosen.RepoTags[0] ? shortName(chosen.RepoTags[0]) : null;
  }
  // Docker reads the config by its path whatever its name (a save by go-containerregistry names
  // it by another digest), and the image's id is the digest of its bytes: so here
  const config = readJsonByPath(bundle, chosen.Config);
  const configRaw = config.json as Record<string, unknown>;
  const have = configPlatform(configRaw);
  requirePlatform(have, opts.platform, bundle.location);
  return {
    name,
    platform: have ? formatPlatform(have) : null,
    manifestDigest: null,
    configDigest: config.digest,
    configRaw,
    layers: chosen.Layers.map((p) => ({ digest: digestOfPath(p), mediaType: null, blob: bundle.blob(p) })),
  };
}

/**
 * An image read straight from a registry (distribution API v2 / OCI distribution spec):
 * manifest (Docker schema 2 or OCI; a manifest list or OCI index picks a platform as an
 * archive's index does), config, then the layers as streams the layer reader inflates
 * while they arrive. Every manifest and config is checked against its digest.
 */
import { ScopeError } from '../../errors.js';
import { printable } from '../../text.js';
import { type Candidate, INDEX_TYPES, type Picked, descriptor, isAttestation, pickPlatform } from '../oci.js';
import { configPlatform, formatPlatform, parsePlatform, platformMatches } from '../platform.js';
import { shortName } from '../reference.js';
import type { RegistryOptions } from '../types.js';
import { checkDigest, getSmall, streamBlob } from './blob.js';
import { digestOfBytes } from '../../archive/hash.js';
import { RegistryClient } from './client.js';
import { type Credentials, findCredentials, parseCreds } from './creds.js';
import { type RegistryRef, apiHost, formatRef, manifestRef, parseRegistryRef } from './reference.js';

export { parseRegistryRef } from './reference.js';

type Json = Record<string, unknown>;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');
const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(prettyjws|json)$/;
/** distribution refuses manifests over 4 MiB; a config over 64 MiB is not an image's. */
const MANIFEST_LIMIT = 4 << 20;
const CONFIG_LIMIT = 64 << 20;
const DEFAULT_TIMEOUT_S = 30;

export interface RegistryImage {
  picked: Picked;
  /** https://host/v2/repository, for the report. */
  location: string;
  close(): Promise<void>;
}

interface Manifest {
  json: Json;
  mediaType: string;
  digest: string;
}

function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string | null {
  const v = res.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

async function fetchManifest(client: RegistryClient, ref: string, expected: string | null, label: string): Promise<Manifest> {
  const { res, bytes } = await getSmall(
    client,
    `/v2/${client.repository}/manifests/${ref}`,
    { accept: ACCEPT },
    MANIFEST_LIMIT,
    `manifest ${label}`,
  );
  const announced = header(res, 'docker-content-digest');
  const digest = expected ?? (announced && /^sha(256|512):/.test(announced) ? announced : null);
  if (digest) checkDigest(bytes, digest, `the manifest of ${label}`, client.host);
  let json: Json;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Json;
  } catch {
    throw new ScopeError('corrupt', `${client.host}: the manifest of ${label} is not valid JSON`);
  }
  if (!json || typeof json !== 'object') throw new ScopeError('corrupt', `${client.host}: the manifest of ${label} is not a JSON object`);
  const type = (header(res, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
  const mediaType = typeof json.mediaType === 'string' ? json.mediaType : type;
  if (json.schemaVersion === 1 || SCHEMA1.test(mediaType)) {
    throw new ScopeError(
      'unsupported',
      `${client.host}: ${label} has only a Docker schema 1 manifest, which is deprecated and not read; push it again with a current docker, podman or skopeo`,
    );
  }
  return {
    json,
    mediaType: Array.isArray(json.manifests) ? (INDEX_TYPES.has(mediaType) ? mediaType : OCI_INDEX) : mediaType,
    digest: digest ?? digestOfBytes(bytes, 'sha256'),
  };
}

/** From an index, the manifest for the wanted platform (or the only one, or the host's), as archives choose. */
async function resolveIndex(
  client: RegistryClient,
  index: Manifest,
  label: string,
  platform: string | undefined,
): Promise<{ manifest: Manifest; platform: string | null }> {
  let current = index;
  for (let depth = 0; depth < 4; depth++) {
    const pool: Candidate[] = [];
    for (const item of current.json.manifests as unknown[]) {
      const desc = descriptor(item, `the index of ${label}`);
      if (!isAttestation(desc)) pool.push({ names: [], refNames: [], desc, available: true, artifactType: null });
    }
    if (pool.length === 0) throw new ScopeError('not-an-image', `${client.host}: the index of ${label} lists no image manifests`);
    const chosen = pickPlatform(pool, platform, formatRef(parseRegistryRef(label)));
    const next = await fetchManifest(client, chosen.desc.digest, chosen.desc.digest, `${label}@${chosen.desc.digest.slice(0, 19)}`);
    if (!INDEX_TYPES.has(next.mediaType))
      return { manifest: next, platform: chosen.desc.platform ? formatPlatform(chosen.desc.platform) : null };
    current = next;
  }
  throw new ScopeError('corrupt', `${client.host}: indexes of ${label} nested too deep`);
}

function credentialsFor(ref: RegistryRef, opts: RegistryOptions): Credentials | null {
  if (opts.creds !== undefined) return parseCreds(opts.creds, opts.credsSource ?? '--creds');
  return findCredentials(ref.registry, ref.repository);
}

export async function openRegistry(text: string, platform: string | undefined, opts: RegistryOptions = {}): Promise<RegistryImage> {
  const ref = parseRegistryRef(text);
  const label = formatRef(ref);
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT_S;
  const client = new RegistryClient(apiHost(ref.registry), ref.repository, {
    creds: credentialsFor(ref, opts),
    tlsVerify: opts.tlsVerify ?? true,
    timeoutMs: Math.max(1, Math.round(timeout * 1000)),
  });
  try {
    await client.connect();
    let manifest = await fetchManifest(client, manifestRef(ref), ref.digest, label);
    let picked: string | null = null;
    if (INDEX_TYPES.has(manifest.mediaType)) ({ manifest, platform: picked } = await resolveIndex(client, manifest, label, platform));
    const json = manifest.json;
    if (!json.config || !Array.isArray(json.layers)) {
      throw new ScopeError(
        'corrupt',
        `${client.host}: the manifest of ${label} (${printable(manifest.mediaType || 'no media type')}) is not an image manifest`,
      );
    }
    const config = descriptor(json.config, `the manifest of ${label}`);
    const { bytes } = await getSmall(
      client,
      `/v2/${ref.repository}/blobs/${config.digest}`,
      {},
      CONFIG_LIMIT,
      `config ${config.digest.slice(0, 19)}`,
    );
    checkDigest(bytes, config.digest, `the config of ${label}`, client.host);
    let configRaw: unknown;
    try {
      configRaw = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ScopeError('corrupt', `${client.host}: the config of ${label} is not valid JSON`);
    }
    if (!picked && platform) checkPlatform(configRaw, platform, label);
    const layers = (json.layers as unknown[]).map((l, i) => {
      const d = descriptor(l, `the manifest of ${label}`);
      return {
        digest: d.digest,
        mediaType: d.mediaType,
        blob: streamBlob(client, d.digest, d.size, `layer ${i} blob ${d.digest.slice(0, 19)}`),
      };
    });
    return {
      picked: { name: shortName(label), platform: picked, manifestDigest: manifest.digest, configDigest: config.digest, configRaw, layers },
      location: `${client.origin}/v2/${ref.repository}`,
      close: () => client.close(),
    };
  } catch (e) {
    await client.close();
    throw e;
  }
}

/** A single-platform image asked for with --platform must be of that platform. */
function checkPlatform(configRaw: unknown, wanted: string, label: string): void {
  const have = configPlatform(configRaw);
  if (!have) return;
  if (!platformMatches(have, parsePlatform(wanted))) {
    throw new ScopeError('unknown-platform', `${label}: no image for ${wanted}; available: ${printable(formatPlatform(have))}`);
  }
}

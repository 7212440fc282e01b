/**
 * skopeo's `dir:` folder (containers/image's directory transport): manifest.json is one image
 * manifest (or a list, whose images are HEX.manifest.json), and every blob is a file named by
 * its digest's hex, beside a `version` file. Read as the OCI layout it would be: this bundle
 * answers blobs/ALG/HEX with those files, and the index is made from manifest.json, so the
 * layout's reader (platforms, artifacts, digests checked) does the rest.
 */
import { digestOfBytes } from '../archive/hash.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScopeError, fsError } from '../errors.js';
import { type Bundle, DirBundle, JSON_LIMIT } from './bundle.js';
import type { FileBlob } from './types.js';

/** The hex of a descriptor's digest ("" when it has none). */
function hexOf(d: unknown): string {
  const digest = d && typeof d === 'object' ? (d as { digest?: unknown }).digest : undefined;
  return typeof digest === 'string' ? (digest.split(':')[1] ?? '') : '';
}

export class SkopeoDirBundle implements Bundle {
  readonly location: string;
  private readonly dir: DirBundle;
  /** sha256 hex of manifest.json: blobs/sha256/THAT is manifest.json. */
  readonly manifestHex: string;
  readonly manifest: Record<string, unknown>;

  private constructor(dir: DirBundle, manifestHex: string, manifest: Record<string, unknown>) {
    this.dir = dir;
    this.location = dir.location;
    this.manifestHex = manifestHex;
    this.manifest = manifest;
  }

  /** The folder as a skopeo dir: layout, or null when its manifest.json is not one manifest (a docker save's is a list). */
  static open(dir: DirBundle): SkopeoDirBundle | null {
    if (!dir.has('manifest.json')) return null;
    const ref = dir.blob('manifest.json');
    if (ref.size > JSON_LIMIT) return null; // docker save's reader says so
    let bytes: Buffer;
    try {
      bytes = readFileSync(ref.file);
    } catch (e) {
      throw fsError(e, join(dir.location, 'manifest.json'));
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return null;
    }
    if (!json || typeof json !== 'object' || Array.isArray(json) || !('schemaVersion' in json)) return null;
    // and the blobs beside it, named by their digests' hex (a root filesystem may hold a manifest.json of its own)
    const m = json as Record<string, unknown>;
    const beside = Array.isArray(m.manifests)
      ? m.manifests.some((d) => dir.has(`${hexOf(d)}.manifest.json`))
      : m.schemaVersion === 1 || dir.has(hexOf(m.config));
    if (!beside) return null;
    return new SkopeoDirBundle(dir, digestOfBytes(bytes, 'sha256').slice('sha256:'.length), m);
  }

  /** The index an OCI layout of this image would have: its one manifest (or list). */
  index(): unknown {
    const m = this.manifest;
    const list = Array.isArray(m.manifests);
    const mediaType =
      typeof m.mediaType === 'string'
        ? m.mediaType
        : list
          ? 'application/vnd.oci.image.index.v1+json'
          : 'application/vnd.oci.image.manifest.v1+json';
    if (m.schemaVersion !== 2) {
      throw new ScopeError(
        'unsupported',
        `${this.location}: a skopeo dir: of a schema ${String(m.schemaVersion)} manifest, which no engine pulls any more: copy it again (skopeo copy --format v2s2)`,
      );
    }
    return {
      schemaVersion: 2,
      manifests: [{ mediaType, digest: `sha256:${this.manifestHex}`, size: this.dir.blob('manifest.json').size }],
    };
  }

  private map(path: string): string {
    const m = /^blobs\/[a-z0-9]+\/([a-f0-9]+)$/.exec(path);
    if (!m) return path;
    const hex = m[1]!;
    if (hex === this.manifestHex) return 'manifest.json';
    return this.dir.has(`${hex}.manifest.json`) ? `${hex}.manifest.json` : hex;
  }

  has(path: string): boolean {
    return this.dir.has(this.map(path));
  }

  blob(path: string): FileBlob {
    return this.dir.blob(this.map(path));
  }

  children(dir: string): string[] {
    return this.dir.children(dir);
  }
}

/**
 * A bundle is the set of named files an image format is made of (manifest.json, index.json,
 * blobs/…), found either inside an outer tar or in a folder. Blobs are handed out as byte
 * ranges so layers are read in place, never copied.
 */
import { algorithmOf, digestOfBytes } from '../archive/hash.js';
import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ScopeError, fsError } from '../errors.js';
import { FileRangeReader } from '../archive/reader.js';
import { cleanPath, walkTar } from '../archive/walk.js';
import type { FileBlob } from './types.js';

/**
 * Image metadata (index, manifest, config, manifest.json) larger than this is refused, as
 * skopeo and podman refuse it (containers/image iolimits: 4 MiB for manifests and configs).
 */
export const JSON_LIMIT = 4 << 20;
/** Real image JSON nests a handful of levels (config -> Healthcheck -> Test); deeper is crafted. */
export const JSON_DEPTH_LIMIT = 64;

export interface Bundle {
  readonly location: string;
  has(path: string): boolean;
  blob(path: string): FileBlob;
  /** Names directly inside a folder of the bundle ('' for its top). */
  children(dir: string): string[];
}

interface Member {
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  offset: number;
  size: number;
  linkname: string;
}

/** The members of an uncompressed outer tar, indexed by seeking over their bodies. */
export class TarBundle implements Bundle {
  /** The archive as the user named it (a compressed one is read from its inflated copy, `file`). */
  readonly location: string;
  private readonly file: string;
  private readonly members = new Map<string, Member>();

  private constructor(file: string, shownAs: string) {
    this.file = file;
    this.location = shownAs;
  }

  static async open(file: string, shownAs = file): Promise<TarBundle> {
    const b = new TarBundle(file, shownAs);
    const size = statSize(file);
    const reader = new FileRangeReader(file, 0, size);
    try {
      for await (const e of walkTar(reader)) {
        // a sparse file's size is its real size, not its stored bytes: never a member to read
        const type =
          !e.sparse && (e.type === 'file' || e.type === 'dir' || e.type === 'symlink' || e.type === 'hardlink') ? e.type : 'other';
        b.members.set(e.path, { type, offset: e.dataPos, size: e.size, linkname: e.linkname });
        if (!e.sparse && e.dataPos + e.size > size) throw new ScopeError('truncated', `${shownAs}: truncated inside ${e.rawName}`);
      }
    } catch (e) {
      if (e instanceof ScopeError && !e.message.startsWith(shownAs)) throw new ScopeError(e.code, `${shownAs}: ${e.message}`);
      throw e;
    } finally {
      reader.close();
    }
    return b;
  }

  private resolve(path: string, depth = 0): Member | null {
    const m = this.members.get(cleanPath(path));
    if (!m) return null;
    if (depth > 40) throw new ScopeError('symlink-loop', `${this.location}: link loop at ${path}`);
    if (m.type === 'symlink') {
      const base = cleanPath(path).split('/').slice(0, -1).join('/');
      return this.resolve(m.linkname.startsWith('/') ? m.linkname : `${base}/${m.linkname}`, depth + 1);
    }
    if (m.type === 'hardlink') return this.resolve(m.linkname, depth + 1);
    return m;
  }

  has(path: string): boolean {
    return this.resolve(path)?.type === 'file';
  }

  blob(path: string): FileBlob {
    const m = this.resolve(path);
    if (!m || m.type !== 'file') throw new ScopeError('missing-blob', `${this.location}: ${path} is missing from the archive`);
    return { file: this.file, offset: m.offset, size: m.size };
  }

  children(dir: string): string[] {
    const prefix = dir === '' ? '/' : cleanPath(dir) + '/';
    const names = new Set<string>();
    for (const key of this.members.keys()) {
      if (!key.startsWith(prefix) || key.length === prefix.length) continue;
      names.add(key.slice(prefix.length).split('/')[0] ?? '');
    }
    return [...names];
  }
}

/** The same view of a folder (an OCI layout, or an unpacked `docker save`). */
export class DirBundle implements Bundle {
  readonly location: string;
  constructor(dir: string) {
    this.location = dir;
  }

  private real(path: string): string | null {
    const full = join(this.location, cleanPath(path));
    if (!existsSync(full)) return null;
    // A blob that is a symlink must still point inside the folder.
    const real = realpathSync(full);
    const rel = relative(realpathSync(this.location), real);
    if (rel.startsWith('..' + sep) || rel === '..') return null;
    return real;
  }

  has(path: string): boolean {
    const r = this.real(path);
    return r !== null && lstatSync(r).isFile();
  }

  blob(path: string): FileBlob {
    const r = this.real(path);
    if (!r || !lstatSync(r).isFile()) throw new ScopeError('missing-blob', `${this.location}: ${path} is missing`);
    return { file: r, offset: 0, size: lstatSync(r).size };
  }

  children(dir: string): string[] {
    const full = dir === '' ? this.location : this.real(dir);
    if (!full) return [];
    try {
      return readdirSync(full);
    } catch {
      return [];
    }
  }
}

function statSize(file: string): number {
  try {
    return statSync(file).size; // follows a symlink: `image.tar -> /elsewhere/save.tar` is the archive
  } catch (e) {
    throw fsError(e, file);
  }
}

/**
 * Reads and parses a small JSON member; with `digest` (and unless `verify` is false), its
 * bytes must hash to it. Size and nesting are bounded before parsing.
 */
export function readJson(bundle: Bundle, path: string, digest?: string | null, verify = true): unknown {
  const bytes = memberBytes(bundle, path);
  if (verify && digest) {
    const actual = digestOfBytes(bytes, algorithmOf(digest));
    if (actual !== digest) {
      throw new ScopeError(
        'digest-mismatch',
        `${bundle.location}: ${path} does not match its digest ${digest} (its bytes hash to ${actual}); --no-verify reads it anyway`,
      );
    }
  }
  return parseMember(bundle, path, bytes);
}

/**
 * A JSON member read by its path whatever its name, and the sha256 of its bytes: how Docker
 * reads a save's config, whose image id is that digest.
 */
export function readJsonByPath(bundle: Bundle, path: string): { json: unknown; digest: string } {
  const bytes = memberBytes(bundle, path);
  return { json: parseMember(bundle, path, bytes), digest: digestOfBytes(bytes, 'sha256') };
}

/** A small member's bytes, refused past JSON_LIMIT. */
function memberBytes(bundle: Bundle, path: string): Buffer {
  const ref = bundle.blob(path);
  if (ref.size > JSON_LIMIT) {
    throw new ScopeError(
      'too-large',
      `${bundle.location}: ${path} is ${ref.size} bytes, more than the ${JSON_LIMIT >> 20} MiB image metadata may have`,
    );
  }
  const reader = new FileRangeReader(ref.file, ref.offset, ref.size);
  try {
    return reader.readNow(ref.size);
  } finally {
    reader.close();
  }
}

/** JSON out of a member's bytes, its nesting bounded first. */
function parseMember(bundle: Bundle, path: string, bytes: Buffer): unknown {
  if (nesting(bytes) > JSON_DEPTH_LIMIT) {
    throw new ScopeError(
      'too-large',
      `${bundle.location}: ${path} nests more than ${JSON_DEPTH_LIMIT} levels deep, which no image metadata does`,
    );
  }
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new ScopeError('corrupt', `${bundle.location}: ${path} is not valid JSON`);
  }
}

/** The deepest nesting of arrays and objects in JSON text (brackets inside strings do not count). */
function nesting(bytes: Buffer): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max && (max = depth) > JSON_DEPTH_LIMIT) return max;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return max;
}

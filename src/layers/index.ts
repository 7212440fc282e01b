/**
 * Reads one layer into a list of entries (metadata only, never bodies) and checks its
 * digest where the format names one.
 */
import { ScopeError } from '../errors.js';
import type { LayerSource } from '../source/types.js';
import { type Compression, openBlob } from './decompress.js';
import { walkDir } from './dir.js';
import { hashRange } from './hash.js';
import { type TarEntry, walkTar } from './walk.js';

export type { TarEntry } from './walk.js';
export type { EntryType } from './tar.js';
export { cleanPath } from './walk.js';

/**
 * Where an entry's bytes are. With `file` set they can be read in place with positioned
 * reads; bodies inside a compressed stream have file null and are found again by layer
 * and path.
 */
export interface ContentRef {
  file: string | null;
  offset: number;
  size: number;
  layer: number;
  /** Position of the entry among the layer's entries, to find it again in a stream. */
  ordinal: number;
}

export interface LayerEntry extends TarEntry {
  /** Set for regular files. */
  content: ContentRef | null;
}

export interface LayerRead {
  entries: LayerEntry[];
  compression: Compression | 'dir';
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  verified: boolean;
}

export interface ReadOptions {
  /** Hash layers that are otherwise read by seeking (costs a full read of each). */
  verify: boolean;
}

function describe(layer: LayerSource): string {
  return `layer ${layer.index}${layer.digest ? ` (${layer.digest.slice(0, 19)})` : ''}`;
}

export async function readLayer(layer: LayerSource, opts: ReadOptions): Promise<LayerRead> {
  try {
    return await readLayerInner(layer, opts);
  } catch (e) {
    if (e instanceof ScopeError && !e.message.startsWith('layer ')) {
      throw new ScopeError(e.code, `${describe(layer)}: ${e.message}`);
    }
    throw e;
  }
}

async function readLayerInner(layer: LayerSource, opts: ReadOptions): Promise<LayerRead> {
  if (layer.dir) return { entries: walkDir(layer.dir, layer.index), compression: 'dir', tarSize: 0, verified: false };
  if (!layer.blob) throw new ScopeError('missing-blob', 'no data');
  const blob = layer.blob;
  const { reader, compression, storedDigest } = openBlob(blob);
  const expected = layer.digest ?? (compression === 'none' ? layer.diffId : null);
  const hashing = compression === 'none' && expected && opts.verify ? hashRange(blob.file, blob.offset, blob.size) : null;
  hashing?.catch(() => {}); // awaited below; keeps an early walk failure from leaving it unhandled
  const entries: LayerEntry[] = [];
  try {
    for await (const e of walkTar(reader)) {
      const entry = e as LayerEntry;
      entry.content = e.type === 'file' ? { file: reader.file, offset: reader.base + e.dataPos, size: e.size, layer: layer.index, ordinal: entries.length } : null;
      entries.push(entry);
    }
    if (storedDigest) {
      // Read to the end so every stored byte went through the hash (tar padding, gzip trailer).
      while ((await reader.read(1 << 20)).length > 0);
    }
  } finally {
    reader.close();
  }
  let verified = false;
  if (expected) {
    let actual: string | null = null;
    if (hashing) actual = await hashing;
    else if (storedDigest) actual = storedDigest();
    if (actual) {
      if (actual !== expected) {
        throw new ScopeError('digest-mismatch', `content digest ${actual} does not match ${expected}`);
      }
      verified = true;
    }
  }
  return { entries, compression, tarSize: compression === 'none' ? blob.size : reader.position, verified };
}


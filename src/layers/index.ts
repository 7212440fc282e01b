/**
 * Reads one layer into a list of entries (metadata only, never bodies) and checks its
 * digest where the format names one.
 */
import { ScopeError } from '../errors.js';
import type { LayerSource } from '../source/types.js';
import { type Compression, openBlob } from '../archive/decompress.js';
import { walkDir } from './dir.js';
import { hashRange } from '../archive/hash.js';
import { type TarEntry, readBody, walkTar } from '../archive/walk.js';
import { createHash } from 'node:crypto';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { chargeTemp, refundTemp, tempError } from '../source/tempdir.js';
import type { ByteReader } from '../archive/reader.js';
import { type Magic, magicOf } from '../archive/magic.js';

export type { TarEntry } from '../archive/walk.js';
export type { EntryType } from '../archive/tar.js';
export type { Magic } from '../archive/magic.js';
export { cleanPath } from '../archive/walk.js';

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
  /** Set for regular files when the layer was read with `sniff`. */
  magic: Magic | null;
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
  /** Look at the first bytes of every regular file to tell ELF files and scripts. */
  sniff?: boolean;
  /**
   * Where to copy, from compressed layers, the bodies later stages read by position:
   * ELF files, scripts, and the small config files the loader and runtime read.
   */
  spoolDir?: string | null;
  /** Called for each ELF file as soon as its bytes can be read by position. */
  onElf?: (ref: ContentRef) => void;
  /** Hears, entry by entry, how many stored bytes of the layer were read. */
  onStored?: (bytes: number) => void;
}

/** Small files a launch depends on, kept from compressed layers so they can be read later. */
const SPOOL_PATHS =
  /^\/etc\/(passwd|group|ld\.so\.cache|ld\.so\.conf|ld-musl-[^/]+\.path|nsswitch\.conf|os-release)$|^\/usr\/lib\/os-release$/;

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
  const { reader, compression, storedDigest, stored } = await openBlob(blob);
  const expected = layer.digest ?? (compression === 'none' ? layer.diffId : null);
  const hashing =
    compression === 'none' && expected && opts.verify && blob.file !== null ? hashRange(blob.file, blob.offset, blob.size) : null;
  hashing?.catch(() => {}); // awaited below; keeps an early walk failure from leaving it unhandled
  const entries: LayerEntry[] = [];
  const sniff = opts.sniff ?? false;
  const spoolDir = reader.file ? null : (opts.spoolDir ?? null);
  try {
    for await (const e of walkTar(reader)) {
      const entry = e as LayerEntry;
      entry.magic = null;
      // a sparse file's stored bytes are not its content: it is listed, never read
      if (e.type === 'file' && !e.sparse) {
        entry.content = { file: reader.file, offset: reader.base + e.dataPos, size: e.size, layer: layer.index, ordinal: entries.length };
        if (sniff || spoolDir) {
          // A seeking reader serves these bytes from the read-ahead that fetched the header.
          const head = e.size > 0 ? await readBody(reader, e, 4) : Buffer.alloc(0);
          entry.magic = magicOf(head);
          if (spoolDir && (entry.magic !== 'other' || SPOOL_PATHS.test(e.path))) {
            entry.content = await spool(reader, e, head, `${spoolDir}/${layer.index}-${entries.length}`, entry.content);
          }
          if (entry.magic === 'elf' && entry.content.file) opts.onElf?.(entry.content);
        }
      } else entry.content = null;
      entries.push(entry);
      opts.onStored?.(stored());
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

/** Spooled bodies by content digest, per spool folder: one copy of each, however often it recurs. */
const spooled = new Map<string, Map<string, string>>();

/**
 * Copies the rest of an entry's body from a stream into `file`; returns where it now is.
 * Every byte counts against the run's temp budget; a body seen before is not kept twice.
 */
async function spool(reader: ByteReader, e: TarEntry, head: Buffer, file: string, ref: ContentRef): Promise<ContentRef> {
  const dir = file.slice(0, file.lastIndexOf('/'));
  const what = `layer ${ref.layer}`;
  const hash = createHash('sha256');
  let fd: number;
  try {
    fd = openSync(file, 'w', 0o600);
  } catch (err) {
    throw tempError(err, dir);
  }
  const put = (b: Buffer) => {
    chargeTemp(b.length, what);
    hash.update(b);
    try {
      writeSync(fd, b);
    } catch (err) {
      throw tempError(err, dir);
    }
  };
  try {
    put(head);
    for (let done = head.length; done < e.size;) {
      const chunk = await readBody(reader, e, Math.min(1 << 20, e.size - done));
      put(chunk);
      done += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  const digest = hash.digest('hex');
  let seen = spooled.get(dir);
  if (!seen) spooled.set(dir, (seen = new Map<string, string>()));
  const earlier = seen.get(digest);
  if (earlier) {
    unlinkSync(file);
    refundTemp(e.size);
    return { ...ref, file: earlier, offset: 0 };
  }
  seen.set(digest, file);
  return { ...ref, file, offset: 0 };
}

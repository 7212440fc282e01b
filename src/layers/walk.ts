/**
 * Walks the entries of a tar through a ByteReader. The consumer may read part of an
 * entry's body (through readBody) before asking for the next entry; the walker skips
 * whatever is left. Bodies are never buffered by the walker itself.
 */
import { ScopeError } from '../errors.js';
import type { ByteReader } from './reader.js';
import { BLOCK, type EntryType, decodeHeader, decodeName, isZeroBlock, padding, parsePax } from './tar.js';

export interface TarEntry {
  /** Cleaned absolute path inside the layer ("/" for the root itself). */
  path: string;
  /** The name exactly as the archive spelled it (after pax/GNU long names). */
  rawName: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** Symlink target as written, or the cleaned absolute path a hard link points at. */
  linkname: string;
  /** Reader position where the body starts. */
  dataPos: number;
}

const META_LIMIT = 1 << 20; // pax headers and GNU long names larger than this are hostile
/** More entries than any real layer has (the largest images hold a few hundred thousand files). */
export const ENTRY_LIMIT = 4_000_000;

/** Cleans a tar name into an absolute path, confined to the root like a runtime does ("/../x" is "/x"). */
export function cleanPath(name: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export async function readBody(reader: ByteReader, entry: TarEntry, n: number): Promise<Buffer> {
  const consumed = reader.position - entry.dataPos;
  const want = Math.max(0, Math.min(n, entry.size - consumed));
  const buf = await reader.read(want);
  if (buf.length < want) throw new ScopeError('truncated', `unexpected end of data inside ${entry.rawName}`);
  return Buffer.from(buf); // the reader's buffer is only valid until its next read
}

async function readMeta(reader: ByteReader, size: number, what: string): Promise<Buffer> {
  if (size > META_LIMIT) throw new ScopeError('too-large', `${what} of ${size} bytes is too large`);
  const body = await reader.read(size);
  if (body.length < size) throw new ScopeError('truncated', `unexpected end of data inside ${what}`);
  await reader.skip(padding(size));
  return body;
}

export async function* walkTar(reader: ByteReader): AsyncGenerator<TarEntry> {
  let globalPax = new Map<string, string>();
  let pax: Map<string, string> | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  let count = 0;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0) return; // end of input without end-of-archive blocks: accepted, as tar does
    if (block.length < BLOCK) throw new ScopeError('truncated', 'unexpected end of data inside a tar header');
    if (isZeroBlock(block)) return;
    const h = decodeHeader(block);
    switch (h.kind) {
      case 'pax':
        pax = parsePax(await readMeta(reader, h.size, 'pax header'));
        continue;
      case 'pax-global':
        globalPax = new Map([...globalPax, ...parsePax(await readMeta(reader, h.size, 'pax global header'))]);
        continue;
      case 'gnu-longname':
        longName = stripNul(await readMeta(reader, h.size, 'GNU long name'));
        continue;
      case 'gnu-longlink':
        longLink = stripNul(await readMeta(reader, h.size, 'GNU long link name'));
        continue;
    }
    const ext = pax ? new Map([...globalPax, ...pax]) : globalPax;
    const name = ext.get('path') ?? longName ?? h.name;
    const link = ext.get('linkpath') ?? longLink ?? h.linkname;
    const size = numberOr(ext.get('size'), h.size);
    pax = null;
    longName = null;
    longLink = null;
    // Only regular files (and unknown kinds) carry a body; a link's size field is ignored as tar does.
    // An old-style directory (a regular-file entry named "x/") still has its declared blocks.
    const bodySize = h.hasBody ? size : 0;
    const dataPos = reader.position;
    if (h.kind !== 'other') {
      if (++count > ENTRY_LIMIT) throw new ScopeError('too-large', `more than ${ENTRY_LIMIT} entries in one tar`);
      yield {
        path: cleanPath(name),
        rawName: name,
        type: h.kind,
        mode: h.mode,
        uid: numberOr(ext.get('uid'), h.uid),
        gid: numberOr(ext.get('gid'), h.gid),
        size: h.kind === 'file' ? bodySize : 0,
        mtime: h.mtime,
        linkname: h.kind === 'hardlink' ? cleanPath(link) : link,
        dataPos,
      };
    }
    const consumed = reader.position - dataPos;
    await reader.skip(bodySize - consumed + padding(bodySize));
  }
}

function stripNul(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return decodeName(nul === -1 ? buf : buf.subarray(0, nul));
}

function numberOr(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}

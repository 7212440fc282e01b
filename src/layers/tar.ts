/**
 * Tar header decoding: ustar, GNU (long names, base-256 numbers) and pax.
 * Pure functions over 512-byte blocks, shared by the seeking and the streaming walkers.
 */
import { ScopeError } from '../errors.js';

export const BLOCK = 512;

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
export type HeaderKind = EntryType | 'pax' | 'pax-global' | 'gnu-longname' | 'gnu-longlink' | 'other';

export interface RawHeader {
  kind: HeaderKind;
  /** Data blocks follow (regular-file and unknown typeflags), whatever the name says. */
  hasBody: boolean;
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Names are bytes; decode UTF-8 when valid, else keep every byte as latin1 so distinct names stay distinct. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

function field(block: Buffer, off: number, len: number): Buffer {
  const slice = block.subarray(off, off + len);
  const nul = slice.indexOf(0);
  return nul === -1 ? slice : slice.subarray(0, nul);
}

/** Octal (NUL/space padded) or GNU base-256 (high bit set) number. */
export function decodeNumber(block: Buffer, off: number, len: number): number {
  const first = block[off];
  if (first & 0x80) {
    // base-256: big-endian two's complement, first byte's top bit is the flag
    let value = first & 0x7f;
    const negative = (first & 0x40) !== 0;
    if (negative) throw new ScopeError('corrupt', 'negative number in tar header');
    for (let i = 1; i < len; i++) {
      value = value * 256 + block[off + i];
      if (value > Number.MAX_SAFE_INTEGER) throw new ScopeError('too-large', 'number in tar header is too large');
    }
    return value;
  }
  let value = 0;
  let seen = false;
  for (let i = off; i < off + len; i++) {
    const c = block[i];
    if (c === 0) break;
    if (c === 0x20) {
      if (seen) break;
      continue;
    }
    if (c < 0x30 || c > 0x37) throw new ScopeError('corrupt', 'bad octal number in tar header');
    value = value * 8 + (c - 0x30);
    seen = true;
  }
  return value;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function checksumOk(block: Buffer): boolean {
  const stored = decodeNumber(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

const KINDS: Record<string, HeaderKind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  x: 'pax',
  g: 'pax-global',
  L: 'gnu-longname',
  K: 'gnu-longlink',
};

/** Decodes one header block. Throws ScopeError('corrupt') on a bad checksum. */
export function decodeHeader(block: Buffer): RawHeader {
  if (!checksumOk(block)) throw new ScopeError('corrupt', 'tar header checksum mismatch (not a tar, or corrupt)');
  const flag = String.fromCharCode(block[156]);
  let kind: HeaderKind = KINDS[flag] ?? 'other';
  const magic = block.toString('latin1', 257, 263);
  let nameBytes: Uint8Array = field(block, 0, 100);
  if (magic === 'ustar\0') {
    const prefix = field(block, 345, 155);
    if (prefix.length > 0) nameBytes = Buffer.concat([prefix, Buffer.from('/'), nameBytes]);
  }
  const name = decodeName(nameBytes);
  // Old tars mark directories only by a trailing slash on a regular-file entry.
  if (kind === 'file' && flag !== '7' && name.endsWith('/')) kind = 'dir';
  return {
    kind,
    hasBody: kind === 'other' || flag === '0' || flag === '\0' || flag === '7',
    name,
    linkname: decodeName(field(block, 157, 100)),
    mode: decodeNumber(block, 100, 8) & 0o7777,
    uid: decodeNumber(block, 108, 8),
    gid: decodeNumber(block, 116, 8),
    size: decodeNumber(block, 124, 12),
    mtime: decodeNumber(block, 136, 12),
    devmajor: magic.startsWith('ustar') ? decodeNumber(block, 329, 8) : 0,
    devminor: magic.startsWith('ustar') ? decodeNumber(block, 337, 8) : 0,
  };
}

/** pax extended header records: "LEN key=value\n". Values are UTF-8 except where binary. */
export function parsePax(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(buf.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > buf.length) {
      throw new ScopeError('corrupt', 'malformed pax extended header');
    }
    const record = buf.subarray(space + 1, pos + len - 1); // drop trailing \n
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(record.toString('utf8', 0, eq), decodeName(record.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/** Padding after a body of `size` bytes up to the next block boundary. */
export function padding(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

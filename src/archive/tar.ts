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
  /** Data blocks follow (a regular file), whatever the name says. */
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
  /** The typeflag byte as it stands (an 'other' kind is named by it). */
  flag: number;
  /**
   * An old-style entry (typeflag NUL) that is a directory when its name ends in "/", as Go's
   * archive/tar reads it (TypeRegA), with no body. Decided on the entry's full name: a GNU
   * long name or pax path replaces this header's 100 bytes, whose last byte may be a "/" in
   * the middle of a longer path.
   */
  dirIfSlash: boolean;
}

/** A run of data in a sparse file: `length` bytes at `offset` of the real file. */
export interface SparseChunk {
  offset: number;
  length: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Names are bytes: UTF-8 where valid, and each byte outside a valid sequence becomes
 * U+DC80..U+DCFF (as Python's surrogateescape does). Decoded UTF-8 never holds such a lone surrogate, so two
 * different byte strings never become one name: latin1 made "x\xe4" and the UTF-8 "xä" the
 * same, merging two files, and letting a whiteout of one hide the other.
 */
export function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // valid UTF-8 sequences as characters, only the bytes outside them escaped: the same
    // bytes (a folder's name, say) decode the same whatever follows them
    let out = '';
    for (let i = 0; i < bytes.length;) {
      const n = utf8Length(bytes, i);
      if (n > 0) {
        out += n === 1 ? String.fromCharCode(bytes[i]!) : utf8.decode(bytes.subarray(i, i + n));
        i += n;
      } else out += String.fromCharCode(0xdc00 + bytes[i++]!);
    }
    return out;
  }
}

/** The length of the valid UTF-8 sequence at `i` (1-4), or 0 when the byte there starts none. */
function utf8Length(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1]!;
  // no overlong forms, no surrogates, nothing past U+10FFFF
  if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return 0;
  return n;
}

function field(block: Buffer, off: number, len: number): Buffer {
  const slice = block.subarray(off, off + len);
  const nul = slice.indexOf(0);
  return nul === -1 ? slice : slice.subarray(0, nul);
}

/** A NUL-terminated text field: ASCII (nearly every name) read directly, anything else through decodeName. */
function text(block: Buffer, off: number, len: number): string {
  let end = off;
  const stop = off + len;
  let ascii = true;
  for (let c; end < stop && (c = block[end]!) !== 0; end++) if (c > 0x7f) ascii = false;
  if (end === off) return '';
  return ascii ? block.toString('latin1', off, end) : decodeName(block.subarray(off, end));
}

/**
 * Octal (NUL/space padded) or GNU base-256: the first byte's top bit flags a big-endian
 * two's-complement number, negative when the next bit is set too (GNU tar writes those
 * for dates before 1970). Values beyond 2^53 cannot be real sizes, ids or dates.
 */
export function decodeNumber(block: Buffer, off: number, len: number): number {
  const first = block[off] ?? 0;
  if (first & 0x80) {
    const negative = (first & 0x40) !== 0;
    // a negative number is -(1 + the inverted bytes); the flag bit belongs to the sign
    let value = negative ? ~first & 0x7f : first & 0x7f;
    for (let i = 1; i < len; i++) {
      const byte = block[off + i] ?? 0;
      value = value * 256 + (negative ? ~byte & 0xff : byte);
      if (value > Number.MAX_SAFE_INTEGER) throw new ScopeError('too-large', 'number in tar header is too large');
    }
    return negative ? -(value + 1) : value;
  }
  let value = 0;
  let seen = false;
  for (let i = off; i < off + len; i++) {
    const c = block[i];
    if (c === undefined || c === 0) break;
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

/** A number that cannot be negative (sizes, ids, device numbers). */
function unsigned(block: Buffer, off: number, len: number, what: string): number {
  const n = decodeNumber(block, off, len);
  if (n < 0) throw new ScopeError('corrupt', `negative ${what} in tar header`);
  return n;
}

/** star's trailer ("tar\0" at 508 of a POSIX header): its prefix is 131 bytes, its times follow. */
function isStar(block: Buffer): boolean {
  return block[508] === 0x74 && block[509] === 0x61 && block[510] === 0x72 && block[511] === 0;
}

/** GNU's magic and version ("ustar " and " \0" at 257), as Go tells the format. */
const isGnu = (block: Buffer) => block.toString('latin1', 257, 265) === 'ustar  \0';

const ascii = (b: Buffer) => b.every((c) => c < 0x80);

/**
 * Whether a GNU atime or ctime field parses as Go's parser reads it: unset (a NUL first),
 * base-256, or octal once spaces and NULs are trimmed from both ends.
 */
function gnuTime(block: Buffer, off: number): boolean {
  if (block[off] === 0 || (block[off]! & 0x80) !== 0) return true;
  const s = block.toString('latin1', off, off + 12).replace(/^[ \0]+|[ \0]+$/g, '');
  const nul = s.indexOf('\0');
  return /^[0-7]*$/.test(nul === -1 ? s : s.slice(0, nul));
}

/** A header Go's archive/tar refuses (ErrHeader): the engine fails to load the layer with its words. */
export function invalidHeader(what: string): ScopeError {
  return new ScopeError('corrupt', `${what}: the engine refuses the tar ("archive/tar: invalid tar header")`);
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * The header's checksum: the sum of its bytes with the checksum field read as spaces. Most
 * tars sum bytes as unsigned; some old ones as signed (bytes above 127 count negative), which
 * is only worked out when the unsigned sum does not match.
 */
function checksumOk(block: Buffer): boolean {
  const stored = decodeNumber(block, 148, 8);
  let sum = byteSum(block);
  for (let i = 148; i < 156; i++) sum += 0x20 - block[i]!;
  if (stored === sum) return true;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) if (block[i]! > 127 && (i < 148 || i >= 156)) high++;
  return stored === sum - 256 * high;
}

/**
 * The sum of a block's 512 bytes. Read four at a time where the block is aligned (it is in
 * the readers' buffers): two lanes of 16-bit sums per word, which 128 words cannot overflow.
 */
function byteSum(block: Buffer): number {
  let sum = 0;
  if ((block.byteOffset & 3) === 0) {
    const words = new Uint32Array(block.buffer, block.byteOffset, BLOCK / 4);
    let even = 0;
    let odd = 0;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      even += w & 0x00ff00ff;
      odd += (w >>> 8) & 0x00ff00ff;
    }
    sum = (even & 0xffff) + (even >>> 16) + (odd & 0xffff) + (odd >>> 16);
  } else for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  return sum;
}

/**
 * The typeflags the engines unpack. Go's archive/tar hands every other one out as it is
 * (GNU tar's old sparse 'S', contiguous '7', dumpdir 'D', volume label 'V'...), and the
 * unpackers of moby, containerd and containers/storage fail on it: "unhandled tar header type N".
 */
const KINDS: Record<string, HeaderKind> = {
  '0': 'file',
  '\0': 'file',
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
  const flag = String.fromCharCode(block[156] ?? 0);
  const kind: HeaderKind = KINDS[flag] ?? 'other';
  // "ustar" at 257: POSIX ("ustar\0") or GNU ("ustar "), both with device numbers; read as bytes, no string per header
  const ustar = block[257] === 0x75 && block[258] === 0x73 && block[259] === 0x74 && block[260] === 0x61 && block[261] === 0x72;
  let name: string;
  // POSIX ustar keeps a prefix of the name at 345 (star's is 131 bytes, before its times); so
  // does a GNU header whose atime and ctime there do not parse, as Go's archive/tar reads it
  // (Go before 1.8 wrote old GNU headers with a prefix) when that prefix is ASCII
  const posix = ustar && block[262] === 0;
  const prefix =
    posix && block[345] !== 0
      ? field(block, 345, isStar(block) ? 131 : 155)
      : ustar && block[262] === 0x20 && isGnu(block) && !(gnuTime(block, 345) && gnuTime(block, 357)) && ascii(field(block, 345, 155))
        ? field(block, 345, 155)
        : null;
  // the prefix and the name are one byte string: joined before decoding, as a UTF-8 character may span them
  if (prefix && prefix.length > 0) name = decodeName(Buffer.concat([prefix, Buffer.from('/'), field(block, 0, 100)]));
  else name = text(block, 0, 100);
  return {
    kind,
    hasBody: flag === '0' || flag === '\0',
    name,
    linkname: text(block, 157, 100),
    mode: decodeNumber(block, 100, 8) & 0o7777,
    uid: unsigned(block, 108, 8, 'uid'),
    gid: unsigned(block, 116, 8, 'gid'),
    size: unsigned(block, 124, 12, 'size'),
    mtime: decodeNumber(block, 136, 12),
    devmajor: ustar ? unsigned(block, 329, 8, 'device number') : 0,
    devminor: ustar ? unsigned(block, 337, 8, 'device number') : 0,
    flag: block[156] ?? 0,
    dirIfSlash: flag === '\0',
  };
}

/**
 * The pax keys scratchscope reads; all others are skipped as they are parsed, so a header
 * of a hundred thousand keys costs one pass and no memory.
 */
/** The file capabilities `setcap` gives, as Go's archive/tar carries extended attributes. */
export const CAPS_KEY = 'SCHILY.xattr.security.capability';

const PAX_KEYS = new Set([
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'mtime',
  'atime',
  'ctime',
  'GNU.sparse.major',
  'GNU.sparse.minor',
  'GNU.sparse.name',
  'GNU.sparse.realsize',
  'GNU.sparse.size',
  'GNU.sparse.map',
  CAPS_KEY,
]);

/** pax extended header records: "LEN key=value\n". Values are UTF-8 except where binary. */
export function parsePax(buf: Buffer, into: Map<string, string> = new Map(), global = false): Map<string, string> {
  let pos = 0;
  // GNU sparse 0.0: the map as "GNU.sparse.offset" and "GNU.sparse.numbytes" records in turn,
  // gathered into one "GNU.sparse.map" as Go's archive/tar does (which refuses them out of turn)
  const runs: string[] = [];
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space === -1 || space - pos > 20) throw invalidHeader('malformed pax extended header');
    const len = Number(buf.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= space - pos || pos + len > buf.length) {
      throw invalidHeader('malformed pax extended header');
    }
    // as Go's archive/tar (the runtimes' unpacker) reads a record: "LEN KEY=VALUE\n", a key
    // without "=" or NUL, and no NUL in a name; it refuses the layer otherwise
    if (buf[pos + len - 1] !== 0x0a) throw invalidHeader('malformed pax extended header (a record without its newline)');
    const record = buf.subarray(space + 1, pos + len - 1); // drop trailing \n
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalidHeader('malformed pax extended header (a record without a key=value)');
    const key = record.toString('utf8', 0, eq);
    const value = record.subarray(eq + 1);
    if (key.includes('\0') || (NAME_KEYS.has(key) && value.includes(0)))
      throw invalidHeader(`malformed pax extended header (a NUL byte in ${key})`);
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      const v = value.toString('latin1');
      if ((key === 'GNU.sparse.offset') !== (runs.length % 2 === 0) || v.includes(','))
        throw invalidHeader('malformed pax extended header (GNU sparse 0.0 offsets and sizes out of turn)');
      if (runs.length >= 2 * SPARSE_RUNS_LIMIT) throw new ScopeError('too-large', `sparse map of more than ${SPARSE_RUNS_LIMIT} entries`);
      runs.push(v);
    }
    // only known keys are kept; an empty value ('') unsets the key (POSIX), see paxValue
    // an attribute's value is bytes: kept one character per byte
    else if (PAX_KEYS.has(key)) into.set(key, key === CAPS_KEY ? value.toString('latin1') : decodeName(value));
    pos += len;
  }
  // a global header's runs are no file's map (Go does not carry them to the entries after it)
  if (runs.length > 0 && !global) into.set('GNU.sparse.map', runs.join(','));
  return into;
}

/** GNU sparse 0.0 runs in one header, at most (the map's own limit is checked where it is read). */
const SPARSE_RUNS_LIMIT = 1 << 16;

/** pax keys holding names, where Go refuses a NUL byte. */
const NAME_KEYS = new Set(['path', 'linkpath', 'uname', 'gname']);

/** A pax value: the entry's own record first, then the global one; empty means unset. */
export function paxValue(pax: Map<string, string> | null, global: ReadonlyMap<string, string>, key: string): string | undefined {
  const v = pax?.get(key) ?? global.get(key);
  return v === '' ? undefined : v;
}

/** Padding after a body of `size` bytes up to the next block boundary. */
export function padding(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

/**
 * The capabilities a file forces on its process (vfs_cap_data: a revision and flags word, then
 * permitted and inheritable words, one pair for revision 1, two for 2 and 3): the permitted
 * set, as [low 32 bits, high 32 bits], when the effective flag is set; null otherwise (then
 * execve never refuses the file for them).
 */
export function forcedCaps(raw: string): [number, number] | null {
  const b = Buffer.from(raw, 'latin1');
  if (b.length < 12) return null;
  const magic = b.readUInt32LE(0);
  if ((magic & 1) === 0) return null; // VFS_CAP_FLAGS_EFFECTIVE
  const revision = magic & 0xff000000;
  // revision 3 names the user namespace's root it is for: one but 0 is no root of a container without its own
  if (revision === 0x03000000 && b.length >= 24 && b.readUInt32LE(20) !== 0) return null;
  const lo = b.readUInt32LE(4);
  const hi = revision !== 0x01000000 && b.length >= 20 ? b.readUInt32LE(12) : 0;
  return lo || hi ? [lo, hi] : null;
}

/**
 * Walks the entries of a tar through a ByteReader. The consumer may read part of an
 * entry's body (through readBody) before asking for the next entry; the walker skips
 * whatever is left. Bodies are never buffered by the walker itself.
 */
import { ScopeError } from '../errors.js';
import type { ByteReader } from './reader.js';
import {
  BLOCK,
  type EntryType,
  type RawHeader,
  type SparseChunk,
  decodeHeader,
  decodeName,
  invalidHeader,
  isZeroBlock,
  padding,
  parsePax,
  CAPS_KEY,
  forcedCaps,
  paxValue,
} from './tar.js';

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
  /**
   * A GNU sparse file: `size` is its real size, and its stored bytes (from dataPos) are these
   * runs of it, one after another; the rest is holes, read as zeros.
   */
  sparse?: SparseChunk[];
  /** Capabilities the file forces (setcap …+ep): its permitted set, [low, high] 32 bits (see forcedCaps). */
  fileCaps?: [number, number];
  /**
   * Null here, for the layer reader to fill in (layers/index.ts LayerEntry): made with the
   * entry, they live inside its record, and the reader keeps it as it is instead of copying
   * each of a few hundred thousand entries into a record with two more fields.
   */
  content: unknown;
  magic: unknown;
}

/** pax headers, GNU long names and sparse maps: 1 MiB, as Go's archive/tar (maxSpecialFileSize). */
const META_LIMIT = 1 << 20;
/**
 * Linux's PATH_MAX, the terminating NUL included: a longer name is refused by every path
 * system call (ENAMETOOLONG), so no runtime can unpack it and no symlink can hold it.
 */
export const PATH_MAX = 4096;
/** Entries of a sparse map: as many as 24-byte slots in META_LIMIT (what old GNU tar's blocks could hold). */
const SPARSE_LIMIT = Math.floor(META_LIMIT / 24);
/** Give the event loop a turn (signals, the explorer's drawing) at least this often. */
const YIELD_MS = 50;
/** ...and at least every this many steps of a synchronous walk, however fast they go (a power of two). */
export const TURN_STEPS = 1 << 16;
/** More entries than any real layer has (the largest images hold a few hundred thousand files). */
export const ENTRY_LIMIT = 4_000_000;

/**
 * A name that needs no cleaning: no empty, "." or ".." part (so no leading, trailing or double
 * slash). Scanned by hand: a regular expression of the same rule was a tenth of a 200,000-file walk.
 */
function plain(name: string): boolean {
  const n = name.length;
  let start = 0; // of the current part
  for (let i = 0; i <= n; i++) {
    if (i < n && name.charCodeAt(i) !== 0x2f) continue;
    const len = i - start;
    if (len === 0) return false;
    if (len <= 2 && name.charCodeAt(start) === 0x2e && (len === 1 || name.charCodeAt(start + 1) === 0x2e)) return false;
    start = i + 1;
  }
  return true;
}

/** Cleans a tar name into an absolute path, confined to the root like a runtime does ("/../x" is "/x"). */
export function cleanPath(name: string): string {
  if (plain(name)) return '/' + name; // most names in a layer: one scan, no split
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

/**
 * The walk is written once, as a generator of what it needs: it yields a request to read
 * bytes (after skipping some: the rest of the last body, padding) or an entry it found, and
 * is resumed with the bytes read. A skip rides on the read after it instead of being a step
 * of its own: two steps per entry, not four, on a walk of hundreds of thousands. A seeking
 * reader answers synchronously (walkTarSync: no promise per header, the fast path of the
 * uncompressed layers `docker save` writes); a stream answers asynchronously (walkTar).
 */
const READ = 0;
const ENTRY = 1;
interface Step {
  op: typeof READ | typeof ENTRY;
  /** READ: bytes to skip first, then bytes to read. */
  skip: number;
  n: number;
  entry: TarEntry | null;
}
type Steps = Generator<Step, void, Buffer | undefined>;

/** One step object per walk, reused: a request is answered before the next is made. */
class Stepper {
  private readonly s: Step = { op: READ, skip: 0, n: 0, entry: null };
  /** Bytes to skip before the next read. */
  private pending = 0;

  /** A read of n bytes, after the skips deferred so far. */
  read(n: number): Step {
    const s = this.s;
    s.op = READ;
    s.skip = this.pending;
    s.n = n;
    s.entry = null;
    this.pending = 0;
    return s;
  }

  /** Skips n bytes before the next read (every walk ends with a read: the end-of-archive block). */
  skip(n: number): void {
    this.pending += n;
  }

  entry(e: TarEntry): Step {
    const s = this.s;
    s.op = ENTRY;
    s.skip = 0;
    s.n = 0;
    s.entry = e;
    return s;
  }
}

const EMPTY = Buffer.alloc(0);

function* readBytes(step: Stepper, n: number): Generator<Step, Buffer, Buffer | undefined> {
  return (yield step.read(n)) ?? EMPTY;
}

function* readMeta(step: Stepper, size: number, what: string): Generator<Step, Buffer, Buffer | undefined> {
  if (size > META_LIMIT) throw new ScopeError('too-large', `${what} of ${size} bytes is too large`);
  const body = yield* readBytes(step, size);
  if (body.length < size) throw new ScopeError('truncated', `unexpected end of data inside ${what}`);
  step.skip(padding(size)); // deferred: the reader's buffer stays as it is until the next read
  return body;
}

function* steps(position: () => number): Steps {
  const step = new Stepper();
  let pax: Map<string, string> | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  let count = 0;
  for (;;) {
    const block = (yield step.read(BLOCK)) ?? EMPTY; // inline: a delegated generator per header costs
    if (block.length === 0) return; // end of input without end-of-archive blocks: accepted, as tar does
    if (block.length < BLOCK) throw new ScopeError('truncated', 'unexpected end of data inside a tar header');
    if (isZeroBlock(block)) {
      // as Go's archive/tar reads the end: a zero block and the end of the data, or two zero
      // blocks (whatever follows them); a zero block and then a header refuses the layer
      const next = (yield step.read(BLOCK)) ?? EMPTY;
      if (next.length === 0 || (next.length === BLOCK && isZeroBlock(next))) return;
      if (next.length < BLOCK) throw new ScopeError('truncated', 'unexpected end of data after a zero block');
      throw invalidHeader('a lone zero block before more headers');
    }
    const h = decodeHeader(block);
    switch (h.kind) {
      case 'pax':
        pax = parsePax(yield* readMeta(step, h.size, 'pax header'));
        continue;
      case 'pax-global':
        parsePax(yield* readMeta(step, h.size, 'pax global header'), new Map(), true); // checked as Go checks it, not applied
        continue;
      case 'gnu-longname':
        longName = stripNul(yield* readMeta(step, h.size, 'GNU long name'));
        continue;
      case 'gnu-longlink':
        longLink = stripNul(yield* readMeta(step, h.size, 'GNU long link name'));
        continue;
    }
    // the entry's own records only: Go's archive/tar hands a global header out as an entry of its
    // own and applies none of it to the entries after it, and the engine's extraction skips it
    const ext = (key: string) => (pax === null ? undefined : paxValue(pax, NO_GLOBALS, key));
    if (h.kind === 'other') {
      const flag = h.flag >= 0x21 && h.flag <= 0x7e ? `'${String.fromCharCode(h.flag)}' ` : '';
      throw new ScopeError(
        'unsupported',
        `${cleanPath(ext('path') ?? longName ?? h.name)} has tar typeflag ${flag}(${h.flag}), which no engine unpacks: loading the image fails with "unhandled tar header type ${h.flag}"`,
      );
    }
    if (pax !== null) checkTimes(pax); // most entries have no pax records: no step of their own
    // a sparse file says so in its pax records: no other entry walks the map's generator
    const sparse = ext('GNU.sparse.major') !== undefined || ext('GNU.sparse.map') !== undefined ? yield* sparseOf(step, h, ext) : null;
    const name = (sparse && ext('GNU.sparse.name')) ?? ext('path') ?? longName ?? h.name;
    const link = ext('linkpath') ?? longLink ?? h.linkname;
    const size = numberOr(ext('size'), h.size, 'size');
    const uid = numberOr(ext('uid'), h.uid, 'uid');
    const gid = numberOr(ext('gid'), h.gid, 'gid');
    const capsRecord = ext(CAPS_KEY);
    const caps = capsRecord === undefined ? null : forcedCaps(capsRecord);
    pax = null;
    longName = null;
    longLink = null;
    // Only regular files carry a body; a link's size field is ignored as tar does.
    // An old-style directory (typeflag NUL, named "x/") has none, as Go's archive/tar (the
    // runtimes' unpacker) reads it: blocks it declares are read as the next headers.
    const kind = h.dirIfSlash && name.endsWith('/') ? 'dir' : h.kind;
    const bodySize = h.hasBody && kind !== 'dir' ? size : 0;
    const dataPos = position();
    if (++count > ENTRY_LIMIT) throw new ScopeError('too-large', `more than ${ENTRY_LIMIT} entries in one tar`);
    checkLength(name, 'entry name');
    if (kind === 'symlink' || kind === 'hardlink') checkLength(link, 'link target');
    if (sparse) checkSparse(sparse, bodySize - (sparse.mapBytes ?? 0), name);
    const entry: TarEntry = {
      path: cleanPath(name),
      rawName: name,
      type: kind,
      mode: h.mode,
      uid,
      gid,
      size: sparse ? sparse.realSize : kind === 'file' ? bodySize : 0,
      mtime: h.mtime,
      linkname: kind === 'hardlink' ? cleanPath(link) : link,
      dataPos,
      content: null,
      magic: null,
    };
    if (sparse) entry.sparse = sparse.map;
    if (caps) entry.fileCaps = caps;
    yield step.entry(entry);
    const consumed = position() - dataPos + (sparse?.mapBytes ?? 0);
    step.skip(bodySize - consumed + padding(bodySize));
  }
}

/** A reader that answers at once: a byte range of a file, read by position. */
export interface SyncByteReader extends ByteReader {
  readNow(n: number): Buffer;
  skipNow(n: number): void;
}

export function isSyncReader(reader: ByteReader): reader is SyncByteReader {
  return typeof (reader as Partial<SyncByteReader>).readNow === 'function';
}

/**
 * The entries of a tar read by position, synchronously. The consumer may read part of a
 * body (readNow) before asking for the next entry; the walk skips the rest. Every so often
 * (YIELD_MS, and at least every TURN_STEPS headers, entries or not) it yields null: the
 * consumer gives the event loop a turn there (signals, the explorer's drawing, progress).
 */
export function* walkTarSync(reader: SyncByteReader): Generator<TarEntry | null> {
  const g = steps(() => reader.position);
  let lastYield = Date.now();
  let s = g.next();
  for (let n = 1; !s.done; n++) {
    if ((n & (TURN_STEPS - 1)) === 0 || ((n & 255) === 0 && Date.now() - lastYield > YIELD_MS)) {
      yield null;
      lastYield = Date.now();
    }
    const step = s.value;
    if (step.op === READ) {
      if (step.skip !== 0) reader.skipNow(step.skip);
      s = g.next(reader.readNow(step.n));
    } else {
      yield step.entry!;
      s = g.next();
    }
  }
}

/** The entries of a tar from any reader; the event loop gets a turn at least every YIELD_MS. */
export async function* walkTar(reader: ByteReader): AsyncGenerator<TarEntry> {
  let lastYield = Date.now();
  const g = steps(() => reader.position);
  let s = g.next();
  for (let n = 0; !s.done; n++) {
    if ((n & 255) === 0 && Date.now() - lastYield > YIELD_MS) {
      await new Promise((r) => setImmediate(r));
      lastYield = Date.now();
    }
    const step = s.value;
    if (step.op === READ) {
      if (step.skip !== 0) await reader.skip(step.skip);
      s = g.next(await reader.read(step.n));
    } else {
      yield step.entry!;
      s = g.next();
    }
  }
}

function checkLength(name: string, what: string): void {
  // a UTF-16 unit is at most 3 bytes of UTF-8: nearly every name is too short to count
  if (name.length * 3 < PATH_MAX) return;
  const bytes = Buffer.byteLength(name);
  if (bytes >= PATH_MAX) {
    throw new ScopeError(
      'too-large',
      `${what} of ${bytes} bytes is longer than Linux allows (PATH_MAX, ${PATH_MAX} bytes with its NUL): no runtime can unpack this layer`,
    );
  }
}

interface Sparse {
  realSize: number;
  map: SparseChunk[];
  /** Bytes of the body that hold the map (pax 1.0), already read. */
  mapBytes?: number;
}

/**
 * The sparse map of a GNU sparse file in pax records: 0.0 and 0.1 (GNU.sparse.map) or 1.0
 * (the map at the start of the body). Null for other files. (GNU tar's old format, an 'S'
 * entry, is a typeflag no engine unpacks.)
 */
function* sparseOf(
  step: Stepper,
  h: RawHeader,
  ext: (k: string) => string | undefined,
): Generator<Step, Sparse | null, Buffer | undefined> {
  if (h.kind !== 'file') return null;
  const major = ext('GNU.sparse.major');
  const realSize = ext('GNU.sparse.realsize') ?? ext('GNU.sparse.size');
  if (major === '1') {
    // "count\n" then "offset\nlength\n" pairs, padded to a block
    const numbers: number[] = [];
    const count = (): number => numbers[0] ?? 0; // read only once numbers holds the count
    let text = '';
    let mapBytes = 0;
    while (numbers.length === 0 || numbers.length < 1 + 2 * count()) {
      if (mapBytes >= META_LIMIT) throw new ScopeError('too-large', `sparse map of more than ${META_LIMIT} bytes`);
      const block = yield* readBytes(step, BLOCK);
      if (block.length < BLOCK) throw new ScopeError('truncated', 'unexpected end of data inside a sparse map');
      mapBytes += BLOCK;
      text += block.toString('latin1');
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const l of lines) {
        if (numbers.length > 0 && numbers.length >= 1 + 2 * count()) break;
        numbers.push(sparseNumber(l));
      }
      if (count() > SPARSE_LIMIT) throw new ScopeError('too-large', `sparse map of ${count()} entries`);
    }
    return { realSize: sparseNumber(realSize), map: pairs(numbers.slice(1)), mapBytes };
  }
  const map = ext('GNU.sparse.map');
  if (map !== undefined) {
    const numbers = map.split(',').map(sparseNumber);
    if (numbers.length % 2 !== 0 || numbers.length / 2 > SPARSE_LIMIT) throw new ScopeError('corrupt', 'malformed GNU.sparse.map');
    return { realSize: sparseNumber(realSize), map: pairs(numbers) };
  }
  return null;
}

function sparseNumber(s: string | undefined): number {
  const n = s !== undefined && /^\d{1,16}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new ScopeError('corrupt', `bad number in a sparse map (${JSON.stringify(String(s).slice(0, 20))})`);
  return n;
}

function pairs(numbers: number[]): SparseChunk[] {
  const out: SparseChunk[] = [];
  for (let i = 0; i + 1 < numbers.length; i += 2) {
    const offset = numbers[i];
    const length = numbers[i + 1];
    if (offset === undefined || length === undefined) break;
    out.push({ offset, length });
  }
  return out;
}

/** As Go's validateSparseEntries: runs in order, apart, inside the real size; and they hold exactly the stored bytes. */
function checkSparse(s: Sparse, stored: number, name: string): void {
  let end = 0;
  let data = 0;
  for (const c of s.map) {
    if (c.offset < end || c.offset + c.length > s.realSize) {
      throw new ScopeError(
        'corrupt',
        `sparse map of ${name} is invalid (runs overlap, are out of order, or pass the file's size of ${s.realSize})`,
      );
    }
    end = c.offset + c.length;
    data += c.length;
  }
  if (data !== stored) throw new ScopeError('corrupt', `sparse map of ${name} names ${data} bytes of data but ${stored} are stored`);
}

function stripNul(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return decodeName(nul === -1 ? buf : buf.subarray(0, nul));
}

/** What a global pax header gives the entries after it, as Go's archive/tar reads them: nothing. */
const NO_GLOBALS: ReadonlyMap<string, string> = new Map();

/**
 * A pax number record ("size", "uid", "gid") over the header's field. Go's archive/tar (the
 * runtimes' unpacker) reads it as a signed decimal and refuses the layer when it is not one
 * ("12abc", " 12", "1e3", "0x10") or when a size is negative; so does this. A negative id
 * keeps the header's.
 */
function numberOr(value: string | undefined, fallback: number, key: string): number {
  if (value === undefined) return fallback;
  if (!int64(value))
    throw invalidHeader(`malformed pax extended header (${key}=${JSON.stringify(value.slice(0, 32))} is not a decimal number)`);
  const n = Number(value);
  if (key !== 'size') return Number.isSafeInteger(n) && n >= 0 ? n : fallback; // an id past 2^53 or below 0: the header's
  if (n < 0) throw invalidHeader(`malformed pax extended header (a negative size, ${value})`);
  if (!Number.isSafeInteger(n)) throw new ScopeError('too-large', `pax size ${value} is larger than any real file`);
  return n;
}

/** Whether Go's strconv.ParseInt(s, 10, 64) takes it: a signed decimal within int64. */
function int64(s: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(s)) return false;
  const n = BigInt(s);
  return n >= -(1n << 63n) && n < 1n << 63n;
}

/** The pax time records Go's archive/tar checks on every entry (it refuses the layer on a bad one). */
const PAX_TIMES = ['mtime', 'atime', 'ctime'];

/** The entry's own pax times, refused where Go refuses them. */
function checkTimes(pax: Map<string, string>): void {
  for (const key of PAX_TIMES) {
    const v = paxValue(pax, NO_GLOBALS, key);
    if (v !== undefined && !paxTime(v))
      throw invalidHeader(`malformed pax extended header (${key}=${JSON.stringify(v.slice(0, 32))} is not a time)`);
  }
}

/** As Go's parsePAXTime: int64 seconds, then optionally "." and digits (of any length). */
function paxTime(v: string): boolean {
  const dot = v.indexOf('.');
  return int64(dot === -1 ? v : v.slice(0, dot)) && (dot === -1 || /^[0-9]*$/.test(v.slice(dot + 1)));
}

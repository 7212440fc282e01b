/**
 * /etc/ld.so.cache as glibc's ld.so reads it: the old "ld.so-1.7.0" format (optionally
 * followed by the new one) and the new "glibc-ld.so.cache1.1" format alone (the default
 * since glibc 2.32). Only the name -> path entries and their flags matter here.
 *
 * Nothing is unpacked up front: like ld.so (dl-cache.c), a lookup is a binary search over
 * the entry table in the file, so a cache of a million entries costs its bytes and a few
 * dozen comparisons per name, never a million objects.
 */
export interface CacheEntry {
  name: string;
  path: string;
  flags: number;
  /** An entry for a glibc-hwcaps subdirectory (used only on CPUs that support it). */
  hwcaps: boolean;
}

const OLD_MAGIC = 'ld.so-1.7.0';
const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const NEW_HEADER = 48;
const NEW_ENTRY = 24;
const OLD_HEADER = 16;
const OLD_ENTRY = 12;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * glibc's _dl_cache_libcmp: byte order, except that runs of digits compare as numbers
 * (libfoo.so.10 after libfoo.so.9). `b` is a NUL-terminated string inside `buf`.
 */
function libcmp(a: Buffer, buf: Buffer, b: number): number {
  let i = 0;
  let j = b;
  const at = (k: number) => buf[k] ?? 0;
  const atA = (k: number) => a[k] ?? 0;
  while (i < a.length) {
    const c1 = atA(i);
    const c2 = at(j);
    if (isDigit(c1)) {
      if (!isDigit(c2)) return 1;
      let v1 = 0;
      let v2 = 0;
      while (i < a.length && isDigit(atA(i))) v1 = v1 * 10 + atA(i++) - 0x30;
      while (isDigit(at(j))) v2 = v2 * 10 + at(j++) - 0x30;
      if (v1 !== v2) return v1 - v2;
    } else if (isDigit(c2)) return -1;
    else if (c1 !== c2) return c1 - c2;
    else {
      i++;
      j++;
    }
  }
  return 0 - at(j);
}

function cstr(buf: Buffer, off: number): string | null {
  if (off < 0 || off >= buf.length) return null;
  const end = buf.indexOf(0, off);
  return end === -1 ? null : buf.toString('utf8', off, end);
}

export class LdCache {
  private constructor(
    private readonly buf: Buffer,
    /** Where the entry table starts, how many entries, and each one's size. */
    private readonly table: number,
    readonly size: number,
    private readonly fresh: boolean,
    /** What string offsets count from. */
    private readonly strings: number,
  ) {}

  /** The cache ld.so would use, or null when it would ignore this file. */
  static open(buf: Buffer): LdCache | null {
    const fresh = LdCache.newAt(buf, 0);
    if (fresh) return fresh;
    if (buf.length < OLD_HEADER || buf.toString('latin1', 0, OLD_MAGIC.length) !== OLD_MAGIC) return null;
    const nlibs = buf.readUInt32LE(12);
    // ld.so checks the count against the file size before trusting it.
    if ((buf.length - OLD_HEADER) / OLD_ENTRY < nlibs) return null;
    const entriesEnd = OLD_HEADER + nlibs * OLD_ENTRY;
    // A new-format table after the old one (aligned to 8) is what glibc reads when present.
    return LdCache.newAt(buf, (entriesEnd + 7) & ~7) ?? new LdCache(buf, OLD_HEADER, nlibs, false, entriesEnd);
  }

  private static newAt(buf: Buffer, base: number): LdCache | null {
    if (buf.length < base + NEW_HEADER || buf.toString('latin1', base, base + NEW_MAGIC.length) !== NEW_MAGIC) return null;
    const nlibs = this.u32(buf, base, base + 20);
    if ((buf.length - base - NEW_HEADER) / NEW_ENTRY < nlibs) return null;
    return new LdCache(buf, base + NEW_HEADER, nlibs, true, base);
  }

  private static u32(buf: Buffer, base: number, o: number): number {
    // New format: byte 32 of the header says the byte order (2 little, 3 big; 0 unknown, read little).
    return ((buf[base + 32] ?? 0) & 3) === 3 ? buf.readUInt32BE(o) : buf.readUInt32LE(o);
  }

  private u32(o: number): number {
    return this.fresh ? LdCache.u32(this.buf, this.strings, o) : this.buf.readUInt32LE(o);
  }

  private entryAt(i: number): number {
    return this.table + i * (this.fresh ? NEW_ENTRY : OLD_ENTRY);
  }

  private keyOf(i: number): number {
    return this.strings + this.u32(this.entryAt(i) + 4);
  }

  private entry(i: number): CacheEntry | null {
    const o = this.entryAt(i);
    const flags = this.fresh ? this.u32(o) : this.buf.readInt32LE(o);
    const name = cstr(this.buf, this.keyOf(i));
    const path = cstr(this.buf, this.strings + this.u32(o + 8));
    if (name === null || path === null) return null;
    const big = this.fresh && ((this.buf[this.strings + 32] ?? 0) & 3) === 3;
    const hwcapHigh = this.fresh ? this.u32(o + (big ? 16 : 20)) : 0;
    return { name, path, flags, hwcaps: (hwcapHigh & 0x40000000) !== 0 };
  }

  /**
   * Every entry named `name`, in cache order, found as ld.so finds them: a binary search
   * in the order ldconfig sorts by, then the neighbours of the same name. An unsorted
   * (hand-made) cache misses here exactly where it misses in ld.so.
   */
  lookup(name: string): CacheEntry[] {
    const key = Buffer.from(name, 'utf8');
    let left = 0;
    let right = this.size - 1;
    while (left <= right) {
      let middle = (left + right) >>> 1;
      const k = this.keyOf(middle);
      if (k >= this.buf.length) return [];
      const cmp = libcmp(key, this.buf, k);
      if (cmp === 0) {
        while (middle > 0 && libcmp(key, this.buf, this.keyOf(middle - 1)) === 0) middle--;
        const out: CacheEntry[] = [];
        for (let i = middle; i < this.size && libcmp(key, this.buf, this.keyOf(i)) === 0; i++) {
          const e = this.entry(i);
          if (e) out.push(e);
        }
        return out;
      }
      // ldconfig sorts names in descending libcmp order.
      if (cmp < 0) left = middle + 1;
      else right = middle - 1;
    }
    return [];
  }

  /** Every entry, in file order (for tests and tools; the loader uses lookup). */
  *entries(): Generator<CacheEntry> {
    for (let i = 0; i < this.size; i++) {
      const e = this.entry(i);
      if (e) yield e;
    }
  }
}

/** Entries in cache order, or null when not a cache ld.so would read. */
export function parseLdCache(buf: Buffer): CacheEntry[] | null {
  const c = LdCache.open(buf);
  return c ? [...c.entries()] : null;
}

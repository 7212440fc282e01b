/**
 * /etc/ld.so.cache as glibc's ld.so reads it: the old "ld.so-1.7.0" format (optionally
 * followed by the new one) and the new "glibc-ld.so.cache1.1" format alone (the default
 * since glibc 2.32). Only the name -> path entries and their flags matter here.
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

function cstr(buf: Buffer, off: number): string | null {
  if (off < 0 || off >= buf.length) return null;
  const end = buf.indexOf(0, off);
  return end === -1 ? null : buf.toString('utf8', off, end);
}

function parseNew(buf: Buffer, base: number): CacheEntry[] | null {
  if (buf.length < base + 48 || buf.toString('latin1', base, base + NEW_MAGIC.length) !== NEW_MAGIC) return null;
  const endian = buf[base + 32] & 3; // 2 little, 3 big; 0 unknown (assume little)
  const big = endian === 3;
  const u32 = (o: number) => (big ? buf.readUInt32BE(o) : buf.readUInt32LE(o));
  const nlibs = u32(base + 20);
  const out: CacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const o = base + 48 + i * 24;
    if (o + 24 > buf.length) break;
    const flags = u32(o);
    const name = cstr(buf, base + u32(o + 4));
    const path = cstr(buf, base + u32(o + 8));
    const hwcapHigh = u32(o + (big ? 16 : 20));
    if (name && path) out.push({ name, path, flags, hwcaps: (hwcapHigh & 0x40000000) !== 0 });
  }
  return out;
}

/** Entries in cache order (ld.so takes the first that fits), or null when not a cache. */
export function parseLdCache(buf: Buffer): CacheEntry[] | null {
  const fresh = parseNew(buf, 0);
  if (fresh) return fresh;
  if (buf.toString('latin1', 0, OLD_MAGIC.length) !== OLD_MAGIC) return null;
  const nlibs = buf.readUInt32LE(12);
  const entriesEnd = 16 + nlibs * 12;
  if (entriesEnd > buf.length) return null;
  // A new-format table after the old one (aligned to 8) is what glibc reads when present.
  const newStart = (entriesEnd + 7) & ~7;
  const both = parseNew(buf, newStart);
  if (both) return both;
  const out: CacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const o = 16 + i * 12;
    const flags = buf.readInt32LE(o);
    const name = cstr(buf, entriesEnd + buf.readUInt32LE(o + 4));
    const path = cstr(buf, entriesEnd + buf.readUInt32LE(o + 8));
    if (name && path) out.push({ name, path, flags, hwcaps: false });
  }
  return out;
}

/**
 * Endian- and class-aware field reads over Bytes, with bounds that turn damage into a
 * recorded problem instead of an exception deep inside a decoder.
 */
import type { Bytes } from '../fs/bytes.js';

export class ElfDamage extends Error {}

export class FieldReader {
  constructor(
    readonly bytes: Bytes,
    readonly little: boolean,
    readonly is64: boolean,
  ) {}

  /** Exactly `len` bytes at `off`, or ElfDamage naming `what`. */
  need(off: number, len: number, what: string): Buffer {
    if (!Number.isSafeInteger(off) || off < 0 || len < 0 || off + len > this.bytes.size) {
      throw new ElfDamage(`${what} lies outside the file (offset ${off}, ${len} bytes, file is ${this.bytes.size})`);
    }
    const b = this.bytes.read(off, len);
    if (b.length < len) throw new ElfDamage(`${what} is cut short`);
    return b;
  }

  u16(b: Buffer, o: number): number {
    return this.little ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }

  u32(b: Buffer, o: number): number {
    return this.little ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  u64(b: Buffer, o: number): number {
    // Two 32-bit halves, not a BigInt: a few hundred fields a binary, over thousands of
    // binaries, mostly run before the optimizing compiler gets to them.
    const lo = this.little ? b.readUInt32LE(o) : b.readUInt32BE(o + 4);
    const hi = this.little ? b.readUInt32LE(o + 4) : b.readUInt32BE(o);
    // Offsets and sizes beyond 2^53 cannot be real; saturate so bound checks reject them.
    return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + lo;
  }

  /** A word: 4 bytes in ELF32, 8 in ELF64. */
  word(b: Buffer, o: number): number {
    return this.is64 ? this.u64(b, o) : this.u32(b, o);
  }

  get wordSize(): number {
    return this.is64 ? 8 : 4;
  }

  /** A NUL-terminated string at `off`, read in small steps, at most `max` bytes. */
  cstr(off: number, limit: number, what: string, max = 4096): string {
    let len = 64;
    for (;;) {
      const want = Math.min(len, limit - off, this.bytes.size - off);
      if (want <= 0) throw new ElfDamage(`${what} lies outside its string table`);
      const b = this.bytes.read(off, want);
      const nul = b.indexOf(0);
      if (nul !== -1) return b.toString('utf8', 0, nul);
      if (want < len || len >= max) throw new ElfDamage(`${what} is not terminated`);
      len *= 4;
    }
  }
}

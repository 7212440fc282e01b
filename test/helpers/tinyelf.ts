/**
 * Minimal ELF64 x86-64 shared objects made by code: a PT_LOAD, a PT_DYNAMIC with
 * DT_NEEDED, DT_SONAME, DT_RPATH/DT_RUNPATH and the string table, optionally a PT_INTERP.
 * Enough for a loader to resolve, cheap enough to make thousands in a test.
 */
export interface TinyElf {
  soname?: string;
  needed?: string[];
  rpath?: string;
  runpath?: string;
  interpreter?: string;
}

const DT = { NULL: 0, NEEDED: 1, STRTAB: 5, STRSZ: 10, SONAME: 14, RPATH: 15, RUNPATH: 29 };

export function tinyElf(o: TinyElf): Buffer {
  const strs: Buffer[] = [Buffer.from([0])];
  let strLen = 1;
  const str = (s: string) => {
    const off = strLen;
    const b = Buffer.from(s + '\0');
    strs.push(b);
    strLen += b.length;
    return off;
  };
  const dyn: [number, number][] = [];
  for (const n of o.needed ?? []) dyn.push([DT.NEEDED, str(n)]);
  if (o.soname) dyn.push([DT.SONAME, str(o.soname)]);
  if (o.rpath) dyn.push([DT.RPATH, str(o.rpath)]);
  if (o.runpath) dyn.push([DT.RUNPATH, str(o.runpath)]);
  const phnum = o.interpreter ? 3 : 2;
  const interpOff = 64 + phnum * 56;
  const interp = o.interpreter ? Buffer.from(o.interpreter + '\0') : Buffer.alloc(0);
  const strOff = interpOff + interp.length;
  const dynOff = (strOff + strLen + 7) & ~7;
  dyn.push([DT.STRTAB, strOff], [DT.STRSZ, strLen], [DT.NULL, 0]);
  const total = dynOff + dyn.length * 16;
  const b = Buffer.alloc(total);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(b, 0);
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(62, 18); // x86-64
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(64, 52);
  b.writeUInt16LE(56, 54);
  b.writeUInt16LE(phnum, 56);
  b.writeUInt16LE(64, 58);
  const ph = (i: number, type: number, flags: number, off: number, size: number, align: number) => {
    const p = 64 + i * 56;
    b.writeUInt32LE(type, p);
    b.writeUInt32LE(flags, p + 4);
    b.writeBigUInt64LE(BigInt(off), p + 8);
    b.writeBigUInt64LE(BigInt(off), p + 16);
    b.writeBigUInt64LE(BigInt(off), p + 24);
    b.writeBigUInt64LE(BigInt(size), p + 32);
    b.writeBigUInt64LE(BigInt(size), p + 40);
    b.writeBigUInt64LE(BigInt(align), p + 48);
  };
  let i = 0;
  if (o.interpreter) ph(i++, 3, 4, interpOff, interp.length, 1);
  ph(i++, 1, 4, 0, total, 0x1000);
  ph(i, 2, 6, dynOff, dyn.length * 16, 8);
  interp.copy(b, interpOff);
  Buffer.concat(strs).copy(b, strOff);
  dyn.forEach(([tag, val], k) => {
    b.writeBigInt64LE(BigInt(tag), dynOff + k * 16);
    b.writeBigUInt64LE(BigInt(val), dynOff + k * 16 + 8);
  });
  return b;
}

/**
 * Go build info, as `go version -m` reads it: the `.go.buildinfo` section (or, when
 * sections were stripped, the start of the first writable segment) holds a 32-byte
 * header ("\xff Go buildinf:", pointer size, flags) followed either by two
 * length-prefixed strings (Go 1.18+) or by pointers to Go string headers (older).
 */
import { type Section, type Segment, PF_W, PF_X, PT_LOAD, vaddrToOffset } from './layout.js';
import { ElfDamage, type FieldReader } from './reader.js';
import type { GoInfo } from './types.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const SEARCH = 64 * 1024;

function uvarint(b: Buffer, o: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (let i = o; i < b.length && i < o + 10; i++) {
    const byte = b.readUInt8(i);
    v += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [v, i + 1];
    shift += 7;
  }
  throw new ElfDamage('bad varint in Go build info');
}

export function readGoBuildInfo(r: FieldReader, segments: Segment[], sections: Section[]): GoInfo | null {
  const sect = sections.find((s) => s.name === '.go.buildinfo');
  let offset: number;
  let area: Buffer;
  if (sect) {
    offset = sect.offset;
    area = r.need(sect.offset, Math.min(sect.size, SEARCH), 'Go build info');
    if (!area.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  } else if (sections.length > 0) {
    return null; // the Go linker always writes .go.buildinfo; only a file stripped of section headers needs the search
  } else {
    const data = segments.find((s) => s.type === PT_LOAD && (s.flags & (PF_X | PF_W)) === PF_W);
    if (!data) return null;
    area = r.need(data.offset, Math.min(data.filesz, SEARCH, r.bytes.size - data.offset), 'data segment');
    let at = -1;
    for (let i = area.indexOf(MAGIC); i !== -1; i = area.indexOf(MAGIC, i + 1)) {
      if (i % 16 === 0) {
        at = i;
        break;
      }
    }
    if (at === -1) return null;
    offset = data.offset + at;
    area = area.subarray(at);
  }
  if (area.length < 32) throw new ElfDamage('Go build info header is cut short');
  const ptrSize = area.readUInt8(14);
  const flags = area.readUInt8(15);
  let version: string;
  let mod: string;
  if (flags & 2) {
    const buf = r.need(offset + 32, Math.min(r.bytes.size - offset - 32, 1 << 20), 'Go build info strings');
    const [vlen, vstart] = uvarint(buf, 0);
    version = buf.toString('utf8', vstart, vstart + vlen);
    const [mlen, mstart] = uvarint(buf, vstart + vlen);
    if (mstart + mlen > buf.length) throw new ElfDamage('Go module info is cut short');
    mod = buf.toString('utf8', mstart, mstart + mlen);
  } else {
    if (ptrSize !== 4 && ptrSize !== 8) throw new ElfDamage(`Go build info pointer size ${ptrSize}`);
    const big = (flags & 1) !== 0;
    const ptr = (b: Buffer, o: number) =>
      ptrSize === 8 ? Number(big ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o)) : big ? b.readUInt32BE(o) : b.readUInt32LE(o);
    const goString = (addr: number): string => {
      const hdrOff = vaddrToOffset(segments, addr);
      if (hdrOff === null) throw new ElfDamage('Go build info points outside the file');
      const hdr = r.need(hdrOff, ptrSize * 2, 'Go string header');
      const dataOff = vaddrToOffset(segments, ptr(hdr, 0));
      const len = ptr(hdr, ptrSize);
      if (dataOff === null || len > 1 << 20) throw new ElfDamage('Go string points outside the file');
      return r.need(dataOff, len, 'Go string').toString('utf8');
    };
    version = goString(ptr(area, 16));
    mod = goString(ptr(area, 16 + ptrSize));
  }
  // The module info is framed by 16-byte sentinels.
  if (mod.length >= 33 && mod[mod.length - 17] === '\n') mod = mod.slice(16, mod.length - 16);
  const info: GoInfo = { version, path: null, mainModule: null, settings: {}, dependencies: [], cgo: null };
  for (const line of mod.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'path') info.path = f[1] ?? null;
    else if (f[0] === 'mod') info.mainModule = { path: f[1] ?? '', version: f[2] ?? '' };
    else if (f[0] === 'dep') info.dependencies.push({ path: f[1] ?? '', version: f[2] ?? '' });
    else if (f[0] === 'build' && f[1]) {
      const eq = f[1].indexOf('=');
      if (eq > 0) info.settings[f[1].slice(0, eq)] = f[1].slice(eq + 1);
    }
  }
  if ('CGO_ENABLED' in info.settings) info.cgo = info.settings.CGO_ENABLED === '1';
  return info;
}

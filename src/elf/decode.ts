/**
 * Decodes what decides whether an ELF file can run: the header (through elfy), program
 * headers, interpreter, dynamic section, symbol versions, notes, Go build info and
 * hardening. Reads only the pieces it needs, by position. Damage in one part is recorded
 * in `problems` and the rest is still decoded.
 */
import type { Bytes } from '../fs/bytes.js';
import { readGoBuildInfo } from './goinfo.js';
import {
  PF_X,
  PT_LOAD,
  PT_DYNAMIC,
  PT_GNU_RELRO,
  PT_GNU_STACK,
  PT_INTERP,
  PT_NOTE,
  DT,
  DF_BIND_NOW,
  DF_1_NOW,
  type Segment,
  type Section,
  machineName,
  readHeader,
  readSections,
  readSegments,
  vaddrToOffset,
} from './layout.js';
import { readNotes } from './notes.js';
import { scanFor } from './scan.js';
import { isGlibcLoaderName, readLoaderRelease, readSystemDirs } from './sysdirs.js';
import { ElfDamage, FieldReader } from './reader.js';
import type { ElfInfo, ElfType, Libc, VersionNeed } from './types.js';

const DF_1_NODEFLIB = 0x800;
const DF_1_PIE = 0x8000000;

interface Dynamic {
  needed: number[];
  tags: Map<number, number>;
}

function readDynamic(r: FieldReader, seg: Segment): Dynamic {
  const entSize = r.is64 ? 16 : 8;
  const count = Math.min(Math.floor(seg.filesz / entSize), 8192);
  const buf = r.need(seg.offset, count * entSize, 'dynamic section');
  const needed: number[] = [];
  const tags = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const o = i * entSize;
    const tag = r.word(buf, o);
    const val = r.word(buf, o + r.wordSize);
    if (tag === DT.NULL) break;
    if (tag === DT.NEEDED) needed.push(val);
    else if (!tags.has(tag)) tags.set(tag, val); // the first of a repeated tag wins, as ld.so reads it
  }
  return { needed, tags };
}

function readVersionNeeds(r: FieldReader, off: number, num: number, str: (o: number, what: string) => string): VersionNeed[] {
  const out: VersionNeed[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < Math.min(num, 1024); i++) {
    if (seen.has(off)) throw new ElfDamage('version needs loop back on themselves');
    seen.add(off);
    const vn = r.need(off, 16, 'version need entry');
    const cnt = r.u16(vn, 2);
    const file = str(r.u32(vn, 4), 'version need file name');
    const versions: string[] = [];
    const weak: string[] = [];
    let aux = off + r.u32(vn, 8);
    const seenAux = new Set<number>();
    for (let j = 0; j < Math.min(cnt, 1024); j++) {
      if (seenAux.has(aux)) throw new ElfDamage('version need entries loop back on themselves');
      seenAux.add(aux);
      const a = r.need(aux, 16, 'version need aux entry');
      const name = str(r.u32(a, 8), 'version name');
      versions.push(name);
      if (r.u16(a, 4) & 2) weak.push(name); // VER_FLG_WEAK
      const next = r.u32(a, 12);
      if (next === 0) break;
      aux += next;
    }
    out.push({ file, versions, weak });
    const next = r.u32(vn, 12);
    if (next === 0) break;
    off += next;
  }
  return out;
}

function readVersionDefs(r: FieldReader, off: number, num: number, str: (o: number, what: string) => string): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < Math.min(num, 4096); i++) {
    if (seen.has(off)) throw new ElfDamage('version definitions loop back on themselves');
    seen.add(off);
    const vd = r.need(off, 20, 'version definition');
    const flags = r.u16(vd, 2);
    const aux = r.u32(vd, 12);
    if ((flags & 1) === 0 && r.u16(vd, 6) > 0) {
      // VER_FLG_BASE marks the file's own name; the first aux entry names the version
      const a = r.need(off + aux, 8, 'version definition aux entry');
      out.push(str(r.u32(a, 0), 'version definition name'));
    }
    const next = r.u32(vd, 16);
    if (next === 0) break;
    off += next;
  }
  return out;
}

const CANARY_STEM = Buffer.from('__stack_chk_');
const CANARY_TAILS = [Buffer.from('fail\0'), Buffer.from('guard\0')];

/**
 * Does a string table (NUL-separated names) hold __stack_chk_fail or __stack_chk_guard? One
 * pass for their common stem: a table without either (a C++ library's runs to megabytes)
 * is scanned once, not once a name.
 */
function namesCanary(table: Buffer): boolean {
  const stem = CANARY_STEM.length;
  for (let i = table.indexOf(CANARY_STEM); i !== -1; i = table.indexOf(CANARY_STEM, i + 1)) {
    if (i > 0 && table[i - 1] !== 0) continue;
    for (const tail of CANARY_TAILS) {
      const end = i + stem + tail.length;
      if (end <= table.length && table.compare(tail, 0, tail.length, i + stem, end) === 0) return true;
    }
  }
  return false;
}

const SYMTAB_LIMIT = 32 << 20;
const DYNSTR_LIMIT = 8 << 20;

function detectCanary(r: FieldReader, sections: Section[]): boolean | null {
  // The symbol tables' string tables say whether __stack_chk_fail is referenced.
  for (const type of [11, 2]) {
    const sym = sections.find((s) => s.type === type);
    const strtab = sym ? sections[sym.link] : undefined;
    if (!strtab || strtab.size > SYMTAB_LIMIT) continue;
    const table = r.need(strtab.offset, strtab.size, 'symbol string table');
    if (namesCanary(table)) return true;
    if (type === 2) return false; // a full symbol table without it: no canary
  }
  const dynsym = sections.some((s) => s.type === 11);
  return dynsym ? false : null;
}

function libcOf(interp: string | null, needed: string[], versionNeeds: VersionNeed[], abiTag: string | null, go: boolean): Libc {
  if (interp) {
    if (/ld-musl-/.test(interp)) return 'musl';
    if (/\/ld(64)?[-.]|ld-linux/.test(interp)) return 'glibc';
  }
  if (needed.some((n) => /^libc\.musl-/.test(n))) return 'musl';
  if (needed.includes('libc.so.6') || versionNeeds.some((v) => v.versions.some((x) => x.startsWith('GLIBC_')))) return 'glibc';
  if (needed.includes('libc.so')) return 'musl';
  if (!interp && abiTag) return 'glibc'; // static glibc carries the ABI tag note; musl never writes one
  if (!interp && go) return 'none';
  return 'unknown';
}

const PATH_MAX = 4096;
/** How a problem the kernel refuses the program for (ENOEXEC) begins: diagnose reads it. */
export const INTERP_REFUSED = 'interpreter refused by the kernel';

export function decodeElf(bytes: Bytes): ElfInfo {
  const h = readHeader(bytes);
  const r = new FieldReader(bytes, h.little, h.is64);
  const problems: string[] = [];
  const attempt = <T>(what: string, f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ElfDamage)) throw e;
      problems.push(`${what}: ${e.message}`);
      return fallback;
    }
  };
  const { machine, architecture } = machineName(h.eMachine, h.is64, h.little);
  const segments = attempt('program headers', () => readSegments(r, h), [] as Segment[]);
  // A cut file shows in the header fields alone: what they place past the end is missing.
  if (h.shoff > 0 && h.shoff + h.shnum * h.shentsize > bytes.size)
    problems.push('truncated: the section header table lies outside the file');
  // the segment that ends farthest past the end (the data segment, usually)
  const cutSeg = segments
    .filter((s) => s.type === PT_LOAD && s.offset + s.filesz > bytes.size)
    .reduce<Segment | undefined>((a, s) => (a && a.offset + a.filesz >= s.offset + s.filesz ? a : s), undefined);
  if (cutSeg)
    problems.push(`truncated: a loadable segment ends at ${cutSeg.offset + cutSeg.filesz}, past the end of the file (${bytes.size} bytes)`);
  // Section headers sit at the end of the file: read them only when the program headers
  // cannot answer (static files, Go build info, files without note segments).
  let sectionCache: Section[] | null = null;
  const sections = () => (sectionCache ??= attempt('section headers', () => readSections(r, h), [] as Section[]));

  const interpSeg = segments.find((s) => s.type === PT_INTERP);
  const interpreter = interpSeg
    ? attempt(
        'interpreter',
        () => {
          const b = r.need(interpSeg.offset, Math.min(interpSeg.filesz, PATH_MAX), 'interpreter path');
          // what the kernel checks before it opens the interpreter (fs/binfmt_elf.c): a path of 2 to
          // PATH_MAX bytes that ends with its NUL; anything else and execve fails with ENOEXEC
          if (interpSeg.filesz > PATH_MAX || interpSeg.filesz < 2)
            problems.push(`${INTERP_REFUSED}: PT_INTERP is ${interpSeg.filesz} bytes, not 2 to ${PATH_MAX}`);
          else if (b[b.length - 1] !== 0) problems.push(`${INTERP_REFUSED}: the PT_INTERP path does not end with a NUL byte`);
          const nul = b.indexOf(0);
          return b.toString('utf8', 0, nul === -1 ? b.length : nul);
        },
        null,
      )
    : null;

  let needed: string[] = [];
  let soname: string | null = null;
  let rpath: string | null = null;
  let runpath: string | null = null;
  let versionNeeds: VersionNeed[] = [];
  let versionDefs: string[] = [];
  let flags = 0;
  let flags1 = 0;
  let bindNowTag = false;
  let dynstr: Buffer | null = null;
  const dynSeg = segments.find((s) => s.type === PT_DYNAMIC);
  if (dynSeg) {
    attempt(
      'dynamic section',
      () => {
        const dyn = readDynamic(r, dynSeg);
        flags = dyn.tags.get(DT.FLAGS) ?? 0;
        flags1 = dyn.tags.get(DT.FLAGS_1) ?? 0;
        bindNowTag = dyn.tags.has(DT.BIND_NOW);
        const strAddr = dyn.tags.get(DT.STRTAB);
        if (strAddr === undefined) {
          if (dyn.needed.length) throw new ElfDamage('no string table for its entries');
          return;
        }
        const strOff = vaddrToOffset(segments, strAddr) ?? (h.eType === 1 ? strAddr : null);
        if (strOff === null) throw new ElfDamage('string table address is not in any loaded segment');
        const strSize = dyn.tags.get(DT.STRSZ) ?? bytes.size - strOff;
        // One read of the whole table serves every name and the canary check; a huge one
        // (some C++ libraries) is read a string at a time instead.
        if (strSize <= DYNSTR_LIMIT) dynstr = r.need(strOff, strSize, 'dynamic string table');
        const table = dynstr;
        const str = (o: number, what: string) => {
          if (o >= strSize) throw new ElfDamage(`${what} lies outside its string table`);
          if (!table) return r.cstr(strOff + o, strOff + strSize, what);
          const end = table.indexOf(0, o);
          if (end === -1) throw new ElfDamage(`${what} is not terminated`);
          return table.toString('utf8', o, end);
        };
        needed = dyn.needed.map((o, i) => attempt(`needed entry ${i}`, () => str(o, 'needed name'), '')).filter(Boolean);
        const soOff = dyn.tags.get(DT.SONAME);
        if (soOff !== undefined) soname = attempt('soname', () => str(soOff, 'soname'), null);
        const rp = dyn.tags.get(DT.RPATH);
        if (rp !== undefined) rpath = attempt('rpath', () => str(rp, 'rpath'), null);
        const rnp = dyn.tags.get(DT.RUNPATH);
        if (rnp !== undefined) runpath = attempt('runpath', () => str(rnp, 'runpath'), null);
        const vn = dyn.tags.get(DT.VERNEED);
        if (vn !== undefined) {
          const off = vaddrToOffset(segments, vn);
          if (off === null) problems.push('version needs: address is not in any loaded segment');
          else versionNeeds = attempt('version needs', () => readVersionNeeds(r, off, dyn.tags.get(DT.VERNEEDNUM) ?? 1024, str), []);
        }
        const vd = dyn.tags.get(DT.VERDEF);
        if (vd !== undefined) {
          const off = vaddrToOffset(segments, vd);
          if (off === null) problems.push('version definitions: address is not in any loaded segment');
          else versionDefs = attempt('version definitions', () => readVersionDefs(r, off, dyn.tags.get(DT.VERDEFNUM) ?? 4096, str), []);
        }
      },
      undefined,
    );
  }

  const noteSegs = segments.filter((s) => s.type === PT_NOTE);
  const notes = attempt('notes', () => readNotes(r, noteSegs, noteSegs.length ? [] : sections()), {
    buildId: null,
    abiTag: null,
    package: null,
    goBuildId: null,
  });
  // Go writes a "Go" build-id note; a static file may be Go without one (stripped notes).
  const go = notes.goBuildId !== null || !dynSeg ? attempt('Go build info', () => readGoBuildInfo(r, segments, sections()), null) : null;

  const pieFlag = (flags1 & DF_1_PIE) !== 0;
  let type: ElfType;
  switch (h.eType) {
    case 1:
      type = 'relocatable';
      break;
    case 2:
      type = 'executable';
      break;
    case 3:
      // DF_1_PIE says it outright; older linkers leave it out, so an interpreter without a
      // soname still means an executable (a libc has both: it can be run, but is a library).
      if (pieFlag) type = interpreter ? 'pie-executable' : 'static-pie';
      else if (soname !== null) type = 'shared-object';
      else if (interpreter) type = 'pie-executable';
      else type = go && h.entry !== 0 ? 'static-pie' : 'shared-object';
      break;
    case 4:
      type = 'core';
      break;
    default:
      type = 'unknown';
  }
  const executableType = type === 'executable' || type === 'pie-executable' || type === 'static-pie';
  const relro = segments.some((s) => s.type === PT_GNU_RELRO);
  const bindNow = bindNowTag || (flags & DF_BIND_NOW) !== 0 || (flags1 & DF_1_NOW) !== 0;
  const stack = segments.find((s) => s.type === PT_GNU_STACK);
  const canary = dynstr ? namesCanary(dynstr) : attempt('symbols', () => detectCanary(r, sections()), null);

  const libc = libcOf(interpreter, needed, versionNeeds, notes.abiTag, go !== null);
  const isStatic = executableType && !interpreter;
  // Static glibc still dlopens libnss_*.so for name lookups: its NSS code names them.
  const staticNss = isStatic && libc === 'glibc' ? scanFor(bytes, ['libnss_', 'nsswitch.conf']).size > 0 : null;
  // A glibc loader carries its own search path: read it where it is.
  const glibcLoader = !interpreter && h.eType === 3 && isGlibcLoaderName(soname);
  const systemDirs = glibcLoader ? attempt('system search path', () => readSystemDirs(r, segments, sections()), null) : null;
  const loaderRelease = glibcLoader ? attempt('loader release', () => readLoaderRelease(r, segments, sections()), null) : null;
  return {
    class: h.is64 ? 64 : 32,
    endian: h.little ? 'little' : 'big',
    osabi: h.osabi,
    machine,
    architecture,
    type,
    interpreter,
    needed,
    soname,
    rpath,
    runpath,
    flags: { bindNow, pie: pieFlag, nodeflib: (flags1 & DF_1_NODEFLIB) !== 0 },
    versionNeeds,
    versionDefs,
    static: isStatic,
    libc,
    buildId: notes.buildId,
    abiTag: notes.abiTag,
    package: notes.package,
    go,
    hardening: {
      pie: type === 'pie-executable' || type === 'static-pie' || type === 'shared-object',
      relro: relro ? (bindNow ? 'full' : 'partial') : 'none',
      nx: stack ? (stack.flags & PF_X) === 0 : false,
      canary,
    },
    staticNss,
    systemDirs,
    loaderRelease,
    problems,
  };
}

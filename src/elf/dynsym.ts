/**
 * The dynamic symbol table, as the loader sees it: found through the dynamic section
 * (DT_SYMTAB, DT_STRTAB, DT_STRSZ), counted through DT_GNU_HASH or DT_HASH (section
 * headers only when neither is there), each symbol's version through DT_VERSYM with
 * DT_VERNEED / DT_VERDEF. Relocations are decoded separately and only on demand, to
 * tell a reference bound at load (data, copy, GOT) from a lazily bound function (PLT).
 * Decoded apart from decodeElf and only for the objects of a closure being checked:
 * most binaries of an image never need it.
 */
import type { Bytes } from '../fs/bytes.js';
import { DF_1_NOW, DF_BIND_NOW, DT, PT_DYNAMIC, type Segment, readHeader, readSections, readSegments, vaddrToOffset } from './layout.js';
import { ElfDamage, FieldReader } from './reader.js';

const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;
const STB_GNU_UNIQUE = 10;
const STT_TLS = 6;
/** NOTYPE, OBJECT, FUNC, COMMON, TLS, GNU_IFUNC: the types both loaders accept as definitions. */
const DEFINING_TYPES = new Set([0, 1, 2, 5, 6, 10]);
const TYPE_NAMES: Record<number, string> = { 0: 'notype', 1: 'object', 2: 'function', 5: 'common', 6: 'tls', 10: 'ifunc' };
/** Copy relocation types per e_machine: looked up past the executable, as both loaders do. */
const R_COPY: Record<number, number> = { 3: 5, 62: 5, 183: 1024, 40: 20, 20: 19, 21: 19, 22: 9, 243: 4, 258: 4 };

/** Bounds that keep a hostile file from making us read or keep gigabytes. */
const MAX_SYMBOLS = 4 << 20;
const MAX_TABLE = 256 << 20;

export interface UndefinedSymbol {
  /** Index in .dynsym, which relocations name. */
  index: number;
  name: string;
  bind: 'global' | 'weak' | 'other';
  /** function, object, tls, notype, … */
  type: string;
  /** The version this reference asks for (from DT_VERNEED), and the file it expects it in. */
  version: string | null;
  versionFile: string | null;
  /** The version index has the hidden bit: only an exact version match will do. */
  hiddenVersion: boolean;
}

export interface DefinedSymbol {
  /** Index in .dynsym: a copy relocation names a program's own copy of a library variable by it. */
  index: number;
  type: string;
  /** The version it is defined with; null when unnamed or the object has no DT_VERSYM. */
  version: string | null;
  /** Its DT_VERSYM index without the hidden bit (0, 1: no named version); null without DT_VERSYM. */
  versionIndex: number | null;
  /** A non-default version (foo@V, not foo@@V): only a reference to exactly V binds to it. */
  hidden: boolean;
  /** The version is one this object needs (DT_VERNEED), not one it defines: a program's copy of a library variable. */
  copied: boolean;
  /** An undefined symbol with a value (a non-PIC program's canonical PLT entry): no match for PLT lookups. */
  pltOnly: boolean;
}

/** A name prepared once for lookups in every object of a scope: its bytes and both ELF hashes. */
export interface SymbolKey {
  name: string;
  bytes: Buffer;
  gnu: number;
  sysv: number;
}

export function symbolKey(name: string): SymbolKey {
  const bytes = Buffer.from(name, 'latin1');
  let gnu = 5381;
  let sysv = 0;
  for (const c of bytes) {
    gnu = (Math.imul(gnu, 33) + c) >>> 0;
    sysv = ((sysv << 4) + c) >>> 0;
    const g = sysv & 0xf0000000;
    if (g) sysv ^= g >>> 24;
    sysv = (sysv & ~g) >>> 0;
  }
  return { name, bytes, gnu, sysv };
}

export interface DynamicSymbols {
  /** DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW: this object's functions are bound at load. */
  bindNow: boolean;
  undefined: UndefinedSymbol[];
  /** The definitions of one name (several versions are possible), found through the hash table as the loader finds them. */
  lookup(key: SymbolKey): DefinedSymbol[];
  /** Every definition by name: decodes the whole table (tests, and objects without a hash table). */
  definitions(): Map<string, DefinedSymbol[]>;
  /** Defined variables (.dynsym indexes): a program may hold copies of library variables there. */
  variables: { index: number; name: string; def: DefinedSymbol }[];
  /** Where the relocation tables are, for readRelocations. */
  relocTables: RelocTables;
  problems: string[];
}

interface Table {
  offset: number;
  size: number;
  rela: boolean;
}

export interface RelocTables {
  /** DT_RELA / DT_REL (bound at load), without the part that is the PLT table. */
  rel: Table | null;
  rela: Table | null;
  /** DT_JMPREL: the PLT, bound lazily unless BIND_NOW. */
  jmprel: Table | null;
  copyType: number | null;
  machine: number;
}

export interface SymbolRelocation {
  /** .dynsym index of the symbol it needs. */
  symbol: number;
  table: 'jmprel' | 'rel' | 'rela';
  copy: boolean;
}

interface Layout {
  r: FieldReader;
  segments: Segment[];
  tags: Map<number, number>;
  machine: number;
  /** ET_EXEC: a non-PIE program, whose hashed part may hold references too (canonical PLT entries). */
  fixed: boolean;
}

function readDynamicTags(r: FieldReader, seg: Segment): Map<number, number> {
  const entSize = r.is64 ? 16 : 8;
  const count = Math.min(Math.floor(seg.filesz / entSize), 8192);
  const buf = r.need(seg.offset, count * entSize, 'dynamic section');
  const tags = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const tag = r.word(buf, i * entSize);
    if (tag === DT.NULL) break;
    if (!tags.has(tag)) tags.set(tag, r.word(buf, i * entSize + r.wordSize));
  }
  return tags;
}

function open(bytes: Bytes): Layout | null {
  const h = readHeader(bytes);
  const r = new FieldReader(bytes, h.little, h.is64);
  const segments = readSegments(r, h);
  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dyn) return null;
  return { r, segments, tags: readDynamicTags(r, dyn), machine: h.eMachine, fixed: h.eType === 2 };
}

/** File offset of a DT_* address, or ElfDamage. */
function at(l: Layout, addr: number, what: string): number {
  const off = vaddrToOffset(l.segments, addr);
  if (off === null) throw new ElfDamage(`${what}: address ${addr} is not in any loaded segment`);
  return off;
}

/** DT_GNU_HASH's header: bucket count, first hashed symbol, bloom words and shift; implausible sizes are damage. */
function gnuHashHeader(l: Layout, gnu: number): { off: number; nbuckets: number; symoffset: number; bloomSize: number; shift: number } {
  const { r } = l;
  const off = at(l, gnu, 'GNU hash table');
  const head = r.need(off, 16, 'GNU hash table');
  const nbuckets = r.u32(head, 0);
  const bloomSize = r.u32(head, 8);
  if (nbuckets > MAX_SYMBOLS || bloomSize > MAX_SYMBOLS) throw new ElfDamage('GNU hash table is implausibly large');
  return { off, nbuckets, symoffset: r.u32(head, 4), bloomSize, shift: r.u32(head, 12) };
}

/**
 * How many .dynsym entries there are (DT_GNU_HASH, then DT_HASH, then the section
 * headers), and where DT_GNU_HASH starts the hashed ones: every entry before that is a
 * reference or a local (null when no table says so).
 */
function symbolCount(l: Layout, bytes: Bytes, entSize: number): { count: number; hashedFrom: number | null } {
  const { r, tags } = l;
  const gnu = tags.get(DT.GNU_HASH);
  if (gnu !== undefined) {
    const { off, nbuckets, symoffset, bloomSize } = gnuHashHeader(l, gnu);
    const bucketsAt = off + 16 + bloomSize * r.wordSize;
    const buckets = r.need(bucketsAt, nbuckets * 4, 'GNU hash buckets');
    let last = 0;
    for (let i = 0; i < nbuckets; i++) last = Math.max(last, r.u32(buckets, i * 4));
    // Undefined symbols come first and are not hashed: with nothing hashed, the table does not tell.
    if (last >= symoffset) {
      // The last chain ends with an entry whose low bit is set.
      const chainAt = bucketsAt + nbuckets * 4;
      for (let i = last; i < MAX_SYMBOLS;) {
        const pos = chainAt + (i - symoffset) * 4;
        const chunk = r.need(pos, Math.max(4, Math.min(1024, (bytes.size - pos) & ~3)), 'GNU hash chain');
        for (let j = 0; j + 4 <= chunk.length; j += 4, i++) if (r.u32(chunk, j) & 1) return { count: i + 1, hashedFrom: symoffset };
      }
      throw new ElfDamage('GNU hash chain does not end');
    }
  }
  const sysv = tags.get(DT.HASH);
  if (sysv !== undefined) {
    // s390x keeps 8-byte hash entries in ELF64; everyone else 4.
    const wide = l.machine === 22 && r.is64;
    const b = r.need(at(l, sysv, 'hash table'), wide ? 16 : 8, 'hash table');
    return { count: wide ? r.u64(b, 8) : r.u32(b, 4), hashedFrom: null };
  }
  const h = readHeader(bytes);
  const dynsym = readSections(r, h).find((s) => s.type === 11);
  if (dynsym) return { count: Math.floor(dynsym.size / entSize), hashedFrom: null };
  // No section headers either: linkers put the string table right after the symbols.
  const sym = tags.get(DT.SYMTAB)!;
  const str = tags.get(DT.STRTAB)!;
  if (str > sym) return { count: Math.floor((str - sym) / entSize), hashedFrom: null };
  throw new ElfDamage('nothing tells how many dynamic symbols there are');
}

/** Version index -> name, from the version definitions and needs. */
function versionNames(
  l: Layout,
  str: (o: number) => string,
): { defs: Map<number, string>; needs: Map<number, { name: string; file: string }> } {
  const { r, tags } = l;
  const defs = new Map<number, string>();
  const needs = new Map<number, { name: string; file: string }>();
  const vd = tags.get(DT.VERDEF);
  if (vd !== undefined) {
    let off = at(l, vd, 'version definitions');
    const seen = new Set<number>();
    for (let i = 0; i < Math.min(tags.get(DT.VERDEFNUM) ?? 4096, 4096) && !seen.has(off); i++) {
      seen.add(off);
      const d = r.need(off, 20, 'version definition');
      if (r.u16(d, 6) > 0) {
        const a = r.need(off + r.u32(d, 12), 8, 'version definition aux entry');
        defs.set(r.u16(d, 4), str(r.u32(a, 0)));
      }
      const next = r.u32(d, 16);
      if (next === 0) break;
      off += next;
    }
  }
  const vn = tags.get(DT.VERNEED);
  if (vn !== undefined) {
    let off = at(l, vn, 'version needs');
    const seen = new Set<number>();
    for (let i = 0; i < Math.min(tags.get(DT.VERNEEDNUM) ?? 1024, 1024) && !seen.has(off); i++) {
      seen.add(off);
      const n = r.need(off, 16, 'version need');
      const file = str(r.u32(n, 4));
      let aux = off + r.u32(n, 8);
      const seenAux = new Set<number>();
      for (let j = 0; j < Math.min(r.u16(n, 2), 1024) && !seenAux.has(aux); j++) {
        seenAux.add(aux);
        const a = r.need(aux, 16, 'version need aux entry');
        needs.set(r.u16(a, 6) & 0x7fff, { name: str(r.u32(a, 8)), file });
        const next = r.u32(a, 12);
        if (next === 0) break;
        aux += next;
      }
      const next = r.u32(n, 12);
      if (next === 0) break;
      off += next;
    }
  }
  return { defs, needs };
}

function tablesOf(l: Layout): RelocTables {
  const { tags } = l;
  const table = (addrTag: number, sizeTag: number, rela: boolean): Table | null => {
    const addr = tags.get(addrTag);
    const size = tags.get(sizeTag) ?? 0;
    if (addr === undefined || size === 0) return null;
    const off = vaddrToOffset(l.segments, addr);
    return off === null ? null : { offset: off, size, rela };
  };
  const jmprel = table(DT.JMPREL, DT.PLTRELSZ, tags.get(DT.PLTREL) === DT.RELA);
  // Some linkers count the PLT relocations in DT_RELASZ too: keep them in one table only.
  const trim = (t: Table | null): Table | null => {
    if (!t || !jmprel) return t;
    if (t.offset + t.size === jmprel.offset + jmprel.size && jmprel.offset >= t.offset)
      return t.size - jmprel.size > 0 ? { ...t, size: t.size - jmprel.size } : null;
    return t;
  };
  return {
    rel: trim(table(DT.REL, DT.RELSZ, false)),
    rela: trim(table(DT.RELA, DT.RELASZ, true)),
    jmprel,
    copyType: R_COPY[l.machine] ?? null,
    machine: l.machine,
  };
}

/**
 * The dynamic symbols of one ELF file, or null when it has no dynamic section (a static
 * program needs nothing from anyone). Throws ElfDamage when the tables cannot be read.
 * `program`: the object is the program itself, whose copies of library variables
 * (`variables`) are wanted too. A library's references all come before its hashed
 * symbols (DT_GNU_HASH): only that part of the table is scanned, and the rest is read
 * when a lookup first needs it.
 */
export function readDynamicSymbols(bytes: Bytes, opts: { program?: boolean } = {}): DynamicSymbols | null {
  const l = open(bytes);
  if (!l) return null;
  const { r, tags } = l;
  const problems: string[] = [];
  const flags = tags.get(DT.FLAGS) ?? 0;
  const flags1 = tags.get(DT.FLAGS_1) ?? 0;
  const bindNow = tags.has(DT.BIND_NOW) || (flags & DF_BIND_NOW) !== 0 || (flags1 & DF_1_NOW) !== 0;
  const symAddr = tags.get(DT.SYMTAB);
  const strAddr = tags.get(DT.STRTAB);
  const out: DynamicSymbols = {
    bindNow,
    undefined: [],
    lookup: () => [],
    definitions: () => new Map(),
    variables: [],
    relocTables: tablesOf(l),
    problems,
  };
  if (symAddr === undefined || strAddr === undefined) return out;
  const entSize = tags.get(DT.SYMENT) ?? (r.is64 ? 24 : 16);
  if (entSize < (r.is64 ? 24 : 16)) throw new ElfDamage(`symbol entries are ${entSize} bytes`);
  const { count, hashedFrom } = symbolCount(l, bytes, entSize);
  if (count > MAX_SYMBOLS || count * entSize > MAX_TABLE) throw new ElfDamage(`${count} dynamic symbols is more than any real object has`);
  const strOff = at(l, strAddr, 'dynamic string table');
  const strSize = Math.min(tags.get(DT.STRSZ) ?? bytes.size - strOff, bytes.size - strOff);
  if (strSize > MAX_TABLE) throw new ElfDamage('dynamic string table is implausibly large');
  const strtab = r.need(strOff, strSize, 'dynamic string table');
  const str = (o: number): string => {
    if (o >= strtab.length) throw new ElfDamage('a symbol name lies outside the string table');
    const end = strtab.indexOf(0, o);
    return strtab.toString('latin1', o, end === -1 ? strtab.length : end);
  };
  const symOff = at(l, symAddr, 'dynamic symbol table');
  const scanEnd = !opts.program && !l.fixed && hashedFrom !== null ? Math.min(hashedFrom, count) : count;
  let whole: Buffer | null = null;
  const all = () => (whole ??= r.need(symOff, count * entSize, 'dynamic symbol table'));
  const head = scanEnd < count ? r.need(symOff, scanEnd * entSize, 'dynamic symbol table') : all();
  const versymAddr = tags.get(DT.VERSYM);
  const versym = versymAddr !== undefined ? r.need(at(l, versymAddr, 'symbol versions'), count * 2, 'symbol versions') : null;
  const versions = versym ? versionNames(l, str) : null;
  const field = (i: number) => {
    const o = i * entSize;
    const syms = i < scanEnd ? head : all();
    return {
      nameOff: r.u32(syms, o),
      info: r.is64 ? syms.readUInt8(o + 4) : syms.readUInt8(o + 12),
      shndx: r.is64 ? r.u16(syms, o + 6) : r.u16(syms, o + 14),
      value: r.is64 ? r.u64(syms, o + 8) : r.u32(syms, o + 4),
    };
  };
  /** The definition at index i, or null when the loader would not bind to it. */
  const definition = (i: number, f = field(i)): DefinedSymbol | null => {
    const bind = f.info >> 4;
    const type = f.info & 0xf;
    if (!(bind === 1 || bind === 2 || bind === STB_GNU_UNIQUE) || !DEFINING_TYPES.has(type) || f.nameOff === 0) return null;
    if (f.value === 0 && f.shndx !== SHN_ABS && type !== STT_TLS) return null;
    const vs = versym ? r.u16(versym, i * 2) : null;
    const ndx = vs === null ? null : vs & 0x7fff;
    return {
      index: i,
      type: TYPE_NAMES[type] ?? `type-${type}`,
      version: ndx === null || ndx <= 1 ? null : (versions!.defs.get(ndx) ?? versions!.needs.get(ndx)?.name ?? null),
      copied: ndx !== null && ndx > 1 && !versions!.defs.has(ndx) && versions!.needs.has(ndx),
      versionIndex: ndx,
      hidden: vs !== null && (vs & 0x8000) !== 0,
      pltOnly: f.shndx === SHN_UNDEF,
    };
  };

  // One pass over the raw entries; names are decoded only for references and variables.
  for (let i = 1; i < scanEnd; i++) {
    const f = field(i);
    const bind = f.info >> 4;
    const type = f.info & 0xf;
    if (bind === 0 || f.nameOff === 0) continue; // locals bind nothing across objects
    if (f.shndx === SHN_UNDEF) {
      const vs = versym ? r.u16(versym, i * 2) : null;
      const need = vs !== null && (vs & 0x7fff) > 1 ? versions!.needs.get(vs & 0x7fff) : undefined;
      out.undefined.push({
        index: i,
        name: str(f.nameOff),
        bind: bind === 1 ? 'global' : bind === 2 ? 'weak' : 'other',
        type: TYPE_NAMES[type] ?? `type-${type}`,
        version: need?.name ?? null,
        versionFile: need?.file ?? null,
        hiddenVersion: vs !== null && (vs & 0x8000) !== 0,
      });
    }
    if (opts.program && type === 1 && f.shndx !== SHN_UNDEF) {
      const def = definition(i, f);
      if (def) out.variables.push({ index: i, name: str(f.nameOff), def });
    }
  }

  let byName: Map<string, DefinedSymbol[]> | null = null;
  out.definitions = () => {
    if (byName) return byName;
    byName = new Map();
    for (let i = 1; i < count; i++) {
      const def = definition(i);
      if (!def) continue;
      const name = str(field(i).nameOff);
      const list = byName.get(name);
      if (list) list.push(def);
      else byName.set(name, [def]);
    }
    return byName;
  };
  const nameIs = (i: number, name: Buffer) => {
    const o = field(i).nameOff;
    return (
      o + name.length < strtab.length && strtab[o + name.length] === 0 && strtab.compare(name, 0, name.length, o, o + name.length) === 0
    );
  };
  const hashed = hashLookup(l, count, nameIs);
  out.lookup = (key) => {
    if (!hashed) return out.definitions().get(key.name) ?? [];
    const found: DefinedSymbol[] = [];
    for (const i of hashed(key)) {
      const def = definition(i);
      if (def) found.push(def);
    }
    return found;
  };
  return out;
}

/**
 * Lookup by name through DT_GNU_HASH or DT_HASH, reading only the buckets and chains:
 * the indexes of the entries with that name. Null when the object has neither table.
 */
function hashLookup(l: Layout, count: number, nameIs: (i: number, name: Buffer) => boolean): ((key: SymbolKey) => number[]) | null {
  const { r, tags } = l;
  const gnu = tags.get(DT.GNU_HASH);
  if (gnu !== undefined) {
    const { off, nbuckets, symoffset, bloomSize, shift } = gnuHashHeader(l, gnu);
    if (nbuckets === 0 || bloomSize === 0) return () => [];
    const bloom = r.need(off + 16, bloomSize * r.wordSize, 'GNU hash bloom filter');
    const bucketsAt = off + 16 + bloomSize * r.wordSize;
    const buckets = r.need(bucketsAt, nbuckets * 4, 'GNU hash buckets');
    const chains = r.need(bucketsAt + nbuckets * 4, Math.max(0, count - symoffset) * 4, 'GNU hash chains');
    const bits = r.wordSize * 8;
    /** Bit n of bloom word w, reading a 64-bit word as two 32-bit halves in the file's byte order. */
    const bit = (w: number, n: number) => {
      const half = r.is64 ? (n >= 32 !== !r.little ? 4 : 0) : 0;
      return (r.u32(bloom, w * r.wordSize + half) >>> (n % 32)) & 1;
    };
    return ({ bytes, gnu: h }) => {
      // The bloom filter rules out most names without touching the chains, as ld.so does.
      const w = Math.floor(h / bits) % bloomSize;
      if (!bit(w, h % bits) || !bit(w, (h >>> shift) % bits)) return [];
      const out: number[] = [];
      for (let i = r.u32(buckets, (h % nbuckets) * 4); i >= symoffset && i < count; i++) {
        const ch = r.u32(chains, (i - symoffset) * 4);
        if ((ch | 1) === (h | 1) && nameIs(i, bytes)) out.push(i);
        if (ch & 1) break;
      }
      return out;
    };
  }
  const sysv = tags.get(DT.HASH);
  if (sysv === undefined) return null;
  const wide = l.machine === 22 && r.is64;
  const ent = wide ? 8 : 4;
  const off = at(l, sysv, 'hash table');
  const head = r.need(off, ent * 2, 'hash table');
  const nbucket = wide ? r.u64(head, 0) : r.u32(head, 0);
  const nchain = wide ? r.u64(head, 8) : r.u32(head, 4);
  if (nbucket === 0) return () => [];
  if (nbucket + nchain > MAX_SYMBOLS * 2) throw new ElfDamage('hash table is implausibly large');
  const table = r.need(off + ent * 2, (nbucket + nchain) * ent, 'hash table');
  const word = (k: number) => (wide ? r.u64(table, k * ent) : r.u32(table, k * ent));
  return ({ bytes: b, sysv: h }) => {
    const out: number[] = [];
    const seen = new Set<number>();
    for (let i = word(h % nbucket); i !== 0 && i < count && i < nchain && !seen.has(i); i = word(nbucket + i)) {
      seen.add(i);
      if (nameIs(i, b)) out.push(i);
    }
    return out;
  };
}

/**
 * The relocations that name a symbol, in the order a loader meets them in each table
 * (the caller orders the tables as its loader does). Read only for objects with a
 * reference that nothing defines.
 */
export function readRelocations(bytes: Bytes, tables: RelocTables): SymbolRelocation[] {
  const h = readHeader(bytes);
  const r = new FieldReader(bytes, h.little, h.is64);
  if (tables.machine === 8) throw new ElfDamage('MIPS relocations are not decoded');
  const out: SymbolRelocation[] = [];
  const read = (t: Table | null, which: SymbolRelocation['table']) => {
    if (!t) return;
    const ent = (r.is64 ? 8 : 4) * (t.rela ? 3 : 2);
    if (t.size > MAX_TABLE) throw new ElfDamage(`${which} relocations are implausibly large`);
    const buf = r.need(t.offset, Math.floor(t.size / ent) * ent, `${which} relocations`);
    for (let o = 0; o + ent <= buf.length; o += ent) {
      let sym: number;
      let type: number;
      if (r.is64) {
        const hi = h.little ? buf.readUInt32LE(o + 12) : buf.readUInt32BE(o + 8);
        const lo = h.little ? buf.readUInt32LE(o + 8) : buf.readUInt32BE(o + 12);
        sym = hi;
        type = lo;
      } else {
        const info = r.u32(buf, o + 4);
        sym = info >>> 8;
        type = info & 0xff;
      }
      if (sym !== 0 && type !== 0) out.push({ symbol: sym, table: which, copy: type === tables.copyType });
    }
  };
  read(tables.jmprel, 'jmprel');
  read(tables.rel, 'rel');
  read(tables.rela, 'rela');
  return out;
}

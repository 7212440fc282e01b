/**
 * ELF layout: header (through elfy), program headers, section headers, and the mapping
 * of virtual addresses to file offsets that every other decoder needs.
 */
import elfy from 'elfy';
import { isElf } from '../archive/magic.js';
import type { Bytes } from '../fs/bytes.js';
import { ElfDamage, type FieldReader } from './reader.js';

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
export const PF_X = 1;
export const PF_W = 2;

const MACHINES: Record<number, [string, string | null]> = {
  3: ['i386', '386'],
  8: ['mips', 'mips'],
  20: ['ppc', 'ppc'],
  21: ['ppc64', 'ppc64'],
  22: ['s390', 's390x'],
  40: ['arm', 'arm'],
  62: ['x86_64', 'amd64'],
  183: ['aarch64', 'arm64'],
  243: ['riscv', 'riscv64'],
  258: ['loongarch64', 'loong64'],
};

/** e_machine plus class and byte order as the name people use, and its OCI architecture. */
export function machineName(eMachine: number, is64: boolean, little: boolean): { machine: string; architecture: string | null } {
  const m = MACHINES[eMachine];
  if (!m) return { machine: `machine-${eMachine}`, architecture: null };
  switch (eMachine) {
    case 21:
      return little ? { machine: 'ppc64le', architecture: 'ppc64le' } : { machine: 'ppc64', architecture: 'ppc64' };
    case 22:
      return is64 ? { machine: 's390x', architecture: 's390x' } : { machine: 's390', architecture: null };
    case 243:
      return is64 ? { machine: 'riscv64', architecture: 'riscv64' } : { machine: 'riscv32', architecture: null };
    case 8:
      return {
        machine: is64 ? (little ? 'mips64el' : 'mips64') : little ? 'mipsel' : 'mips',
        architecture: is64 ? (little ? 'mips64le' : 'mips64') : little ? 'mipsle' : 'mips',
      };
    default:
      return { machine: m[0], architecture: m[1] };
  }
}

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface Section {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
}

/** The ELF header fields the decoders need, from elfy plus the raw machine number. */
export interface ElfHeader {
  is64: boolean;
  little: boolean;
  osabi: string;
  eType: number;
  eMachine: number;
  entry: number;
  phoff: number;
  shoff: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

const OSABI: Record<number, string> = { 0: 'sysv', 3: 'gnu', 6: 'solaris', 9: 'freebsd', 12: 'openbsd', 97: 'arm', 255: 'standalone' };

const E_TYPES: Record<string, number> = { rel: 1, exec: 2, dyn: 3, core: 4 };

/** Reads and checks the ELF header. Throws ElfDamage when the file is not a usable ELF. */
export function readHeader(bytes: Bytes): ElfHeader {
  const head = bytes.read(0, 64);
  if (head.length < 16 || !isElf(head)) throw new ElfDamage('not an ELF file');
  const is64 = head[4] === 2;
  if (head.length < (is64 ? 64 : 52)) throw new ElfDamage('ELF header is cut short');
  let h: Record<string, unknown>;
  try {
    h = new elfy.Parser().parseHeader(head);
  } catch (e) {
    throw new ElfDamage(`bad ELF header (${(e as Error).message})`);
  }
  const little = h.endian === 'lsb';
  const eMachine = little ? head.readUInt16LE(18) : head.readUInt16BE(18);
  return {
    is64,
    little,
    // EI_OSABI is byte 7 (elfy reads byte 6, the ident version, so it is not used here)
    osabi: OSABI[head.readUInt8(7)] ?? `osabi-${head[7]}`,
    eType: E_TYPES[h.type as string] ?? (little ? head.readUInt16LE(16) : head.readUInt16BE(16)),
    eMachine,
    entry: h.entry as number,
    phoff: h.phoff as number,
    shoff: h.shoff as number,
    phentsize: h.phentsize as number,
    phnum: h.phnum as number,
    shentsize: h.shentsize as number,
    shnum: h.shnum as number,
    shstrndx: h.shstrndx as number,
  };
}

export function readSegments(r: FieldReader, h: ElfHeader): Segment[] {
  if (h.phnum === 0) return [];
  const size = h.is64 ? 56 : 32;
  if (h.phentsize < size) throw new ElfDamage(`program header entries are ${h.phentsize} bytes, expected ${size}`);
  const table = r.need(h.phoff, h.phnum * h.phentsize, 'program header table');
  const out: Segment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = i * h.phentsize;
    out.push(
      h.is64
        ? {
            type: r.u32(table, o),
            flags: r.u32(table, o + 4),
            offset: r.u64(table, o + 8),
            vaddr: r.u64(table, o + 16),
            filesz: r.u64(table, o + 32),
            memsz: r.u64(table, o + 40),
            align: r.u64(table, o + 48),
          }
        : {
            type: r.u32(table, o),
            offset: r.u32(table, o + 4),
            vaddr: r.u32(table, o + 8),
            filesz: r.u32(table, o + 16),
            memsz: r.u32(table, o + 20),
            flags: r.u32(table, o + 24),
            align: r.u32(table, o + 28),
          },
    );
  }
  return out;
}

export function readSections(r: FieldReader, h: ElfHeader): Section[] {
  if (h.shnum === 0 || h.shoff === 0) return [];
  const size = h.is64 ? 64 : 40;
  if (h.shentsize < size) throw new ElfDamage(`section header entries are ${h.shentsize} bytes, expected ${size}`);
  const table = r.need(h.shoff, h.shnum * h.shentsize, 'section header table');
  const raw = [];
  for (let i = 0; i < h.shnum; i++) {
    const o = i * h.shentsize;
    raw.push(
      h.is64
        ? {
            nameOff: r.u32(table, o),
            type: r.u32(table, o + 4),
            addr: r.u64(table, o + 16),
            offset: r.u64(table, o + 24),
            size: r.u64(table, o + 32),
            link: r.u32(table, o + 40),
          }
        : {
            nameOff: r.u32(table, o),
            type: r.u32(table, o + 4),
            addr: r.u32(table, o + 12),
            offset: r.u32(table, o + 16),
            size: r.u32(table, o + 20),
            link: r.u32(table, o + 24),
          },
    );
  }
  const strs = raw[h.shstrndx];
  const names =
    strs && strs.type !== 8 && strs.size > 0 && strs.size <= 1 << 20 ? r.need(strs.offset, strs.size, 'section name table') : null;
  return raw.map((s) => {
    let name = '';
    if (names && s.nameOff < names.length) {
      const end = names.indexOf(0, s.nameOff);
      name = names.toString('latin1', s.nameOff, end === -1 ? names.length : end);
    }
    return { name, type: s.type, addr: s.addr, offset: s.offset, size: s.size, link: s.link };
  });
}

/** File offset of a virtual address, through the PT_LOAD segment that maps it. */
export function vaddrToOffset(segments: Segment[], addr: number): number | null {
  for (const s of segments) {
    if (s.type === PT_LOAD && addr >= s.vaddr && addr < s.vaddr + s.filesz) return s.offset + (addr - s.vaddr);
  }
  return null;
}

/** Dynamic section tags (d_tag) and flag bits, as elf.h names them. */
export const DT = {
  NULL: 0,
  NEEDED: 1,
  PLTRELSZ: 2,
  HASH: 4,
  STRTAB: 5,
  SYMTAB: 6,
  RELA: 7,
  RELASZ: 8,
  STRSZ: 10,
  SYMENT: 11,
  SONAME: 14,
  RPATH: 15,
  REL: 17,
  RELSZ: 18,
  PLTREL: 20,
  JMPREL: 23,
  BIND_NOW: 24,
  RUNPATH: 29,
  FLAGS: 30,
  GNU_HASH: 0x6ffffef5,
  VERSYM: 0x6ffffff0,
  FLAGS_1: 0x6ffffffb,
  VERDEF: 0x6ffffffc,
  VERDEFNUM: 0x6ffffffd,
  VERNEED: 0x6ffffffe,
  VERNEEDNUM: 0x6fffffff,
} as const;
export const DF_BIND_NOW = 0x8;
export const DF_1_NOW = 0x1;

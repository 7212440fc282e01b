/**
 * The directories a glibc ld.so searches last, its "system search path". glibc's build
 * compiles them into the loader (elf/gen-trusted-dirs.awk makes SYSTEM_DIRS: each
 * directory with a trailing slash and a NUL, the literal's own NUL after the last), and
 * dl-load.c keeps their lengths (SYSTEM_DIRS_LEN, an array of size_t) beside them. Debian
 * builds `/lib/x86_64-linux-gnu/ /usr/lib/x86_64-linux-gnu/ /lib/ /usr/lib/`, Fedora
 * `/lib64/ /usr/lib64/`: the list belongs to the loader, wherever it was copied to.
 */
import { PF_W, PF_X, PT_LOAD, type Section, type Segment } from './layout.js';
import type { FieldReader } from './reader.js';

/** More read-only data than any ld.so has (about 40 KiB today). */
const REGION_LIMIT = 4 << 20;
const MAX_DIRS = 32;

/** A glibc dynamic loader's soname: ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld64.so.2, ld.so.1, … */
export function isGlibcLoaderName(soname: string | null): boolean {
  return soname !== null && /^ld(-linux[-\w]*|64)?\.so\.\d+$/.test(soname);
}

/** Where the list can be: .rodata, or (sections stripped) the loadable segments that are neither writable nor code. */
function regions(segments: Segment[], sections: Section[]): { offset: number; size: number }[] {
  const rodata = sections.filter((s) => s.name === '.rodata' && s.type === 1);
  if (rodata.length) return rodata;
  const ro = segments.filter((s) => s.type === PT_LOAD && (s.flags & PF_W) === 0 && (s.flags & PF_X) === 0);
  return ro.length
    ? ro.map((s) => ({ offset: s.offset, size: s.filesz }))
    : segments.filter((s) => s.type === PT_LOAD && (s.flags & PF_W) === 0).map((s) => ({ offset: s.offset, size: s.filesz }));
}

/** The glibc release a loader says it is ("ld.so (…) stable release version 2.36."), e.g. "2.36". */
export function readLoaderRelease(r: FieldReader, segments: Segment[], sections: Section[]): string | null {
  for (const reg of regions(segments, sections)) {
    if (reg.size <= 0 || reg.offset < 0 || reg.offset + reg.size > r.bytes.size) continue;
    const text = r.need(reg.offset, Math.min(reg.size, REGION_LIMIT), 'read-only data').toString('latin1');
    const m = /release version (\d+\.\d+)/.exec(text);
    if (m) return m[1] ?? null;
  }
  return null;
}

/** Do the words just before `at` hold the lengths of `dirs` (SYSTEM_DIRS_LEN)? */
function lengthsBefore(buf: Buffer, at: number, dirs: string[], r: FieldReader): boolean {
  const w = r.wordSize;
  const start = at - dirs.length * w;
  if (start < 0) return false;
  return dirs.every((d, i) => r.word(buf, start + i * w) === d.length);
}

/**
 * The system directories as ld.so writes them (`/lib64/`), or null when the file holds no
 * such list (not a glibc loader, or one built in a way this does not recognise).
 */
export function readSystemDirs(r: FieldReader, segments: Segment[], sections: Section[]): string[] | null {
  let fallback: string[] | null = null;
  for (const reg of regions(segments, sections)) {
    if (reg.size <= 0 || reg.offset < 0 || reg.offset + reg.size > r.bytes.size) continue;
    const buf = r.need(reg.offset, Math.min(reg.size, REGION_LIMIT), 'read-only data');
    // The list may open the region (.rodata often starts with it): its start counts as a NUL.
    const text = '\0' + buf.toString('latin1');
    // One or more "/dir/\0", started after a NUL and closed by the literal's own NUL.
    const re = /(?<=\0)((?:\/[\x21-\x7e]*\/\0){1,32})\0/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const dirs = (m[1] ?? '').split('\0').slice(0, -1);
      if (dirs.length > MAX_DIRS) continue;
      if (lengthsBefore(buf, m.index - 1, dirs, r)) return dirs;
      if (!fallback && dirs.every((d) => /\/lib[^/]*\//.test(d))) fallback = dirs;
    }
  }
  return fallback;
}

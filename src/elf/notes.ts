/** ELF notes: GNU build-id, GNU ABI tag, and the `.note.package` JSON of distribution builds. */
import type { Section, Segment } from './layout.js';
import type { FieldReader } from './reader.js';

const NT_GNU_ABI_TAG = 1;
const NT_GNU_BUILD_ID = 3;
const NT_FDO_PACKAGING_METADATA = 0xcafe1a7e;
const NT_GO_BUILD_ID = 4;
const ABI_OS = ['Linux', 'Hurd', 'Solaris', 'FreeBSD', 'NetBSD', 'Syllable', 'NaCl'];

export interface Notes {
  buildId: string | null;
  abiTag: string | null;
  package: Record<string, unknown> | null;
  /** The Go toolchain's own build ID note: marks a Go binary. */
  goBuildId: string | null;
}

export function readNotes(r: FieldReader, noteSegments: Segment[], sections: Section[]): Notes {
  const out: Notes = { buildId: null, abiTag: null, package: null, goBuildId: null };
  // Segments when there are any (executables, libraries); note sections for the rest.
  const areas = noteSegments.length
    ? noteSegments.map((s) => ({ offset: s.offset, size: s.filesz, align: s.align }))
    : sections.filter((s) => s.type === 7).map((s) => ({ offset: s.offset, size: s.size, align: 4 }));
  for (const area of areas) {
    const buf = r.need(area.offset, Math.min(area.size, 1 << 16), 'note segment');
    const align = area.align === 8 ? 8 : 4;
    const pad = (n: number) => (n + align - 1) & ~(align - 1);
    let o = 0;
    while (o + 12 <= buf.length) {
      const namesz = r.u32(buf, o);
      const descsz = r.u32(buf, o + 4);
      const type = r.u32(buf, o + 8);
      const nameStart = o + 12;
      const descStart = nameStart + pad(namesz);
      const end = descStart + pad(descsz);
      if (namesz > buf.length || descsz > buf.length || descStart + descsz > buf.length) break;
      const name = buf.toString('latin1', nameStart, nameStart + namesz).replace(/\0+$/, '');
      const desc = buf.subarray(descStart, descStart + descsz);
      if (name === 'GNU' && type === NT_GNU_BUILD_ID) out.buildId = desc.toString('hex');
      else if (name === 'Go' && type === NT_GO_BUILD_ID) out.goBuildId = desc.toString('utf8').replace(/\0.*$/s, '');
      else if (name === 'GNU' && type === NT_GNU_ABI_TAG && descsz >= 16) {
        out.abiTag = `${ABI_OS[r.u32(desc, 0)] ?? 'os-' + r.u32(desc, 0)} ${r.u32(desc, 4)}.${r.u32(desc, 8)}.${r.u32(desc, 12)}`;
      } else if (name === 'FDO' && type === NT_FDO_PACKAGING_METADATA) {
        const text = desc.toString('utf8').replace(/\0.*$/s, '');
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed && typeof parsed === 'object') out.package = parsed as Record<string, unknown>;
        } catch {
          /* not JSON: ignored, as systemd's readers do */
        }
      }
      o = end;
    }
  }
  return out;
}

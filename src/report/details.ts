/**
 * What the details of one file say: its metadata and, for an ELF file, what it needs to
 * run and where the loader finds it. Plain data for any front end.
 */
import type { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import type { Node } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { type LoadResult, resolveProgram } from '../loader/index.js';
import { loaderContext } from '../diagnose/context.js';

export interface FileDetails {
  path: string;
  elf: ElfInfo | null;
  elfError: string | null;
  load: LoadResult | null;
}

export function fileDetails(model: ImageModel, catalog: BinaryCatalog, path: string, node: Node | null): FileDetails {
  const out: FileDetails = { path, elf: null, elfError: null, load: null };
  if (!node) return out;
  const d = catalog.of(node);
  if (!d) return out;
  if (!d.ok) {
    out.elfError = d.error;
    return out;
  }
  out.elf = d.info;
  if (d.info.interpreter || d.info.needed.length) out.load = resolveProgram(loaderContext(model, catalog), path, d.info);
  return out;
}

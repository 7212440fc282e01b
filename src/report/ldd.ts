/** `ldd`: one program's ELF facts and the libraries its loader finds in the image, where and why. */
import { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { ScopeError } from '../errors.js';
import { mustResolve } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { type LoadResult, resolveProgram } from '../loader/index.js';
import { loaderContext } from '../diagnose/context.js';

/** What `ldd --json` prints: the program, its decoded ELF header facts, and the loader's walk. */
export interface LddReport extends LoadResult {
  /** The path asked for, absolute. */
  path: string;
  /** The file it leads to once symlinks are followed inside the image. */
  realPath: string;
  elf: ElfInfo;
}

export function lddReport(model: ImageModel, path: string): LddReport {
  const abs = path.startsWith('/') ? path : '/' + path;
  const r = mustResolve(model.tree, abs);
  const catalog = new BinaryCatalog(model.tree, model.decoded);
  const d = catalog.of(r.node);
  if (!d) throw new ScopeError('usage', `${path}: not an ELF file`);
  if (!d.ok) throw new ScopeError('corrupt', `${path}: ${d.error}`);
  const load = resolveProgram(loaderContext(model, catalog), abs, d.info);
  return { path: abs, realPath: r.path, elf: d.info, ...load };
}

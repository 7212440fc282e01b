/** Every ELF file of the image, decoded, with the libraries the loader would give it. */
import { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import type { ImageModel } from '../load.js';
import { type LoadResult, type LoaderContext, resolveProgram } from '../loader/index.js';

export interface BinaryElf {
  class: 32 | 64;
  machine: string;
  type: ElfInfo['type'];
  interpreter: string | null;
  needed: string[];
  rpath: string | null;
  runpath: string | null;
  soname: string | null;
  static: boolean;
  libc: ElfInfo['libc'];
  go: ElfInfo['go'];
  hardening: ElfInfo['hardening'];
  buildId: string | null;
  versionNeeds: ElfInfo['versionNeeds'];
  staticNss: boolean | null;
}

export interface BinaryReport {
  path: string;
  layer: number;
  size: number;
  /** null when the file could not be decoded; `error` says why. */
  elf: BinaryElf | null;
  error: string | null;
  problems: string[];
  /** The file's own DT_NEEDED entries and where the loader finds them. */
  dependencies: { name: string; resolved: string | null; via: string | null; searched: string[]; error: string | null }[];
  /** Libraries anywhere in its tree that cannot be loaded, and missing symbol versions. */
  missing: string[];
  missingVersions: string[];
}

export function loaderContext(model: ImageModel, catalog: BinaryCatalog): LoaderContext {
  return { tree: model.tree, catalog, env: model.config?.env ?? [], cwd: model.config?.workingDir || '/', probes: new Map() };
}

export function elfSummary(info: ElfInfo): BinaryElf {
  const { class: cls, machine, type, interpreter, needed, rpath, runpath, soname, static: st, libc, go, hardening, buildId, versionNeeds, staticNss } = info;
  return { class: cls, machine, type, interpreter, needed, rpath, runpath, soname, static: st, libc, go, hardening, buildId, versionNeeds, staticNss };
}

export function analyzeBinaries(model: ImageModel, catalog = new BinaryCatalog(model.tree, model.decoded)): BinaryReport[] {
  const ctx = loaderContext(model, catalog);
  const out: BinaryReport[] = [];
  for (const [path, d] of catalog.all()) {
    const node = model.tree.get(path)!;
    const base = { path, layer: node.layer, size: node.size };
    if (!d.ok) {
      out.push({ ...base, elf: null, error: d.error, problems: [], dependencies: [], missing: [], missingVersions: [] });
      continue;
    }
    const load: LoadResult | null = d.info.needed.length || d.info.interpreter ? resolveProgram(ctx, path, d.info) : null;
    out.push({
      ...base,
      elf: elfSummary(d.info),
      error: null,
      problems: d.info.problems,
      dependencies: (load?.dependencies ?? []).filter((x) => x.depth === 1).map((x) => ({ name: x.name, resolved: x.resolved, via: x.via, searched: x.resolved ? [] : x.searched, error: x.error })),
      missing: [...new Set((load?.dependencies ?? []).filter((x) => x.error).map((x) => x.name))],
      missingVersions: (load?.versionProblems ?? []).filter((v) => !v.weak).map((v) => `${v.version} (${v.library})`),
    });
  }
  return out;
}

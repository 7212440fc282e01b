/** Every ELF file of the image, decoded, with the libraries the loader would give it. */
import { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import type { ImageModel } from '../load.js';
import { loaderContext } from '../diagnose/context.js';
import { type LoadResult, resolveProgram } from '../loader/index.js';

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

export interface BinaryLoader {
  kind: LoadResult['loader'];
  interpreter: string | null;
  defaultDirs: string[];
  /** "read from /lib64/ld-linux-x86-64.so.2", or "assumed (…)" when the loader could not be read. */
  defaultDirsFrom: string;
  /** Work cut short ("too many …"): the dependencies after that point are not listed. */
  limits: string[];
}

export interface BinaryDependency {
  name: string;
  /** The object whose DT_NEEDED names it (the binary itself at depth 1). */
  requiredBy: string;
  depth: number;
  resolved: string | null;
  via: string | null;
  /** Candidates tried, in order, up to the one found (or all of them when none was). */
  searched: string[];
  error: string | null;
  /** Versions the binary's objects need from this library and it does not define. */
  failedVersions: { version: string; requiredBy: string; weak: boolean }[];
  /** Symbols the binary's objects need from the loaded set that no object defines, when known. */
  failedSymbols: { symbol: string; requiredBy: string }[];
}

export interface BinaryReport {
  path: string;
  layer: number;
  size: number;
  /** null when the file could not be decoded; `error` says why. */
  elf: BinaryElf | null;
  error: string | null;
  problems: string[];
  /** How its loader searches: null for a static file. */
  loader: BinaryLoader | null;
  /** Every library it loads, directly or through others, once each, in the loader's order; and every one it cannot. */
  dependencies: BinaryDependency[];
  /** Libraries anywhere in its tree that cannot be loaded, and missing symbol versions. */
  missing: string[];
  missingVersions: string[];
}

export function elfSummary(info: ElfInfo): BinaryElf {
  const {
    class: cls,
    machine,
    type,
    interpreter,
    needed,
    rpath,
    runpath,
    soname,
    static: st,
    libc,
    go,
    hardening,
    buildId,
    versionNeeds,
    staticNss,
  } = info;
  return {
    class: cls,
    machine,
    type,
    interpreter,
    needed,
    rpath,
    runpath,
    soname,
    static: st,
    libc,
    go,
    hardening,
    buildId,
    versionNeeds,
    staticNss,
  };
}

export function analyzeBinaries(model: ImageModel, catalog = new BinaryCatalog(model.tree, model.decoded)): BinaryReport[] {
  const ctx = loaderContext(model, catalog);
  const out: BinaryReport[] = [];
  for (const [path, d, node] of catalog.all()) {
    const base = { path, layer: node.layer, size: node.size };
    if (!d.ok) {
      out.push({ ...base, elf: null, error: d.error, problems: [], loader: null, dependencies: [], missing: [], missingVersions: [] });
      continue;
    }
    const load: LoadResult | null = d.info.needed.length || d.info.interpreter ? resolveProgram(ctx, path, d.info) : null;
    out.push({
      ...base,
      elf: elfSummary(d.info),
      error: null,
      problems: d.info.problems,
      loader: load && {
        kind: load.loader,
        interpreter: load.interpreter?.path ?? null,
        defaultDirs: load.defaultDirs,
        defaultDirsFrom: load.defaultDirsFrom,
        limits: load.limits,
      },
      dependencies: load ? closure(load) : [],
      missing: [...new Set((load?.dependencies ?? []).filter((x) => x.error).map((x) => x.name))],
      missingVersions: (load?.versionProblems ?? []).filter((v) => !v.weak).map((v) => `${v.version} (${v.library})`),
    });
  }
  return out;
}

/** Each library once (the first time the loader meets it), and each that cannot be loaded. */
export function closure(load: LoadResult): BinaryDependency[] {
  const seen = new Set<string>();
  const out: BinaryDependency[] = [];
  for (const d of load.dependencies) {
    if (d.via === 'loaded') continue;
    const key = d.error ? `missing\0${d.name}` : (d.realPath ?? d.resolved ?? d.name);
    if (seen.has(key)) continue;
    seen.add(key);
    const failedVersions = d.resolved
      ? load.versionProblems.filter((v) => v.library === d.resolved).map(({ version, requiredBy, weak }) => ({ version, requiredBy, weak }))
      : [];
    out.push({
      name: d.name,
      requiredBy: d.requiredBy,
      depth: d.depth,
      resolved: d.resolved,
      via: d.via,
      searched: d.searched,
      error: d.error,
      failedVersions,
      failedSymbols: [],
    });
  }
  return out;
}

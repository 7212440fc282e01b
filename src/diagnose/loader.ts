/**
 * The dynamic loader's step: every DT_NEEDED found (or the loader's line for the first it
 * cannot load), then symbol versions and the symbols themselves (symbols.ts), and any
 * limit the emulation met. A static program has no loader and passes.
 */
import type { ElfInfo } from '../elf/types.js';
import { type Node, resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { type Dependency, type LoadResult, type LoaderContext, resolveProgram } from '../loader/index.js';
import { checkSymbols } from '../loader/symbols.js';
import { CATALOG } from './catalog.js';
import { findByName } from './lookup.js';
import { type LoaderFacts, symbolDiagnostics, versionDiagnostics } from './symbols.js';
import type { Diagnostic, StepResult } from './types.js';

export interface Program {
  path: string;
  argv0: string;
  info: ElfInfo;
  node: Node;
}

export interface LoaderStep extends StepResult {
  /** What the loader found; null for a static program. */
  load: LoadResult | null;
}

export function loaderStep(
  model: ImageModel,
  ctx: LoaderContext,
  prog: Program,
  execPath: string,
  layerOf: (path: string) => number | null,
): LoaderStep {
  if (!prog.info.interpreter) {
    const cut = truncation(prog.info, prog.path, '', layerOf);
    if (cut)
      return { load: null, step: { step: 'loader', ok: false, detail: `${prog.path} is cut short: it crashes at start` }, findings: [cut] };
    return { load: null, step: { step: 'loader', ok: true, detail: 'statically linked: no loader, no libraries' }, findings: [] };
  }
  const load = resolveProgram(ctx, prog.path, prog.info);
  // a cut loader dies before it looks for anything
  const interp = load.interpreter?.resolved ? infoAt(ctx, load.interpreter.resolved) : null;
  const cutLoader = interp ? truncation(interp, load.interpreter!.resolved!, ` (the loader of ${prog.path})`, layerOf) : null;
  if (cutLoader)
    return { load, step: { step: 'loader', ok: false, detail: `its loader is cut short: it crashes at start` }, findings: [cutLoader] };
  const musl = load.loader === 'musl';
  const findings: Diagnostic[] = [];
  const missing = load.dependencies.filter((d) => d.error);
  const words = CATALOG['library-missing'];
  for (const d of missing) {
    const error = d.error ?? '';
    findings.push({
      severity: 'error',
      code: 'library-missing',
      message: d.errorPath
        ? words.messageUnloadable(d.requiredBy, d.name, d.errorPath, error)
        : words.message(d.requiredBy, d.name, d.skipped),
      path: d.requiredBy,
      layer: layerOf(d.requiredBy),
      runtimeError: musl
        ? words.runcMusl(d.name, error, d.requiredBy === prog.path ? execPath : d.requiredBy)
        : words.runcGlibc(prog.argv0, d.errorPath ?? d.name, error),
      fix: d.errorPath
        ? words.fixUnloadable(d.errorPath)
        : (d.requiredBy === prog.path ? prog.info : infoAt(ctx, d.requiredBy))?.flags.nodeflib
          ? words.fixNodeflib(d.requiredBy, d.name, load.defaultDirs)
          : libraryFix(model, d, load, prog.info.go?.cgo ?? false),
      evidence: [`searched: ${d.searched.join(', ') || '(nowhere)'}`, ...d.skipped.map((s) => `skipped ${s.path}: ${s.reason}`)],
    });
  }
  const skipped = CATALOG['preload-missing'];
  for (const p of load.preloads) {
    if (p.error === null) continue;
    const line = musl ? null : skipped.glibcLine(p.name, p.from, p.error);
    findings.push({
      severity: 'warning',
      code: 'preload-missing',
      message: skipped.message(p.name, p.from, line),
      path: p.from === 'LD_PRELOAD' ? null : p.from,
      layer: p.from === 'LD_PRELOAD' ? null : layerOf(p.from),
      runtimeError: null,
      fix: skipped.fix(p.name, p.from),
      evidence: [`${p.from}: ${p.name}: ${p.error}`],
    });
  }
  // Versions, then the symbols themselves: glibc stops before binding when a library or a version is missing.
  const facts = loaderFacts(ctx, prog, layerOf);
  findings.push(...versionDiagnostics(load.versionProblems, facts));
  const glibcStopped = !musl && (missing.length > 0 || load.versionProblems.some((v) => !v.weak));
  const symbols = glibcStopped ? null : checkSymbols({ tree: ctx.tree, env: ctx.env }, load, { argv0: prog.argv0, execPath });
  findings.push(...symbolDiagnostics(symbols, facts));
  const unbound = symbols?.problems.filter((p) => p.when === 'load') ?? [];
  for (const limit of load.limits) {
    findings.push({
      code: 'loader-limit',
      severity: 'warning',
      message: limit,
      path: prog.path,
      layer: prog.node.layer,
      runtimeError: null,
      fix: CATALOG['loader-limit'].fix,
      evidence: [limit],
    });
  }
  const found = load.dependencies.filter((d) => !d.error).length;
  // everything found: the program and its libraries are mapped, and one cut short kills it at the first touch
  let cut: Diagnostic | null = null;
  if (missing.length === 0 && !load.versionProblems.some((v) => !v.weak) && unbound.length === 0) {
    cut = truncation(prog.info, prog.path, '', layerOf);
    for (const d of load.dependencies) {
      if (cut) break;
      const info = d.realPath ? infoAt(ctx, d.realPath) : null;
      if (info) cut = truncation(info, d.realPath!, ` (${d.name}, needed by ${d.requiredBy})`, layerOf);
    }
    if (cut) findings.unshift(cut);
  }
  return {
    load,
    step: {
      step: 'loader',
      ok: missing.length === 0 && !load.versionProblems.some((v) => !v.weak) && unbound.length === 0 && !cut,
      detail: `${load.loader} loader ${prog.info.interpreter}: ${found} of ${load.dependencies.length} needed libraries found${missing.length ? `, missing ${[...new Set(missing.map((m) => m.name))].join(', ')}` : ''}${unbound.length ? `, unbound ${[...new Set(unbound.map((p) => p.symbol))].join(', ')}` : ''}`,
    },
    findings,
  };
}

/**
 * The fix for a library the loader cannot find: a file it tried and passed over, then a link
 * to nothing where it looked, then a copy in a folder it does not search, else the general one.
 */
function libraryFix(model: ImageModel, d: Dependency, load: LoadResult, cgo: boolean): string {
  const words = CATALOG['library-missing'];
  const skipped = d.skipped[0];
  if (skipped) return words.fixSkipped(skipped.path, skipped.reason);
  const named = findByName(model, d.name);
  for (const p of named) {
    const link = resolvePath(model.tree, p, { followLast: false });
    if (link.ok && link.node.type === 'symlink' && !resolvePath(model.tree, p).ok) return words.fixDangling(p, link.node.linkTarget ?? '?');
  }
  const elsewhere = named.filter((p) => !d.searched.includes(p) && resolvePath(model.tree, p).ok);
  const musl = load.loader === 'musl';
  if (load.secure && elsewhere[0]) return words.fixSecure(load.program, load.secure, elsewhere[0], load.defaultDirs[0] ?? '/usr/lib', musl);
  const pathFile = musl ? (/\/\S*ld-musl-\S+\.path/.exec(load.defaultDirsFrom)?.[0] ?? null) : null;
  return words.fix(d.name, cgo, musl, elsewhere, load.defaultDirs, pathFile);
}

/** What the loader diagnostics need to know about the objects the program loads. */
function loaderFacts(ctx: LoaderContext, prog: Program, layerOf: (p: string) => number | null): LoaderFacts {
  const libcOf = (p: string) => (p === prog.path ? prog.info.libc : (infoAt(ctx, p)?.libc ?? null));
  return { programPath: prog.path, argv0: prog.argv0, libcOf, layerOf };
}

const PAGE = 4096;

/**
 * A file whose loadable segment runs a page or more past its end: mapped all the same, it dies
 * at the first touch of the missing page (SIGBUS). Within the last page the rest reads as zeros.
 */
function truncation(info: ElfInfo, file: string, role: string, layerOf: (p: string) => number | null): Diagnostic | null {
  for (const problem of info.problems) {
    const m = /^truncated: a loadable segment ends at (\d+), past the end of the file \((\d+) bytes\)/.exec(problem);
    if (!m || Number(m[1]) <= Math.ceil(Number(m[2]) / PAGE) * PAGE) continue;
    const text = CATALOG['elf-truncated'];
    return {
      severity: 'error',
      code: 'elf-truncated',
      message: text.message(file, role, problem),
      path: file,
      layer: layerOf(file),
      runtimeError: null,
      fix: text.fix(file),
      evidence: [problem],
    };
  }
  return null;
}

/** The decoded ELF at a path, when it is one. */
function infoAt(ctx: LoaderContext, path: string): ElfInfo | null {
  const r = resolvePath(ctx.tree, path);
  const d = r.ok ? ctx.catalog.of(r.node) : null;
  return d?.ok ? d.info : null;
}

/**
 * Diagnostics for what the loader checks after it has found every library: symbol
 * versions (glibc) and the symbols themselves (both loaders).
 */
import type { SymbolCheck, SymbolProblem } from '../loader/symbols.js';
import type { VersionProblem } from '../loader/types.js';
import type { Diagnostic } from './types.js';

export interface LoaderFacts {
  /** The program as resolved, and the argv[0] glibc prints. */
  programPath: string;
  argv0: string;
  /** The C library each loaded object was built against, by the name the loader gives it. */
  libcOf: (path: string) => string | null;
  layerOf: (path: string) => number | null;
}

/**
 * glibc checks every version of every object before it gives up, and prints one line
 * per missing version: one diagnostic per (object, library) pair lists them all.
 */
export function versionDiagnostics(problems: VersionProblem[], f: LoaderFacts): Diagnostic[] {
  const out: Diagnostic[] = [];
  const groups = new Map<string, VersionProblem[]>();
  for (const v of problems) {
    const key = `${v.weak}\0${v.requiredBy}\0${v.library}`;
    const g = groups.get(key);
    if (g) g.push(v);
    else groups.set(key, [v]);
  }
  for (const g of groups.values()) {
    const first = g[0];
    if (!first) continue;
    const { library, requiredBy, weak } = first;
    const by = requiredBy === f.programPath ? f.argv0 : requiredBy;
    const versions = g.map((v) => v.version);
    const list = versions.join(', ');
    out.push({
      code: weak ? 'symbol-version-weak' : 'symbol-version-missing',
      severity: weak ? 'warning' : 'error',
      message: `${requiredBy} was built against a newer ${library.slice(library.lastIndexOf('/') + 1)} than the image has: it needs ${versions.length > 1 ? `the versions ${list}` : list}, which ${library} does not define`,
      path: library,
      layer: f.layerOf(library),
      runtimeError: weak ? null : versions.map((v) => `${f.argv0}: ${library}: version \`${v}' not found (required by ${by})`).join('\n'),
      fix: versions.some((v) => /^GLIBC_/.test(v))
        ? `Build on a system with a glibc no newer than the image's (use the same base image for build and run stages), or link statically.`
        : `Copy the library version the program was built against into the image.`,
      evidence: [...versions.map((v) => `${requiredBy} needs ${v}`), `${library} does not define ${versions.length > 1 ? 'them' : 'it'}`],
    });
  }
  return out;
}

function builtFor(p: SymbolProblem, check: SymbolCheck, f: LoaderFacts): string | null {
  const libc = f.libcOf(p.requiredBy);
  if (libc === 'glibc' && check.loader === 'musl') return 'glibc';
  if (libc === 'musl' && check.loader === 'glibc') return 'musl';
  return null;
}

function fixFor(p: SymbolProblem, check: SymbolCheck, f: LoaderFacts): string {
  const other = builtFor(p, check, f);
  if (other === 'glibc')
    return `${p.requiredBy} was built against glibc, and musl has no ${p.symbol}: build it in a musl stage (FROM alpine), or run the program on a glibc base (debian:bookworm-slim, distroless/base).`;
  if (other === 'musl')
    return `${p.requiredBy} was built against musl, and this glibc has no ${p.symbol}: build it against glibc (the same base as the image), or run it FROM alpine.`;
  if (p.near.length)
    return `The image has ${p.symbol} only as ${p.near.join(', ')}: copy the library release ${p.requiredBy} was built against into the image, or rebuild ${p.requiredBy} against the one the image has.`;
  return `No library in the image defines ${p.symbol}: copy the library release ${p.requiredBy} was built against (ldd in the build stage shows it) into the image, or rebuild against the one the image has.`;
}

/** symbol-missing for what fails the start; symbol-missing-lazy for a glibc function bound at its first call. */
export function symbolDiagnostics(check: SymbolCheck | null, f: LoaderFacts): Diagnostic[] {
  if (!check) return [];
  return check.problems.map((p): Diagnostic => {
    const what = `${p.symbol}${p.version ? ` (version ${p.version})` : ''}`;
    const other = builtFor(p, check, f);
    const evidence = [
      `${p.requiredBy} needs the ${p.kind === 'data' ? 'variable' : 'function'} ${what}`,
      `looked up in ${check.scope.map((s) => s || f.argv0).join(', ')}`,
      ...p.near.map((n) => `defined only as ${n}`),
      `bound ${p.when === 'load' ? 'at load' : 'at first call'}: ${p.reason}`,
    ];
    if (p.when === 'lazy') {
      return {
        code: 'symbol-missing-lazy',
        severity: 'warning',
        message: `${p.requiredBy} calls ${what}, which no loaded object defines; glibc binds functions at their first call, so the program starts and dies with "${p.runtimeError}" if it ever calls it`,
        path: p.requiredBy,
        layer: f.layerOf(p.requiredBy),
        runtimeError: null,
        fix: fixFor(p, check, f),
        evidence,
      };
    }
    return {
      code: 'symbol-missing',
      severity: 'error',
      message: `${p.requiredBy} needs the ${p.kind === 'data' ? 'variable' : 'function'} ${what}, which no loaded object defines${other ? ` (it was built against ${other})` : ''}; ${check.loader === 'musl' ? 'musl binds every symbol at load' : p.reason === 'BIND_NOW' ? 'it is linked with BIND_NOW (-z now), so glibc binds it at load' : p.reason === 'LD_BIND_NOW' ? 'LD_BIND_NOW is set, so glibc binds it at load' : `a ${p.reason} is bound at load`}, and the start fails`,
      path: p.requiredBy,
      layer: f.layerOf(p.requiredBy),
      runtimeError: p.runtimeError,
      fix: fixFor(p, check, f),
      evidence,
    };
  });
}

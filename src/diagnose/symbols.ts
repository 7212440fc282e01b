/**
 * Diagnostics for what the loader checks after it has found every library: symbol
 * versions (glibc) and the symbols themselves (both loaders).
 */
import type { SymbolCheck, SymbolProblem } from '../loader/symbols.js';
import type { VersionProblem } from '../loader/types.js';
import { CATALOG } from './catalog.js';
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
    if (!first) continue; // every group holds at least the problem that made it
    const { library, requiredBy, weak } = first;
    const by = requiredBy === f.programPath ? f.argv0 : requiredBy;
    const versions = g.map((v) => v.version);
    const words = CATALOG['symbol-version-missing'];
    out.push({
      code: weak ? 'symbol-version-weak' : 'symbol-version-missing',
      severity: weak ? 'warning' : 'error',
      message: words.message(requiredBy, library, versions),
      path: library,
      layer: f.layerOf(library),
      runtimeError: weak ? null : versions.map((v) => words.runc(f.argv0, library, v, by)).join('\n'),
      fix: words.fix(versions),
      evidence: [...versions.map((v) => `${requiredBy} needs ${v}`), `${library} does not define ${versions.length > 1 ? 'them' : 'it'}`],
    });
  }
  return out;
}

function builtFor(p: SymbolProblem, check: SymbolCheck, f: LoaderFacts): 'glibc' | 'musl' | null {
  const libc = f.libcOf(p.requiredBy);
  if (libc === 'glibc' && check.loader === 'musl') return 'glibc';
  if (libc === 'musl' && check.loader === 'glibc') return 'musl';
  return null;
}

function fixFor(p: SymbolProblem, check: SymbolCheck, f: LoaderFacts): string {
  const words = CATALOG['symbol-missing'];
  const other = builtFor(p, check, f);
  if (other) return words.fixOtherLibc(p.requiredBy, p.symbol, other);
  if (p.near.length) return words.fixNear(p.requiredBy, p.symbol, p.near);
  return words.fix(p.requiredBy, p.symbol);
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
    const words = CATALOG['symbol-missing'];
    const line = check.loader === 'musl' ? words.runcMusl(p.object, p.symbol) : words.runcGlibc(f.argv0, p.object, p.symbol, p.version);
    if (p.when === 'lazy') {
      return {
        code: 'symbol-missing-lazy',
        severity: 'warning',
        message: CATALOG['symbol-missing-lazy'].message(p.requiredBy, what, line),
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
      message: words.message(
        p.requiredBy,
        p.kind,
        what,
        other,
        check.loader === 'musl'
          ? words.whyMusl
          : p.reason === 'BIND_NOW'
            ? words.whyBindNow
            : p.reason === 'LD_BIND_NOW'
              ? words.whyEnv
              : words.whyReloc(p.reason),
      ),
      path: p.requiredBy,
      layer: f.layerOf(p.requiredBy),
      runtimeError: line,
      fix: fixFor(p, check, f),
      evidence,
    };
  });
}

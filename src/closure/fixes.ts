/**
 * The fix of the failures that files cure (no loader, a missing library, a glibc too old,
 * no user database) cites the exact COPY lines, as `closure --dockerfile` prints them,
 * instead of a general hint.
 */
import { CATALOG } from '../diagnose/catalog.js';
import type { Diagnosis, Diagnostic } from '../diagnose/index.js';
import type { ImageModel } from '../load.js';
import type { DiagnoseOptions } from '../diagnose/index.js';
import { type ClosureAnalysis, analyseClosure, closureCopies } from './index.js';
import { ScopeError } from '../errors.js';
import { type CopyItem, copyLines } from './dockerfile.js';

/** The build stage the lines copy from: the name most multi-stage Dockerfiles use. */
export const FIX_STAGE = 'build';
const CURED = new Set(['interpreter-missing', 'library-missing', 'symbol-version-missing', 'user-missing', 'stdlib-missing']);
const GLIBC_FAMILY = /^(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl)\.so\.\d/;

/** The closure of the program the launch found (null when it found none): what the report carries. */
export function launchClosure(
  model: ImageModel,
  executable: string | null,
  opts: DiagnoseOptions = {},
  hops: Diagnosis['hops'] = [],
): ClosureAnalysis | null {
  if (!executable) return null;
  try {
    return analyseClosure(model, { ...opts, path: executable, hops });
  } catch (e) {
    if (e instanceof ScopeError) return null;
    throw e;
  }
}

/** Some failure here is one that files cure: its fix cites COPY lines, made from the closure. */
export function needsCopyLines(diagnostics: Diagnostic[]): boolean {
  return diagnostics.some(isCured);
}

/** The code the cure answers: a shell's (or init program's) failure to run its program is its cause's. */
const curedCode = (d: Diagnostic) => (d.code === 'shell-command-fails' || d.code === 'init-command-fails' ? (d.cause ?? d.code) : d.code);
const isCured = (d: Diagnostic) => d.severity === 'error' && CURED.has(curedCode(d));

export function attachCopyLines(a: ClosureAnalysis | null, diagnostics: Diagnostic[]): void {
  const cured = diagnostics.filter(isCured);
  if (!cured.length || !a) return; // no program to speak of: the general fix stands
  const missing = closureCopies(a.closure, false);
  const isUserDb = (i: CopyItem) => i.to === '/etc/passwd' || i.to === '/etc/group';
  for (const d of cured) {
    // an id out of range, or a user database runc cannot read: no copy of one cures it
    const code = curedCode(d);
    if (code === 'user-missing' && !/: no matching entries in (passwd|group) file$/.test(d.runtimeError ?? '')) continue;
    let items: CopyItem[];
    // the user database whole: an /etc/passwd without the user is as good as none
    if (code === 'user-missing')
      items = [
        { from: '/etc/passwd', to: '/etc/passwd', dir: false },
        ...(d.path === '/etc/group' || missing.some((i) => i.to === '/etc/group')
          ? [{ from: '/etc/group', to: '/etc/group', dir: false }]
          : []),
      ];
    else if (code === 'symbol-version-missing' && !glibcVersions(d)) {
      // another library too old (libv.so.1 without VERS_2): the build stage's copy of it
      const lib = a.closure.files.find((f) => f.present && f.type === 'file' && (f.path === d.path || f.openedAs.includes(d.path ?? '')));
      items = lib ? (lib.openedAs.length ? lib.openedAs : [lib.path]).map((n) => ({ from: n, to: n, dir: false })) : [];
    } else if (code === 'symbol-version-missing') {
      // A newer glibc is all of it at once: its libraries the program loads and its loader.
      items = a.closure.files
        .filter(
          (f) =>
            f.present &&
            !f.probable &&
            f.type === 'file' &&
            (f.role === 'loader' ||
              (f.role === 'library' &&
                (f.openedAs.length ? f.openedAs : [f.path]).some((n) => GLIBC_FAMILY.test(n.slice(n.lastIndexOf('/') + 1))))),
        )
        .flatMap((f) => (f.openedAs.length ? f.openedAs : [f.path]).map((n) => ({ from: n, to: n, dir: false })));
    } else items = missing.filter((i) => !isUserDb(i));
    if (!items.length) continue;
    d.dockerfile = copyLines(FIX_STAGE, items);
    d.fix = fixWithLines(d, code);
  }
}

/** A symbol version problem of glibc's (GLIBC_2.34), not another library's (VERS_2). */
function glibcVersions(d: Diagnostic): boolean {
  return /version `GLIBC_/.test(d.runtimeError ?? '') || d.evidence.some((e) => / needs GLIBC_/.test(e));
}

/** The general hint becomes a pointer at the lines; specific advice (a search path, cgo, the other libc) stays. */
function fixWithLines(d: Diagnostic, code: string): string {
  const lines = 'the Dockerfile lines below (after a build stage named build)';
  switch (code) {
    case 'interpreter-missing':
      return /the other C library|alpine \(musl\) stage|a glibc stage/.test(d.fix)
        ? d.fix
        : CATALOG['interpreter-missing'].fixWithLines(lines);
    case 'library-missing':
      return /ldd in the build stage/.test(d.fix) ? CATALOG['library-missing'].fixWithLines(lines) : d.fix;
    case 'stdlib-missing':
      return `${d.fix} Everything the program needs to start: ${lines}.`;
    case 'symbol-version-missing':
      return glibcVersions(d)
        ? CATALOG['symbol-version-missing'].fixWithLines(d.fix, lines)
        : CATALOG['symbol-version-missing'].fixLibraryLines(d.fix, d.path ?? 'the library', lines);
    default:
      return CATALOG['user-missing'].fixWithLines(d.fix, lines);
  }
}

/**
 * Checks a donor (the build stage's image, or any image or root folder) against the COPY
 * lines: it must have each file, of the program's libc and machine, and a glibc no older
 * than the program needs.
 */
import { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { resolveProgram } from '../loader/index.js';
import { loaderContext } from '../diagnose/context.js';
import { checkUser } from '../diagnose/user.js';
import type { ClosureAnalysis } from './index.js';
import type { CopyItem } from './dockerfile.js';

export interface DonorCheck {
  /** The COPY items with sources as the donor has them. */
  items: CopyItem[];
  /** Files the donor cannot supply. */
  lacking: string[];
  warnings: string[];
}

/** GLIBC_2.34 -> [2, 34], for ordering. */
function glibcVersion(v: string): number[] | null {
  const m = /^GLIBC_(\d+(?:\.\d+)*)$/.exec(v);
  return m?.[1] !== undefined ? m[1].split('.').map(Number) : null;
}

function newer(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return false;
}

export function newestGlibc(versions: Iterable<string>): string | null {
  let best: number[] | null = null;
  let name: string | null = null;
  for (const v of versions) {
    const n = glibcVersion(v);
    if (n && (!best || newer(n, best))) [best, name] = [n, v];
  }
  return name;
}

export function checkDonor(a: ClosureAnalysis, items: CopyItem[], donor: ImageModel): DonorCheck {
  const out: DonorCheck = { items: [], lacking: [], warnings: [] };
  const catalog = new BinaryCatalog(donor.tree, donor.decoded);
  const prog = a.program;
  // The program as if it ran in the donor: where its loader finds each library there.
  const there = prog ? resolveProgram(loaderContext(donor, catalog), prog.path, prog.info) : null;
  const byName = new Map<string, string>();
  for (const d of there?.dependencies ?? []) if (d.resolved && !byName.has(d.name)) byName.set(d.name, d.resolved);
  for (const it of items) {
    if (resolvePath(donor.tree, it.from).ok) {
      out.items.push(it);
      continue;
    }
    const at = byName.get(it.to.slice(it.to.lastIndexOf('/') + 1));
    if (at) out.items.push({ ...it, from: at });
    else out.lacking.push(it.from);
  }
  out.items.push(...neededInTurn(a, out.items, there));
  // the donor's user database must define USER's name, or copying it cures nothing
  const user = a.user;
  if (user && out.items.some((it) => it.to === '/etc/passwd') && !checkUser(donor.tree, user).ok) {
    out.items = out.items.filter((it) => it.to !== '/etc/passwd' && it.to !== '/etc/group');
    out.lacking.push(`/etc/passwd that defines the user of USER ${user}`);
  }
  return finishDonor(out, a, there, catalog, donor);
}

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * What the missing libraries need in turn (libcurl's libnghttp2, libjemalloc's libstdc++):
 * the image cannot say, as it lacks them, but the program resolved in the donor names every
 * library it loads. Each the image's loader does not find yet goes where the other missing
 * ones go.
 */
function neededInTurn(a: ClosureAnalysis, items: CopyItem[], there: ReturnType<typeof resolveProgram> | null): CopyItem[] {
  if (!there || a.closure.missingLibraries.length === 0) return [];
  const have = new Set<string>();
  for (const f of a.closure.files) if (f.present && f.role === 'library') for (const n of [f.path, ...f.openedAs]) have.add(base(n));
  for (const it of items) have.add(base(it.to));
  const loaderName = a.program?.info.interpreter ? base(a.program.info.interpreter) : null;
  const first = a.closure.missingLibraries[0]!;
  const into = items.find((it) => base(it.to) === first.name)?.to;
  const dir = into ? into.slice(0, into.lastIndexOf('/')) || '/' : (a.closure.stageLibDir ?? a.closure.searchDirs[0] ?? '/usr/lib');
  const out: CopyItem[] = [];
  for (const d of there.dependencies) {
    if (!d.resolved || d.via === 'musl-libc' || d.via === 'loaded' || d.name === loaderName || have.has(d.name)) continue;
    have.add(d.name);
    out.push({ from: d.resolved, to: `${dir.replace(/\/$/, '')}/${d.name}`, dir: false });
  }
  return out;
}

function finishDonor(
  out: DonorCheck,
  a: ClosureAnalysis,
  there: ReturnType<typeof resolveProgram> | null,
  catalog: BinaryCatalog,
  donor: ImageModel,
): DonorCheck {
  const prog = a.program;
  if (prog) out.warnings.push(...libcWarnings(prog.info, there, catalog));
  if (prog?.info.interpreter && there?.interpreter?.error) {
    // the program's loader is not in the donor: say which C library the donor has instead
    const other =
      prog.info.libc === 'musl' ? findLoader(donor, /^ld-linux.*\.so\.\d$|^ld64\.so\.\d$/) : findLoader(donor, /^ld-musl-.*\.so\.1$/);
    out.warnings.push(
      `the donor has no ${prog.info.interpreter}, the loader the program needs${other ? `; it has ${other}: it is ${prog.info.libc === 'musl' ? 'glibc' : 'musl'}-based, and its libraries will not serve` : ''}`,
    );
  }
  return out;
}

/** A loader file of the given name pattern in the usual folders of a root. */
function findLoader(model: ImageModel, name: RegExp): string | null {
  for (const dir of ['/lib', '/lib64', '/usr/lib', '/usr/lib64']) {
    const r = resolvePath(model.tree, dir);
    if (!r.ok || !r.node.children) continue;
    for (const n of r.node.children.keys()) if (name.test(n)) return `${dir}/${n}`;
  }
  return null;
}

function libcWarnings(info: ElfInfo, there: ReturnType<typeof resolveProgram> | null, catalog: BinaryCatalog): string[] {
  const warnings: string[] = [];
  const libc = there?.dependencies.find((d) => /^libc\.so/.test(d.name) && d.realPath);
  const donorLibc = libc?.realPath ? catalog.at(libc.realPath) : null;
  if (info.libc === 'glibc' && there?.loader === 'musl')
    warnings.push('the program is built against glibc, the donor is musl-based: its files will not serve');
  if (info.libc === 'musl' && there?.loader === 'glibc')
    warnings.push('the program is built against musl, the donor is glibc-based: its files will not serve');
  const needs = new Set(info.versionNeeds.flatMap((v) => v.versions));
  const want = newestGlibc(needs);
  if (want && donorLibc?.ok) {
    const has = newestGlibc(donorLibc.info.versionDefs);
    if (!donorLibc.info.versionDefs.includes(want))
      warnings.push(
        `the program needs ${want}, and the donor's glibc is older (newest version ${has ?? 'unknown'}): build on the donor's release, or take a newer donor`,
      );
  }
  for (const v of there?.versionProblems ?? [])
    if (!v.weak) warnings.push(`in the donor, ${v.requiredBy} needs ${v.version}, which ${v.library} lacks`);
  return [...new Set(warnings)];
}

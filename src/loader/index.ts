/**
 * The dynamic loader, emulated inside the image root: which file each DT_NEEDED entry
 * becomes, by which rule, what was searched, and which symbol versions are missing.
 * glibc's ld.so and musl's ld-musl differ in search order, in what they skip, and in
 * what they check; both are followed here as their sources describe them. Every lookup
 * is a map access, so the work grows with the DT_NEEDED entries met, and those are capped.
 */
import type { ElfInfo } from '../elf/types.js';
import { isGlibcLoaderName } from '../elf/sysdirs.js';
import { openBytes, resolvePath } from '../fs/index.js';
import { scanFor } from '../elf/scan.js';
import { GlibcSearch } from './glibc.js';
import { MuslSearch } from './musl.js';
import { type Found, LIMITS, type Loaded, type LoaderContext, TooMuchWork } from './search.js';
import type { Dependency, LoadResult, VersionProblem } from './types.js';
import { envValue } from '../source/config.js';
import { preloadNames } from './preload.js';
import { ROOT } from './access.js';

export type * from './types.js';
export type { LoaderContext } from './search.js';
export { LIMITS } from './search.js';
export { MUSL_RESERVED } from './musl.js';
export { GLIBC_INTERP, MUSL_ARCH, TRIPLETS, hostRuns } from './machines.js';
import { GLIBC_INTERP, MUSL_ARCH } from './machines.js';

/** The objects loaded so far, found by the names a later DT_NEEDED may use and by real file. */
class LoadedSet {
  readonly list: Loaded[] = [];
  private readonly byName = new Map<string, Loaded>();
  private readonly byReal = new Map<string, Loaded>();

  add(obj: Loaded, names: Iterable<string>): void {
    this.list.push(obj);
    if (!this.byReal.has(obj.real)) this.byReal.set(obj.real, obj);
    for (const n of names) this.alias(obj, n);
  }

  alias(obj: Loaded, name: string): void {
    if (!this.byName.has(name)) this.byName.set(name, obj);
  }

  named(name: string): Loaded | undefined {
    return this.byName.get(name);
  }

  /** The same file under another name is the same object (ld.so compares device and inode). */
  sameFile(real: string): Loaded | undefined {
    return this.byReal.get(real);
  }
}

/** musl's loader is its libc.so; glibc's has its own soname and search path compiled in. */
function loaderKindOf(info: ElfInfo): 'musl' | 'glibc' | null {
  if (info.soname === 'libc.so' || info.libc === 'musl') return 'musl';
  if (isGlibcLoaderName(info.soname) || info.systemDirs) return 'glibc';
  return null;
}

/**
 * What the loader would do for a program: its interpreter, every library in the loader's
 * order, and the symbol versions missing. Programs that the loader treats alike (same
 * interpreter, needs and flags, nothing relative to their own folder) get the same answer:
 * an image's thousand programs share a few hundred such shapes, each resolved once per
 * context (see Resolution) and its answer copied with the program's path.
 */
export function resolveProgram(ctx: LoaderContext, programPath: string, program: ElfInfo): LoadResult {
  const secure = secureExec(ctx, programPath);
  let dropped: string[] = [];
  if (secure) {
    // AT_SECURE: both loaders drop LD_LIBRARY_PATH and LD_PRELOAD, and $ORIGIN (search.ts)
    dropped = ctx.env.filter((e) => /^LD_(LIBRARY_PATH|PRELOAD)=/.test(e));
    ctx = { ...ctx, env: ctx.env.filter((e) => !/^LD_(LIBRARY_PATH|PRELOAD)=/.test(e)), secure: true };
  }
  const result = resolveShaped(ctx, programPath, program);
  if (!secure) return result;
  // a copy: the result may be the one kept for the programs of its shape
  const names = [...new Set(dropped.map((e) => e.slice(0, e.indexOf('='))))];
  const note = names.length > 0 ? [`${programPath} runs in secure mode (${secure}): the loader ignores ${names.join(' and ')}`] : [];
  return { ...result, secure, notes: [...result.notes, ...note] };
}

/** resolveProgram in the context the program runs in (secure mode applied). */
function resolveShaped(ctx: LoaderContext, programPath: string, program: ElfInfo): LoadResult {
  const key = ctx.resolutions ? shapeOf(ctx, program) : null;
  const hit = key === null ? undefined : ctx.resolutions!.get(key);
  // the same steps against the image's budget: a replay where a fresh run would hit it is not
  // one; nor is one for a program that answer loads as a library (ld.so would know its own file)
  if (hit && (!ctx.budget || ctx.budget.steps >= hit.spent) && !loadsAsLibrary(ctx, hit, programPath)) {
    if (ctx.budget) ctx.budget.steps -= hit.spent;
    return replay(hit, programPath, program);
  }
  const before = ctx.budget?.steps ?? 0;
  const fresh = resolveFresh(ctx, programPath, program);
  if (key !== null && !fresh.selfLoaded && fresh.result.limits.length === 0) {
    ctx.resolutions!.set(key, {
      result: fresh.result,
      path: programPath,
      loaded: fresh.loaded,
      libProblems: fresh.libProblems,
      spent: before - (ctx.budget?.steps ?? 0),
    });
  }
  return fresh.result;
}

/** Whether the program at `programPath` is one of the objects a kept resolution loads. */
function loadsAsLibrary(ctx: LoaderContext, r: Resolution, programPath: string): boolean {
  const real = resolvePath(ctx.tree, programPath, { cwd: ctx.cwd });
  return r.loaded.sameFile(real.ok ? real.path : programPath) !== undefined;
}

/** A program's resolution, kept to answer the programs of the same shape. */
export interface Resolution {
  result: LoadResult;
  /** The program it was worked out for. */
  path: string;
  loaded: LoadedSet;
  /** The version problems of the objects other than the program, in the loader's order. */
  libProblems: VersionProblem[];
  /** Steps it took from the image's budget. */
  spent: number;
}

/**
 * What decides a program's resolution besides the image, or null when its own path does
 * too: a DT_RPATH or DT_RUNPATH (searched from the program, $ORIGIN its folder), a needed
 * name or an LD_LIBRARY_PATH with a token ($ORIGIN again).
 */
function shapeOf(ctx: LoaderContext, program: ElfInfo): string | null {
  if (program.rpath !== null || program.runpath !== null) return null;
  if (program.interpreter !== null && !program.interpreter.startsWith('/')) return null; // found from the working folder
  if (program.needed.some((n) => n.includes('$'))) return null;
  if (envValue(ctx.env, 'LD_LIBRARY_PATH')?.includes('$')) return null;
  if (envValue(ctx.env, 'LD_PRELOAD')?.includes('$')) return null;
  const { interpreter, type, libc, machine, flags } = program;
  // names from C strings hold no NUL: it separates them
  return [interpreter ?? '', type, libc, program.class, machine, flags.nodeflib ? 1 : 0, ctx.secure ? 1 : 0, ...program.needed].join('\0');
}

/**
 * Why the kernel runs the program in secure mode (AT_SECURE), or null: set-user-ID to another
 * user than the container's, set-group-ID to another group than its primary one, or file
 * capabilities (setcap …+ep) that a user other than root gains (commoncap.c: a non-root
 * caller whose permitted set grows). With no_new_privs nothing is gained, and no mode is set.
 */
function secureExec(ctx: LoaderContext, programPath: string): string | null {
  if (ctx.noNewPrivs) return null;
  const r = resolvePath(ctx.tree, programPath, { cwd: ctx.cwd });
  if (!r.ok) return null;
  const who = ctx.user ?? ROOT;
  const { mode, uid, gid, fileCaps } = r.node;
  if ((mode & 0o4000) !== 0 && uid !== who.uid) return `set-user-ID to uid ${uid}`;
  if ((mode & 0o2000) !== 0 && gid !== who.gids[0]) return `set-group-ID to gid ${gid}`;
  if (fileCaps && who.uid !== 0) return `file capabilities, run by uid ${who.uid}`;
  return null;
}

/** A kept resolution as the program at `programPath` gets it: its path where the program's was, its own version needs checked. */
function replay(r: Resolution, programPath: string, program: ElfInfo): LoadResult {
  const was = r.result;
  const main: Loaded = { path: programPath, real: programPath, info: program, loader: null, depth: 0 };
  return {
    ...was,
    program: programPath,
    interpreter: was.interpreter && { ...was.interpreter },
    preloads: was.preloads.map((p) => ({ ...p })),
    // the program's own needs name it; the records of deeper ones are shared (nothing changes them once made)
    dependencies: was.dependencies.map((d) => (d.requiredBy === r.path ? { ...d, requiredBy: programPath } : d)),
    versionProblems: was.loader === 'musl' ? [] : withProgramsOwn(main, r.loaded, r.libProblems),
    defaultDirs: [...was.defaultDirs],
    limits: [],
    notes: [...was.notes],
    secure: null,
  };
}

function resolveFresh(
  ctx: LoaderContext,
  programPath: string,
  program: ElfInfo,
): { result: LoadResult; loaded: LoadedSet; libProblems: VersionProblem[]; selfLoaded: boolean } {
  const real = resolvePath(ctx.tree, programPath, { cwd: ctx.cwd });
  const result: LoadResult = {
    program: programPath,
    loader: 'unknown',
    interpreter: null,
    preloads: [],
    dependencies: [],
    versionProblems: [],
    defaultDirs: [],
    defaultDirsFrom: '',
    limits: [],
    notes: [],
    secure: null,
  };
  const loaded = new LoadedSet();
  if (!program.interpreter && program.type !== 'shared-object') {
    result.loader = 'static';
    return { result, loaded, libProblems: [], selfLoaded: false };
  }
  if (!program.interpreter) {
    // A library is loaded by whichever loader runs the program: take this machine's usual one.
    const guess =
      program.libc === 'musl' ? `/lib/ld-musl-${MUSL_ARCH[program.machine] ?? program.machine}.so.1` : GLIBC_INTERP[program.machine];
    if (guess) {
      program = { ...program, interpreter: guess };
      result.notes.push(`a library has no interpreter of its own; resolved as ${guess} would load it`);
    }
  }
  // The loader file decides whose rules apply, whatever its name: musl's libc copied to
  // glibc's PT_INTERP path loads as musl (and the other way round).
  let interpFile: { real: string; info: ElfInfo } | null = null;
  let interpError: string | null = null;
  let interpResolved: string | null = null;
  if (program.interpreter) {
    const r = resolvePath(ctx.tree, program.interpreter, { cwd: ctx.cwd }); // relative: from the working folder, as the kernel opens it
    if (!r.ok) interpError = 'No such file or directory';
    else {
      interpResolved = r.path;
      const d = ctx.catalog.of(r.node);
      if (!d) interpError = r.node.type === 'dir' ? 'Is a directory' : 'not an ELF file';
      else if (!d.ok) interpError = d.error;
      else interpFile = { real: r.path, info: d.info };
    }
  }
  let byFile = interpFile ? loaderKindOf(interpFile.info) : null;
  if (interpFile && byFile === null && !interpFile.info.soname && interpFile.info.needed.length === 0) {
    // musl's libc.so has no soname: it names its own path file ("/etc/ld-musl-ARCH.path")
    const node = ctx.tree.get(interpFile.real);
    if (node?.content) {
      const b = openBytes(node.content);
      try {
        if (scanFor(b, ['/etc/ld-musl-'], 8 << 20).size) byFile = 'musl';
      } finally {
        b.release();
      }
    }
  }
  // What the program itself says: built against musl, or naming musl's loader.
  const namedMusl = program.libc === 'musl' || /ld-musl-/.test(program.interpreter ?? '');
  const musl = byFile !== null ? byFile === 'musl' : namedMusl;
  result.loader = musl ? 'musl' : 'glibc';
  if (byFile !== null && (byFile === 'musl') !== namedMusl) {
    result.notes.push(`${program.interpreter} is ${byFile}'s loader, whatever its name says: its rules apply`);
  }
  // The program itself answers to no name (its l_name is empty).
  const main: Loaded = { path: programPath, real: real.ok ? real.path : programPath, info: program, loader: null, depth: 0 };
  loaded.add(main, []);
  /** A library turned out to be the program's own file: the answer depends on its path. */
  let selfLoaded = false;

  const interp = interpFile;
  if (program.interpreter) {
    if (interp) {
      const names = [program.interpreter];
      if (interp.info.soname && !musl) names.push(interp.info.soname);
      loaded.add({ path: program.interpreter, real: interp.real, info: interp.info, loader: null, depth: 0 }, names);
    }
    result.interpreter = { path: program.interpreter, resolved: interpResolved, error: interpError };
  }
  const search = musl ? new MuslSearch(ctx, program, interp?.real ?? null) : new GlibcSearch(ctx, program, interp);
  result.defaultDirs = search.defaultDirs;
  result.defaultDirsFrom = search.defaultDirsFrom;

  // Breadth first, as ld.so maps dependencies: each object's needs in order, then theirs.
  let edges = 0;
  try {
    preload();
    walkNeeds();
  } catch (e) {
    if (!(e instanceof TooMuchWork)) throw e;
    result.limits.push(e.message);
  }
  /** The loaded object a name needed by `by` turns out to be: one loaded already, else the file found, mapped. */
  function map(found: Found, key: string, by: Loaded): void {
    const same = loaded.sameFile(found.real);
    if (same) {
      if (same === main) selfLoaded = true;
      loaded.alias(same, key);
      return;
    }
    const names = [key];
    if (!musl && found.info.soname) names.push(found.info.soname);
    loaded.add({ ...found, loader: by, depth: by.depth + 1 }, names);
  }
  /** The name a library answers to: musl knows one by its file name alone. */
  function keyOf(name: string): string {
    return musl ? name.slice(name.lastIndexOf('/') + 1) : name;
  }
  /** The preloaded libraries, found as the program's own needs are, mapped before them; one not found is skipped. */
  function preload(): void {
    for (const { name, from } of preloadNames(ctx, musl)) {
      search.spend();
      const already = loaded.named(keyOf(name));
      if (already) {
        result.preloads.push({ name, from, resolved: already.path, error: null });
        continue;
      }
      const dep = newDependency(name, main);
      const found = search.find(name, main, main, dep);
      // glibc's line gives the reason without its errno: "cannot open shared object file", "cannot read file data"
      const error = found
        ? null
        : (dep.error ?? 'cannot open shared object file').replace(/^(cannot open shared object file|cannot read file data): .*$/, '$1');
      result.preloads.push({ name, from, resolved: found?.path ?? null, error });
      if (found) map(found, keyOf(name), main);
    }
  }
  function walkNeeds(): void {
    // for-of sees the objects added while it runs, as the indexed loop did
    walk: for (const obj of loaded.list) {
      if (obj.depth === 0 && obj !== main) continue; // the interpreter's own needs are its business
      for (const name of obj.info.needed) {
        if (++edges > LIMITS.needed) {
          result.limits.push(
            `too many libraries needing each other: the program and its libraries name more than ${LIMITS.needed} DT_NEEDED entries among them; those after the first ${LIMITS.needed} were not followed`,
          );
          break walk;
        }
        search.spend();
        const dep = newDependency(name, obj);
        result.dependencies.push(dep);
        const key = keyOf(name);
        const already = loaded.named(key);
        if (already) {
          Object.assign(dep, { resolved: already.path, realPath: already.real, via: 'loaded' });
          continue;
        }
        const found = search.find(name, obj, main, dep);
        if (found) map(found, key, obj);
      }
    }
  }
  const defsOf = new Map<Loaded, Set<string>>();
  const libProblems = musl ? [] : loaded.list.slice(1).flatMap((obj) => versionProblemsOf(obj, loaded, defsOf));
  if (!musl) result.versionProblems = withProgramsOwn(main, loaded, libProblems, defsOf);
  result.limits.push(...search.limits);
  result.notes.push(...search.notes);
  return { result, loaded, libProblems, selfLoaded };
}

/** A DT_NEEDED entry (or a preload) of `obj`, before it is searched for. */
function newDependency(name: string, obj: Loaded): Dependency {
  return {
    name,
    requiredBy: obj.path,
    resolved: null,
    realPath: null,
    via: null,
    hwcaps: null,
    searched: [],
    searchedOmitted: 0,
    skipped: [],
    error: null,
    errorPath: null,
    depth: obj.depth + 1,
  };
}

/** glibc's version problems in the loader's order: the program's own needs, then each library's (`libProblems`). */
function withProgramsOwn(
  main: Loaded,
  loaded: LoadedSet,
  libProblems: VersionProblem[],
  defsOf = new Map<Loaded, Set<string>>(),
): VersionProblem[] {
  return [...versionProblemsOf(main, loaded, defsOf), ...libProblems];
}

/** glibc: a version a library lacks is fatal unless the need is weak; a library without versions is passed. */
function versionProblemsOf(obj: Loaded, loaded: LoadedSet, defsOf: Map<Loaded, Set<string>>): VersionProblem[] {
  const out: VersionProblem[] = [];
  for (const need of obj.info.versionNeeds) {
    const lib = loaded.named(need.file);
    if (!lib || lib === obj || lib.info.versionDefs.length === 0) continue;
    let defs = defsOf.get(lib);
    if (!defs) defsOf.set(lib, (defs = new Set(lib.info.versionDefs)));
    for (const v of need.versions) {
      if (!defs.has(v)) out.push({ library: lib.path, version: v, requiredBy: obj.path, weak: need.weak.includes(v) });
    }
  }
  return out;
}

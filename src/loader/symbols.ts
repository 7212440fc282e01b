/**
 * Symbol binding, after the libraries are found: every undefined symbol of the loaded
 * objects is looked up in the global scope (the program, then its libraries breadth
 * first, then the loader itself), as ld.so and ld-musl do.
 *
 * - musl binds every relocation at load and prints one line per reference it cannot
 *   bind ("Error relocating OBJ: SYM: symbol not found", OBJ being the program's path
 *   as executed or the library's path as opened), then exits. It ignores version names;
 *   only hidden (non-default) versions are skipped.
 * - glibc binds data, GOT and copy relocations at load, and PLT (function) relocations
 *   lazily unless the object is BIND_NOW (DT_BIND_NOW, DF_BIND_NOW, DF_1_NOW) or the
 *   environment sets LD_BIND_NOW. The first failure at load is fatal: "ARGV0: symbol
 *   lookup error: OBJ: undefined symbol: SYM[, version V]", OBJ being argv[0] for the
 *   program. A lazily bound miss fails only when the function is first called.
 * Weak undefined symbols never fail. Objects whose symbols cannot be read make the
 * check inconclusive rather than wrong.
 */
import {
  type DefinedSymbol,
  type DynamicSymbols,
  type SymbolRelocation,
  type SymbolKey,
  type UndefinedSymbol,
  readDynamicSymbols,
  readRelocations,
  symbolKey,
} from '../elf/dynsym.js';
import { ElfDamage } from '../elf/reader.js';
import { contentKey } from '../elf/pool.js';
import { ScopeError } from '../errors.js';
import { type MergedTree, openBytes, resolvePath } from '../fs/index.js';
import type { ContentRef } from '../layers/index.js';
import { envValue } from '../source/config.js';
import type { LoadResult } from './types.js';

export interface SymbolContext {
  tree: MergedTree;
  /** The image's Env: LD_BIND_NOW. */
  env: string[];
  /** Decoded symbol tables by file body, shared across the programs of one image. */
  cache?: Map<string, SymbolTable>;
}

/** How the process was started: glibc names the program by argv[0], musl by the path executed (AT_EXECFN). */
export interface StartNames {
  argv0: string;
  execPath: string;
}

export type SymbolTable = { ok: true; symbols: DynamicSymbols | null; ref: ContentRef } | { ok: false; error: string };

export interface SymbolProblem {
  symbol: string;
  version: string | null;
  /** The object that needs it, as the loader names it (the program's path for the program). */
  requiredBy: string;
  /** function when only PLT (call) relocations name it; data otherwise. */
  kind: 'function' | 'data';
  /** load: the loader stops the start; lazy: glibc fails when the function is first called. */
  when: 'load' | 'lazy';
  /** Why it is bound at load: "BIND_NOW", "LD_BIND_NOW", "data relocation", "musl binds at load". */
  reason: string;
  /**
   * The object as the loader's line names it: for the program, argv[0] (glibc) or the
   * path executed (musl); for a library, its path as opened.
   */
  object: string;
  /** Where the name is defined but cannot be used: "/lib/libx.so.1 (VER_2)", "… (hidden VER_1)". */
  near: string[];
}

export interface SymbolCheck {
  loader: 'glibc' | 'musl';
  /** Load-time problems first, in the order the loader meets them; then lazy ones. */
  problems: SymbolProblem[];
  /** The global scope that was searched, in lookup order. */
  scope: string[];
  /** Objects whose symbols could not be read; when any, nothing is reported. */
  unreadable: string[];
}

interface ScopeObject {
  /** The name the loader gives it (l_name / dso->name); '' for the program. */
  path: string;
  main: boolean;
  table: SymbolTable;
}

function tableOf(ctx: SymbolContext, real: string, program: boolean): SymbolTable {
  const r = resolvePath(ctx.tree, real);
  if (!r.ok || !r.node.content) return { ok: false, error: `${real}: not readable in the image` };
  const ref = r.node.content;
  const key = `${contentKey(ref)}${program ? ':program' : ''}`;
  const hit = ctx.cache?.get(key);
  if (hit) return hit;
  let t: SymbolTable;
  let bytes;
  try {
    bytes = openBytes(ref);
    t = { ok: true, symbols: readDynamicSymbols(bytes, { program }), ref };
  } catch (e) {
    if (!(e instanceof ElfDamage || e instanceof ScopeError)) throw e;
    t = { ok: false, error: `${real}: ${e.message}` };
  } finally {
    bytes?.release();
  }
  ctx.cache?.set(key, t);
  return t;
}

/** The objects in global-scope order: the program, its libraries as they were loaded, the loader. */
function globalScope(ctx: SymbolContext, load: LoadResult): ScopeObject[] {
  const seen = new Set<string>();
  const out: ScopeObject[] = [];
  const add = (path: string, real: string, main = false) => {
    if (seen.has(real)) return;
    seen.add(real);
    out.push({ path, main, table: tableOf(ctx, real, main) });
  };
  const mainReal = resolvePath(ctx.tree, load.program);
  add(load.program, mainReal.ok ? mainReal.path : load.program, true);
  for (const d of load.dependencies) if (d.resolved && d.realPath) add(d.resolved, d.realPath);
  const interp = load.interpreter;
  if (interp?.resolved) add(interp.path, interp.resolved);
  return out;
}

/** musl: any definition that is not a hidden version (nor an IFUNC). glibc: the version rules of dl-lookup.c's check_match. */
function binds(musl: boolean, ref: UndefinedSymbol, def: DefinedSymbol, sameObject: boolean): boolean {
  if (def.pltOnly && sameObject) return false;
  if (musl && def.type === 'ifunc') return false; // musl has no IFUNC: its find_sym passes them over
  if (musl || def.versionIndex === null) return musl ? !def.hidden : true;
  if (ref.version !== null) {
    if (def.version === ref.version) return true;
    // the global (unnamed) version stands in for any version, unless either side is hidden
    return !ref.hiddenVersion && def.versionIndex <= 1 && !def.hidden;
  }
  return def.versionIndex <= 2 || !def.hidden;
}

/** Names musl's loader finds in libc without their "64" (open64 is open), as dynlink.c's get_lfs64 lists them. */
const LFS64 = new Set(
  'aio_cancel aio_error aio_fsync aio_read aio_return aio_suspend aio_write alphasort creat fallocate fgetpos fopen freopen fseeko fsetpos fstat fstatat fstatfs fstatvfs ftello ftruncate ftw getdents getrlimit glob globfree lio_listio lockf lseek lstat mkostemp mkostemps mkstemp mkstemps mmap nftw open openat posix_fadvise posix_fallocate pread preadv prlimit pwrite pwritev readdir scandir sendfile setrlimit stat statfs statvfs tmpfile truncate versionsort __fxstat __fxstatat __lxstat __xstat'.split(
    ' ',
  ),
);

export function checkSymbols(ctx: SymbolContext, load: LoadResult, names: StartNames): SymbolCheck | null {
  if (load.loader !== 'glibc' && load.loader !== 'musl') return null;
  const musl = load.loader === 'musl';
  const scope = globalScope(ctx, load);
  const result: SymbolCheck = { loader: load.loader, problems: [], scope: scope.map((o) => o.path), unreadable: [] };
  for (const o of scope) if (!o.table.ok) result.unreadable.push(o.table.error);
  if (result.unreadable.length) return result;
  const muslLibc = musl && !!load.interpreter?.resolved;
  const bindNowEnv = !musl && (envValue(ctx.env, 'LD_BIND_NOW') ?? '') !== '';

  // The references nothing defines, per object. A program's copies of library variables
  // (copy relocations) look defined in the program itself: they count only if a copy
  // relocation names them, and are looked up past the program.
  const keys = new Map<string, SymbolKey>();
  const memo = new Map<string, { found: boolean; near: string[] }>();
  const misses = new Map<ScopeObject, { refs: Map<number, UndefinedSymbol>; near: Map<number, string[]>; copyOnly: Set<number> }>();
  for (const o of scope) {
    const syms = (o.table as { symbols: DynamicSymbols | null }).symbols;
    if (!syms) continue;
    const copies: UndefinedSymbol[] = [];
    if (o.main) {
      for (const { index, name, def } of syms.variables)
        copies.push({ index, name, bind: 'global', type: 'object', version: def.version, versionFile: null, hiddenVersion: false });
    }
    const copyIndexes = new Set(copies.map((c) => c.index));
    const keyOf = (name: string) => {
      let k = keys.get(name);
      if (!k) keys.set(name, (k = symbolKey(name)));
      return k;
    };
    for (const ref of [...syms.undefined, ...copies]) {
      if (ref.bind === 'weak') continue;
      const copy = copyIndexes.has(ref.index);
      // Libraries ask for the same names over and over (memcpy@GLIBC_2.14): the answer
      // depends only on the name and version, except for the program's own entries.
      const memoKey = o.main ? null : `${ref.name}\0${ref.version ?? ''}\0${ref.hiddenVersion}`;
      let answer = memoKey === null ? undefined : memo.get(memoKey);
      if (!answer) {
        answer = { found: false, near: [] };
        for (const d of scope) {
          if (copy && d === o) continue;
          const defs = (d.table as { symbols: DynamicSymbols | null }).symbols?.lookup(keyOf(ref.name));
          if (!defs?.length) continue;
          if (defs.some((def) => binds(musl, ref, def, d === o))) {
            answer.found = true;
            break;
          }
          for (const def of defs)
            if (!def.pltOnly) answer.near.push(`${d.path} (${def.hidden ? 'hidden ' : ''}${def.version ?? 'no version'})`);
        }
        if (!answer.found && muslLibc && ref.name.endsWith('64') && LFS64.has(ref.name.slice(0, -2))) answer.found = true;
        if (memoKey !== null) memo.set(memoKey, answer);
      }
      if (answer.found) continue;
      const near = answer.near;
      let m = misses.get(o);
      if (!m) misses.set(o, (m = { refs: new Map(), near: new Map(), copyOnly: new Set() }));
      m.refs.set(ref.index, ref);
      if (copy) m.copyOnly.add(ref.index);
      m.near.set(ref.index, near);
    }
  }
  if (misses.size === 0) return result;

  // Which relocations need them, in the loader's order: musl relocates the libraries in
  // load order, then the program; glibc relocates dependencies before their users
  // (the reverse of the load order), the program last.
  const libs = scope.filter((o) => !o.main);
  const order = [...(musl ? libs : libs.reverse()), ...scope.filter((o) => o.main)];
  const lazy: SymbolProblem[] = [];
  for (const o of order) {
    const m = misses.get(o);
    if (!m || !o.table.ok || !o.table.symbols) continue;
    const syms = o.table.symbols;
    let relocs: SymbolRelocation[];
    let bytes;
    try {
      bytes = openBytes(o.table.ref);
      relocs = readRelocations(bytes, syms.relocTables);
    } catch (e) {
      if (!(e instanceof ElfDamage || e instanceof ScopeError)) throw e;
      result.unreadable.push(`${o.path}: ${e.message}`);
      continue;
    } finally {
      bytes?.release();
    }
    // glibc: DT_REL(A) first, then the PLT; musl: the PLT first.
    if (!musl) relocs = [...relocs.filter((r) => r.table !== 'jmprel'), ...relocs.filter((r) => r.table === 'jmprel')];
    const objName = o.main ? (musl ? names.execPath : names.argv0) : o.path;
    const seen = new Map<number, SymbolProblem>();
    for (const rel of relocs) {
      const ref = m.refs.get(rel.symbol);
      if (!ref || (m.copyOnly.has(rel.symbol) && !rel.copy)) continue;
      const plt = rel.table === 'jmprel';
      const atLoad = musl || !plt || syms.bindNow || bindNowEnv;
      const prev = seen.get(rel.symbol);
      if (prev) {
        if (!plt) prev.kind = 'data';
        if (atLoad && prev.when === 'lazy') {
          // a later data reference makes it a load-time failure after all
          lazy.splice(lazy.indexOf(prev), 1);
          Object.assign(prev, { when: 'load', reason: 'data relocation' });
          result.problems.push(prev);
        }
        continue;
      }
      const p: SymbolProblem = {
        symbol: ref.name,
        version: musl ? null : ref.version,
        requiredBy: o.path,
        kind: plt ? 'function' : 'data',
        when: atLoad ? 'load' : 'lazy',
        reason: musl
          ? 'musl binds every symbol at load'
          : !plt
            ? rel.copy
              ? 'copy relocation'
              : 'data relocation'
            : syms.bindNow
              ? 'BIND_NOW'
              : bindNowEnv
                ? 'LD_BIND_NOW'
                : 'lazy binding',
        object: objName,
        near: m.near.get(rel.symbol) ?? [],
      };
      seen.set(rel.symbol, p);
      (atLoad ? result.problems : lazy).push(p);
    }
  }
  result.problems.push(...lazy);
  return result;
}

/**
 * The dynamic loader, emulated inside the image root: which file each DT_NEEDED entry
 * becomes, by which rule, what was searched, and which symbol versions are missing.
 * glibc's ld.so and musl's ld-musl differ in search order, in what they skip, and in
 * what they check; both are followed here as their sources describe them.
 */
import type { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { type MergedTree, readSmallFile, resolvePath } from '../fs/index.js';
import { parseLdCache, type CacheEntry } from './ldcache.js';
import { envValue } from '../source/config.js';
import type { Dependency, LoadResult, Skipped, Via, VersionProblem } from './types.js';

export type * from './types.js';

export interface LoaderContext {
  tree: MergedTree;
  catalog: BinaryCatalog;
  /** The image's Env (KEY=VALUE), where LD_LIBRARY_PATH comes from. */
  env: string[];
  /** Working directory, for relative paths. */
  cwd: string;
  /** What each candidate path turned out to be, shared by every program resolved in one image. */
  probes?: Map<string, Probe>;
}

/** A candidate path looked at once: nothing there, not loadable, or a decoded ELF at a real path. */
type Probe = { kind: 'absent' } | { kind: 'error'; error: string } | { kind: 'elf'; real: string; info: ElfInfo };

/** A loaded object: the program, the interpreter, or a library. */
interface Loaded {
  /** The name ld.so knows it by: the path it was opened at. */
  path: string;
  real: string;
  info: ElfInfo;
  /** The object whose DT_NEEDED brought it in (l_loader / needed_by). */
  loader: Loaded | null;
  depth: number;
  /** Names a later DT_NEEDED matches it by without a search. */
  names: Set<string>;
}

const TRIPLETS: Record<string, string> = {
  x86_64: 'x86_64-linux-gnu',
  i386: 'i386-linux-gnu',
  aarch64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ppc64le: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
  mips64el: 'mips64el-linux-gnuabi64',
};
const PLATFORM: Record<string, string> = { x86_64: 'x86_64', i386: 'i686', aarch64: 'aarch64', arm: 'v7l', ppc64le: 'power8', s390x: 'z900', riscv64: 'riscv64' };
const HWCAPS: Record<string, string[]> = { x86_64: ['x86-64-v4', 'x86-64-v3', 'x86-64-v2'], ppc64le: ['power10', 'power9'], s390x: ['z16', 'z15', 'z14', 'z13'] };
const MUSL_DEFAULT = ['/lib', '/usr/local/lib', '/usr/lib'];
/** Names musl's loader answers itself: it is libc, libm, libpthread, librt, libdl, libutil and libxnet. */
const MUSL_RESERVED = /^lib(c|pthread|rt|m|dl|util|xnet)\.so(\.|$)/;

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** The program interpreter each glibc port links into its executables. */
export const GLIBC_INTERP: Record<string, string> = {
  x86_64: '/lib64/ld-linux-x86-64.so.2',
  aarch64: '/lib/ld-linux-aarch64.so.1',
  arm: '/lib/ld-linux-armhf.so.3',
  i386: '/lib/ld-linux.so.2',
  ppc64le: '/lib64/ld64.so.2',
  s390x: '/lib/ld64.so.1',
  riscv64: '/lib/ld-linux-riscv64-lp64d.so.1',
};
/** musl's ARCH in /lib/ld-musl-ARCH.so.1. */
export const MUSL_ARCH: Record<string, string> = { x86_64: 'x86_64', aarch64: 'aarch64', arm: 'armhf', i386: 'i386', ppc64le: 'powerpc64le', s390x: 's390x', riscv64: 'riscv64' };

export function resolveProgram(ctx: LoaderContext, programPath: string, program: ElfInfo): LoadResult {
  const real = resolvePath(ctx.tree, programPath, { cwd: ctx.cwd });
  const result: LoadResult = { program: programPath, loader: 'unknown', interpreter: null, dependencies: [], versionProblems: [], defaultDirs: [], notes: [] };
  if (!program.interpreter && program.type !== 'shared-object') {
    result.loader = 'static';
    return result;
  }
  if (!program.interpreter) {
    // A library is loaded by whichever loader runs the program: take this machine's usual one.
    const guess = program.libc === 'musl' ? `/lib/ld-musl-${MUSL_ARCH[program.machine] ?? program.machine}.so.1` : GLIBC_INTERP[program.machine];
    if (guess) {
      program = { ...program, interpreter: guess };
      result.notes.push(`a library has no interpreter of its own; resolved as ${guess} would load it`);
    }
  }
  const musl = program.libc === 'musl' || /ld-musl-/.test(program.interpreter ?? '');
  result.loader = musl ? 'musl' : 'glibc';
  // The program itself answers to no name (its l_name is empty).
  const main: Loaded = { path: programPath, real: real.ok ? real.path : programPath, info: program, loader: null, depth: 0, names: new Set() };
  const loaded: Loaded[] = [main];

  let interpReal: string | null = null;
  if (program.interpreter) {
    const r = resolvePath(ctx.tree, program.interpreter);
    let error: string | null = null;
    if (!r.ok) error = 'No such file or directory';
    else {
      const d = ctx.catalog.of(r.node);
      if (!d) error = r.node.type === 'dir' ? 'Is a directory' : 'not an ELF file';
      else if (!d.ok) error = d.error;
      else {
        interpReal = r.path;
        const names = new Set([program.interpreter]);
        if (d.info.soname && !musl) names.add(d.info.soname);
        loaded.push({ path: program.interpreter, real: r.path, info: d.info, loader: null, depth: 0, names });
      }
    }
    result.interpreter = { path: program.interpreter, resolved: r.ok ? r.path : null, error };
  }
  const search = musl ? new MuslSearch(ctx, program, interpReal) : new GlibcSearch(ctx, program, interpReal);
  result.defaultDirs = search.defaultDirs;

  // Breadth first, as ld.so maps dependencies: each object's needs in order, then theirs.
  for (let i = 0; i < loaded.length; i++) {
    const obj = loaded[i];
    if (obj.depth === 0 && obj !== main) continue; // the interpreter's own needs are its business
    for (const name of obj.info.needed) {
      const dep: Dependency = { name, requiredBy: obj.path, resolved: null, realPath: null, via: null, hwcaps: null, searched: [], skipped: [], error: null, depth: obj.depth + 1 };
      result.dependencies.push(dep);
      const key = musl ? name.slice(name.lastIndexOf('/') + 1) : name;
      const already = loaded.find((l) => l.names.has(key));
      if (already) {
        Object.assign(dep, { resolved: already.path, realPath: already.real, via: 'loaded' as Via });
        continue;
      }
      const found = search.find(name, obj, loaded, dep);
      if (!found) continue;
      // The same file under another name is the same object (ld.so compares device and inode).
      const sameFile = loaded.find((l) => l.real === found.real);
      if (sameFile) {
        sameFile.names.add(key);
        continue;
      }
      const names = new Set([key]);
      if (!musl && found.info.soname) names.add(found.info.soname);
      loaded.push({ ...found, loader: obj, depth: obj.depth + 1, names });
    }
  }
  if (!musl) result.versionProblems = checkVersions(loaded);
  result.notes.push(...search.notes);
  return result;
}

/** glibc: a version a library lacks is fatal unless the need is weak; a library without versions is passed. */
function checkVersions(loaded: Loaded[]): VersionProblem[] {
  const out: VersionProblem[] = [];
  for (const obj of loaded) {
    for (const need of obj.info.versionNeeds) {
      const lib = loaded.find((l) => l !== obj && l.names.has(need.file));
      if (!lib || lib.info.versionDefs.length === 0) continue;
      const defs = new Set(lib.info.versionDefs);
      for (const v of need.versions) {
        if (!defs.has(v)) out.push({ library: lib.path, version: v, requiredBy: obj.path, weak: need.weak.includes(v) });
      }
    }
  }
  return out;
}

interface Found {
  path: string;
  real: string;
  info: ElfInfo;
}

abstract class Search {
  defaultDirs: string[] = [];
  notes: string[] = [];
  constructor(
    protected readonly ctx: LoaderContext,
    protected readonly program: ElfInfo,
  ) {}

  abstract find(name: string, requester: Loaded, loaded: Loaded[], dep: Dependency): Found | null;

  protected ldLibraryPath(): string[] {
    const v = envValue(this.ctx.env, 'LD_LIBRARY_PATH');
    // An empty element means the working directory, as for PATH.
    return v === null || v === '' ? [] : v.split(/[:;]/).map((d) => (d === '' ? this.ctx.cwd : d));
  }

  /**
   * Tries one candidate path. Returns the object when it fits, 'skip' when the loader
   * passes it over, 'absent' when there is nothing to open, or an error that stops loading.
   */
  private probe(path: string): Probe {
    const key = path.startsWith('/') ? path : `${this.ctx.cwd}\0${path}`;
    const hit = this.ctx.probes?.get(key);
    if (hit) return hit;
    let p: Probe;
    const r = resolvePath(this.ctx.tree, path, { cwd: this.ctx.cwd });
    if (!r.ok || r.node.type === 'dir') p = { kind: 'absent' };
    else {
      const d = this.ctx.catalog.of(r.node);
      if (!d) p = { kind: 'error', error: r.node.type === 'file' || r.node.type === 'hardlink' ? 'invalid ELF header' : 'cannot open shared object file' };
      else if (!d.ok) p = { kind: 'error', error: d.error };
      else p = { kind: 'elf', real: r.path, info: d.info };
    }
    this.ctx.probes?.set(key, p);
    return p;
  }

  protected try(path: string, dep: Dependency, hwcaps: string | null = null): Found | 'absent' | 'skip' | { error: string } {
    dep.searched.push(path);
    const p = this.probe(path);
    if (p.kind === 'absent') return 'absent';
    if (p.kind === 'error') return { error: p.error };
    const why = this.mismatch(p.info);
    if (why) {
      dep.skipped.push({ path, reason: why } satisfies Skipped);
      return 'skip';
    }
    if (hwcaps) dep.hwcaps = hwcaps;
    return { path, real: p.real, info: p.info };
  }

  /** A search step's outcome: undefined to go on searching, null when loading stops here, else the object. */
  protected settle(r: Found | 'absent' | { error: string }, via: Via, dep: Dependency): Found | null | undefined {
    if (r === 'absent') return undefined;
    if ('error' in r) {
      dep.error = r.error;
      return null;
    }
    Object.assign(dep, { resolved: r.path, realPath: r.real, via });
    return r;
  }

  protected mismatch(lib: ElfInfo): string | null {
    if (lib.class !== this.program.class) return `wrong ELF class: ELFCLASS${lib.class}`;
    if (lib.machine !== this.program.machine) return `wrong machine: ${lib.machine}`;
    return null;
  }
}

class GlibcSearch extends Search {
  private cache: CacheEntry[] | null | undefined;
  private readonly lib: string;
  private readonly hwcaps: string[];

  constructor(ctx: LoaderContext, program: ElfInfo, interpReal: string | null) {
    super(ctx, program);
    const triplet = TRIPLETS[program.machine];
    const tree = ctx.tree;
    const isDir = (p: string) => {
      const r = resolvePath(tree, p);
      return r.ok && r.node.type === 'dir';
    };
    // The loader's built-in directories depend on how that glibc was built: Debian's
    // multiarch layout, or the lib64 layout of Fedora and upstream.
    const multiarch = triplet && ((interpReal && interpReal.includes(`/${triplet}/`)) || (!interpReal && isDir(`/lib/${triplet}`)));
    const lib64 = !multiarch && program.class === 64 && ((interpReal && /^\/(usr\/)?lib64\//.test(interpReal)) || (!interpReal && isDir('/lib64')));
    if (multiarch) {
      this.defaultDirs = [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib'];
      this.lib = `lib/${triplet}`;
    } else if (lib64) {
      this.defaultDirs = ['/lib64', '/usr/lib64'];
      this.lib = 'lib64';
    } else {
      this.defaultDirs = ['/lib', '/usr/lib'];
      this.lib = 'lib';
    }
    this.hwcaps = HWCAPS[program.machine] ?? [];
  }

  private ldCache(): CacheEntry[] | null {
    if (this.cache !== undefined) return this.cache;
    const r = resolvePath(this.ctx.tree, '/etc/ld.so.cache');
    const buf = r.ok ? readSmallFile(r.node.content) : null;
    this.cache = buf ? parseLdCache(buf) : null;
    if (buf && !this.cache) this.notes.push('/etc/ld.so.cache is not a cache ld.so can read; it is ignored');
    const conf = resolvePath(this.ctx.tree, '/etc/ld.so.conf');
    if (!r.ok && conf.ok) this.notes.push('/etc/ld.so.conf has no effect: there is no /etc/ld.so.cache built from it (run ldconfig in the image)');
    return this.cache;
  }

  /** $ORIGIN, $LIB and $PLATFORM; an element with another token is dropped, as ld.so does. */
  private expand(paths: string, obj: Loaded): string[] {
    const origin = dirname(obj === null ? '/' : obj.depth === 0 ? obj.real : obj.path);
    const out: string[] = [];
    for (const raw of paths.split(':')) {
      if (raw === '') continue;
      let ok = true;
      const p = raw.replace(/\$(\{(\w+)\}|(\w+))/g, (_m, _a, braced: string | undefined, bare: string | undefined) => {
        const token = braced ?? bare;
        if (token === 'ORIGIN') return origin;
        if (token === 'LIB') return this.lib;
        if (token === 'PLATFORM') return PLATFORM[this.program.machine] ?? this.program.machine;
        ok = false;
        return '';
      });
      if (ok) out.push(p);
    }
    return out;
  }

  /** A directory list, each with its glibc-hwcaps subdirectories first. */
  private inDirs(dirs: string[], name: string, dep: Dependency): Found | 'absent' | { error: string } {
    for (const dir of dirs) {
      for (const level of this.hwcaps) {
        const r = this.try(join(join(dir, `glibc-hwcaps/${level}`), name), dep, level);
        if (r !== 'absent' && r !== 'skip') return r;
        dep.searched.pop(); // hwcaps probes are listed only when they find something
      }
      const r = this.try(join(dir, name), dep);
      if (r !== 'absent' && r !== 'skip') return r;
    }
    return 'absent';
  }

  find(name: string, requester: Loaded, loaded: Loaded[], dep: Dependency): Found | null {
    const done = (r: Found | 'absent' | { error: string }, via: Via) => this.settle(r, via, dep);
    if (name.includes('/')) {
      const [p] = this.expand(name, requester);
      const r = p ? this.try(p, dep) : 'absent';
      const d = done(r === 'skip' ? 'absent' : r, 'path');
      if (d !== undefined) return d;
      dep.error = 'cannot open shared object file: No such file or directory';
      return null;
    }
    const main = loaded[0];
    if (!requester.info.runpath) {
      for (let l: Loaded | null = requester; l; l = l.loader) {
        if (l.info.rpath && !l.info.runpath) {
          const d = done(this.inDirs(this.expand(l.info.rpath, l), name, dep), 'rpath');
          if (d !== undefined) return d;
        }
      }
      if (requester !== main && main.info.rpath && !main.info.runpath && !isAncestor(main, requester)) {
        const d = done(this.inDirs(this.expand(main.info.rpath, main), name, dep), 'rpath');
        if (d !== undefined) return d;
      }
    }
    let d = done(this.inDirs(this.ldLibraryPath(), name, dep), 'LD_LIBRARY_PATH');
    if (d !== undefined) return d;
    if (requester.info.runpath) {
      d = done(this.inDirs(this.expand(requester.info.runpath, requester), name, dep), 'runpath');
      if (d !== undefined) return d;
    }
    const nodeflib = requester.info.flags.nodeflib;
    if (!nodeflib) {
      for (const e of this.ldCache() ?? []) {
        if (e.name !== name) continue;
        const r = this.try(e.path, dep, e.hwcaps ? 'glibc-hwcaps' : null);
        if (r === 'skip' || r === 'absent') continue;
        d = done(r, 'ld.so.cache');
        if (d !== undefined) return d;
      }
      d = done(this.inDirs(this.defaultDirs, name, dep), 'default');
      if (d !== undefined) return d;
    }
    const other = dep.skipped.find((s) => s.reason.startsWith('wrong ELF class'));
    dep.error = other ? `wrong ELF class: ELFCLASS${this.program.class === 64 ? 32 : 64}` : 'cannot open shared object file: No such file or directory';
    return null;
  }
}

function isAncestor(a: Loaded, b: Loaded): boolean {
  for (let l: Loaded | null = b; l; l = l.loader) if (l === a) return true;
  return false;
}

class MuslSearch extends Search {
  private readonly arch: string;
  private sysPath: string[] | null = null;
  private readonly interpReal: string | null;

  constructor(ctx: LoaderContext, program: ElfInfo, interpReal: string | null) {
    super(ctx, program);
    this.interpReal = interpReal;
    this.arch = /ld-musl-([^/.]+)\.so/.exec(program.interpreter ?? '')?.[1] ?? program.machine;
    this.defaultDirs = this.systemPath();
  }

  /** /etc/ld-musl-ARCH.path when present (an empty file is an empty path), else the built-in one. */
  private systemPath(): string[] {
    if (this.sysPath) return this.sysPath;
    const file = `/etc/ld-musl-${this.arch}.path`;
    const r = resolvePath(this.ctx.tree, file);
    if (r.ok && (r.node.type === 'file' || r.node.type === 'hardlink')) {
      const buf = readSmallFile(r.node.content) ?? Buffer.alloc(0);
      this.sysPath = buf.toString('utf8').split(/[:\n]/).filter(Boolean);
      this.notes.push(`${file} sets the library path: ${this.sysPath.join(':') || '(empty)'}`);
    } else this.sysPath = MUSL_DEFAULT;
    return this.sysPath;
  }

  private expand(paths: string, obj: Loaded): string[] {
    const origin = dirname(obj.depth === 0 ? obj.real : obj.path);
    // musl expands $ORIGIN only; any other $ makes the element unusable.
    return paths
      .split(':')
      .filter(Boolean)
      .map((p) => p.replace(/\$(\{ORIGIN\}|ORIGIN)/g, origin))
      .filter((p) => !p.includes('$'));
  }

  private inDirs(dirs: string[], name: string, dep: Dependency): Found | 'absent' | { error: string } {
    for (const dir of dirs) {
      const r = this.try(join(dir, name), dep);
      if (r === 'skip') return { error: 'Exec format error' };
      if (r !== 'absent') return r;
    }
    return 'absent';
  }

  find(name: string, requester: Loaded, _loaded: Loaded[], dep: Dependency): Found | null {
    const done = (r: Found | 'absent' | { error: string }, via: Via) => this.settle(r, via, dep);
    if (!name.includes('/') && MUSL_RESERVED.test(name)) {
      Object.assign(dep, { resolved: this.program.interpreter, realPath: this.interpReal, via: 'musl-libc' as Via });
      return null; // served by the loader itself, never a separate object
    }
    if (name.includes('/')) {
      const d = done(this.inDirs([dirname(name)], name.slice(name.lastIndexOf('/') + 1), dep), 'path');
      if (d !== undefined) return d;
      dep.error = 'No such file or directory';
      return null;
    }
    let d = done(this.inDirs(this.ldLibraryPath(), name, dep), 'LD_LIBRARY_PATH');
    if (d !== undefined) return d;
    for (let l: Loaded | null = requester; l; l = l.loader) {
      const rp = l.info.runpath ?? l.info.rpath;
      if (!rp) continue;
      d = done(this.inDirs(this.expand(rp, l), name, dep), l.info.runpath ? 'runpath' : 'rpath');
      if (d !== undefined) return d;
    }
    d = done(this.inDirs(this.systemPath(), name, dep), this.sysPath === MUSL_DEFAULT ? 'default' : 'ld-musl.path');
    if (d !== undefined) return d;
    // musl reports errno: with nowhere to look, nothing set it.
    dep.error = dep.searched.length ? 'No such file or directory' : 'No error information';
    return null;
  }
}

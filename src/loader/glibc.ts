/**
 * glibc's ld.so search (elf/dl-load.c): DT_RPATH up the chain of loaders, LD_LIBRARY_PATH,
 * DT_RUNPATH, /etc/ld.so.cache, then the system directories compiled into the loader.
 */
import type { ElfInfo } from '../elf/types.js';
import { readSmallFile, resolvePath } from '../fs/index.js';
import { envValue } from '../source/config.js';
import { LdCache } from './ldcache.js';
import { type Attempt, type Found, type Loaded, type LoaderContext, Search, dirname } from './search.js';
import type { Dependency, Via } from './types.js';

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
/** ld.so maps the cache whatever its size; past this it is not read here, and that is said. */
const CACHE_LIMIT = 128 << 20;

/** The kernel's MAX_ARG_STRLEN: execve refuses a longer environment string (E2BIG). */
export const ARG_STRLEN_MAX = 32 * 4096;

export function tooLongEnv(length: number): string {
  return `LD_LIBRARY_PATH is ${length} bytes long: the kernel passes no environment string over ${ARG_STRLEN_MAX} bytes, so execve refuses to start the program (E2BIG, "argument list too long")`;
}

/** A directory as ld.so keeps it: trailing slashes dropped (except for "/"). */
function trimDir(d: string): string {
  let e = d.length;
  while (e > 1 && d[e - 1] === '/') e--;
  return d.slice(0, e);
}

function join(dir: string, name: string): string {
  return dir === '' || dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Each directory once, in first-seen order, as fillin_rpath builds a search list. */
function unique(dirs: string[]): string[] {
  return [...new Set(dirs.map(trimDir))];
}

export class GlibcSearch extends Search {
  private cache: LdCache | null | undefined;
  private readonly lib: string;
  private readonly hwcaps: string[];
  private readonly libraryPath: string[];
  private readonly defaultVia: Via;
  /** Directories (and glibc-hwcaps subdirectories) found not to exist: never tried again (r_search_path_elem status). */
  private readonly missingDirs = new Set<string>();
  private readonly checkedDirs = new Set<string>();
  readonly limits: string[] = [];

  constructor(ctx: LoaderContext, program: ElfInfo, interp: { real: string; info: ElfInfo } | null) {
    super(ctx, program);
    const own = interp?.info.systemDirs;
    if (own && own.length) {
      this.defaultDirs = own.map(trimDir);
      this.defaultDirsFrom = `read from ${interp!.real}`;
      this.defaultVia = 'default';
    } else {
      this.defaultDirs = this.assumedDirs(interp?.real ?? null);
      this.defaultVia = 'default-assumed';
    }
    // $LIB is the loader's own library directory: the first of its system directories.
    this.lib = this.defaultDirs[0]?.replace(/^\/+/, '') || 'lib';
    this.hwcaps = HWCAPS[program.machine] ?? [];
    const v = envValue(ctx.env, 'LD_LIBRARY_PATH');
    if (v !== null && v.length + 'LD_LIBRARY_PATH='.length + 1 > ARG_STRLEN_MAX) this.notes.push(tooLongEnv(v.length));
    // An empty element is the working directory: ld.so opens the bare name there.
    this.libraryPath = v === null || v === '' ? [] : unique(v.split(/[:;]/));
  }

  /** Without a readable loader: the documented defaults of the layout the image has. */
  private assumedDirs(interpReal: string | null): string[] {
    const triplet = TRIPLETS[this.program.machine];
    const multiarch = triplet && ((interpReal && interpReal.includes(`/${triplet}/`)) || (!interpReal && this.isDir(`/lib/${triplet}`)));
    const lib64 = !multiarch && this.program.class === 64 && ((interpReal && /^\/(usr\/)?lib64\//.test(interpReal)) || (!interpReal && this.isDir('/lib64')));
    const why = interpReal ? `${interpReal} has no system search path scratchscope can read` : 'the loader is not in the image';
    if (multiarch) {
      this.defaultDirsFrom = `assumed (${why}): Debian's multiarch layout`;
      return [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib'];
    }
    if (lib64) {
      this.defaultDirsFrom = `assumed (${why}): the lib64 layout of Fedora and RHEL`;
      return ['/lib64', '/usr/lib64'];
    }
    this.defaultDirsFrom = `assumed (${why}): glibc's upstream default`;
    return ['/lib', '/usr/lib'];
  }

  private ldCache(): LdCache | null {
    if (this.cache !== undefined) return this.cache;
    const r = resolvePath(this.ctx.tree, '/etc/ld.so.cache');
    const node = r.ok && (r.node.type === 'file' || r.node.type === 'hardlink') ? r.node : null;
    if (node && node.size > CACHE_LIMIT) {
      this.limits.push(`too large an /etc/ld.so.cache (${node.size} bytes): it was not read, so libraries only it would find are reported missing`);
      this.cache = null;
      return null;
    }
    const buf = node ? readSmallFile(node.content, CACHE_LIMIT) : null;
    this.cache = buf ? LdCache.open(buf) : null;
    if (buf && !this.cache) this.notes.push('/etc/ld.so.cache is not a cache ld.so can read; it is ignored');
    const conf = resolvePath(this.ctx.tree, '/etc/ld.so.conf');
    if (!r.ok && conf.ok) this.notes.push('/etc/ld.so.conf has no effect: there is no /etc/ld.so.cache built from it (run ldconfig in the image)');
    return this.cache;
  }

  /** Each object's rpath or runpath expanded once (ld.so keeps them decomposed per object too). */
  private readonly expanded = new Map<Loaded, Map<string, string[]>>();

  private expand(paths: string, obj: Loaded): string[] {
    let per = this.expanded.get(obj);
    if (!per) this.expanded.set(obj, (per = new Map()));
    let dirs = per.get(paths);
    if (!dirs) per.set(paths, (dirs = this.expandNow(paths, obj)));
    return dirs;
  }

  /** $ORIGIN, $LIB and $PLATFORM; an element with another token is dropped, as ld.so does. */
  private expandNow(paths: string, obj: Loaded): string[] {
    const origin = dirname(obj.depth === 0 ? obj.real : obj.path);
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
    return unique(out);
  }

  /** Whether `dir` may hold anything; a directory that does not exist is marked and skipped from then on. */
  private exists(dir: string): boolean {
    if (this.missingDirs.has(dir)) return false;
    if (this.checkedDirs.has(dir)) return true;
    this.checkedDirs.add(dir);
    if (this.isDir(dir)) return true;
    this.missingDirs.add(dir);
    return false;
  }

  /** A directory list, each with its glibc-hwcaps subdirectories first. */
  private inDirs(dirs: string[], name: string, dep: Dependency): Attempt {
    for (const dir of dirs) {
      if (this.missingDirs.has(dir)) continue;
      if (!this.exists(dir)) {
        // ld.so opens the candidate before it learns the folder is missing.
        this.try(join(dir, name), dep);
        continue;
      }
      for (const level of this.hwcaps) {
        const sub = join(dir, `glibc-hwcaps/${level}`);
        if (this.missingDirs.has(sub)) continue;
        // hwcaps probes are listed only when they find something
        const r = this.try(join(sub, name), dep, level, false);
        if (r !== 'absent' && r !== 'skip') return r;
        if (r === 'absent') this.exists(sub);
      }
      const r = this.try(join(dir, name), dep);
      if (r !== 'absent' && r !== 'skip') return r;
      if (r === 'absent') this.exists(dir);
    }
    return 'absent';
  }

  find(name: string, requester: Loaded, main: Loaded, dep: Dependency): Found | null {
    const done = (r: Attempt, via: Via) => this.settle(r, via, dep);
    if (name.includes('/')) {
      const [p] = this.expand(name, requester);
      const r = p ? this.try(p, dep) : 'absent';
      const d = done(r === 'skip' ? 'absent' : r, 'path');
      if (d !== undefined) return d;
      dep.error = 'cannot open shared object file: No such file or directory';
      return null;
    }
    if (!requester.info.runpath) {
      for (let l: Loaded | null = requester; l; l = l.loader) {
        this.spend();
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
    let d = done(this.inDirs(this.libraryPath, name, dep), 'LD_LIBRARY_PATH');
    if (d !== undefined) return d;
    if (requester.info.runpath) {
      d = done(this.inDirs(this.expand(requester.info.runpath, requester), name, dep), 'runpath');
      if (d !== undefined) return d;
    }
    if (!requester.info.flags.nodeflib) {
      for (const e of this.ldCache()?.lookup(name) ?? []) {
        const r = this.try(e.path, dep, e.hwcaps ? 'glibc-hwcaps' : null);
        if (r === 'skip' || r === 'absent') continue;
        d = done(r, 'ld.so.cache');
        if (d !== undefined) return d;
      }
      d = done(this.inDirs(this.defaultDirs, name, dep), this.defaultVia);
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

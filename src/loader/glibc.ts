/**
 * glibc's ld.so search (elf/dl-load.c): DT_RPATH up the chain of loaders, LD_LIBRARY_PATH,
 * DT_RUNPATH, /etc/ld.so.cache, then the system directories compiled into the loader.
 */
import type { ElfInfo } from '../elf/types.js';
import { readSmallFile, resolvePath } from '../fs/index.js';
import { envValue } from '../source/config.js';
import { type CacheEntry, LdCache } from './ldcache.js';
import { CACHE_IDS, HWCAPS, PLATFORM, TRIPLETS } from './machines.js';
import { type Attempt, type Found, type Loaded, type LoaderContext, type Query, Search, type SearchStep, dirname } from './search.js';
import type { Dependency, Via } from './types.js';

/**
 * The subfolders ld.so probes in each search folder before the folder itself, by release:
 * glibc-hwcaps/LEVEL since 2.33; until 2.36 also the legacy ones, tls and the platform
 * (on x86-64 as glibc 2.36 probes them on a CPU without AVX-512, which adds avx512_1
 * variants). A loader that does not say its release is taken as a current one.
 */
function subfolders(machine: string, release: string | null): { path: string; level: string | null }[] {
  const [major = 0, minor = 0] = (release ?? '99.0').split('.').map(Number);
  const at = (v: number) => major > 2 || (major === 2 && minor >= v);
  const out: { path: string; level: string | null }[] = at(33)
    ? (HWCAPS[machine] ?? []).map((l) => ({ path: `glibc-hwcaps/${l}`, level: l }))
    : [];
  if (!at(37)) {
    const p = PLATFORM[machine];
    const legacy =
      machine === 'x86_64' ? ['tls/x86_64/x86_64', 'tls/x86_64', 'tls', 'x86_64/x86_64', 'x86_64'] : p ? [`tls/${p}`, 'tls', p] : ['tls'];
    out.push(...legacy.map((path) => ({ path, level: null })));
  }
  return out;
}
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
  private readonly hwcaps: { path: string; level: string | null }[];
  private readonly rawLibraryPath: string | null;
  private libraryPath: string[] | null = null;
  private readonly defaultVia: Via;
  /** Directories (and glibc-hwcaps subdirectories) found not to exist: never tried again (r_search_path_elem status). */
  private readonly missingDirs = new Set<string>();
  private readonly checkedDirs = new Set<string>();

  constructor(ctx: LoaderContext, program: ElfInfo, interp: { real: string; info: ElfInfo } | null) {
    super(ctx, program);
    const own = interp?.info.systemDirs;
    if (own && own.length) {
      this.defaultDirs = own.map(trimDir);
      this.defaultDirsFrom = `read from ${interp.real}`;
      this.defaultVia = 'default';
    } else {
      this.defaultDirs = this.assumedDirs(interp?.real ?? null);
      this.defaultVia = 'default-assumed';
    }
    // $LIB is the loader's own library directory: the first of its system directories.
    this.lib = this.defaultDirs[0]?.replace(/^\/+/, '') || 'lib';
    this.hwcaps = subfolders(program.machine, interp?.info.loaderRelease ?? null);
    const v = envValue(ctx.env, 'LD_LIBRARY_PATH');
    if (v !== null && v.length + 'LD_LIBRARY_PATH='.length + 1 > ARG_STRLEN_MAX) this.notes.push(tooLongEnv(v.length));
    this.rawLibraryPath = v;
  }

  /** _dl_map_object_from_fd: a program is not a library (ET_EXEC; ET_DYN with DF_1_PIE since glibc 2.30). */
  protected override refuse(lib: ElfInfo): string | null {
    if (lib.type === 'executable') return 'cannot dynamically load executable';
    if (lib.flags.pie) return 'cannot dynamically load position-independent executable';
    return null;
  }

  /** open_verify: fewer bytes than an ELF header is "file too short"; more, but not ELF, "invalid ELF header". */
  // ld.so words errno itself, and knows only a few by name (elf/dl-minimal.c): the rest are "Error N"
  protected readonly loopErrno = 'Error 40';
  protected readonly dirError = 'cannot read file data: Error 21';

  protected fileError(p: { error: string; notElf: boolean; size: number }): string {
    // it reads a whole header first, ELF magic or not
    if (p.size < (this.program.class === 64 ? 64 : 52)) return 'file too short';
    return p.notElf ? 'invalid ELF header' : p.error;
  }

  /** Without a readable loader: the documented defaults of the layout the image has. */
  private assumedDirs(interpReal: string | null): string[] {
    const triplet = TRIPLETS[this.program.machine];
    const multiarch = triplet && ((interpReal && interpReal.includes(`/${triplet}/`)) || (!interpReal && this.isDir(`/lib/${triplet}`)));
    const lib64 =
      !multiarch &&
      this.program.class === 64 &&
      ((interpReal && /^\/(usr\/)?lib64\//.test(interpReal)) || (!interpReal && this.isDir('/lib64')));
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
      this.limits.push(
        `too large an /etc/ld.so.cache (${node.size} bytes): it was not read, so libraries only it would find are reported missing`,
      );
      this.cache = null;
      return null;
    }
    const content = node?.content ?? null;
    const opened = content ? LdCache.forContent(content, () => readSmallFile(content, CACHE_LIMIT)) : { read: false, cache: null };
    this.cache = opened.cache;
    if (opened.read && !this.cache) this.notes.push('/etc/ld.so.cache is not a cache ld.so can read; it is ignored');
    const conf = resolvePath(this.ctx.tree, '/etc/ld.so.conf');
    if (!r.ok && conf.ok)
      this.notes.push('/etc/ld.so.conf has no effect: there is no /etc/ld.so.cache built from it (run ldconfig in the image)');
    return this.cache;
  }

  /**
   * What ld.so takes from the cache entries of one name (dl-cache.c): only entries with
   * flags it accepts, the first with its own flags (else the first accepted), after any
   * glibc-hwcaps entries. One path, opened or not: a stale entry is not made up for by
   * another entry of the same name. Ports not in the table try every entry.
   */
  private cacheChoice(entries: CacheEntry[]): CacheEntry[] {
    const ids = CACHE_IDS[`${this.program.machine}/${this.program.class}`];
    if (!ids) return entries;
    const ok = entries.filter((e) => ids.includes(e.flags));
    const plain = ok.filter((e) => !e.hwcaps);
    const best = plain.find((e) => e.flags === ids[0]) ?? plain[0];
    return [...ok.filter((e) => e.hwcaps), ...(best ? [best] : [])];
  }

  /** Each object's rpath or runpath expanded once (ld.so keeps them decomposed per object too). */
  private readonly expanded = new Map<Loaded, Map<string, string[]>>();

  private expand(paths: string, obj: Loaded): string[] {
    let per = this.expanded.get(obj);
    if (!per) this.expanded.set(obj, (per = new Map<string, string[]>()));
    let dirs = per.get(paths);
    if (!dirs) per.set(paths, (dirs = this.expandNow(paths, obj)));
    return dirs;
  }

  /**
   * A search list as fillin_rpath builds it: elements split at `seps`, $ORIGIN, $LIB and
   * $PLATFORM expanded (another `$NAME` stays as written), an element that expands to
   * nothing dropped, an empty one kept as the working folder (the bare name is opened).
   */
  private expandNow(paths: string, obj: Loaded, seps = /:/): string[] {
    const origin = dirname(obj.depth === 0 ? obj.real : obj.path);
    const out: string[] = [];
    for (const raw of paths.split(seps)) {
      if (raw === '') {
        out.push('');
        continue;
      }
      // in secure mode the program's own elements with $ORIGIN are dropped (the caller of execve
      // chose its path); a library's came from a trusted search, and stand
      if (this.ctx.secure && obj.depth === 0 && /\$(\{ORIGIN\}|ORIGIN(?![A-Za-z0-9_]))/.test(raw)) continue;
      const p = raw.replace(
        /\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))/g,
        (_m, braced: string | undefined, bare: string | undefined) => {
          const token = braced ?? bare;
          if (token === 'ORIGIN') return origin;
          if (token === 'LIB') return this.lib;
          return PLATFORM[this.program.machine] ?? this.program.machine;
        },
      );
      if (p !== '') out.push(p);
    }
    return unique(out);
  }

  /** LD_LIBRARY_PATH, split at ':' and ';', its tokens expanded for the program ($ORIGIN is the program's real folder). */
  private libraryPathOf(main: Loaded): string[] {
    if (this.libraryPath === null)
      this.libraryPath =
        this.rawLibraryPath === null || this.rawLibraryPath === '' ? [] : this.expandNow(this.rawLibraryPath, main, /[:;]/);
    return this.libraryPath;
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

  /** A directory list, each with its glibc-hwcaps (and legacy) subdirectories first. */
  protected inDirs(dirs: string[], name: string, dep: Dependency): Attempt {
    for (const dir of dirs) {
      if (this.missingDirs.has(dir)) {
        // ld.so does not open it again; it is still where the library was looked for
        this.note(dep, join(dir, name));
        continue;
      }
      if (!this.exists(dir)) {
        // ld.so opens the candidate before it learns the folder is missing.
        this.try(join(dir, name), dep);
        continue;
      }
      for (const { path, level } of this.hwcaps) {
        const sub = join(dir, path);
        if (this.missingDirs.has(sub)) continue;
        // subfolder probes are listed only when they find something
        const r = this.try(join(sub, name), dep, level, false);
        // an errno but ENOENT and EACCES ends the list (open_path), and the next one is searched
        if (r === 'loop') return 'absent';
        if (r !== 'absent' && r !== 'skip') return r;
        if (r === 'absent') this.exists(sub);
      }
      const r = this.try(join(dir, name), dep);
      if (r === 'loop') return 'absent';
      if (r !== 'absent' && r !== 'skip') return r;
      if (r === 'absent') this.exists(dir);
    }
    return 'absent';
  }

  /**
   * The search for a name without a slash, in ld.so's order (elf/dl-load.c, _dl_map_object):
   * each step runs only when the ones before it found nothing.
   */
  static readonly ORDER: readonly SearchStep<GlibcSearch>[] = [
    {
      rule: 'DT_RPATH of the requester and of the objects that loaded it, unless the requester has DT_RUNPATH',
      run: (s, q) => s.rpaths(q),
    },
    { rule: 'LD_LIBRARY_PATH', run: (s, q) => s.dirs(s.libraryPathOf(q.main), q, 'LD_LIBRARY_PATH') },
    {
      rule: 'DT_RUNPATH of the requester only',
      run: (s, q) => (q.requester.info.runpath ? s.dirs(s.expand(q.requester.info.runpath, q.requester), q, 'runpath') : undefined),
    },
    {
      rule: '/etc/ld.so.cache (for a requester linked -z nodeflib, not an entry in the system directories)',
      run: (s, q) => s.fromCache(q),
    },
    {
      rule: 'the system directories compiled into ld.so, unless the requester is linked -z nodeflib',
      run: (s, q) => (q.requester.info.flags.nodeflib ? undefined : s.dirs(s.defaultDirs, q, s.defaultVia)),
    },
  ];

  find(name: string, requester: Loaded, main: Loaded, dep: Dependency): Found | null {
    this.lastErrno = 'No such file or directory';
    if (name.includes('/')) {
      const [p] = this.expand(name, requester);
      const r = p ? this.try(p, dep) : 'absent';
      const d = this.settle(r === 'skip' ? 'absent' : r, 'path', dep);
      if (d !== undefined) return d;
      // a path is opened as given (a folder stopped loading above): one of the other class is
      // named as such, one of another machine is ENOENT
      const skipped = r === 'skip' ? dep.skipped.at(-1)?.reason : undefined;
      dep.error = skipped?.startsWith('wrong ELF class') ? skipped : `cannot open shared object file: ${this.lastErrno}`;
      return null;
    }
    const d = this.follow(GlibcSearch.ORDER, { name, requester, main, dep });
    if (d !== undefined) return d;
    const other = dep.skipped.find((s) => s.reason.startsWith('wrong ELF class'));
    // nothing opened (-z nodeflib, its cache entry dropped): no errno to tell
    dep.error = other
      ? `wrong ELF class: ELFCLASS${this.program.class === 64 ? 32 : 64}`
      : dep.searched.length === 0
        ? 'cannot open shared object file'
        : `cannot open shared object file: ${this.lastErrno}`;
    return null;
  }

  /** DT_RPATH up the chain of loaders, then the program's (when it is not in that chain): only for a requester without DT_RUNPATH. */
  private rpaths(q: Query): Found | null | undefined {
    const { requester, main } = q;
    if (requester.info.runpath) return undefined;
    for (let l: Loaded | null = requester; l; l = l.loader) {
      this.spend();
      if (l.info.rpath && !l.info.runpath) {
        const d = this.dirs(this.expand(l.info.rpath, l), q, 'rpath');
        if (d !== undefined) return d;
      }
    }
    if (requester !== main && main.info.rpath && !main.info.runpath && !isAncestor(main, requester))
      return this.dirs(this.expand(main.info.rpath, main), q, 'rpath');
    return undefined;
  }

  /** The one path the cache gives for the name (after any glibc-hwcaps entries); one that is absent or skipped is passed over. */
  private fromCache(q: Query): Found | null | undefined {
    for (const e of this.cacheChoice(this.ldCache()?.lookup(q.name) ?? [])) {
      // -z nodeflib: ld.so drops the entry the cache gives when it lies in a system directory
      if (q.requester.info.flags.nodeflib && this.defaultDirs.some((d) => e.path.startsWith(d.endsWith('/') ? d : `${d}/`)))
        return undefined;
      const r = this.try(e.path, q.dep, e.hwcaps ? 'glibc-hwcaps' : null);
      if (r === 'skip' || r === 'absent' || r === 'loop') continue;
      return this.settle(r, 'ld.so.cache', q.dep);
    }
    return undefined;
  }
}

function isAncestor(a: Loaded, b: Loaded): boolean {
  for (let l: Loaded | null = b; l; l = l.loader) if (l === a) return true;
  return false;
}

/**
 * musl's loader search (ldso/dynlink.c, load_library): the names it serves itself,
 * LD_LIBRARY_PATH, rpath/runpath up the chain of needing objects, then the path file
 * beside the loader or the built-in path.
 */
import type { ElfInfo } from '../elf/types.js';
import { readSmallFile, resolvePath } from '../fs/index.js';
import { envValue } from '../source/config.js';
import { mayRead } from './access.js';
import { ARG_STRLEN_MAX, tooLongEnv } from './glibc.js';
import { type Attempt, type Found, type Loaded, type LoaderContext, type Query, Search, type SearchStep, dirname } from './search.js';
import type { Dependency } from './types.js';

const MUSL_DEFAULT = ['/lib', '/usr/local/lib', '/usr/lib'];
/**
 * Names musl answers itself, whatever follows: `lib` + c|pthread|rt|m|dl|util|xnet + `.`
 * (so libc.so, libc.musl-x86_64.so.1, libm.so.6, libpthread.so.0 are all musl).
 */
export const MUSL_RESERVED = /^lib(c|pthread|rt|m|dl|util|xnet)\./;

/** musl writes "%.*s/%s": a directory ending in a slash gives two. */
function join(dir: string, name: string): string {
  return `${dir}/${name}`;
}

/** A path list as path_open walks it: elements end at ':' or a newline, empty ones are skipped. */
function elements(list: string): string[] {
  return list.split(/[:\n]/).filter(Boolean);
}

export class MuslSearch extends Search {
  private readonly arch: string;
  private sysPath: string[] | null = null;
  /** errno the path file left when reading it failed (a folder, a file the user may not read): what a search of nowhere reports. */
  private pathFileErrno: string | null = null;
  private readonly libraryPath: string[];

  constructor(
    ctx: LoaderContext,
    program: ElfInfo,
    private readonly interpReal: string | null,
  ) {
    super(ctx, program);
    this.arch = /ld-musl-([^/.]+)\.so/.exec(program.interpreter ?? '')?.[1] ?? program.machine;
    const v = envValue(ctx.env, 'LD_LIBRARY_PATH');
    if (v !== null && v.length + 'LD_LIBRARY_PATH='.length + 1 > ARG_STRLEN_MAX) this.notes.push(tooLongEnv(v.length));
    this.libraryPath = v ? elements(v) : [];
    this.defaultDirs = this.systemPath();
  }

  /**
   * The path file: `/etc/ld-musl-ARCH.path` under the folder above the loader's own
   * (so /lib/ld-musl-… reads /etc/…, /usr/lib/ld-musl-… reads /usr/etc/…). Present but
   * empty or unreadable means an empty path; absent means the built-in one.
   */
  private systemPath(): string[] {
    if (this.sysPath) return this.sysPath;
    const ldso = this.program.interpreter ?? '';
    let prefix = '';
    if (ldso.startsWith('/')) {
      const last = ldso.lastIndexOf('/');
      prefix = ldso.slice(0, Math.max(0, ldso.lastIndexOf('/', last - 1)));
    }
    const file = `${prefix}/etc/ld-musl-${this.arch}.path`;
    const r = resolvePath(this.ctx.tree, file);
    if (r.ok) {
      const regular = r.node.type === 'file' || r.node.type === 'hardlink';
      const readable = mayRead(r.node, this.ctx.user);
      const buf = regular && readable ? readSmallFile(r.node.content) : null;
      this.sysPath = buf ? elements(buf.toString('latin1')) : [];
      // fopen of a folder works and its read fails (EISDIR); one the user may not read fails (EACCES)
      this.pathFileErrno = r.node.type === 'dir' ? 'Is a directory' : !readable ? 'Permission denied' : null;
      this.defaultDirsFrom = `read from ${file}`;
      this.notes.push(`${file} sets the library path: ${this.sysPath.join(':') || '(empty)'}`);
    } else {
      this.sysPath = MUSL_DEFAULT;
      this.defaultDirsFrom = 'built into musl';
    }
    return this.sysPath;
  }

  /** musl maps what it opened and fails with ENOEXEC, whatever is wrong with the file. */
  // musl goes on only after ENOENT, ENOTDIR, EACCES (and ENAMETOOLONG): a loop, or a folder, stops it
  protected readonly loopErrno = 'Symbolic link loop';
  protected readonly dirError = 'Is a directory';

  protected fileError(): string {
    return 'Exec format error';
  }

  private expand(paths: string, obj: Loaded): string[] {
    // musl expands $ORIGIN only; a path with any other $ is not used at all, nor the program's
    // own with $ORIGIN in secure mode (the caller of execve chose its path)
    if (/\$(?!ORIGIN|\{ORIGIN\})/.test(paths)) return [];
    if (this.ctx.secure && obj.depth === 0 && paths.includes('$')) return [];
    const origin = dirname(obj.depth === 0 ? obj.real : obj.path);
    return elements(paths.replace(/\$(\{ORIGIN\}|ORIGIN)/g, origin));
  }

  protected inDirs(dirs: string[], name: string, dep: Dependency): Attempt {
    for (const dir of dirs) {
      const r = this.try(join(dir, name), dep);
      if (r === 'skip') return { error: 'Exec format error' };
      if (r === 'loop') return { error: this.loopErrno };
      if (r !== 'absent') return r;
    }
    return 'absent';
  }

  /** Served by musl itself: the program's own loader, under any of libc's names. */
  isSelf(name: string): boolean {
    return (!name.includes('/') && MUSL_RESERVED.test(name)) || name === this.program.interpreter;
  }

  /**
   * The search for a name without a slash, in musl's order (ldso/dynlink.c, load_library):
   * each step runs only when the ones before it found nothing.
   */
  static readonly ORDER: readonly SearchStep<MuslSearch>[] = [
    { rule: 'LD_LIBRARY_PATH', run: (s, q) => s.dirs(s.libraryPath, q, 'LD_LIBRARY_PATH') },
    { rule: 'DT_RUNPATH, else DT_RPATH, of the requester and of each object that loaded it', run: (s, q) => s.rpaths(q) },
    {
      rule: '/etc/ld-musl-ARCH.path beside the loader, else /lib:/usr/local/lib:/usr/lib',
      run: (s, q) => s.dirs(s.systemPath(), q, s.sysPath === MUSL_DEFAULT ? 'default' : 'ld-musl.path'),
    },
  ];

  find(name: string, requester: Loaded, main: Loaded, dep: Dependency): Found | null {
    if (this.isSelf(name)) {
      Object.assign(dep, { resolved: this.program.interpreter, realPath: this.interpReal, via: 'musl-libc' });
      return null; // served by the loader itself, never a separate object
    }
    if (name.includes('/')) {
      const r = this.try(name, dep);
      const d = this.settle(r === 'skip' ? { error: 'Exec format error' } : r === 'loop' ? { error: this.loopErrno } : r, 'path', dep);
      if (d !== undefined) return d;
      dep.error = this.lastErrno;
      return null;
    }
    const d = this.follow(MuslSearch.ORDER, { name, requester, main, dep });
    if (d !== undefined) return d;
    // musl reports errno: with nowhere to look, nothing set it.
    dep.error = dep.searched.length ? this.lastErrno : (this.pathFileErrno ?? 'No error information');
    return null;
  }

  /** Each object up the chain of needing objects, with its runpath (or, without one, its rpath). */
  private rpaths(q: Query): Found | null | undefined {
    for (let l: Loaded | null = q.requester; l; l = l.loader) {
      this.spend();
      const rp = l.info.runpath ?? l.info.rpath;
      if (!rp) continue;
      const d = this.dirs(this.expand(rp, l), q, l.info.runpath ? 'runpath' : 'rpath');
      if (d !== undefined) return d;
    }
    return undefined;
  }
}

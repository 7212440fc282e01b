/** What both loaders share: trying a candidate path, and the limits of the emulation. */
import type { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { type MergedTree, resolvePath } from '../fs/index.js';
import { type Credentials, mayExecute, mayRead } from './access.js';
import type { Dependency, Skipped, Via } from './types.js';
import type { Resolution } from './index.js';

export interface LoaderContext {
  tree: MergedTree;
  catalog: BinaryCatalog;
  /** The image's Env (KEY=VALUE), where LD_LIBRARY_PATH comes from. */
  env: string[];
  /** Working directory, for relative paths. */
  cwd: string;
  /** What each candidate path turned out to be, shared by every program resolved in one image. */
  probes?: Map<string, Probe>;
  /** Who the process runs as (USER); root when absent. */
  user?: Credentials;
  /** Loader steps that may still be taken, shared by every program resolved with this context. */
  budget?: { steps: number };
  /** Resolutions by the shape of the program (see resolveProgram): where programs alike are answered once. */
  resolutions?: Map<string, Resolution>;
  /** The program runs in secure mode (AT_SECURE: set-user-ID or set-group-ID to another, file capabilities gained): see resolveProgram. */
  secure?: boolean;
  /** no_new_privs is set (docker's no-new-privileges, a pod's allowPrivilegeEscalation: false): set-user-ID bits do nothing. */
  noNewPrivs?: boolean;
}

/**
 * Where the emulation stops instead of growing without bound. Real loaders have no count
 * limits of their own; these are far beyond any real program (the largest have a few
 * hundred libraries and a few thousand DT_NEEDED entries among them), and what is cut is
 * reported as "too many …".
 */
export const LIMITS = {
  /** DT_NEEDED entries followed for one program. */
  needed: 20_000,
  /** Search steps (candidate paths, rpath lists walked) for one program. */
  steps: 2_000_000,
  /** DT_NEEDED entries and search steps for all the binaries of one image together (inspect). */
  imageSteps: 4_000_000,
  /** Candidate paths listed per dependency. */
  searched: 256,
};

/** A candidate path looked at once: nothing there, not loadable, or a decoded ELF at a real path. */
interface Owner {
  mode: number;
  uid: number;
  gid: number;
}
export type Probe =
  | { kind: 'absent' }
  /** A loop of links on the way: open() fails with ELOOP. */
  | { kind: 'loop' }
  /** A folder: open() works, and reading its ELF header fails with EISDIR. */
  | { kind: 'dir'; real: string; owner: Owner }
  | { kind: 'error'; real: string; error: string; notElf: boolean; size: number; owner: Owner }
  | { kind: 'elf'; real: string; info: ElfInfo; owner: Owner };

/** A loaded object: the program, the interpreter, or a library. */
export interface Loaded {
  /** The name the loader knows it by: the path it was opened at. */
  path: string;
  real: string;
  info: ElfInfo;
  /** The object whose DT_NEEDED brought it in (l_loader / needed_by). */
  loader: Loaded | null;
  depth: number;
}

export interface Found {
  path: string;
  real: string;
  info: ElfInfo;
}

/** An error names the file it is about when the loader opened one (`path`). */
export type Attempt = Found | 'absent' | { error: string; path?: string };

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** One DT_NEEDED name being searched: who needs it, the program, and the record being filled. */
export interface Query {
  name: string;
  requester: Loaded;
  main: Loaded;
  dep: Dependency;
}

/**
 * One step of a loader's search order: the object when found, null when loading stops
 * here (an error), undefined to go on to the next step.
 */
export interface SearchStep<S extends Search> {
  /** The step as the loader's manual names it. */
  rule: string;
  run: (search: S, q: Query) => Found | null | undefined;
}

/** Thrown when a program's or the image's step budget is spent; resolveProgram reports it. */
export class TooMuchWork extends Error {}

export abstract class Search {
  private steps = LIMITS.steps;
  defaultDirs: string[] = [];
  defaultDirsFrom = '';
  notes: string[] = [];
  /** Work this search cut short (glibc: an ld.so.cache too large to read). */
  readonly limits: string[] = [];
  private omittedNoted = false;
  /** errno of the last candidate that could not be opened: what the loader's line ends with. */
  protected lastErrno = 'No such file or directory';
  constructor(
    protected readonly ctx: LoaderContext,
    protected readonly program: ElfInfo,
  ) {}

  /** One unit of the loader's work; stops the search when the budget is spent. */
  spend(n = 1): void {
    this.steps -= n;
    const image = this.ctx.budget;
    if (image) image.steps -= n;
    if (this.steps < 0)
      throw new TooMuchWork(
        `too many places to look: scratchscope stopped after ${LIMITS.steps} steps of the loader's search for this program; the libraries after that point were not checked`,
      );
    if (image && image.steps < 0)
      throw new TooMuchWork(
        `too many libraries to follow in this image: after ${LIMITS.imageSteps} steps of the loader's search over all its binaries, the rest were not checked`,
      );
  }

  abstract find(name: string, requester: Loaded, main: Loaded, dep: Dependency): Found | null;

  /** Looks for the name in each directory of a list, in the loader's way. */
  protected abstract inDirs(dirs: string[], name: string, dep: Dependency): Attempt;

  /** A directory list searched as one step of the order, the object found credited to `via`. */
  protected dirs(list: string[], q: Query, via: Via): Found | null | undefined {
    return this.settle(this.inDirs(list, q.name, q.dep), via, q.dep);
  }

  /** Takes the steps of a search order in turn, up to the first that finds the object or stops loading. */
  protected follow<S extends Search>(this: S, order: readonly SearchStep<S>[], q: Query): Found | null | undefined {
    for (const step of order) {
      const d = step.run(this, q);
      if (d !== undefined) return d;
    }
    return undefined;
  }

  protected isDir(path: string): boolean {
    const r = resolvePath(this.ctx.tree, path, { cwd: this.ctx.cwd });
    return r.ok && r.node.type === 'dir';
  }

  /** Whether a folder on the way to `real` (resolved) is one the container's user may not search. */
  private shut(real: string): boolean {
    const who = this.ctx.user;
    if (!who || who.uid === 0) return false;
    for (let at = real.indexOf('/', 1); at !== -1; at = real.indexOf('/', at + 1)) {
      const dir = this.ctx.tree.get(real.slice(0, at));
      if (dir?.type === 'dir' && !mayExecute(dir, who)) return true;
    }
    return false;
  }

  private probe(path: string): Probe {
    const key = path.startsWith('/') ? path : `${this.ctx.cwd}\0${path}`;
    const hit = this.ctx.probes?.get(key);
    if (hit) return hit;
    let p: Probe;
    const r = resolvePath(this.ctx.tree, path, { cwd: this.ctx.cwd });
    if (!r.ok) p = r.reason === 'loop' ? { kind: 'loop' } : { kind: 'absent' };
    else if (r.node.type === 'dir') p = { kind: 'dir', real: r.path, owner: { mode: r.node.mode, uid: r.node.uid, gid: r.node.gid } };
    else {
      const d = this.ctx.catalog.of(r.node);
      const owner = { mode: r.node.mode, uid: r.node.uid, gid: r.node.gid };
      if (!d) p = { kind: 'error', real: r.path, error: 'invalid ELF header', notElf: true, size: r.node.size, owner };
      else if (!d.ok) p = { kind: 'error', real: r.path, error: d.error, notElf: false, size: r.node.size, owner };
      else p = { kind: 'elf', real: r.path, info: d.info, owner };
    }
    this.ctx.probes?.set(key, p);
    return p;
  }

  protected note(dep: Dependency, path: string): void {
    if (dep.searched.length < LIMITS.searched) {
      dep.searched.push(path);
      return;
    }
    dep.searchedOmitted++;
    if (!this.omittedNoted) {
      this.omittedNoted = true;
      this.notes.push(`too many candidate paths: only the first ${LIMITS.searched} tried for each library are listed`);
    }
  }

  /**
   * Tries one candidate path. Returns the object when it fits, 'skip' when the loader
   * passes it over, 'absent' when there is nothing to open, or an error that stops loading.
   */
  /** What the loader says when a candidate it opened is not a library it can load. */
  protected abstract fileError(p: { error: string; notElf: boolean; size: number }): string;

  /** What the loader says when open() fails with ELOOP, and when reading a folder fails with EISDIR. */
  protected abstract readonly loopErrno: string;
  protected abstract readonly dirError: string;

  protected try(
    path: string,
    dep: Dependency,
    hwcaps: string | null = null,
    listed = true,
  ): Found | 'absent' | 'skip' | 'loop' | { error: string; path: string } {
    this.spend();
    const p = this.probe(path);
    if (listed || p.kind !== 'absent') this.note(dep, path);
    if (p.kind === 'absent') {
      this.lastErrno = 'No such file or directory';
      return 'absent';
    }
    if (p.kind === 'loop') {
      this.lastErrno = this.loopErrno;
      dep.skipped.push({ path, reason: 'a loop of symbolic links (ELOOP)' });
      return 'loop';
    }
    // open() fails with EACCES (a folder on the way the user may not search, or a file it may
    // not read): both loaders search on, as for a missing file.
    if (this.shut(p.real)) {
      this.lastErrno = 'Permission denied';
      dep.skipped.push({ path, reason: "in a folder the container's user may not search" });
      return 'absent';
    }
    if (!mayRead(p.owner, this.ctx.user)) {
      this.lastErrno = 'Permission denied';
      dep.skipped.push({ path, reason: "not readable by the container's user" });
      return 'absent';
    }
    if (p.kind === 'dir') return { error: this.dirError, path };
    if (p.kind === 'error') return { error: this.fileError(p), path };
    const why = this.mismatch(p.info);
    if (why) {
      dep.skipped.push({ path, reason: why } satisfies Skipped);
      return 'skip';
    }
    const refused = this.refuse?.(p.info);
    if (refused) return { error: refused, path };
    if (hwcaps) dep.hwcaps = hwcaps;
    return { path, real: p.real, info: p.info };
  }

  /** A search step's outcome: undefined to go on searching, null when loading stops here, else the object. */
  protected settle(r: Attempt | 'loop', via: Via, dep: Dependency): Found | null | undefined {
    if (r === 'absent' || r === 'loop') return undefined;
    if ('error' in r) {
      dep.error = r.error;
      dep.errorPath = r.path ?? null;
      return null;
    }
    Object.assign(dep, { resolved: r.path, realPath: r.real, via });
    return r;
  }

  /** An object of the right machine the loader still will not load as a library (glibc: an executable). */
  protected refuse?(lib: ElfInfo): string | null;

  protected mismatch(lib: ElfInfo): string | null {
    if (lib.class !== this.program.class) return `wrong ELF class: ELFCLASS${lib.class}`;
    if (lib.machine !== this.program.machine) return `wrong machine: ${lib.machine}`;
    return null;
  }
}

/**
 * The closure of a program: every file it needs to start (the executable and the links to
 * it, its #! interpreters, the loader, every library the loader opens, with the symlinks it
 * follows on the way) and what it is likely to need once running (NSS modules, CA
 * certificates, time zones, gconv modules, libgcc_s, libraries it names for dlopen), each
 * with the reason and the evidence. What a FROM scratch image of just this program holds.
 */
import { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { ScopeError } from '../errors.js';
import { type MergedTree, type Node, contentHead, resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { type LoadResult, type LoaderKind, TRIPLETS, resolveProgram } from '../loader/index.js';
import { loaderContext } from '../diagnose/context.js';
import { envProgram, parseShebang } from '../diagnose/exec.js';
import { lookPath } from '../diagnose/lookup.js';
import { pythonStdlib } from '../diagnose/stdlib.js';
import { checkUser } from '../diagnose/user.js';
import { diagnose, type DiagnoseOptions, type Hop } from '../diagnose/index.js';
import { runtimeNeeds } from './runtime.js';
import type { CopyItem } from './dockerfile.js';

export type ClosureRole =
  | 'executable'
  | 'script-interpreter'
  | 'loader'
  | 'library'
  | 'user-database'
  | 'script'
  | 'nss'
  | 'ca-certificates'
  | 'zoneinfo'
  | 'stdlib'
  | 'gconv'
  | 'unwinder'
  | 'dlopen';

export interface ClosureFile {
  /** Where the file really is (a symlink met on the way is an entry of its own). */
  path: string;
  /** The paths the kernel or the loader opens that lead here, when they differ from `path`. */
  openedAs: string[];
  type: 'file' | 'symlink' | 'dir';
  linkTarget: string | null;
  /** Bytes of a file; of a folder, every file under it. */
  size: number;
  /** The layer that last wrote it, or null when it is missing. */
  layer: number | null;
  present: boolean;
  /** There, but without what is needed (an /etc/passwd that does not define USER's name): the build stage's copy replaces it. */
  stale?: boolean;
  role: ClosureRole;
  /** 'start': needed for the program to start at all; 'runtime': likely needed once it runs. */
  when: 'start' | 'runtime';
  /** A guess from the program's strings (dlopen): listed, never counted in or copied. */
  probable: boolean;
  /** Objects or facts that need it. */
  neededBy: string[];
  why: string;
}

export interface Closure {
  /** The program the closure is of (after #! scripts: the scripts are in `files` too). */
  program: string;
  libc: LoaderKind;
  files: ClosureFile[];
  /** Bytes of the present files the closure counts (start + runtime, not the probable ones). */
  bytes: number;
  /** Bytes of every regular file of the image. */
  imageBytes: number;
  /** Names the loader needs and cannot find, with where it looked. */
  missingLibraries: { name: string; neededBy: string; searched: string[] }[];
  /** The loader's own folders (read from the image's ld.so, or its documented defaults). */
  searchDirs: string[];
  /**
   * Where a build stage keeps libraries when the loader must be copied too (its folders
   * then decide): Debian's multiarch folder, the usual build stage's; null for musl.
   */
  stageLibDir: string | null;
}

export interface ClosureOptions extends DiagnoseOptions {
  /** A program inside the image; default: the image's command, as the runtime finds it. */
  path?: string;
  /** With `path` the command's program: the programs it runs in turn (a shell's script's, an init program's, env's), followed too. */
  hops?: Hop[];
}

/** Collects closure files, once each; a second need only adds to `neededBy`. */
class Collector {
  readonly files = new Map<string, ClosureFile>();
  constructor(private readonly tree: MergedTree) {}

  add(f: Omit<ClosureFile, 'neededBy' | 'openedAs'> & { neededBy: string | null; openedAs?: string }): ClosureFile {
    const had = this.files.get(f.path);
    if (had) {
      if (f.openedAs && !had.openedAs.includes(f.openedAs)) had.openedAs.push(f.openedAs);
      if (f.neededBy && !had.neededBy.includes(f.neededBy)) had.neededBy.push(f.neededBy);
      // a start need outranks a runtime one, a certain one a probable one
      if (f.when === 'start') had.when = 'start';
      if (!f.probable) had.probable = false;
      return had;
    }
    const { openedAs, ...rest } = f;
    const file: ClosureFile = { ...rest, openedAs: openedAs ? [openedAs] : [], neededBy: f.neededBy ? [f.neededBy] : [] };
    this.files.set(f.path, file);
    return file;
  }

  /**
   * Adds `path` as the kernel or loader opens it: each symlink met on the way (links in
   * folders too, such as /lib64 -> usr/lib64), then what it resolves to. Returns the node,
   * or null when the path does not resolve (it is then listed as missing).
   */
  addPath(path: string, role: ClosureRole, when: ClosureFile['when'], neededBy: string | null, why: string, probable = false): Node | null {
    const r = resolvePath(this.tree, path);
    const links = r.links;
    for (const l of links) {
      const at = l.slice(0, l.indexOf(' -> '));
      const link = this.tree.get(at);
      this.add({
        path: at,
        type: 'symlink',
        linkTarget: link?.linkTarget ?? l.slice(at.length + 4),
        size: 0,
        layer: link?.layer ?? null,
        present: true,
        role,
        when,
        probable,
        neededBy,
        why: `a link on the way to ${path}`,
      });
    }
    if (!r.ok) {
      // time zones, gconv modules and a standard library are folders, there or not
      const type = role === 'zoneinfo' || role === 'gconv' || role === 'stdlib' ? 'dir' : 'file';
      // through a link to nothing, what is missing is where the link leads (the link is listed above)
      const missing = links.length > 0 && r.reason === 'missing' ? r.at : path;
      this.add({ path: missing, type, linkTarget: null, size: 0, layer: null, present: false, role, when, probable, neededBy, why });
      return null;
    }
    const n = r.node;
    const type = n.type === 'dir' ? 'dir' : 'file';
    const openedAs = r.path !== path ? path : undefined;
    this.add({
      path: r.path,
      openedAs,
      type,
      linkTarget: null,
      size: type === 'dir' ? dirBytes(n) : n.size,
      layer: n.layer,
      present: true,
      role,
      when,
      probable,
      neededBy,
      why,
    });
    return n;
  }
}

function dirBytes(n: Node): number {
  let total = 0;
  const stack = [n];
  while (stack.length) {
    const d = stack.pop()!;
    for (const c of d.children?.values() ?? []) {
      if (c.type === 'dir') stack.push(c);
      else if (c.type === 'file') total += c.size;
    }
  }
  return total;
}

const MAX_SCRIPT_DEPTH = 6; // five scripts and the program: the kernel's ELOOP past depth 5 (exec_binprm)

export function computeClosure(model: ImageModel, opts: ClosureOptions = {}): Closure {
  return analyseClosure(model, opts).closure;
}

/** The closure, and the decoded program it is of (for the donor checks). */
export interface ClosureAnalysis {
  closure: Closure;
  program: { path: string; info: ElfInfo } | null;
  /** USER when it names a user (a name the runtime looks up), else null. */
  user: string | null;
}

export function analyseClosure(model: ImageModel, opts: ClosureOptions = {}): ClosureAnalysis {
  const tree = model.tree;
  const catalog = new BinaryCatalog(tree, model.decoded);
  const env = model.config?.env ?? [];
  const cwd = model.config?.workingDir || '/';
  const c = new Collector(tree);

  let start: string;
  let hops = opts.hops ?? [];
  if (opts.path) {
    start = opts.path.startsWith('/') ? opts.path : `/${opts.path}`;
    if (!resolvePath(tree, start).ok) throw new ScopeError('path-not-found', `${opts.path}: not in the image`);
  } else {
    const d = diagnose(model, catalog, opts);
    if (!d.launch.executable) {
      const why = d.diagnostics.find((x) => x.severity === 'error');
      throw new ScopeError(
        'usage',
        `the image's command cannot be found${why ? ` (${why.message})` : ''}: name the program, e.g. scratchscope closure IMAGE /app`,
      );
    }
    start = d.launch.executable;
    hops = d.hops;
  }
  const user = model.config?.user ?? '';
  const name = user.split(':')[0];
  if (name && !/^\d+$/.test(name)) {
    // runc reads the user database to turn a name into ids before it starts anything
    c.addPath('/etc/passwd', 'user-database', 'start', `USER ${user}`, `USER ${user} is a name: the runtime looks it up in /etc/passwd`);
    const group = user.split(':')[1];
    if (group === undefined || !/^\d+$/.test(group))
      c.addPath(
        '/etc/group',
        'user-database',
        'start',
        `USER ${user}`,
        'the runtime reads the supplementary groups of the user from /etc/group',
      );
    // a user database without the name is as good as none: the build stage's, whole
    if (/: no matching entries in (passwd|group) file$/.test(checkUser(tree, user).runtimeError ?? ''))
      for (const f of c.files.values()) if (f.role === 'user-database' && f.present) f.stale = true;
  }

  /**
   * The program at `first` (its #! chain, loader, libraries, and with `runtime` what it opens
   * once running) into the collector. A shell that only runs a script's program is followed
   * without the files it would open itself (NSS for ~user, zoneinfo for its date applet).
   */
  const follow = (first: string, firstWhy: string, runtime = true, runEnv = env) => {
    // The executable, then each #! interpreter (the kernel's chain), down to an ELF program.
    let path = first;
    let role: ClosureRole = 'executable';
    let by: string | null = null;
    let program: { path: string; info: ElfInfo; node: Node } | null = null;
    for (let depth = 0; depth < MAX_SCRIPT_DEPTH; depth++) {
      const node = c.addPath(path, role, 'start', by, role === 'executable' ? firstWhy : `the #! interpreter of ${by}`);
      if (!node) break;
      const real = resolvePath(tree, path);
      const realPath = real.ok ? real.path : path;
      const d = catalog.of(node);
      if (d) {
        if (d.ok) program = { path: realPath, info: d.info, node };
        break;
      }
      const sb = parseShebang(contentHead(node.content, 256));
      if (!sb || !sb.interpreter) {
        if (depth === 0 && opts.path && first === start && node.type !== 'dir')
          throw new ScopeError('usage', `${opts.path}: not a program (neither an ELF file nor a #! script), so it has no closure`);
        break;
      }
      const base = sb.interpreter.slice(sb.interpreter.lastIndexOf('/') + 1);
      by = realPath;
      if (base === 'env' && sb.arg) {
        c.addPath(sb.interpreter, 'script-interpreter', 'start', by, `the #! interpreter of ${by}`);
        // env is a program of its own before it runs the next: its loader and libraries too
        follow(sb.interpreter, `the #! interpreter of ${by}`, false, runEnv);
        const call = envProgram(sb.arg, env);
        if (!call) break;
        const prog = call.prog;
        const found = lookPath(tree, prog, [...env, ...call.assigns], cwd, undefined, false); // env's execvp: no ErrDot
        if (!found.ok) {
          c.add({
            path: prog,
            type: 'file',
            linkTarget: null,
            size: 0,
            layer: null,
            present: false,
            role: 'script-interpreter',
            when: 'start',
            probable: false,
            neededBy: by,
            why: `${sb.interpreter} runs ${prog}, found through PATH`,
          });
          break;
        }
        path = found.path;
      } else path = sb.interpreter;
      role = 'script-interpreter';
    }

    let libc: LoaderKind = 'unknown';
    let load: LoadResult | null = null;
    if (program) {
      libc = program.info.static ? 'static' : program.info.libc === 'musl' ? 'musl' : program.info.libc === 'glibc' ? 'glibc' : 'unknown';
      if (program.info.interpreter) {
        c.addPath(program.info.interpreter, 'loader', 'start', program.path, `PT_INTERP of ${program.path}: the kernel maps this loader`);
        load = resolveProgram(loaderContext(model, catalog, runEnv), program.path, program.info);
        libc = load.loader;
        const loaderName = program.info.interpreter.slice(program.info.interpreter.lastIndexOf('/') + 1);
        for (const dep of load.dependencies) {
          if (dep.via === 'musl-libc' || dep.via === 'loaded') continue;
          // libc names the loader in DT_NEEDED: the loader the kernel mapped answers it
          if (dep.name === loaderName) continue;
          if (dep.resolved)
            c.addPath(
              dep.resolved,
              'library',
              'start',
              dep.requiredBy,
              `DT_NEEDED ${dep.name} of ${dep.requiredBy}, found through ${dep.via}`,
            );
          else missingLibraries.push({ name: dep.name, neededBy: dep.requiredBy, searched: dep.searched });
        }
      }
      // CPython imports its standard library's encodings before anything else: the folder, when the image has none
      const stdlib = pythonStdlib({ catalog, tree }, program.path, program.node);
      if (stdlib && !stdlib.present())
        c.addPath(
          stdlib.dir,
          'stdlib',
          'start',
          program.path,
          `${program.path} is CPython 3.${stdlib.minor}: it imports its standard library first`,
        );
      for (const need of runtime ? runtimeNeeds({ tree, catalog, env, model, program, load, libc }) : []) {
        c.addPath(need.path, need.role, 'runtime', need.neededBy, need.why, need.probable);
      }
    }
    return { program, load, libc };
  };
  const missingLibraries: Closure['missingLibraries'] = [];
  // a shell form, an init program, env: each runs the next program in turn, which must start
  // too; only the last is followed for what it opens once running
  const ran = hops.filter((h, i) => h.path !== (i === 0 ? start : hops[i - 1]!.path));
  let { program, load, libc } = follow(start, 'the command the runtime executes', ran.length === 0);
  for (const h of hops)
    for (const r of h.reads)
      c.addPath(
        r.path,
        r.role,
        'start',
        h.runner,
        r.role === 'script' ? `${h.runner} reads it: the script it runs` : `${h.runner} looks the user it switches to up in ${r.path}`,
      );
  for (const [i, h] of ran.entries())
    ({ program, load, libc } = follow(
      h.path,
      `the program ${h.runner} runs in turn (its script's, an init program's, or env's)`,
      i === ran.length - 1,
      h.env,
    ));

  const files = [...c.files.values()];
  const rank = (f: ClosureFile) => (f.when === 'start' ? 0 : f.probable ? 2 : 1);
  files.sort((a, b) => rank(a) - rank(b));
  let bytes = 0;
  for (const f of files) if (f.present && !f.probable && f.type !== 'symlink') bytes += f.size;
  const imageBytes = fileBytes(tree.root);
  const loaderMissing = files.some((f) => f.role === 'loader' && !f.present);
  const triplet = program && libc === 'glibc' ? TRIPLETS[program.info.machine] : undefined;
  const stageLibDir = loaderMissing && triplet ? `/lib/${triplet}` : null;
  const closure: Closure = {
    program: program?.path ?? start,
    libc,
    files,
    bytes,
    imageBytes,
    missingLibraries,
    searchDirs: load?.defaultDirs ?? [],
    stageLibDir,
  };
  return { closure, program: program ? { path: program.path, info: program.info } : null, user: name && !/^\d+$/.test(name) ? user : null };
}

/**
 * What to copy for a Dockerfile: with `all` (a FROM scratch stage) every file the closure
 * counts, under each name it is opened by; else only what is missing, where this image's
 * loader will look for it (the first folder it searched).
 */
export function closureCopies(c: Closure, all: boolean): CopyItem[] {
  const items: CopyItem[] = [];
  for (const f of c.files) {
    if (f.probable || f.type === 'symlink') continue;
    // a scratch stage takes everything from the build stage, what this image lacks included
    if (!all && f.present && !f.stale) continue;
    for (const n of f.openedAs.length ? f.openedAs : [f.path]) {
      // a name env looks up in PATH, or a #! interpreter with a carriage return: no file to copy cures it
      if (!n.startsWith('/') || /[\r\n]/.test(n)) continue;
      items.push({ from: n, to: n, dir: f.type === 'dir' });
    }
  }
  for (const m of c.missingLibraries) {
    const at = c.stageLibDir
      ? `${c.stageLibDir}/${m.name}`
      : (m.searched.find((p) => c.searchDirs.some((d) => p === `${d.replace(/\/$/, '')}/${m.name}`)) ??
        m.searched[0] ??
        `${(c.searchDirs[0] ?? '/usr/lib').replace(/\/$/, '')}/${m.name}`);
    if (!items.some((i) => i.to === at)) items.push({ from: at, to: at, dir: false });
  }
  return items;
}

/** Missing files no COPY line supplies, each with what to do instead (a comment line for --dockerfile). */
export function closureUncopyable(c: Closure): string[] {
  const notes: string[] = [];
  for (const f of c.files) {
    if (f.present || f.probable) continue;
    if (/[\r\n]/.test(f.path))
      notes.push(
        `# ${f.neededBy[0] ?? 'the script'} has Windows line ends: its #! line asks for ${JSON.stringify(f.path)}; convert it (dos2unix) rather than copy anything`,
      );
    else if (!f.path.startsWith('/'))
      notes.push(`# ${f.why}, and PATH has none: install ${f.path} in the image (a runtime is more than one file to COPY)`);
  }
  return notes;
}

/** Bytes of the regular files under a node: no paths built, no names sorted (the sum needs neither). */
function fileBytes(root: Node): number {
  let bytes = 0;
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === 'file') bytes += n.size;
    if (n.children) for (const c of n.children.values()) stack.push(c);
  }
  return bytes;
}

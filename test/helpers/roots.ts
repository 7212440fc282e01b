/**
 * Small root filesystems built at test time from real toolchains: gcc and musl-gcc
 * programs and libraries, the host's own glibc and musl loaders. The real loader,
 * run in a chroot of the same root, is the expected answer.
 */
import { type SpawnSyncReturns, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BinaryCatalog } from '../../src/elf/catalog.js';
import { loadImage } from '../../src/load.js';
import { resolvePath } from '../../src/fs/index.js';
import { type LoadResult, resolveProgram } from '../../src/loader/index.js';
import { loaderContext } from '../../src/diagnose/context.js';

export function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

export function put(root: string, path: string, from: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  copyFileSync(from, join(root, path));
}

export function link(root: string, path: string, target: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(target, join(root, path));
}

export function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** A Debian-layout root with this machine's glibc loader and libc. */
export function glibcRoot(root: string): void {
  put(root, '/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6');
  put(root, '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
  link(root, '/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
}

/** A root with Debian's musl loader (which is also its libc). */
export function muslRoot(root: string): void {
  put(root, '/lib/ld-musl-x86_64.so.1', '/lib/x86_64-linux-musl/libc.so');
}

/**
 * Debian's busybox, unpacked to `dir`: busybox-static (built to run its applets without links,
 * as FEATURE_SH_STANDALONE does) or the plain dynamic one (applets only through links, as Alpine's).
 */
export function debianBusybox(dir: string, pkg: 'busybox-static' | 'busybox' = 'busybox-static'): string {
  return `${debianPackage(dir, pkg)}/bin/busybox`;
}

/** A Debian package's files, unpacked to `dir`/`pkg` (apt-get download, as the suites get their programs). */
export function debianPackage(dir: string, pkg: string): string {
  const out = `${dir}/${pkg}`;
  const get = `apt-get download -qq ${pkg}:amd64`;
  execFileSync('sh', ['-c', `${get} 2>/dev/null || (apt-get update -qq && ${get})`], { cwd: dir, stdio: 'ignore' });
  execFileSync('sh', ['-c', `dpkg-deb -x ${pkg}_*.deb ${out} && rm -f ${pkg}_*.deb`], { cwd: dir, stdio: 'ignore' });
  return out;
}

export function available(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export interface Listing {
  /** name -> path, when everything loads. */
  list: Map<string, string>;
  /** The library the loader stops at, and its words; it then lists nothing. */
  error: { name: string; message: string } | null;
}

/** What the real loader says for `prog` inside `root`. */
export function realList(root: string, interp: string, prog: string, libraryPath?: string): Listing {
  const args = [root, interp, ...(libraryPath ? ['--library-path', libraryPath] : []), '--list', prog];
  const r = spawnSync('chroot', args, { encoding: 'utf8' });
  const out: Listing = { list: new Map(), error: null };
  const text = `${r.stdout}\n${r.stderr}`;
  const glibc = /error while loading shared libraries: (\S+): (.*)/.exec(text);
  const musl = /Error loading shared library (\S+): (.*) \(needed by/.exec(text);
  if (glibc || musl) {
    const m = (glibc ?? musl)!;
    out.error = { name: m[1]!, message: m[2]! }; // both groups are not optional
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^\s+(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (m && !out.list.has(m[1]!)) out.list.set(m[1]!, m[2]!);
  }
  return out;
}

/**
 * Runs `prog` in a chroot of `root` with /proc mounted in a private mount namespace, as
 * a container would have it (ld.so finds $ORIGIN of the program through /proc/self/exe).
 */
export function realRun(root: string, prog: string): { status: number | null; stderr: string } {
  mkdirSync(join(root, 'proc'), { recursive: true });
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t proc proc "$1/proc" && exec chroot "$1" "$2"', 'sh', root, prog], {
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr };
}

/** The same from scratchscope's loader: the first failure, or the list (the interpreter's own entry left out, as ld.so does). */
export function ourList(r: LoadResult): Listing {
  const failed = r.dependencies.find((d) => d.error);
  // glibc names the file when it opened one it cannot load, musl always the needed name
  if (failed)
    return { list: new Map(), error: { name: (r.loader === 'glibc' && failed.errorPath) || failed.name, message: failed.error! } };
  const list = new Map<string, string>();
  for (const d of r.dependencies) {
    if (list.has(d.name)) continue;
    if (d.via === 'loaded' && d.resolved === r.interpreter?.path) continue;
    list.set(d.name, d.resolved!);
  }
  return { list, error: null };
}

export async function resolveIn(root: string, prog: string, env: string[] = []): Promise<LoadResult> {
  const m = await loadImage(root, { analysis: true });
  try {
    const catalog = new BinaryCatalog(m.tree, m.decoded);
    const r = resolvePath(m.tree, prog);
    const d = r.ok ? catalog.of(r.node) : null;
    if (!d || !d.ok) throw new Error(`${prog}: ${d ? d.error : 'not ELF'}`);
    return resolveProgram({ ...loaderContext(m, catalog), env }, prog, d.info);
  } finally {
    await m.close();
  }
}

/** An image config that runs `argv` as its entrypoint as `user`: for a USER, which --entrypoint cannot give. */
export function configAs(argv: string[], user: string) {
  return {
    os: 'linux',
    architecture: 'amd64',
    variant: null,
    cmd: null,
    workingDir: '/',
    exposedPorts: [],
    labels: {},
    stopSignal: null,
    entrypoint: [...argv],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    user,
  };
}

/**
 * The small gcc programs the runner suites start, built into `dir`: ok.c ("started"), ok-static,
 * ok-noloader (a PT_INTERP that no image has), libx.so.1 and ok-needsx (which calls into it).
 */
export function okPrograms(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/ok.c`, '#include <stdio.h>\nint main(void) { puts("started"); return 0; }\n');
  sh('gcc', ['-O1', '-static', '-o', `${dir}/ok-static`, `${dir}/ok.c`]);
  sh('gcc', ['-O1', '-Wl,--dynamic-linker=/lib/ld-elsewhere.so.2', '-o', `${dir}/ok-noloader`, `${dir}/ok.c`]);
  writeFileSync(`${dir}/x.c`, 'int x(void) { return 0; }\n');
  sh('gcc', ['-O1', '-shared', '-fPIC', '-Wl,-soname,libx.so.1', '-o', `${dir}/libx.so.1`, `${dir}/x.c`]);
  writeFileSync(`${dir}/usex.c`, 'int x(void);\nint main(void) { return x(); }\n');
  sh('gcc', ['-O1', '-o', `${dir}/ok-needsx`, `${dir}/usex.c`, `${dir}/libx.so.1`]);
}

/** `argv` run in a chroot of `root` (as `user` when given) with /proc mounted, as a container has it. */
export function runWithProc(root: string, argv: string[], user?: string): SpawnSyncReturns<string> {
  mkdirSync(`${root}/proc`, { recursive: true });
  sh('mount', ['-t', 'proc', 'proc', `${root}/proc`]);
  try {
    return spawnSync('chroot', [...(user ? [`--userspec=${user}`] : []), root, ...argv], {
      encoding: 'utf8',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
  } finally {
    sh('umount', [`${root}/proc`]);
  }
}

/**
 * What a program is likely to open once it runs, beyond what the loader maps at start:
 * each need comes with the evidence (a function it imports, a string it carries), since
 * none of it is certain until the code path runs.
 */
import type { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { type Bytes, type MergedTree, type Node, openBytes, readSmallFile, resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { GLIBC_INTERP, type LoadResult, type LoaderKind, TRIPLETS, resolveProgram } from '../loader/index.js';
import { loaderContext } from '../diagnose/context.js';
import { CA_FILES, TLS_LIBS, TLS_MARKERS, ZONE_MARKERS, scanNode } from '../diagnose/warnings.js';
import { envValue } from '../source/config.js';
import type { ClosureRole } from './index.js';

export interface RuntimeNeed {
  path: string;
  role: ClosureRole;
  neededBy: string;
  why: string;
  probable: boolean;
}

export interface RuntimeFacts {
  tree: MergedTree;
  catalog: BinaryCatalog;
  env: string[];
  model: ImageModel;
  program: { path: string; info: ElfInfo; node: Node };
  load: LoadResult | null;
  libc: LoaderKind;
}

/** libc functions that consult NSS (/etc/nsswitch.conf and the libnss_* modules it names). */
const NSS_CALLS = [
  'getpwnam',
  'getpwuid',
  'getgrnam',
  'getgrgid',
  'getaddrinfo',
  'gethostbyname',
  'getservbyname',
  'getprotobyname',
  'initgroups',
  'getgrouplist',
  'getspnam',
];
/**
 * Where glibc loads gconv modules from: the folder built into its libc (GCONV_PATH's default,
 * /usr/lib/x86_64-linux-gnu/gconv on Debian, whatever folder the libc itself sits in), read
 * from the image's libc; without one, Debian's for the machine. Null when neither says.
 */
function gconvDir(tree: MergedTree, libcPath: string | null, machine: string): string | null {
  const r = libcPath ? resolvePath(tree, libcPath) : null;
  if (r?.ok && r.node.content && r.node.content.size <= 64 << 20) {
    const b = openBytes(r.node.content);
    try {
      const m = /\0(\/[\w.+/-]*\/gconv)\0/.exec(b.read(0, r.node.content.size).toString('latin1'));
      if (m?.[1]) return m[1];
    } finally {
      b.release();
    }
  }
  const triplet = TRIPLETS[machine];
  return triplet ? `/usr/lib/${triplet}/gconv` : null;
}

/** C library calls that turn time into local time (and so read TZ's zone file). */
const LOCALTIME_CALLS = ['localtime', 'mktime', 'strftime', 'tzset', 'ctime'];

/**
 * The zone file TZ names (glibc's and musl's reading): a name under /usr/share/zoneinfo, or an
 * absolute path, a leading ':' dropped. Null for a POSIX rule ("CET-1CEST,M3.5.0…", "UTC0"),
 * which names no file, and for no TZ.
 */
function zoneFileOf(tz: string | null): string | null {
  if (!tz) return null;
  const name = tz.startsWith(':') ? tz.slice(1) : tz;
  if (!name || name.includes('..') || /^[A-Za-z]{3,}[+-]?\d|,/.test(name)) return null;
  return name.startsWith('/') ? name : `/usr/share/zoneinfo/${name}`;
}

/** The NSS calls that read the user and group databases. */
const USER_CALLS = ['getpwnam', 'getpwuid', 'getgrnam', 'getgrgid', 'initgroups', 'getgrouplist'];

/** GLIBC_2.34 or a later version name. */
function newer234(v: string): boolean {
  const m = /^GLIBC_2\.(\d+)/.exec(v);
  return m !== null && Number(m[1]) >= 34;
}

/** glibc dlopens libgcc_s.so.1 to unwind a thread on pthread_cancel and pthread_exit. */
const UNWIND_CALLS = ['pthread_cancel', 'pthread_exit'];
const ICONV_CALLS = ['iconv_open'];
const DLOPEN_CALLS = ['dlopen', 'dlmopen'];
/** glibc >= 2.34 has the files and dns services inside libc itself. */
const BUILTIN_NSS = new Set(['files', 'dns']);
const MAX_DLOPEN_NAMES = 64;

/** NSS services named for the databases a program is likely to ask, from nsswitch.conf or glibc's defaults. */
function nssServices(tree: MergedTree): { services: Set<string>; conf: boolean } {
  const r = resolvePath(tree, '/etc/nsswitch.conf');
  const text = r.ok ? (readSmallFile(r.node.content)?.toString('utf8') ?? null) : null;
  const services = new Set<string>();
  if (text === null) {
    // glibc's built-in default when there is no nsswitch.conf: files, then dns for hosts
    for (const s of ['files', 'dns']) services.add(s);
    return { services, conf: false };
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(passwd|group|shadow|hosts|services|protocols|networks|initgroups)\s*:\s*(.*)$/.exec(line.replace(/#.*/, ''));
    if (!m) continue;
    for (const w of (m[2] ?? '').split(/\s+/)) if (w && !w.startsWith('[')) services.add(w);
  }
  return { services, conf: true };
}

/** Names of shared objects written in a file's strings (what a program may hand to dlopen). */
function soNames(bytes: Bytes, limit = 256 << 20): Set<string> {
  const found = new Set<string>();
  const re = /lib[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*\.so(?:\.[0-9]+)*/g;
  const chunk = 1 << 20;
  const end = Math.min(bytes.size, limit);
  for (let off = 0; off < end && found.size < MAX_DLOPEN_NAMES; off += chunk) {
    const text = bytes.read(off, Math.min(chunk + 255, end - off)).toString('latin1');
    for (const m of text.matchAll(re)) {
      // a name cut by the chunk's end is found whole in the next chunk's overlap
      if ((m.index ?? 0) + m[0].length >= text.length) continue;
      found.add(m[0]);
    }
  }
  return found;
}

export function runtimeNeeds(f: RuntimeFacts): RuntimeNeed[] {
  const out: RuntimeNeed[] = [];
  const { tree, program, load } = f;
  const info = program.info;
  const glibc = f.libc === 'glibc' || (info.static && info.libc === 'glibc');
  // the image's libc, where the loader found it (its version and its gconv folder are read from it)
  const libcPath = load?.dependencies.find((d) => /^libc\.so/.test(d.name) && d.realPath)?.realPath ?? null;
  // The program and the libraries it loads (not libc itself, which names every function).
  const objects: { path: string; node: Node; info: ElfInfo | null }[] = [{ path: program.path, node: program.node, info }];
  for (const d of load?.dependencies ?? []) {
    if (!d.resolved || d.via === 'loaded' || /^lib(c|m|pthread|dl|rt)\.so/.test(d.name)) continue;
    const r = resolvePath(tree, d.resolved);
    if (r.ok) objects.push({ path: d.resolved, node: r.node, info: null });
  }
  const calls = new Map<string, string>(); // needle -> first object that names it
  const wanted = [...NSS_CALLS, ...UNWIND_CALLS, ...ICONV_CALLS, ...DLOPEN_CALLS, ...TLS_MARKERS, ...ZONE_MARKERS, ...LOCALTIME_CALLS];
  for (const o of objects) for (const s of scanNode(o.node, wanted)) if (!calls.has(s)) calls.set(s, o.path);
  const first = (list: string[]) => list.map((s) => [s, calls.get(s)] as const).find(([, by]) => by);

  // A library looked up the way the loader (or glibc's dlopen) would from the program.
  const ctx = loaderContext(f.model, f.catalog);
  const interp = info.interpreter ?? GLIBC_INTERP[info.machine] ?? null;
  const lookup = (name: string): string | null => {
    if (!interp) return null;
    const r = resolveProgram(ctx, program.path, { ...info, interpreter: interp, needed: [name] });
    return r.dependencies[0]?.resolved ?? null;
  };
  const libDir = (): string => {
    const libc = load?.dependencies.find((d) => /^libc\.so/.test(d.name) && d.resolved);
    if (libc?.realPath) return libc.realPath.slice(0, libc.realPath.lastIndexOf('/'));
    return load?.defaultDirs[0]?.replace(/\/$/, '') ?? '/usr/lib';
  };

  const nss = first(NSS_CALLS) ?? (info.staticNss ? (['NSS', program.path] as const) : undefined);
  if (glibc && nss) {
    const [call, by] = nss;
    const { services, conf } = nssServices(tree);
    if (conf)
      out.push({
        path: '/etc/nsswitch.conf',
        role: 'nss',
        neededBy: by!,
        why: `${by} calls ${call}, which reads /etc/nsswitch.conf for its sources`,
        probable: false,
      });
    const libcInfo = libcPath ? f.catalog.at(libcPath) : null;
    // the image's libc says; without one, the program does: built against 2.34 or later, it
    // needs a libc that new (whatever supplies it will have files and dns inside)
    const builtin = libcInfo?.ok
      ? libcInfo.info.versionDefs.includes('GLIBC_2.34')
      : info.versionNeeds.some((v) => v.versions.some(newer234));
    for (const s of services) {
      if (builtin && BUILTIN_NSS.has(s)) continue;
      const name = `libnss_${s}.so.2`;
      out.push({
        path: lookup(name) ?? `${libDir()}/${name}`,
        role: 'nss',
        neededBy: by!,
        why: `${by} calls ${call}; NSS service "${s}"${conf ? ' in /etc/nsswitch.conf' : ' (glibc default)'} loads ${name}`,
        probable: false,
      });
    }
    for (const db of ['/etc/passwd', '/etc/group', '/etc/hosts']) {
      if (!services.has('files')) continue;
      // a user database the program asks for by name or id is needed even where the image has
      // none (nginx's getpwnam("nobody") fails, and it exits); the hosts file only where it is
      const asks = db === '/etc/hosts' ? null : first(USER_CALLS);
      if (resolvePath(tree, db).ok)
        out.push({ path: db, role: 'nss', neededBy: by!, why: `the "files" service reads ${db}`, probable: false });
      else if (asks)
        out.push({
          path: db,
          role: 'nss',
          neededBy: asks[1]!,
          why: `${asks[1]} calls ${asks[0]}, which the "files" service answers from ${db}`,
          probable: false,
        });
    }
  }

  const tls =
    first(TLS_MARKERS) ??
    (load?.dependencies.find((d) => TLS_LIBS.test(d.name))
      ? ([load.dependencies.find((d) => TLS_LIBS.test(d.name))!.name, program.path] as const)
      : undefined);
  if (tls) {
    const configured = envValue(f.env, 'SSL_CERT_FILE');
    const bundle = configured ?? CA_FILES.find((p) => resolvePath(tree, p).ok) ?? CA_FILES[0];
    out.push({
      path: bundle,
      role: 'ca-certificates',
      neededBy: tls[1]!,
      why: `${tls[1]} does TLS (${tls[0]}): it verifies peers against the CA bundle ${bundle}`,
      probable: false,
    });
  }

  const zone = first(ZONE_MARKERS);
  const tzFile = zoneFileOf(envValue(f.env, 'TZ'));
  const local = first(LOCALTIME_CALLS);
  if (zone && !envValue(f.env, 'ZONEINFO')) {
    out.push({
      path: '/usr/share/zoneinfo',
      role: 'zoneinfo',
      neededBy: zone[1]!,
      why: `${zone[1]} loads time zones (${zone[0]})`,
      probable: false,
    });
  } else if (tzFile && local && f.libc !== 'static') {
    // TZ names a zone: the C library reads its file the first time local time is asked for
    out.push({
      path: tzFile,
      role: 'zoneinfo',
      neededBy: local[1]!,
      why: `${local[1]} calls ${local[0]}, and TZ names the zone whose file it reads`,
      probable: false,
    });
  }

  if (glibc && !info.static) {
    const iconv = first(ICONV_CALLS);
    if (iconv)
      out.push({
        path: gconvDir(f.tree, libcPath, info.machine) ?? `${libDir()}/gconv`,
        role: 'gconv',
        neededBy: iconv[1]!,
        why: `${iconv[1]} calls iconv_open, which loads gconv modules for other character sets`,
        probable: false,
      });
    const unwind = first(UNWIND_CALLS);
    const hasGccS = load?.dependencies.some((d) => d.name === 'libgcc_s.so.1' && d.resolved);
    if (unwind && !hasGccS)
      out.push({
        path: lookup('libgcc_s.so.1') ?? `${libDir()}/libgcc_s.so.1`,
        role: 'unwinder',
        neededBy: unwind[1]!,
        why: `${unwind[1]} calls ${unwind[0]}: glibc loads libgcc_s.so.1 to unwind the thread, and aborts without it`,
        probable: false,
      });
  }

  const dl = first(DLOPEN_CALLS);
  if (dl && interp) {
    const known = new Set([...(load?.dependencies.map((d) => d.name) ?? []), ...out.map((o) => o.path.slice(o.path.lastIndexOf('/') + 1))]);
    const b = program.node.content ? openBytes(program.node.content) : null;
    try {
      for (const name of b ? soNames(b) : []) {
        if (known.has(name) || /^(libc|libm|libdl|libpthread|librt|ld-linux.*)\.so/.test(name)) continue;
        const at = lookup(name);
        if (at)
          out.push({
            path: at,
            role: 'dlopen',
            neededBy: program.path,
            why: `${program.path} calls ${dl[0]} and names ${name}: probably loaded at run time`,
            probable: true,
          });
      }
    } finally {
      b?.release();
    }
  }
  return out;
}

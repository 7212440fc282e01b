/**
 * repair: a new image that starts. The original layers stay as they are; one layer is
 * added with whole files from a donor (an image or a root folder): the loader, missing
 * libraries, a newer libc with its loader, the user database. Each round diagnoses the
 * image as repaired so far, exactly as `inspect` would, and adds what the next failure
 * needs; the image is written only once it starts. What files cannot fix is refused.
 */
import { join } from 'node:path';
import { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { ScopeError } from '../errors.js';
import { resolvePath } from '../fs/index.js';
import { type ImageModel, loadOpened } from '../load.js';
import { GLIBC_INTERP, MUSL_ARCH, resolveProgram, type LoadResult } from '../loader/index.js';
import { loaderContext } from '../diagnose/context.js';
import { diagnose, type Diagnostic } from '../diagnose/index.js';
import { checkUser } from '../diagnose/user.js';
import type { OpenedImage } from '../source/types.js';
import { type Addition, type NewLayer, type WrittenEntry, buildLayer } from './layer.js';
import { type ImageFormat, type LayerBytes, writeImage } from './write.js';

export interface RepairOptions {
  format: ImageFormat;
  out: string;
  name: string | null;
  /** What the history entry says the donor was. */
  donorName: string;
  tempDir: string;
}

export interface RepairResult {
  /** The errors of the original image, which the repair answers. */
  fixed: Diagnostic[];
  added: WrittenEntry[];
  rounds: number;
  out: string;
  format: ImageFormat;
}

const MAX_ROUNDS = 8;
/** glibc's own libraries: they and its loader must all come from one build. */
const GLIBC_FAMILY =
  /^(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale|libthread_db|libc_malloc_debug|libnss_[a-z]+)\.so(\.|$)|^ld-linux[-\w]*\.so\.\d$|^ld64\.so\.\d$/;
const FIXABLE = new Set(['interpreter-missing', 'library-missing', 'symbol-version-missing', 'user-missing']);

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** The program the image's command runs, decoded, and what its loader makes of the image. */
function programOf(
  model: ImageModel,
  catalog: BinaryCatalog,
  executable: string | null,
): { path: string; info: ElfInfo; load: LoadResult | null } | null {
  if (!executable) return null;
  const r = resolvePath(model.tree, executable);
  const d = r.ok ? catalog.of(r.node) : null;
  if (!r.ok || !d?.ok) return null;
  const load = d.info.interpreter ? resolveProgram(loaderContext(model, catalog), r.path, d.info) : null;
  return { path: r.path, info: d.info, load };
}

/**
 * Where the donor's loader finds `name` for the object that needs it: searched with that
 * object's own rpath and $ORIGIN (a plugin's libraries sit beside it), then as the program
 * would search for it.
 */
function donorLibrary(
  donor: ImageModel,
  dcat: BinaryCatalog,
  prog: { path: string; info: ElfInfo },
  name: string,
  requester: { path: string; info: ElfInfo } | null = null,
): string | null {
  const ctx = loaderContext(donor, dcat);
  for (const by of requester && requester.path !== prog.path ? [requester, prog] : [prog]) {
    const info = by === prog ? by.info : { ...by.info, interpreter: by.info.interpreter ?? prog.info.interpreter };
    const r = resolveProgram(ctx, by.path, { ...info, needed: [name] });
    const found = r.dependencies[0]?.resolved;
    if (found) return found;
  }
  return null;
}

/** The decoded object at `path` in the image (a library that needs another), if it is one. */
function objectAt(model: ImageModel, catalog: BinaryCatalog, path: string): { path: string; info: ElfInfo } | null {
  const r = resolvePath(model.tree, path);
  const d = r.ok ? catalog.of(r.node) : null;
  return d?.ok ? { path, info: d.info } : null;
}

/** What the next round adds for each error; throws for one files cannot fix. */
function plan(model: ImageModel, donor: ImageModel, errors: Diagnostic[], executable: string | null, donorName: string): Addition[] {
  const catalog = new BinaryCatalog(model.tree, model.decoded);
  const dcat = new BinaryCatalog(donor.tree, donor.decoded);
  const prog = programOf(model, catalog, executable);
  const adds: Addition[] = [];
  const lacks = (what: string) =>
    new ScopeError('not-found', `${donorName} cannot supply ${what}, so repair cannot fix the image; nothing was written`);
  // A symbol a missing library would define is no failure of its own yet: look again once it is there.
  const filesMissing = errors.some((e) =>
    /^(library|interpreter)-missing$/.test(e.code === 'shell-command-fails' || e.code === 'init-command-fails' ? (e.cause ?? '') : e.code),
  );
  for (const found of errors) {
    // the shell could not run the script's program: the cure is its cause's
    const e =
      (found.code === 'shell-command-fails' || found.code === 'init-command-fails') && found.cause
        ? { ...found, code: found.cause }
        : found;
    if (filesMissing && (e.code === 'symbol-missing' || e.code === 'symbol-version-missing')) continue;
    if (!FIXABLE.has(e.code))
      throw new ScopeError(
        'unsupported',
        `repair adds files, and this failure is not one files fix: [${e.code}] ${e.message}; nothing was written`,
      );
    if (e.code === 'user-missing') {
      const user = model.config?.user ?? '';
      if (resolvePath(model.tree, '/etc/passwd').ok)
        throw new ScopeError(
          'unsupported',
          `the image has an /etc/passwd without the user of USER ${user}; repair does not edit files: add the user in the build (or use numeric ids); nothing was written`,
        );
      if (!checkUser(donor.tree, user).ok) throw lacks(`the user of USER ${user} (its /etc/passwd does not define it)`);
      adds.push({ to: '/etc/passwd', from: '/etc/passwd', why: `USER ${user}: the runtime looks the user up in /etc/passwd` });
      if (resolvePath(donor.tree, '/etc/group').ok)
        adds.push({ to: '/etc/group', from: '/etc/group', why: `USER ${user}: the runtime reads the groups from /etc/group` });
      continue;
    }
    if (!prog)
      throw new ScopeError(
        'unsupported',
        `[${e.code}] ${e.message}: the program cannot be decoded, so repair cannot tell what it needs; nothing was written`,
      );
    const interp = prog.info.interpreter;
    if (e.code === 'interpreter-missing' && interp) {
      // at the path PT_INTERP names, else (a custom one: --dynamic-linker=/app/lib/ld.so) the
      // donor's loader of the program's C library and machine, copied to that path
      const usual =
        prog.info.libc === 'musl'
          ? `/lib/ld-musl-${MUSL_ARCH[prog.info.machine] ?? prog.info.machine}.so.1`
          : GLIBC_INTERP[prog.info.machine];
      const from = [interp, usual].find((p): p is string => {
        if (!p) return false;
        const r = resolvePath(donor.tree, p);
        const d = r.ok ? dcat.of(r.node) : null;
        return d?.ok === true && d.info.machine === prog.info.machine;
      });
      if (!from) throw lacks(`the loader ${interp} for ${prog.info.machine}`);
      adds.push({ to: interp, from, why: `the loader ${prog.path} names in PT_INTERP` });
    }
    if (e.code === 'library-missing') {
      for (const dep of prog.load?.dependencies ?? []) {
        if (!dep.error || adds.some((a) => base(a.to) === dep.name)) continue;
        const from = donorLibrary(donor, dcat, prog, dep.name, objectAt(model, catalog, dep.requiredBy));
        if (!from) throw lacks(`${dep.name} (for ${prog.info.machine}, ${prog.info.libc})`);
        const dirs = (prog.load?.defaultDirs ?? []).map((d) => d.replace(/\/$/, ''));
        const to = dep.searched.includes(from)
          ? from
          : (dep.searched.find((p) => dirs.some((d) => p === `${d}/${dep.name}`)) ?? `${dirs[0] ?? '/usr/lib'}/${dep.name}`);
        adds.push({ to, from, why: `${dep.requiredBy} needs ${dep.name}` });
      }
    }
    if (e.code === 'symbol-version-missing') {
      const v = prog.load?.versionProblems.find((p) => !p.weak);
      if (!v) continue;
      if (GLIBC_FAMILY.test(base(v.library)) && interp) {
        // A newer glibc: every library of it the program loads, and its loader, together.
        for (const dep of prog.load?.dependencies ?? []) {
          if (!dep.resolved || !GLIBC_FAMILY.test(dep.name) || adds.some((a) => a.to === dep.resolved)) continue;
          const from = donorLibrary(donor, dcat, prog, dep.name);
          if (!from) throw lacks(dep.name);
          adds.push({ to: dep.resolved, from, why: `${v.requiredBy} needs ${v.version}: a newer glibc, replaced whole` });
        }
        const li = resolvePath(donor.tree, interp);
        if (!li.ok) throw lacks(`the loader ${interp} that goes with its glibc`);
        if (!adds.some((a) => a.to === interp))
          adds.push({ to: interp, from: interp, why: `the loader of the newer glibc (it must match libc.so.6)` });
        const donorLibc = donorLibrary(donor, dcat, prog, 'libc.so.6');
        const dl = donorLibc ? resolvePath(donor.tree, donorLibc) : null;
        const di = dl?.ok ? dcat.of(dl.node) : null;
        if (!di?.ok || !di.info.versionDefs.includes(v.version)) throw lacks(`${v.version} (its glibc is not newer)`);
      } else {
        const from = donorLibrary(donor, dcat, prog, base(v.library));
        const fr = from ? resolvePath(donor.tree, from) : null;
        const fd = fr?.ok ? dcat.of(fr.node) : null;
        if (!from || !fd?.ok || !fd.info.versionDefs.includes(v.version)) throw lacks(`${base(v.library)} with ${v.version}`);
        adds.push({ to: v.library, from, why: `${v.requiredBy} needs ${v.version} of ${base(v.library)}` });
      }
    }
  }
  return adds;
}

/** The target's layers, plus one, as an image the loader stages read (no bytes copied). */
function withLayer(target: ImageModel, layer: NewLayer | null): OpenedImage {
  const layers = [...target.opened.layers];
  if (layer)
    layers.push({
      index: layers.length,
      digest: null,
      diffId: layer.diffId,
      mediaType: null,
      blob: { file: layer.file, offset: 0, size: layer.size },
      dir: null,
    });
  return { ...target.opened, layers, close: async () => {} };
}

export async function repairImage(target: ImageModel, donor: ImageModel, opts: RepairOptions): Promise<RepairResult> {
  if (!target.opened.configRaw || typeof target.opened.configRaw !== 'object')
    throw new ScopeError(
      'unsupported',
      `${target.source.reference} has no image config (a plain root filesystem): there is no command to repair`,
    );
  if (target.opened.layers.some((l) => l.blob !== null && l.blob.file === null)) {
    throw new ScopeError(
      'unsupported',
      `repair writes the original layers byte for byte and reads them from a local copy: save the image first (skopeo copy ${target.source.reference.replace(/^(docker|registry):(\/\/)?/, 'docker://')} docker-archive:image.tar) and repair that`,
    );
  }
  if (target.layers.some((l) => !l.blob || !l.diffId))
    throw new ScopeError('unsupported', 'repair needs every layer as a blob with its diff id');
  const first = diagnose(target, new BinaryCatalog(target.tree, target.decoded));
  const fixed = first.diagnostics.filter((d) => d.severity === 'error');
  if (!fixed.length) throw new ScopeError('usage', `${target.source.reference} starts already (verdict "starts"): nothing to repair`);

  const additions: Addition[] = [];
  let current = target;
  let layer: NewLayer | null = null;
  let rounds = 0;
  try {
    for (let d = first; ;) {
      const errors = d.diagnostics.filter((x) => x.severity === 'error');
      const firstError = errors[0];
      if (!firstError) break;
      if (++rounds > MAX_ROUNDS)
        throw new ScopeError(
          'unsupported',
          `repair gave up after ${MAX_ROUNDS} rounds; the image still fails: [${firstError.code}] ${firstError.message}; nothing was written`,
        );
      // a shell-form command whose shell starts: what fails is the program its script runs
      const more = plan(current, donor, errors, d.script?.path ?? d.launch.executable, opts.donorName).filter(
        (a) => !additions.some((b) => b.to === a.to),
      );
      if (!more.length)
        throw new ScopeError(
          'unsupported',
          `the files ${opts.donorName} has do not make it start: [${firstError.code}] ${firstError.message}; nothing was written`,
        );
      additions.push(...more);
      layer = await buildLayer(target.tree, donor, additions, join(opts.tempDir, `repair-${rounds}.tar`));
      if (current !== target) await current.close();
      current = await loadOpened(withLayer(target, layer), { analysis: true, verify: false });
      d = diagnose(current, new BinaryCatalog(current.tree, current.decoded));
    }
  } finally {
    if (current !== target) await current.close();
  }
  if (!layer) throw new ScopeError('unsupported', 'nothing to add');

  const config = structuredClone(target.opened.configRaw) as Record<string, unknown>;
  const rootfs = (config.rootfs && typeof config.rootfs === 'object' ? config.rootfs : { type: 'layers', diff_ids: [] }) as {
    diff_ids?: string[];
  };
  rootfs.diff_ids = [...(Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids : []), layer.diffId];
  config.rootfs = rootfs;
  const files = layer.entries.filter((e) => e.type !== 'dir').map((e) => e.path);
  const history: unknown[] = Array.isArray(config.history) ? config.history : [];
  config.history = [
    ...history,
    {
      created: new Date().toISOString(),
      created_by: `scratchscope repair --from ${opts.donorName}: added ${files.join(' ')}`,
      comment: `fixes: ${fixed.map((f) => f.code).join(', ')}`,
    },
  ];
  const layers: LayerBytes[] = target.layers.map((l) => {
    const blob = l.blob;
    if (!blob) throw new ScopeError('unsupported', `layer ${l.index} has no stored blob to copy`);
    if (l.compression === 'xz' || l.compression === 'bzip2')
      throw new ScopeError(
        'unsupported',
        `layer ${l.index} is ${l.compression}-compressed, which no image format stores: decompress it first`,
      );
    return {
      file: blob.file!,
      offset: blob.offset,
      size: blob.size,
      compression: l.compression === 'gzip' || l.compression === 'zstd' ? l.compression : 'none',
      diffId: l.diffId!,
    };
  });
  layers.push({ file: layer.file, offset: 0, size: layer.size, compression: 'none', diffId: layer.diffId });
  await writeImage({ config, layers, name: opts.name, tempDir: opts.tempDir }, opts.format, opts.out);
  return { fixed, added: layer.entries, rounds, out: opts.out, format: opts.format };
}

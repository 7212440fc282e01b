/**
 * slim: a FROM scratch image of just the program's closure (what it needs to start, and
 * what it likely needs once running), with the config unchanged. The static analogue of
 * learning a container's files by running it; so it refuses programs whose needs cannot
 * be read from their files (interpreters: a shell, python, node, java), unless the user
 * names the extra paths they need with --keep.
 */
import { join } from 'node:path';
import { BinaryCatalog } from '../elf/catalog.js';
import { ScopeError } from '../errors.js';
import { MergedTree, type Node, resolvePath } from '../fs/index.js';
import { type ImageModel, loadOpened } from '../load.js';
import { diagnose } from '../diagnose/index.js';
import { type Closure, analyseClosure } from '../closure/index.js';
import { type Addition, buildLayer } from './layer.js';
import { type ImageFormat, writeImage } from './write.js';

export interface SlimOptions {
  format: ImageFormat;
  out: string;
  name: string | null;
  /** Paths (files or folders) to keep besides the closure. */
  keep: string[];
  tempDir: string;
}

export interface SlimResult {
  closure: Closure;
  files: number;
  bytes: number;
  originalBytes: number;
  out: string;
}

/** Programs that run code the files do not show: their needs are in scripts, jars, modules. */
const INTERPRETERS =
  /^(sh|bash|dash|ash|zsh|busybox|python[\d.]*|node|nodejs|deno|bun|java|ruby[\d.]*|perl[\d.]*|php[\d.]*|lua[\d.]*|pwsh|dotnet|erl|beam\.smp)$/;

/** Every regular file under a folder (links inside it kept as they are met). */
function filesUnder(node: Node, path: string, out: string[]): void {
  const stack: [Node, string][] = [[node, path]];
  while (stack.length) {
    const [n, p] = stack.pop()!;
    for (const [name, c] of n.children ?? []) {
      const cp = `${p}/${name}`;
      if (c.type === 'dir') stack.push([c, cp]);
      else if (c.type === 'file' || c.type === 'hardlink' || c.type === 'symlink') out.push(cp);
    }
  }
}

function isFile(model: ImageModel, path: string): boolean {
  const r = resolvePath(model.tree, path);
  return r.ok && (r.node.type === 'file' || r.node.type === 'hardlink');
}

export async function slimImage(model: ImageModel, opts: SlimOptions): Promise<SlimResult> {
  if (!model.opened.configRaw || typeof model.opened.configRaw !== 'object')
    throw new ScopeError('unsupported', `${model.source.reference} has no image config: there is no command to slim to`);
  const d = diagnose(model, new BinaryCatalog(model.tree, model.decoded));
  const err = d.diagnostics.find((x) => x.severity === 'error');
  if (err)
    throw new ScopeError('unsupported', `the image does not start ([${err.code}] ${err.message}): repair it first; nothing was written`);
  const { closure } = analyseClosure(model);
  const chain = closure.files
    .filter((f) => f.role === 'executable' || f.role === 'script-interpreter')
    .map((f) => f.path.slice(f.path.lastIndexOf('/') + 1));
  const interp = chain.find((b) => INTERPRETERS.test(b));
  if (interp && !opts.keep.length) {
    throw new ScopeError(
      'unsupported',
      `the command runs ${interp}, an interpreter: what it loads (scripts, modules, jars) cannot be known from its files; name what it needs with --keep PATH (repeatable); nothing was written`,
    );
  }
  const additions: Addition[] = [];
  const seen = new Set<string>();
  const add = (to: string, why: string) => {
    if (!seen.has(to)) additions.push({ to, from: to, why });
    seen.add(to);
  };
  for (const f of closure.files) {
    if (!f.present || f.probable || f.type === 'symlink') continue;
    const names = f.openedAs.length ? f.openedAs : [f.path];
    if (f.type === 'dir') {
      const r = resolvePath(model.tree, f.path);
      const under: string[] = [];
      if (r.ok) filesUnder(r.node, f.path, under);
      for (const p of under) if (isFile(model, p)) add(p, f.why);
    } else for (const n of names) add(n, f.why);
  }
  for (const k of opts.keep) {
    const p = k.startsWith('/') ? k : `/${k}`;
    const r = resolvePath(model.tree, p);
    if (!r.ok) throw new ScopeError('path-not-found', `--keep ${k}: not in the image; nothing was written`);
    if (r.node.type === 'dir') {
      const under: string[] = [];
      filesUnder(r.node, p, under);
      for (const u of under) if (isFile(model, u)) add(u, `--keep ${k}`);
    } else add(p, `--keep ${k}`);
  }
  const layer = await buildLayer(new MergedTree(), model, additions, join(opts.tempDir, 'slim.tar'));

  // The slim image as inspect sees it: it must start, or nothing is written.
  const opened = {
    ...model.opened,
    layers: [
      { index: 0, digest: null, diffId: layer.diffId, mediaType: null, blob: { file: layer.file, offset: 0, size: layer.size }, dir: null },
    ],
    close: async () => {},
  };
  const slim = await loadOpened(opened, { analysis: true, verify: false });
  try {
    const check = diagnose(slim, new BinaryCatalog(slim.tree, slim.decoded));
    const e = check.diagnostics.find((x) => x.severity === 'error');
    if (e) throw new ScopeError('unsupported', `the slim image would not start ([${e.code}] ${e.message}); nothing was written`);
  } finally {
    await slim.close();
  }

  const config = structuredClone(model.opened.configRaw) as Record<string, unknown>;
  config.rootfs = { type: 'layers', diff_ids: [layer.diffId] };
  config.history = [
    {
      created: new Date().toISOString(),
      created_by: `scratchscope slim: the closure of ${closure.program}${opts.keep.length ? ` and ${opts.keep.join(' ')}` : ''}`,
      comment: `from ${model.source.reference}`,
    },
  ];
  await writeImage(
    {
      config,
      layers: [{ file: layer.file, offset: 0, size: layer.size, compression: 'none', diffId: layer.diffId }],
      name: opts.name,
      tempDir: opts.tempDir,
    },
    opts.format,
    opts.out,
  );
  const files = layer.entries.filter((e) => e.type === 'file');
  return { closure, files: files.length, bytes: files.reduce((n, e) => n + e.size, 0), originalBytes: closure.imageBytes, out: opts.out };
}

/**
 * What each text pane says, from the report and the file-tree view: a file's details, a
 * layer's details, the diagnostics, the image, the wasted files, the keys. Raw lines here;
 * text.ts escapes and wraps them.
 */
import { formatBytes, formatMode } from '../render/format.js';
import { describeElf } from '../render/ldd.js';
import { shortCreatedBy } from '../render/text.js';
import type { LoadProgress } from '../report/explore.js';
import { type Closure, type ClosureFile, type Diagnostic, type Report, type ReportHead, runtimeLines } from '../report/index.js';
import type { FileEntry, FileTree, WastedFile } from '../report/tree.js';
import { ACTIONS, type Action, type Bindings, keysFor } from './keys.js';
import { type Line, plural } from './text.js';

const MARK_SAYS = { A: 'added by', M: 'modified by', D: 'removed by' } as const;

/** A layer's build step in a few words, or what is known when none was recorded. */
export function layerStep(createdBy: string | null): string {
  return createdBy ? shortCreatedBy(createdBy) : 'imported (no build step recorded)';
}

/** The closure entry a path is (as the real file, a name it is opened by, or a link on the way). */
export function closureEntry(closure: Closure | null, path: string): ClosureFile | null {
  if (!closure) return null;
  return closure.files.find((f) => f.path === path || f.openedAs.includes(path)) ?? null;
}

/** Where a file stands in the command's closure: what needs it, and why. */
function closureLines(f: ClosureFile | null, closure: Closure | null): Line[] {
  if (!f || !closure) return [];
  const kind = f.probable ? "probably dlopen'd by" : f.when === 'start' ? 'needed to start' : 'likely needed once running';
  const lines: Line[] = [{ text: `● in the closure of ${closure.program}: ${f.role}, ${kind}`, color: 'magenta' }];
  if (f.neededBy.length) lines.push({ text: `  needed by ${f.neededBy.join(', ')}`, color: 'magenta' });
  lines.push({ text: `  ${f.why}`, color: 'magenta' });
  return lines;
}

export function fileLines(e: FileEntry | null, layer: number | null, files: FileTree, closure: Closure | null = null): Line[] {
  if (!e) return [{ text: 'nothing selected' }];
  const lines: Line[] = [{ text: e.path, bold: true }, ...closureLines(closureEntry(closure, e.path), closure)];
  if (e.linkTarget) lines.push({ text: `${e.type === 'hardlink' ? 'hard link to' : 'link to'} ${e.linkTarget}`, color: 'cyan' });
  if (e.mark && layer !== null)
    lines.push({ text: `${MARK_SAYS[e.mark]} layer ${layer}`, color: e.mark === 'A' ? 'green' : e.mark === 'M' ? 'yellow' : 'red' });
  if (e.mark === 'D') {
    lines.push({
      text: `was ${e.type}${e.type === 'file' || e.children ? `, ${formatBytes(e.size)}` : ''}${e.layer !== null ? `, written in layer ${e.layer}` : ''}`,
    });
    return lines;
  }
  if (e.mode !== null)
    lines.push({ text: `mode   ${formatMode(e.type, e.mode)} (${e.mode.toString(8).padStart(4, '0')})  owner ${e.uid}:${e.gid}` });
  else lines.push({ text: `type   ${e.type}` });
  lines.push({ text: `size   ${formatBytes(e.size)}${e.children ? ' in all' : ''}${e.layer !== null ? `  layer ${e.layer}` : ''}` });
  if (e.children) return lines;
  const final = files.finalLayer(e.path);
  if (final === null || final !== e.layer) {
    lines.push({
      text: final !== null ? `a later layer (${final}) replaces this version` : 'a later layer removes this path',
      color: 'yellow',
    });
    return lines;
  }
  const d = files.detailsIfReady(e.path);
  if (!d) {
    lines.push({ text: 'working out what it needs…', color: 'gray' });
    return lines;
  }
  if (d.elfError) lines.push({ text: `ELF damaged: ${d.elfError}`, color: 'red' });
  const elf = d.elf;
  if (!elf) return lines;
  lines.push({ text: describeElf(elf), color: 'cyan' });
  if (elf.interpreter) {
    const i = d.load?.interpreter;
    lines.push({
      text: `interp ${elf.interpreter}${i ? (i.error ? ' MISSING' : ` → ${i.resolved}`) : ''}`,
      color: i?.error ? 'red' : undefined,
    });
  }
  if (elf.rpath) lines.push({ text: `rpath  ${elf.rpath}` });
  if (elf.runpath) lines.push({ text: `runpath ${elf.runpath}` });
  if (elf.soname) lines.push({ text: `soname ${elf.soname}` });
  for (const dep of d.load?.dependencies ?? []) {
    if (dep.depth === 1)
      lines.push(
        dep.error
          ? { text: `✘ ${dep.name}: ${dep.error}`, color: 'red' }
          : { text: `✔ ${dep.name} → ${dep.resolved} [${dep.via}]`, color: 'green' },
      );
    else if (dep.error) lines.push({ text: `✘ ${dep.name} (for ${dep.requiredBy}): ${dep.error}`, color: 'red' });
  }
  for (const v of d.load?.versionProblems ?? []) lines.push({ text: `✘ ${v.version} not in ${v.library}`, color: 'red' });
  if (elf.go) {
    const s = elf.go.settings;
    lines.push({ text: `Go     ${elf.go.version}${elf.go.path ? `  ${elf.go.path}` : ''}` });
    lines.push({ text: `       CGO_ENABLED=${s.CGO_ENABLED ?? '?'} GOOS=${s.GOOS ?? '?'} GOARCH=${s.GOARCH ?? '?'}` });
  }
  const h = elf.hardening;
  lines.push({
    text: `harden PIE ${h.pie ? 'yes' : 'no'}, RELRO ${h.relro}, NX ${h.nx ? 'yes' : 'no'}, canary ${h.canary === null ? '?' : h.canary ? 'yes' : 'no'}`,
  });
  if (elf.buildId) lines.push({ text: `build-id ${elf.buildId}` });
  return lines;
}

/** The selected layer in full: digest, sizes, what it changed, and its whole command. */
export function layerLines(head: ReportHead, cursor: number): Line[] {
  if (cursor === 0) {
    return [
      { text: 'the final image', bold: true },
      {
        text: `${plural(head.files.regularFiles, 'file')}, ${formatBytes(head.files.bytes)}; ${plural(head.files.entries, 'entry', 'entries')}`,
      },
      { text: `${plural(head.layers.length, 'layer')}; wasted ${formatBytes(head.wasted.bytes)}` },
      { text: 'Pick a layer for the image as of it, its changes marked.', color: 'gray' },
    ];
  }
  const l = head.layers[cursor - 1];
  if (!l) return [];
  const lines: Line[] = [{ text: `layer ${l.index} of ${head.layers.length}`, bold: true }];
  if (l.digest) lines.push({ text: `digest  ${l.digest}` });
  if (l.diffId && l.diffId !== l.digest) lines.push({ text: `diff id ${l.diffId}` });
  const tar = l.tarSize && l.tarSize !== l.storedSize ? `, ${formatBytes(l.tarSize)} as tar` : '';
  lines.push({
    text: `size    ${formatBytes(l.storedSize)} stored${l.compression !== 'none' && l.compression !== 'dir' ? ` (${l.compression})` : ''}${tar}${l.verified ? ', digest checked' : ''}`,
  });
  lines.push({
    text: `files   +${l.added} ~${l.modified} -${l.removed}; ${formatBytes(l.contentBytes)} written in ${plural(l.entries, 'entry', 'entries')}`,
  });
  if (l.created) lines.push({ text: `created ${l.created}` });
  lines.push({ text: 'command', color: 'cyan' });
  lines.push({ text: l.createdBy ? `  ${l.createdBy}` : '  imported (no build step recorded)' });
  if (l.comment) lines.push({ text: `comment ${l.comment}` });
  for (const p of l.problems) lines.push({ text: `! ${p}`, color: 'yellow' });
  return lines;
}

const SEV = { error: ['✘', 'red'], warning: ['!', 'yellow'] } as const;

export function diagnosticLines(report: Report | null): Line[] {
  if (!report) return [{ text: 'working out the launch…', color: 'gray' }];
  if (report.diagnostics.length === 0) return [{ text: 'nothing to report', color: 'green' }];
  const lines: Line[] = [];
  report.diagnostics.forEach((d: Diagnostic, i) => {
    const [sym, color] = SEV[d.severity];
    lines.push({ text: `${sym} ${d.code}: ${d.message}`, color, item: i, head: true });
    // glibc can print several lines (one per missing version): one line each
    runtimeLines(d).forEach((l) => lines.push({ text: `  runtime: ${l}`, item: i }));
    if (d.path) lines.push({ text: `  file: ${d.path}${d.layer !== null ? ` (layer ${d.layer})` : ''}`, item: i });
    d.evidence.forEach((e) => lines.push({ text: `  seen: ${e}`, item: i }));
    lines.push({ text: `  fix: ${d.fix}`, color: 'cyan', item: i });
    d.dockerfile?.forEach((l) => lines.push({ text: `    ${l}`, color: 'cyan', item: i }));
  });
  return lines;
}

/** Of the bytes all layers wrote, the share still visible (dive's efficiency score). */
export function efficiency(head: ReportHead): number {
  const written = head.layers.reduce((n, l) => n + l.contentBytes, 0);
  return written > 0 ? Math.max(0, 1 - head.wasted.bytes / written) : 1;
}

export function imageLines(head: ReportHead, wastedCount: number | null): Line[] {
  const s = head.source;
  const cfg = head.image;
  const lines: Line[] = [{ text: `${s.image ?? s.location}  [${s.kind}]`, bold: true }];
  if (s.platform) lines.push({ text: `platform   ${s.platform}` });
  if (cfg) {
    if (cfg.entrypoint) lines.push({ text: `entrypoint ${JSON.stringify(cfg.entrypoint)}` });
    if (cfg.cmd) lines.push({ text: `cmd        ${JSON.stringify(cfg.cmd)}` });
    if (!cfg.entrypoint && !cfg.cmd) lines.push({ text: 'no entrypoint or command', color: 'yellow' });
    lines.push({ text: `user       ${cfg.user || '(root)'}` }, { text: `workdir    ${cfg.workingDir || '/'}` });
    for (const e of cfg.env) lines.push({ text: `env        ${e}` });
    if (cfg.exposedPorts.length) lines.push({ text: `ports      ${cfg.exposedPorts.join(' ')}` });
    for (const [k, v] of Object.entries(cfg.labels)) lines.push({ text: `label      ${k}=${v}` });
    if (cfg.stopSignal) lines.push({ text: `stop       ${cfg.stopSignal}` });
  } else lines.push({ text: 'no config: a plain root filesystem' });
  lines.push({ text: `files      ${plural(head.files.regularFiles, 'file')}, ${formatBytes(head.files.bytes)}` });
  const empty = head.history.filter((h) => h.emptyLayer).length;
  lines.push({ text: `layers     ${head.layers.length}${empty ? ` (and ${plural(empty, 'build step')} without one)` : ''}` });
  lines.push({
    text: `wasted     ${formatBytes(head.wasted.bytes)}${wastedCount === null ? '' : ` in ${plural(wastedCount, 'file version')}`}; efficiency ${(efficiency(head) * 100).toFixed(1)}% (w lists them)`,
  });
  return lines;
}

export function wastedHeader(head: ReportHead, list: WastedFile[] | null): string[] {
  return [
    `${formatBytes(head.wasted.bytes)} wasted${list ? ` in ${plural(list.length, 'file version')}` : ''}`,
    `efficiency ${(efficiency(head) * 100).toFixed(1)}% · L written → L that dropped it`,
  ];
}

export function wastedText(w: WastedFile): string {
  return `${formatBytes(w.size).padStart(8)}  L${w.writtenIn}→L${w.droppedIn}${w.how === 'removed' ? ' rm' : '   '}  ${w.path}`;
}

export function helpLines(b: Bindings): Line[] {
  const lines: Line[] = [{ text: 'scratchscope keys', bold: true }];
  for (const [action, [, says]] of Object.entries(ACTIONS)) {
    const keys = keysFor(b, action as Action);
    lines.push({ text: `${(keys.join(' ') || '(unbound)').padEnd(16)} ${says}` });
  }
  lines.push({ text: '' });
  lines.push({
    text: 'Panes: Layers, Files, Details, Diagnostics, Image, Wasted (tab cycles). In Layers, pick a layer: the image as of it, its changes marked A/M/D; u shows only its changes.',
    color: 'gray',
  });
  lines.push({ text: 'While filtering: type the text, ctrl-r switches substring/regex, enter keeps it, esc clears it.', color: 'gray' });
  lines.push({
    text: 'Remap keys in $XDG_CONFIG_HOME/scratchscope/keys.json (default ~/.config), e.g. {"down": ["j", "n"]}.',
    color: 'gray',
  });
  return lines;
}

/** The loading screen's facts. */
export interface LoadView {
  reference: string;
  progress: LoadProgress | null;
  /** Milliseconds since loading started. */
  elapsed: number;
}

function duration(secs: number): string {
  if (secs < 1) return 'under a second';
  if (secs < 90) return `${Math.round(secs)} s`;
  return `${Math.round(secs / 60)} min`;
}

export function progressText(p: LoadProgress | null, elapsed: number): string {
  if (!p || p.bytesTotal === 0) return 'opening…';
  const secs = Math.max(0.05, elapsed / 1000);
  const rate = p.bytesDone / secs;
  const left = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : null;
  const parts = [`${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`, `${formatBytes(Math.round(rate))}/s`];
  if (left !== null && p.bytesDone > 0 && p.bytesDone < p.bytesTotal) parts.push(`about ${duration(left)} left`);
  parts.push(`layer ${Math.min(p.layersTotal, p.layersDone + 1)} of ${p.layersTotal}`);
  return parts.join(' · ');
}

/** A bar of `width` cells filled to `frac`, in eighths of a cell so it moves smoothly. */
export function progressBar(frac: number, width: number): { full: string; empty: string } {
  const eighths = Math.round(Math.min(1, Math.max(0, frac)) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8 ? '▏▎▍▌▋▊▉'[(eighths % 8) - 1]! : '';
  return { full: '█'.repeat(full) + part, empty: ' '.repeat(Math.max(0, width - full - (part ? 1 : 0))) };
}

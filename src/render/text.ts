/** Plain-text renderings of the report and listings, for people and for grep. */
import { type ChangeRecord, type Diagnostic, type FileRecord, type Report, runtimeLines } from '../report/index.js';
import { formatBytes, formatMode, printable, table } from './format.js';

/** A runtime's output can be several lines (glibc names every missing version): one printed line each, aligned. */
const runtimeText = (d: Diagnostic, indent: string) => runtimeLines(d).map(printable).join(`\n${indent}`);

const json = (v: unknown) => (v === null || v === undefined ? '-' : JSON.stringify(v));

/** The verdict block: what `inspect` prints first, `inspect --verdict-only` and `check` alone. */
export function renderVerdict(r: Pick<Report, 'verdict' | 'launch' | 'diagnostics'>): string {
  const out: string[] = [];
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (r.verdict === 'starts') out.push(`✔ will start: ${printable(JSON.stringify(r.launch.argv))}`);
  else if (errors[0]) {
    const first = errors[0];
    out.push(`✘ will fail: ${printable(first.message)}`);
    if (first.runtimeError) out.push(`  the runtime says: ${runtimeText(first, '                    ')}`);
    out.push(`  fix: ${printable(first.fix)}`);
    if (first.dockerfile) out.push('  Dockerfile lines:', ...first.dockerfile.map((l) => `    ${printable(l)}`));
  }
  out.push(...launchLines(r.launch.steps), ...diagnosticLines(r.diagnostics.slice(r.verdict === 'fails' ? 1 : 0)));
  return out.join('\n') + '\n';
}

/** The launch, step by step, as `inspect` and `container` print it. */
export function launchLines(steps: Report['launch']['steps']): string[] {
  return ['', 'Launch', ...steps.map((s) => `  ${s.ok ? '✔' : '✘'} ${s.step.padEnd(7)} ${printable(s.detail)}`)];
}

/** The findings after the first, each with the runtime's words, the fix and any Dockerfile lines. */
export function diagnosticLines(rest: Diagnostic[]): string[] {
  if (!rest.length) return [];
  const out = ['', 'Diagnostics'];
  for (const d of rest) {
    out.push(`  ${d.severity === 'error' ? 'error' : 'warn '} [${d.code}] ${printable(d.message)}`);
    if (d.runtimeError) out.push(`        the runtime says: ${runtimeText(d, '                          ')}`);
    out.push(`        fix: ${printable(d.fix)}`);
    if (d.dockerfile) out.push(...d.dockerfile.map((l) => `          ${printable(l)}`));
  }
  return out;
}

export function renderInspect(r: Report): string {
  return renderVerdict(r) + renderDetails(r);
}

/** What `inspect` prints after the verdict block: the image, its layers, files and waste. */
export function renderDetails(r: Report): string {
  const out: string[] = [];
  const s = r.source;
  out.push(`Image      ${s.image ? printable(s.image) : '(unnamed)'}  [${s.kind}] ${printable(s.location)}`);
  if (s.platform) out.push(`Platform   ${printable(s.platform)}`);
  if (r.image && isEmptyConfig(r.image)) {
    out.push(
      'Config     empty: the image sets no command, user, environment or working directory (docker import without --change makes such images)',
    );
  } else if (r.image) {
    const c = r.image;
    out.push(`Entrypoint ${printable(json(c.entrypoint))}`);
    out.push(`Cmd        ${printable(json(c.cmd))}`);
    out.push(`User       ${c.user ? printable(c.user) : '(root)'}`);
    out.push(`WorkingDir ${c.workingDir ? printable(c.workingDir) : '/'}`);
    for (const e of c.env) out.push(`Env        ${printable(e)}`);
    if (c.exposedPorts.length) out.push(`Ports      ${printable(c.exposedPorts.join(' '))}`);
    for (const [k, v] of Object.entries(c.labels)) out.push(`Label      ${printable(k)}=${printable(v)}`);
    if (c.stopSignal) out.push(`StopSignal ${printable(c.stopSignal)}`);
  } else {
    out.push('Config     none (a plain root filesystem: no command, user or environment)');
  }
  out.push('');
  out.push('Layers');
  const rows = [['#', 'size', 'stored', '+', '~', '-', 'created by']];
  for (const l of r.layers) {
    rows.push([
      String(l.index),
      formatBytes(l.contentBytes),
      `${formatBytes(l.storedSize)}${l.compression === 'none' || l.compression === 'dir' ? '' : ' ' + l.compression}`,
      String(l.added),
      String(l.modified),
      String(l.removed),
      printable(shortCreatedBy(l.createdBy)),
    ]);
  }
  out.push(indent(table(rows, new Set([0, 1, 2, 3, 4, 5]))));
  for (const l of r.layers) for (const p of l.problems) out.push(`  layer ${l.index}: ${printable(p)}`);
  out.push('');
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  out.push(
    `Files      ${n(r.files.regularFiles, 'file', 'files')}, ${formatBytes(r.files.bytes)} (${n(r.files.entries, 'entry', 'entries')})`,
  );
  out.push(`Wasted     ${formatBytes(r.wasted.bytes)}${r.wasted.bytes ? ' in files a later layer overwrote or deleted' : ''}`);
  for (const w of r.wasted.top.slice(0, 5))
    out.push(`           ${formatBytes(w.size).padStart(8)}  ${printable(w.path)}${w.count > 1 ? ` (${w.count} versions)` : ''}`);
  return '\n' + out.join('\n') + '\n';
}

/** A config that sets nothing a container would run with. */
function isEmptyConfig(c: NonNullable<Report['image']>): boolean {
  return (
    !c.entrypoint?.length &&
    !c.cmd?.length &&
    c.env.length === 0 &&
    !c.user &&
    !c.workingDir &&
    c.exposedPorts.length === 0 &&
    Object.keys(c.labels).length === 0 &&
    !c.stopSignal
  );
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}

/** "/bin/sh -c #(nop) COPY file:abc in /" reads better as "COPY file:abc in /". */
export function shortCreatedBy(s: string | null): string {
  if (!s) return '';
  return s
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/\s+/g, ' ')
    .trim();
}

function linkSuffix(type: string, target: string | null): string {
  if (!target) return '';
  return type === 'hardlink' ? ` link to ${printable(target)}` : ` -> ${printable(target)}`;
}

export function renderFiles(files: FileRecord[]): string {
  const rows = files.map((f) => [
    formatMode(f.type, f.mode),
    `${f.uid}:${f.gid}`,
    String(f.size),
    `L${f.layer}`,
    printable(f.path) + linkSuffix(f.type, f.linkTarget),
  ]);
  return rows.length ? table(rows, new Set([2])) + '\n' : '';
}

const LETTER = { added: 'A', modified: 'M', removed: 'D' } as const;

export function renderChanges(changes: ChangeRecord[]): string {
  const rows = changes.map((c) => [
    LETTER[c.change],
    c.mode === null ? '-' : formatMode(c.type, c.mode),
    String(c.size),
    printable(c.path) + linkSuffix(c.type, c.linkTarget),
  ]);
  return rows.length ? table(rows, new Set([2])) + '\n' : '';
}

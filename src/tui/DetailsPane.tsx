/** Details of the selected file; for an ELF file, what it needs to run and where the loader finds it. */
import { Text } from 'ink';
import type { TreeRow } from '../fs/index.js';
import { formatBytes, formatMode } from '../render/format.js';
import { describeElf } from '../render/ldd.js';
import type { FileDetails } from '../report/details.js';
import { Pane } from './Pane.js';
import { c } from './theme.js';

type Line = { text: string; color?: string; key?: string };

export function detailLines(row: TreeRow | null, d: FileDetails | null): Line[] {
  if (!row) return [{ text: 'nothing selected' }];
  const lines: Line[] = [{ text: row.path }];
  const n = row.node;
  if (!n) {
    lines.push({ text: row.mark === 'D' ? 'removed by this layer' : row.type, color: 'red' });
    return lines;
  }
  lines.push({ text: `type   ${n.type}${n.linkTarget ? ` → ${n.linkTarget}` : ''}` });
  lines.push({ text: `mode   ${formatMode(n.type, n.mode)} (${n.mode.toString(8).padStart(4, '0')})  owner ${n.uid}:${n.gid}` });
  lines.push({ text: `size   ${formatBytes(row.size)}${row.isDir ? ' in all' : ''}  layer ${n.layer}` });
  if (d?.elfError) lines.push({ text: `ELF damaged: ${d.elfError}`, color: 'red' });
  const e = d?.elf;
  if (e) {
    lines.push({ text: describeElf(e), color: 'cyan' });
    if (e.interpreter) {
      const i = d?.load?.interpreter;
      lines.push({ text: `interp ${e.interpreter}${i ? (i.error ? ' MISSING' : ` → ${i.resolved}`) : ''}`, color: i?.error ? 'red' : undefined });
    }
    if (e.rpath) lines.push({ text: `rpath  ${e.rpath}` });
    if (e.runpath) lines.push({ text: `runpath ${e.runpath}` });
    if (e.soname) lines.push({ text: `soname ${e.soname}` });
    for (const dep of d?.load?.dependencies.filter((x) => x.depth === 1) ?? []) {
      lines.push(dep.error ? { text: `✘ ${dep.name}: ${dep.error}`, color: 'red', key: dep.name } : { text: `✔ ${dep.name} → ${dep.resolved} [${dep.via}]`, color: 'green', key: dep.name });
    }
    const deeper = d?.load?.dependencies.filter((x) => x.depth > 1 && x.error) ?? [];
    for (const dep of deeper) lines.push({ text: `✘ ${dep.name} (for ${dep.requiredBy}): ${dep.error}`, color: 'red', key: `${dep.requiredBy}:${dep.name}` });
    for (const v of d?.load?.versionProblems ?? []) lines.push({ text: `✘ ${v.version} not in ${v.library}`, color: 'red', key: v.version });
    if (e.go) {
      lines.push({ text: `Go     ${e.go.version}  ${e.go.path ?? ''}` });
      const s = e.go.settings;
      lines.push({ text: `       CGO_ENABLED=${s.CGO_ENABLED ?? '?'} GOOS=${s.GOOS ?? '?'} GOARCH=${s.GOARCH ?? '?'}` });
    }
    const h = e.hardening;
    lines.push({ text: `harden PIE ${h.pie ? 'yes' : 'no'}, RELRO ${h.relro}, NX ${h.nx ? 'yes' : 'no'}, canary ${h.canary === null ? '?' : h.canary ? 'yes' : 'no'}` });
    if (e.buildId) lines.push({ text: `build-id ${e.buildId}` });
  }
  return lines;
}

export function DetailsPane({ row, details, focused, width, height, scroll }: { row: TreeRow | null; details: FileDetails | null; focused: boolean; width: number; height: number; scroll: number }) {
  const lines = detailLines(row, details);
  const size = Math.max(1, height - 3);
  const start = Math.min(scroll, Math.max(0, lines.length - size));
  return (
    <Pane title="Details" focused={focused} width={width} height={height}>
      {lines.slice(start, start + size).map((l, i) => (
        <Text key={l.key ?? `${start + i}`} color={c(l.color)} wrap="truncate-end">
          {l.text}
        </Text>
      ))}
    </Pane>
  );
}

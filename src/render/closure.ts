/** `closure` as text: what the program needs at start, what it likely needs later, and the total. */
import type { Closure, ClosureFile } from '../report/index.js';
import { formatBytes, printable, table } from './format.js';

function row(f: ClosureFile): string[] {
  const name =
    f.type === 'symlink' ? `${f.path} -> ${f.linkTarget ?? '?'}` : f.openedAs.length ? `${f.openedAs.join(', ')} -> ${f.path}` : f.path;
  return [
    `  ${printable(name)}`,
    f.present ? (f.type === 'symlink' ? '' : formatBytes(f.size)) : 'MISSING',
    f.layer === null ? '' : `layer ${f.layer}`,
    `${f.role}${f.neededBy.length ? `, needed by ${printable(f.neededBy.join(', '))}` : ''}`,
  ];
}

export function renderClosure(c: Closure): string {
  const out: string[] = [];
  const start = c.files.filter((f) => f.when === 'start');
  const later = c.files.filter((f) => f.when === 'runtime' && !f.probable);
  const probable = c.files.filter((f) => f.probable);
  out.push(`closure of ${printable(c.program)} (${c.libc})`);
  out.push('', `needed to start (${start.length}):`, table(start.map(row), new Set([1])));
  if (c.missingLibraries.length) {
    out.push('', 'libraries the loader cannot find:');
    for (const m of c.missingLibraries)
      out.push(`  ${printable(m.name)}, needed by ${printable(m.neededBy)} (searched ${printable(m.searched.join(', ') || 'nowhere')})`);
  }
  if (later.length) {
    out.push('', `likely needed once running (${later.length}):`, table(later.map(row), new Set([1])));
    for (const f of later) out.push(`    ${printable(f.path)}: ${printable(f.why)}`);
  }
  if (probable.length) {
    out.push('', `probably dlopen'd (not counted, not copied) (${probable.length}):`, table(probable.map(row), new Set([1])));
  }
  const pct = c.imageBytes ? ` (${((100 * c.bytes) / c.imageBytes).toFixed(1)}% of the image's ${formatBytes(c.imageBytes)})` : '';
  out.push('', `total: ${formatBytes(c.bytes)}${pct}: what a FROM scratch image of just this program would hold`);
  return out.join('\n') + '\n';
}

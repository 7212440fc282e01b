/** lddtree-style text for one program: interpreter, each library, where and why, what is missing. */
import type { Dependency, ElfInfo, LoadResult } from '../report/index.js';
import { printable } from './format.js';

const VIA_TEXT: Record<string, string> = {
  path: 'path',
  loaded: 'already loaded',
  rpath: 'DT_RPATH',
  LD_LIBRARY_PATH: 'LD_LIBRARY_PATH',
  runpath: 'DT_RUNPATH',
  'ld.so.cache': 'ld.so.cache',
  default: 'default path',
  'default-assumed': 'default path (assumed: the loader could not be read)',
  'musl-libc': 'musl libc itself',
  'ld-musl.path': 'ld-musl path file',
};

export function describeElf(info: ElfInfo): string {
  const parts = [`ELF ${info.class}-bit ${info.endian === 'big' ? 'MSB ' : ''}${printable(String(info.machine))}`, info.type];
  if (info.libc !== 'unknown') parts.push(info.libc === 'none' ? 'no libc' : info.libc);
  if (info.static) parts.push('static');
  if (info.go) parts.push(`Go ${printable(info.go.version)}${info.go.cgo ? ' (cgo)' : ''}`);
  return parts.join(', ');
}

export function renderLdd(path: string, info: ElfInfo, r: LoadResult): string {
  const out: string[] = [`${printable(path)}: ${describeElf(info)}`];
  if (r.interpreter) {
    const i = r.interpreter;
    out.push(`  interpreter ${printable(i.path)} => ${i.error ? `MISSING (${printable(i.error)})` : printable(i.resolved ?? '')}`);
    if (r.defaultDirs.length || r.defaultDirsFrom)
      out.push(`  default path ${r.defaultDirs.map(printable).join(':') || '(empty)'} (${printable(r.defaultDirsFrom)})`);
  } else if (r.loader === 'static') {
    out.push('  statically linked: the kernel runs it directly, no loader or libraries');
  }
  const byParent = new Map<string, Dependency[]>();
  for (const d of r.dependencies) {
    const list = byParent.get(d.requiredBy) ?? [];
    list.push(d);
    byParent.set(d.requiredBy, list);
  }
  const shown = new Set<string>();
  const walk = (parent: string, depth: number) => {
    for (const d of byParent.get(parent) ?? []) {
      const pad = '  '.repeat(depth + 1);
      if (d.error) {
        out.push(`${pad}${printable(d.name)} => not found (${printable(d.error)})`);
        if (d.searched.length)
          out.push(
            `${pad}    searched: ${d.searched.map(printable).join(', ')}${d.searchedOmitted ? ` (and ${d.searchedOmitted} more)` : ''}`,
          );
        for (const s of d.skipped) out.push(`${pad}    skipped ${printable(s.path)}: ${printable(s.reason)}`);
        continue;
      }
      const where = d.resolved ? printable(d.resolved) : '?';
      const via = d.via ? VIA_TEXT[d.via] + (d.hwcaps ? `, glibc-hwcaps ${d.hwcaps} (only on CPUs that support it)` : '') : '';
      const again = d.via === 'loaded' || (d.resolved !== null && shown.has(d.resolved));
      out.push(`${pad}${printable(d.name)} => ${where}${via ? ` [${via}]` : ''}`);
      if (!again && d.resolved) {
        shown.add(d.resolved);
        walk(d.resolved, depth + 1);
      }
    }
  };
  // preloaded before the program's needs: each with the libraries it needs in turn
  for (const p of r.preloads) {
    const from = printable(p.from);
    if (p.resolved === null) {
      out.push(`  preload ${printable(p.name)} => not loaded, skipped (${printable(p.error ?? '')}) [${from}]`);
      continue;
    }
    out.push(`  preload ${printable(p.name)} => ${printable(p.resolved)} [${from}]`);
    if (!shown.has(p.resolved)) {
      shown.add(p.resolved);
      walk(p.resolved, 1);
    }
  }
  walk(r.program, 0);
  for (const limit of r.limits) out.push(`  ${printable(limit)}`);
  for (const v of r.versionProblems) {
    out.push(
      `  version ${printable(v.version)} not found in ${printable(v.library)} (required by ${printable(v.requiredBy)})${v.weak ? ' [weak: warning only]' : ''}`,
    );
  }
  for (const n of r.notes) out.push(`  note: ${printable(n)}`);
  return out.join('\n') + '\n';
}

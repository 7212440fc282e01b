/** `repair`'s text: what was written, which errors it answers, what the new layer holds, how to load it. */
import { printable } from './format.js';

/** What the text reads of a repair's result (repair/index.ts's RepairResult). */
export interface RepairText {
  fixed: { code: string; message: string }[];
  added: { path: string; type: string; linkTarget: string | null; from: string | null; why: string }[];
  out: string;
  format: string;
}

export function renderRepair(r: RepairText, name: string | null, donor: string): string {
  const lines = [
    `repaired: wrote ${r.out} (${r.format}${name ? `, ${name}` : ''}); it starts (checked as inspect checks it)`,
    // one line each: printable() shows a newline inside a line as \x0a
    ...r.fixed.map((f, i) => `${i ? '       ' : 'fixed: '}[${f.code}] ${f.message}`),
    `added in a new layer, from ${donor}:`,
    ...r.added
      .filter((e) => e.type !== 'dir')
      .map((e) => `  ${e.path}${e.type === 'symlink' ? ` -> ${e.linkTarget}` : `  (${e.from})`}: ${e.why}`),
    r.format === 'docker-archive'
      ? `load it: docker load -i ${r.out}`
      : `copy it: skopeo copy ${r.format}:${r.out} docker-daemon:${name ?? 'IMAGE:TAG'}`,
  ];
  return lines.map(printable).join('\n') + '\n';
}

/**
 * GitHub Actions: workflow-command annotations (shown on the run, and on the Dockerfile
 * line when one is given) and a Markdown step summary.
 */
import { appendFileSync } from 'node:fs';
import { type Dockerfile, responsible } from './dockerfile.js';
import type { CheckedVerdict } from './sarif.js';

/** Workflow command escaping: data escapes %, CR, LF; property values also : and ,. */
const data = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const prop = (s: string) => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function annotations(checked: CheckedVerdict[], dockerfile: Dockerfile | null): string {
  const out: string[] = [];
  for (const { image, report } of checked) {
    for (const d of report.diagnostics) {
      const kind = d.severity;
      const ins = dockerfile ? responsible(dockerfile, d, report.launch) : null;
      const props = [
        ...(ins && dockerfile ? [`file=${prop(dockerfile.path)}`, `line=${ins.line}`] : []),
        `title=${prop(`scratchscope ${d.code}: ${image}`)}`,
      ];
      const text = `${d.message}${d.runtimeError ? `\nthe runtime says: ${d.runtimeError}` : ''}\nfix: ${d.fix}`;
      out.push(`::${kind} ${props.join(',')}::${data(text)}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function stepSummary(checked: CheckedVerdict[]): string {
  const rows = checked.map(({ image, report }) => {
    const first = report.diagnostics.find((d) => d.severity === 'error');
    const warnings = report.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.code);
    return `| \`${cell(image)}\` | ${report.verdict === 'starts' ? '✅ starts' : '❌ fails'} | ${first ? `\`${first.code}\`: ${cell(first.runtimeError ?? first.message)}` : ''} | ${warnings.map((w) => `\`${w}\``).join(' ')} |`;
  });
  return ['### scratchscope', '', '| image | verdict | cause | warnings |', '| --- | --- | --- | --- |', ...rows, ''].join('\n') + '\n';
}

export function writeStepSummary(file: string, checked: CheckedVerdict[]): void {
  appendFileSync(file, stepSummary(checked));
}

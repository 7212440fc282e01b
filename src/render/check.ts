/**
 * `scratchscope check IMAGE…`: every image's verdict (from its report) in the format CI wants, plus GitHub
 * annotations and a step summary when run by GitHub Actions. Says whether the gate fails.
 */
import { writeFileSync } from 'node:fs';
import { fsError } from '../errors.js';
import { renderVerdict } from './text.js';
import { type Dockerfile, readDockerfile } from '../report/dockerfile.js';
import { annotations, writeStepSummary } from '../report/github.js';
import type { Report } from '../report/index.js';
import { toJunit } from '../report/junit.js';
import { type Checked, toSarif } from '../report/sarif.js';
import { printable } from './format.js';

export interface CheckOptions {
  format: 'text' | 'json' | 'sarif' | 'junit';
  dockerfile?: string;
  output?: string;
  failOn: 'error' | 'warning';
  /** The report of one image, as inspect builds it. */
  report: (ref: string) => Promise<Report>;
  out: (s: string) => Promise<void>;
}

function render(checked: Checked[], o: CheckOptions, dockerfile: Dockerfile | null): string {
  switch (o.format) {
    case 'json':
      return JSON.stringify(checked, null, 2) + '\n';
    case 'sarif':
      return JSON.stringify(toSarif(checked, dockerfile), null, 2) + '\n';
    case 'junit':
      return toJunit(checked);
    case 'text':
      return checked.map((c) => `${printable(c.image)}\n${renderVerdict(c.report).replace(/^/gm, '  ').replace(/ +$/gm, '')}`).join('\n');
  }
}

export async function runCheck(images: string[], o: CheckOptions): Promise<boolean> {
  const dockerfile = o.dockerfile ? readDockerfile(o.dockerfile) : null;
  const checked: Checked[] = [];
  for (const image of images) checked.push({ image, report: await o.report(image) });
  const text = render(checked, o, dockerfile);
  if (o.output) {
    try {
      writeFileSync(o.output, text);
    } catch (e) {
      throw fsError(e, o.output);
    }
  }
  if (process.env.GITHUB_ACTIONS === 'true') {
    // Annotations are workflow commands on stdout; they must not land inside a SARIF or XML document there.
    const notes = annotations(checked, dockerfile);
    if (o.output || o.format === 'text') await o.out(notes);
    else process.stderr.write(notes);
    if (process.env.GITHUB_STEP_SUMMARY) {
      try {
        writeStepSummary(process.env.GITHUB_STEP_SUMMARY, checked);
      } catch (e) {
        throw fsError(e, process.env.GITHUB_STEP_SUMMARY);
      }
    }
  }
  if (!o.output) await o.out(text);
  return checked.some(({ report }) =>
    report.diagnostics.some((d) => d.severity === 'error' || (o.failOn === 'warning' && d.severity === 'warning')),
  );
}

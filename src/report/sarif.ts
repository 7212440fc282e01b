/**
 * SARIF 2.1.0 for code scanning: one result per diagnostic, one rule per code (its story
 * from explain as the help), each result placed on the Dockerfile instruction responsible
 * when a Dockerfile is given.
 */
import { resolve } from 'node:path';
import { EXPLAIN } from '../diagnose/explain.js';
import { type Dockerfile, responsible } from './dockerfile.js';
import type { Report, VerdictReport } from './index.js';

export interface Checked {
  /** The image as the user named it. */
  image: string;
  report: Report;
}

/** What the check formats read: the verdict part of a report is enough (check's fast path gives only that). */
export interface CheckedVerdict {
  image: string;
  report: VerdictReport;
}

const LEVEL = { error: 'error', warning: 'warning' } as const;
const VERSION = '0.1.0';

/** Words, not an arbitrary string: a rule's name is the code in PascalCase. */
const ruleName = (code: string) => code.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

export function toSarif(checked: CheckedVerdict[], dockerfile: Dockerfile | null, uriBase = process.cwd()): object {
  const codes = [...new Set(checked.flatMap((c) => c.report.diagnostics.map((d) => d.code)))].sort();
  const rules = codes.map((code) => {
    const story = EXPLAIN[code];
    return {
      id: code,
      name: ruleName(code),
      shortDescription: { text: story.replace(/\n/g, ' ').split(/(?<=\.)\s/)[0] },
      fullDescription: { text: story.replace(/\n/g, ' ') },
      help: { text: `${story}\n\nscratchscope explain ${code}` },
      defaultConfiguration: {
        level: checked.flatMap((c) => c.report.diagnostics).find((d) => d.code === code)!.severity === 'error' ? 'error' : 'warning',
      },
    };
  });
  const where = dockerfile ? artifact(dockerfile.path, uriBase) : null;
  const results = checked.flatMap(({ image, report }) =>
    report.diagnostics.map((d) => {
      const ins = dockerfile ? responsible(dockerfile, d, report.launch) : null;
      const text = [`${image}: ${d.message}`, d.runtimeError ? `The runtime says: ${d.runtimeError}` : null, `Fix: ${d.fix}`]
        .filter(Boolean)
        .join('\n');
      return {
        ruleId: d.code,
        ruleIndex: codes.indexOf(d.code),
        level: LEVEL[d.severity],
        message: { text },
        ...(ins && where ? { locations: [{ physicalLocation: { artifactLocation: where, region: { startLine: ins.line } } }] } : {}),
        partialFingerprints: { 'scratchscope/v1': `${image}|${d.code}|${d.path ?? ''}` },
        properties: {
          image,
          path: d.path,
          layer: d.layer,
          runtimeError: d.runtimeError,
          instruction: ins ? `${ins.keyword} ${ins.args}` : null,
        },
      };
    }),
  );
  return {
    $schema: 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'scratchscope', version: VERSION, rules } },
        ...(where?.uriBaseId ? { originalUriBaseIds: { SRCROOT: { uri: fileUri(uriBase) + '/' } } } : {}),
        results,
        properties: { images: checked.map((c) => ({ image: c.image, verdict: c.report.verdict })) },
      },
    ],
  };
}

const encode = (p: string) => p.split('/').map(encodeURIComponent).join('/');

function fileUri(abs: string): string {
  return 'file://' + encode(abs);
}

/** Relative to the checkout (SRCROOT) when the Dockerfile is inside it, as code scanning wants. */
function artifact(file: string, base: string): { uri: string; uriBaseId?: string } {
  const abs = resolve(base, file);
  return abs.startsWith(base + '/') ? { uri: encode(abs.slice(base.length + 1)), uriBaseId: 'SRCROOT' } : { uri: fileUri(abs) };
}

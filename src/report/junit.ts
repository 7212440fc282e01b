/**
 * JUnit XML for CI test reports: one test case per image ("starts"), failed with the
 * first error and listing every error; warnings go to the case's system-out.
 */
import type { Checked } from './sarif.js';

/** XML text: the five entities, and no characters XML 1.0 forbids (controls become \xNN). */
function xml(s: string): string {
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  );
}

export function toJunit(checked: Checked[]): string {
  const failures = checked.filter((c) => c.report.verdict === 'fails').length;
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="scratchscope" tests="${checked.length}" failures="${failures}" errors="0">`,
  ];
  out.push(
    `  <testsuite name="scratchscope: will the image start" tests="${checked.length}" failures="${failures}" errors="0" skipped="0">`,
  );
  for (const { image, report } of checked) {
    const errors = report.diagnostics.filter((d) => d.severity === 'error');
    const warnings = report.diagnostics.filter((d) => d.severity === 'warning');
    out.push(`    <testcase classname="scratchscope" name="${xml(`${image} starts`)}">`);
    const first = errors[0];
    if (first) {
      const body = errors
        .map((d) => `[${d.code}] ${d.message}${d.runtimeError ? `\nthe runtime says: ${d.runtimeError}` : ''}\nfix: ${d.fix}`)
        .join('\n\n');
      out.push(`      <failure type="${first.code}" message="${xml(first.runtimeError ?? first.message)}">${xml(body)}</failure>`);
    }
    if (warnings.length)
      out.push(
        `      <system-out>${xml(warnings.map((d) => `warning [${d.code}] ${d.message}\nfix: ${d.fix}`).join('\n\n'))}</system-out>`,
      );
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

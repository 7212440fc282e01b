/** The verdict from the layer indexes (src/verdict) next to the full analysis', for the equality tests. */
import assert from 'node:assert/strict';
import { loadImage, seekable } from '../../src/load.js';
import { loadVerdictFirst } from '../../src/report/quick.js';
import { type Report, type ReportOptions, type VerdictReport, buildReport } from '../../src/report/index.js';
import { openImage } from '../../src/source/index.js';
import { verdictOnly } from '../../src/verdict/index.js';

export type Outcome = { error: string } | { report: Pick<VerdictReport, 'verdict' | 'launch' | 'diagnostics'>; quick?: boolean };

export async function full(ref: string, opts: ReportOptions = {}): Promise<Outcome> {
  try {
    const m = await loadImage(ref, { analysis: true });
    try {
      return { report: buildReport(m, opts) };
    } finally {
      await m.close();
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * The full report as `inspect` and the explorer make it (loadVerdictFirst): the quick verdict,
 * then the analysis goes on from its tree. null when there is no fast path.
 */
export async function fromQuick(
  ref: string,
  opts: ReportOptions = {},
  verify = true,
): Promise<{ error: string } | { report: Report } | null> {
  let opened;
  try {
    opened = await openImage(ref, { verify });
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (!seekable(opened)) {
    await opened.close();
    return null;
  }
  let m;
  try {
    m = await loadVerdictFirst(opened, { verify }, opts, () => {});
  } catch (e) {
    return { error: (e as Error).message };
  }
  try {
    return { report: buildReport(m, opts) };
  } finally {
    await m.close();
  }
}

export async function quick(ref: string, opts: ReportOptions = {}, verify = true): Promise<Outcome> {
  try {
    return await verdictOnly(ref, { verify }, opts);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export const core = (o: Outcome) =>
  'error' in o ? { error: o.error } : { verdict: o.report.verdict, launch: o.report.launch, diagnostics: o.report.diagnostics };

/** Compares the two answers; says whether the quick one came from the indexes. */
export async function same(ref: string, opts: ReportOptions = {}): Promise<boolean | null> {
  const q = await quick(ref, opts);
  const f = await full(ref, opts);
  assert.deepEqual(core(q), core(f), `${ref} ${JSON.stringify(opts)}`);
  // and the whole report, when the analysis goes on from the quick verdict's tree
  const a = await fromQuick(ref, opts);
  if (a) assert.deepEqual(a, f, `${ref} ${JSON.stringify(opts)}: the report from the quick tree`);
  else assert.ok(!('quick' in q) || !q.quick, `${ref}: a quick verdict but no quick tree`);
  return 'quick' in q ? q.quick! : null;
}

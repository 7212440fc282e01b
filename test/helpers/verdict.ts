/** The verdict from the layer indexes (src/verdict) next to the full analysis', for the equality tests. */
import assert from 'node:assert/strict';
import { loadImage } from '../../src/load.js';
import { type ReportOptions, type VerdictReport, buildReport } from '../../src/report/index.js';
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
  assert.deepEqual(core(q), core(await full(ref, opts)), `${ref} ${JSON.stringify(opts)}`);
  return 'quick' in q ? q.quick! : null;
}

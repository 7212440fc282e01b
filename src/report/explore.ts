/**
 * An image as the explorer shows it while it loads: the verdict from the layer indexes when
 * they give it, the report's head and the lazy file tree as soon as the layers are merged,
 * the full report once the decoding thread has caught up. A front end reads this, never the
 * model it is made from.
 */
import type { LoadOptions, LoadProgress } from '../load.js';
import { openImage } from '../source/index.js';
import { type Report, type ReportHead, type ReportOptions, type VerdictReport, buildReport, reportHead } from './index.js';
import { loadVerdictFirst } from './quick.js';
import { FileTree } from './tree.js';

export type { LoadOptions, LoadProgress, VerdictReport };

export interface Exploration {
  head: ReportHead;
  files: FileTree;
  /** Settles when the decoding thread has caught up; `report()` waits for nothing from then on. */
  decoded: Promise<void>;
  /** The whole report but `binaries` (the file tree works one file's details out when asked). */
  report(): Report;
  close(): Promise<void>;
}

export interface ExploreOptions extends LoadOptions, ReportOptions {
  /**
   * Hears the verdict as soon as the layer indexes give it (every layer read by seeking),
   * before the digests are checked and the binaries decoded: the explorer's banner. Not
   * called when there is no fast path; the report then brings the verdict.
   */
  onVerdict?: (v: VerdictReport) => void;
}

export async function explore(reference: string, options: ExploreOptions): Promise<Exploration> {
  const opened = await openImage(reference, options);
  const model = await loadVerdictFirst(opened, { ...options, decodeInBackground: true }, options, (v) => options.onVerdict?.(v));
  return {
    head: reportHead(model),
    files: new FileTree(model),
    decoded: model.decodedReady,
    report: () => buildReport(model, { ...options, binaries: false }),
    close: () => model.close(),
  };
}

/**
 * An image as the explorer shows it while it loads: the report's head and the lazy file
 * tree as soon as the layers are merged, the full report once the decoding thread has
 * caught up. A front end reads this, never the model it is made from.
 */
import { type LoadOptions, type LoadProgress, loadImage } from '../load.js';
import { type Report, type ReportHead, type ReportOptions, buildReport, reportHead } from './index.js';
import { FileTree } from './tree.js';

export type { LoadOptions, LoadProgress };

export interface Exploration {
  head: ReportHead;
  files: FileTree;
  /** Settles when the decoding thread has caught up; `report()` waits for nothing from then on. */
  decoded: Promise<void>;
  /** The whole report but `binaries` (the file tree works one file's details out when asked). */
  report(): Report;
  close(): Promise<void>;
}

export async function explore(reference: string, options: LoadOptions & ReportOptions): Promise<Exploration> {
  const model = await loadImage(reference, { ...options, analysis: true, decodeInBackground: true });
  return {
    head: reportHead(model),
    files: new FileTree(model),
    decoded: model.decodedReady,
    report: () => buildReport(model, { ...options, binaries: false }),
    close: () => model.close(),
  };
}

/**
 * The verdict first, from the layer indexes: on an image whose layers can all be read by
 * seeking, the model is loaded without sniffing, spooling, hashing or decoding (bodies are
 * read when the diagnosis opens them), and the verdict built on it. The full analysis can
 * go on from that model (load.ts analyseLoaded) instead of loading the image again. Used by
 * `inspect` (its verdict block), the explorer (its banner) and verdict/ (`--verdict-only`).
 */
import { closeSharedFiles } from '../fs/bytes.js';
import { type ImageModel, type LoadOptions, analyseLoaded, loadOpened, seekable } from '../load.js';
import type { OpenedImage } from '../source/types.js';
import { type ReportOptions, type VerdictReport, buildVerdict } from './index.js';

export interface QuickOptions extends ReportOptions {
  /** Hash each layer against its digest before answering (a full read of each, as the full analysis does). */
  verify?: boolean;
  concurrency?: LoadOptions['concurrency'];
  onProgress?: LoadOptions['onProgress'];
  /** Tell the files apart as the walk passes them (see LoadOptions.sniff): for a caller that goes on to the analysis. */
  sniff?: boolean;
}

/**
 * The verdict read from the layer indexes, and the model it was read from; null when a layer
 * must be inflated (the full analysis answers then). Leaves `opened` open, for that
 * analysis; the model's close closes it.
 */
export async function quickLoad(
  opened: OpenedImage,
  opts: QuickOptions = {},
): Promise<{ report: VerdictReport; model: ImageModel } | null> {
  if (!seekable(opened)) return null;
  const model = await loadOpened(
    opened,
    { verify: opts.verify ?? true, concurrency: opts.concurrency, analysis: false, sniff: opts.sniff, onProgress: opts.onProgress },
    null,
  );
  return { report: buildVerdict(model, opts, undefined, false).report, model };
}

/**
 * quickLoad for a caller that goes on to the full analysis (inspect's text, the explorer):
 * when the quick load fails, null, and the full load that follows names the failure. The
 * quick load walks without hashing, so it would name a later layer's broken tar before an
 * earlier layer's digest mismatch, where every other command names the first failing layer.
 */
export async function quickFirst(
  opened: OpenedImage,
  opts: QuickOptions = {},
): Promise<{ report: VerdictReport; model: ImageModel } | null> {
  try {
    return await quickLoad(opened, opts);
  } catch {
    closeSharedFiles(); // what the diagnosis opened before the failure
    return null;
  }
}

/**
 * An image's full analysis, its verdict first: when every layer can be read by seeking,
 * `onVerdict` hears the verdict from the layer indexes (before the digests are checked and
 * the binaries decoded) and the analysis goes on from that tree; otherwise a full load.
 * `inspect` prints its verdict block so, the explorer draws its banner. Closes `opened`
 * when it fails.
 */
export async function loadVerdictFirst(
  opened: OpenedImage,
  load: LoadOptions,
  report: ReportOptions,
  onVerdict: (v: VerdictReport) => void | Promise<void>,
): Promise<ImageModel> {
  // unverified: the analysis that follows checks the digests, and fails on a mismatch
  const quick = await quickFirst(opened, {
    ...report,
    verify: false,
    sniff: true,
    concurrency: load.concurrency,
    onProgress: load.onProgress,
  });
  const full = { ...load, analysis: true };
  try {
    if (!quick) return await loadOpened(opened, full);
    await onVerdict(quick.report);
    return await analyseLoaded(quick.model, full);
  } catch (e) {
    await (quick ? quick.model.close() : opened.close());
    throw e;
  }
}

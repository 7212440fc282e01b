/**
 * The verdict first. On an image whose layers can be read by seeking (uncompressed tars in a
 * file: a docker save, an OCI layout or archive with uncompressed layers, a root filesystem
 * tar; or folders), the verdict needs the layers' indexes and a handful of bodies, not a
 * read of every byte: each layer's tar headers are read with the bodies skipped, merged
 * into the same tree the full analysis builds (whiteouts, opaque folders, hard links, the
 * layer problems), and the same diagnosis runs on it. What it opens (the config, the
 * entrypoint through its links, its #! chain, loader and libraries, ld.so.cache and the
 * loader's path files, /etc/passwd and /etc/group) is read there and then, by position.
 * Nothing else is sniffed, decoded, or (without --verify) hashed.
 *
 * Every header is read, not only the needed paths': the diagnostics name files anywhere in
 * the image ("the image has /opt/app/app: point ENTRYPOINT there"), say which layer deleted
 * a program, and warn about layer problems, and the answer must be the full analysis'
 * answer. A compressed layer's index cannot be read without inflating it all: there is no
 * fast path then (null), and the caller runs the full analysis.
 */
import { closeSharedFiles } from '../fs/bytes.js';
import { type LoadOptions, loadOpened } from '../load.js';
import { type ReportOptions, type VerdictReport, buildVerdict } from '../report/index.js';
import { type QuickOptions, quickLoad } from '../report/quick.js';
import { openImage } from '../source/index.js';
import type { OpenedImage } from '../source/types.js';

export type { VerdictReport } from '../report/index.js';
export { type QuickOptions, quickLoad } from '../report/quick.js';

/** The verdict read from the layer indexes, or null (see quickLoad). Leaves `opened` open. */
export async function quickVerdict(opened: OpenedImage, opts: QuickOptions = {}): Promise<VerdictReport | null> {
  return (await quickLoad(opened, opts))?.report ?? null;
}

/**
 * The verdict of an image, `inspect --verdict-only`'s: from the layer indexes when every layer
 * can be read by seeking, else from the full load (every layer inflated, no binary listed).
 * Closes what it opened.
 */
export async function verdictOnly(
  reference: string,
  load: LoadOptions,
  opts: ReportOptions = {},
): Promise<{ report: VerdictReport; quick: boolean }> {
  const opened = await openImage(reference, load);
  let quick: VerdictReport | null;
  try {
    quick = await quickVerdict(opened, { ...opts, verify: load.verify, concurrency: load.concurrency });
  } catch (e) {
    closeSharedFiles();
    await opened.close();
    throw e;
  }
  if (quick) {
    closeSharedFiles();
    await opened.close();
    return { report: quick, quick: true };
  }
  let model;
  try {
    model = await loadOpened(opened, { ...load, analysis: true });
  } catch (e) {
    await opened.close();
    throw e;
  }
  try {
    return { report: buildVerdict(model, opts, undefined, false).report, quick: false };
  } finally {
    await model.close();
  }
}

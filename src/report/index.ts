/**
 * The report: one plain object that every renderer reads (text, JSON, TUI). Its JSON form
 * is a versioned contract documented in docs/report.schema.json.
 */
import { treeTotals } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import type { ImageConfig, SourceInfo } from '../source/types.js';
import { type BinaryReport, analyzeBinaries } from './binaries.js';
import { BinaryCatalog } from '../elf/catalog.js';
import { type DiagnoseOptions, type Diagnostic, type Launch, type Verdict, diagnose } from '../diagnose/index.js';
import { type RuntimeChoice, withRuntimeLines } from '../diagnose/runtimes.js';

export const SCHEMA_VERSION = 1;

export interface ReportOptions extends DiagnoseOptions {
  /** Whose words runtimeError is in (default runc's); runtimeErrors has them all. */
  runtime?: RuntimeChoice;
}

export interface LayerReport {
  index: number;
  digest: string | null;
  diffId: string | null;
  mediaType: string | null;
  compression: string;
  storedSize: number;
  tarSize: number;
  verified: boolean;
  createdBy: string | null;
  created: string | null;
  comment: string | null;
  entries: number;
  contentBytes: number;
  added: number;
  modified: number;
  removed: number;
  problems: string[];
}

export interface Report {
  schemaVersion: number;
  source: SourceInfo;
  image: ImageConfig | null;
  /** Build steps, empty layers included, as the config's history has them. */
  history: { createdBy: string; created: string | null; emptyLayer: boolean }[];
  layers: LayerReport[];
  files: { entries: number; regularFiles: number; bytes: number };
  wasted: { bytes: number; top: { path: string; size: number; count: number }[] };
  /** How the runtime would start the command, step by step. */
  launch: Launch;
  verdict: Verdict;
  /** Errors first, in the order the runtime meets them; then warnings. */
  diagnostics: Diagnostic[];
  /** Every ELF file in the image. */
  binaries: BinaryReport[];
}

export function buildReport(model: ImageModel, opts: ReportOptions = {}): Report {
  const totals = treeTotals(model.tree);
  const catalog = new BinaryCatalog(model.tree, model.decoded);
  const diagnosis = diagnose(model, catalog, opts);
  return {
    schemaVersion: SCHEMA_VERSION,
    source: model.source,
    image: model.config,
    history: model.history.map((h) => ({ createdBy: h.createdBy, created: h.created, emptyLayer: h.emptyLayer })),
    layers: model.layers.map((l) => {
      const count = (k: string) => l.changes.changes.filter((c) => c.kind === k).length;
      return {
        index: l.index,
        digest: l.digest,
        diffId: l.diffId,
        mediaType: l.mediaType,
        compression: l.compression,
        storedSize: l.storedSize,
        tarSize: l.tarSize,
        verified: l.verified,
        createdBy: l.history?.createdBy ?? null,
        created: l.history?.created ?? null,
        comment: l.history?.comment ?? null,
        entries: l.changes.entryCount,
        contentBytes: l.changes.contentBytes,
        added: count('added'),
        modified: count('modified'),
        removed: count('removed'),
        problems: l.changes.problems,
      };
    }),
    files: { entries: totals.entries, regularFiles: totals.files, bytes: totals.bytes },
    wasted: { bytes: model.tree.wastedBytes, top: model.tree.wasted(20) },
    launch: diagnosis.launch,
    verdict: diagnosis.verdict,
    diagnostics: withRuntimeLines(diagnosis.diagnostics, diagnosis.launch.argv, diagnosis.launch.executable, opts.runtime),
    binaries: analyzeBinaries(model, catalog),
  };
}

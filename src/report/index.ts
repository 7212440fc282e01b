/**
 * The report: one plain object that every renderer reads (text, JSON, TUI). Its JSON form
 * is a versioned contract documented in docs/report.schema.json.
 */
import { treeTotals } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import type { ImageConfig, SourceInfo } from '../source/types.js';
import { type BinaryReport, analyzeBinaries } from './binaries.js';
import { BinaryCatalog } from '../elf/catalog.js';
import { attachCopyLines, launchClosure, needsCopyLines } from '../closure/fixes.js';
import type { Closure } from '../closure/index.js';
import { type DiagnoseOptions, type Diagnostic, type Launch, type Verdict, diagnose } from '../diagnose/index.js';
import { type RuntimeChoice, withRuntimeLines } from '../diagnose/runtimes.js';

// The types the report is made of, for front ends: they read these, never the model.
export type { Closure, ClosureFile } from '../closure/index.js';
export type { Code, Diagnostic, Launch, LaunchStep, Severity, Verdict } from '../diagnose/index.js';
export { runtimeLines } from '../diagnose/index.js';
export type { ElfInfo } from '../elf/types.js';
export type { ChangeRecord, FileRecord } from '../fs/index.js';
export type { EntryType } from '../layers/index.js';
export type { Dependency, LoadResult } from '../loader/index.js';
export type { ContainerReport } from '../container/index.js';
export type { PodReport } from '../container/pod.js';

/**
 * The report's version (docs/report.md): it changes when a field changes meaning or is
 * removed; fields may be added within a version.
 */
export const SCHEMA_VERSION = 1;

export interface ReportOptions extends DiagnoseOptions {
  /** false: leave `binaries` empty (the explorer works out one file's details when asked). */
  binaries?: boolean;
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

/**
 * What scratchscope knows of one image: where it came from, its config, layers and files,
 * how the runtime would start its command and whether that works, and why not.
 * One object per image. schemaVersion changes when a field changes meaning or is removed;
 * new fields may be added within a version.
 */
export interface Report {
  /** 1 for now; see docs/report.md for when it changes. */
  schemaVersion: typeof SCHEMA_VERSION;
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
  /** What the command's program needs, as `scratchscope closure` lists it; null when the runtime finds no program. */
  closure: Closure | null;
  /** Every ELF file in the image. */
  binaries: BinaryReport[];
}

/** What the report says before any binary is decoded: source, config, layers, sizes. */
export type ReportHead = Omit<Report, 'launch' | 'verdict' | 'diagnostics' | 'closure' | 'binaries'>;

/**
 * What `inspect --verdict-only` prints: the report without the per-layer, per-file and
 * per-binary detail (history, layers, files, wasted, closure, binaries).
 */
export type VerdictReport = Pick<Report, 'schemaVersion' | 'source' | 'image' | 'launch' | 'verdict' | 'diagnostics'>;

/** The verdict and every diagnostic, exactly as the full report has them; and the closure, for the report that carries it. */
export function buildVerdict(
  model: ImageModel,
  opts: ReportOptions = {},
  catalog = new BinaryCatalog(model.tree, model.decoded),
  withClosure = true,
): { report: VerdictReport; closure: Closure | null } {
  const diagnosis = diagnose(model, catalog, opts);
  // without the closure in the output it is worked out only for the COPY lines of a fix
  const closure =
    withClosure || needsCopyLines(diagnosis.diagnostics) ? launchClosure(model, diagnosis.launch.executable, opts, diagnosis.hops) : null;
  attachCopyLines(closure, diagnosis.diagnostics);
  const report: VerdictReport = {
    schemaVersion: SCHEMA_VERSION,
    source: model.source,
    image: model.config,
    launch: diagnosis.launch,
    verdict: diagnosis.verdict,
    diagnostics: withRuntimeLines(diagnosis.diagnostics, diagnosis.launch.argv, diagnosis.launch.executable, opts.runtime),
  };
  return { report, closure: closure?.closure ?? null };
}

export function buildReport(model: ImageModel, opts: ReportOptions = {}): Report {
  const catalog = new BinaryCatalog(model.tree, model.decoded);
  const { report: v, closure } = buildVerdict(model, opts, catalog);
  return {
    ...reportHead(model),
    launch: v.launch,
    verdict: v.verdict,
    diagnostics: v.diagnostics,
    closure,
    binaries: opts.binaries === false ? [] : analyzeBinaries(model, catalog),
  };
}

export function reportHead(model: ImageModel): ReportHead {
  const totals = treeTotals(model.tree);
  return {
    schemaVersion: SCHEMA_VERSION,
    source: model.source,
    image: model.config,
    history: model.history.map((h) => ({ createdBy: h.createdBy, created: h.created, emptyLayer: h.emptyLayer })),
    layers: model.layers.map((l) => {
      const count = (k: 'added' | 'modified' | 'removed') => l.changes.changes.count(k);
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
  };
}

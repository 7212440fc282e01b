/**
 * The JSON each command prints, by command. docs/report.schema.json is generated from these
 * types (npm run schema): `Report` is its root, the others are its definitions, so one file
 * describes every JSON output and the tests validate each against its definition.
 */
import type { CopyItem } from './closure/dockerfile.js';
import type { ContainerReport } from './container/index.js';
import type { PodReport } from './container/pod.js';
import type { RepairResult } from './repair/index.js';
import type { ImageFormat } from './repair/write.js';
import type { ChangeRecord, Closure, FileRecord, Report } from './report/index.js';
import type { LddReport } from './report/ldd.js';
import type { Checked } from './report/sarif.js';

/** `inspect --json`, and `scratchscope IMAGE --json`. */
export type InspectJson = Report;

/** `check --format json`: each image as named, with its report. */
export type CheckJson = Checked[];

/** `ldd --json`. */
export type LddJson = LddReport;

/** `closure --json`. */
export type ClosureJson = Closure;

/** `closure --dockerfile --json`: the COPY lines that supply what is missing (with --all: the whole closure). */
export interface ClosureCopiesJson {
  /** The build stage (or image) the lines copy from. */
  stage: string;
  copies: CopyItem[];
  lines: string[];
  /** Warnings and what --from-image lacks, as comment lines. */
  notes: string[];
}

/** `files --json`: the final image's entries. */
export type FilesJson = FileRecord[];

/** `files --layer N --json`: what layer N added, modified and removed. */
export type ChangesJson = ChangeRecord[];

/** `repair --json`. */
export type RepairJson = RepairResult;

/** `slim --json`. */
export interface SlimJson {
  /** Where the slim image was written. */
  out: string;
  format: ImageFormat;
  /** The name it got, or null. */
  name: string | null;
  /** Files in the slim image, and their bytes; the original image's bytes. */
  files: number;
  bytes: number;
  originalBytes: number;
  closure: Closure;
}

/** `container --json`. */
export type ContainerJson = ContainerReport;

/** `pod --json`. */
export type PodJson = PodReport;

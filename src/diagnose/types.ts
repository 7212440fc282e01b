/** Diagnostics: what will go wrong (or may), in the runtime's words, with the fix. */

export type Severity = 'error' | 'warning';

export const ERROR_CODES = [
  'user-missing',
  'no-command',
  'workdir-not-dir',
  'shell-missing',
  'exec-not-found',
  'exec-not-in-path',
  'not-executable',
  'exec-format',
  'interpreter-missing',
  'shebang-interpreter-missing',
  'library-missing',
  'shell-command-fails',
  'script-unreadable',
  'script-missing',
  'stdlib-missing',
  'elf-truncated',
  'capability-denied',
  'init-command-fails',
  'symbol-version-missing',
  'symbol-missing',
  'hidden-by-mount',
  'non-numeric-user',
  'runs-as-root',
] as const;

export const WARNING_CODES = [
  'static-glibc-nss',
  'ca-certificates-missing',
  'tmp-missing',
  'zoneinfo-missing',
  'go-cgo-enabled',
  'arch-mismatch',
  'foreign-platform',
  'shell-form-signals',
  'symbol-version-weak',
  'symbol-missing-lazy',
  'elf-damaged',
  'layer-problem',
  'loader-limit',
  'read-only-tmp',
  'preload-missing',
] as const;

export type Code = (typeof ERROR_CODES)[number] | (typeof WARNING_CODES)[number];

/**
 * The lines of a diagnostic's runtime output. glibc's loader prints one line per missing
 * symbol version; every other message is one line, whatever newlines a name out of the
 * image brings into it (a library called "a\nb" is not two lines).
 */
export function runtimeLines(d: Pick<Diagnostic, 'code' | 'runtimeError'>): string[] {
  if (d.runtimeError === null) return [];
  // python's fatal error is three lines of its own words (no name out of the image in them)
  return d.code === 'symbol-version-missing' || d.code === 'stdlib-missing' ? d.runtimeError.split('\n') : [d.runtimeError];
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  /** What is wrong, in plain words. */
  message: string;
  /** The file involved, and the layer that last wrote it. */
  path: string | null;
  layer: number | null;
  /** For errors: the line the runtime (runc >= 1.1, Docker >= 20.10) or the loader prints. */
  runtimeError: string | null;
  /** Every runtime's line for it, keyed by runtime (NAME or NAME@VERSION); see runtimes.ts. */
  runtimeErrors?: Record<string, string | null> | null;
  /** A concrete change that fixes it. */
  fix: string;
  /**
   * For failures files cure: the exact Dockerfile lines that supply them from a build
   * stage named `build` (as `scratchscope closure --dockerfile` prints them).
   */
  dockerfile?: string[];
  /** What scratchscope saw that led here. */
  evidence: string[];
  /** For shell-command-fails and init-command-fails: the failure met running the program the shell or init runs (its code as a direct run gets it). */
  cause?: Code;
}

export type StepKind = 'user' | 'command' | 'lookup' | 'exec' | 'loader' | 'script';

export interface LaunchStep {
  step: StepKind;
  ok: boolean;
  /** What happened at this step, e.g. "found /usr/bin/app (through /bin -> usr/bin)". */
  detail: string;
}

export interface Launch {
  /** The process arguments: Entrypoint + Cmd, after overrides. */
  argv: string[];
  /** The file execve runs, when the lookup found one. */
  executable: string | null;
  /** The launch as the runtime takes it, up to the first step that fails. */
  steps: LaunchStep[];
}

export type Verdict = 'starts' | 'fails';

/** What one launch step of diagnose() found: the step as the runtime takes it, and its findings. */
export interface StepResult {
  step: LaunchStep;
  findings: Diagnostic[];
}

/** A file a program that runs programs reads to get going (see Hop): gosu's user database, a shell's script file. */
export interface Read {
  path: string;
  role: 'user-database' | 'script';
}

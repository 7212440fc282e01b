/**
 * Errors are values with a stable code and a one-line message a person can act on.
 * The CLI prints `scratchscope: <message>` and exits with the code of the error's class
 * (README, "Exit codes"); anything else reaching the top is a bug, still reported in one line.
 */
export type ErrorCode =
  | 'usage'
  | 'not-found'
  | 'not-an-image'
  | 'truncated'
  | 'corrupt'
  | 'unsupported'
  | 'missing-blob'
  | 'digest-mismatch'
  | 'ambiguous-image'
  | 'unknown-platform'
  | 'daemon-unavailable'
  | 'registry-unavailable'
  | 'image-not-found'
  | 'permission-denied'
  | 'path-not-found'
  | 'symlink-loop'
  | 'too-large'
  | 'io';

/** What the exit code tells a script: whose move it is. */
export type ErrorClass = 'usage' | 'input' | 'not-found' | 'unreachable' | 'internal';

export const EXIT = {
  ok: 0,
  /** A finding at or above the --fail-on threshold (check: an image that fails). */
  finding: 1,
  /** The command line is wrong: an unknown option, a bad value, a choice left open. */
  usage: 2,
  /** The input cannot be read, or is not a valid image (or an output cannot be written). */
  input: 3,
  /** What the command names is not there: the image, its tag or platform, a container, a path in the image. */
  'not-found': 4,
  /** The container engine or the registry cannot be reached, or does not answer. */
  unreachable: 5,
  /** A bug in scratchscope. */
  internal: 70,
} as const satisfies Record<ErrorClass | 'ok' | 'finding', number>;

/** Every code in one class. */
export const ERROR_CLASS: Record<ErrorCode, ErrorClass> = {
  usage: 'usage',
  'ambiguous-image': 'usage',
  'not-an-image': 'input',
  truncated: 'input',
  corrupt: 'input',
  unsupported: 'input',
  'missing-blob': 'input',
  'digest-mismatch': 'input',
  'permission-denied': 'input',
  'symlink-loop': 'input',
  'too-large': 'input',
  io: 'input',
  'not-found': 'not-found',
  'image-not-found': 'not-found',
  'unknown-platform': 'not-found',
  'path-not-found': 'not-found',
  'daemon-unavailable': 'unreachable',
  'registry-unavailable': 'unreachable',
};

export class ScopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'ScopeError';
  }
}

export function isScopeError(e: unknown): e is ScopeError {
  return e instanceof ScopeError;
}

/** The exit code for a ScopeError's code. */
export function exitCode(code: ErrorCode): number {
  return EXIT[ERROR_CLASS[code]];
}

/** Turns an fs error on `path` into a ScopeError that names the path. */
export function fsError(e: unknown, path: string): ScopeError {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT':
      return new ScopeError('not-found', `${path}: no such file or directory`);
    case 'EACCES':
    case 'EPERM':
      return new ScopeError('permission-denied', `${path}: permission denied`);
    case 'EISDIR':
      return new ScopeError('io', `${path}: is a directory`);
    default:
      return new ScopeError('io', `${path}: ${err?.message ?? String(e)}`);
  }
}

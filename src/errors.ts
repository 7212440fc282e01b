/**
 * Errors are values with a stable code and a one-line message a person can act on.
 * The CLI prints `scratchscope: <message>` and exits 2 for any ScopeError; anything
 * else reaching the top is a bug and is still reported in one line.
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
  | 'image-not-found'
  | 'permission-denied'
  | 'path-not-found'
  | 'symlink-loop'
  | 'too-large'
  | 'io';

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

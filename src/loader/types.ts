/** What the emulated dynamic loader found for one program. */

/** The rule that found a library, in the loader's own terms. */
export type Via =
  | 'path' // the needed name has a slash
  | 'loaded' // an object already loaded answers to the name (soname or path)
  | 'rpath'
  | 'LD_LIBRARY_PATH'
  | 'runpath'
  | 'ld.so.cache'
  | 'default' // the loader's built-in directories, as read from the loader file
  | 'default-assumed' // the usual built-in directories, assumed: the loader file could not be read
  | 'musl-libc' // musl serves libc, libm, libpthread, … itself
  | 'ld-musl.path'; // /etc/ld-musl-ARCH.path

export interface Skipped {
  path: string;
  reason: string;
}

export interface Dependency {
  /** The name as written in DT_NEEDED. */
  name: string;
  /** Path of the object whose DT_NEEDED names it. */
  requiredBy: string;
  /** Absolute path inside the image where the loader opens it, or null when missing. */
  resolved: string | null;
  /** `resolved` with every symlink followed. */
  realPath: string | null;
  via: Via | null;
  /** A glibc-hwcaps subdirectory it was found in: used only on CPUs that support that level. */
  hwcaps: string | null;
  /** Candidate paths tried, in the loader's order (at most LIMITS.searched of them). */
  searched: string[];
  /** Candidates tried beyond those listed in `searched`. */
  searchedOmitted: number;
  /** Candidates that exist but were passed over (wrong class or machine). */
  skipped: Skipped[];
  /** Why loading stops here, in the loader's words ("cannot open shared object file", …). */
  error: string | null;
  /** The file the error is about, when the loader opened one that it cannot load (glibc names it in its line). */
  errorPath: string | null;
  /** 1 for the program's own needs, 2 for theirs, … */
  depth: number;
}

export interface VersionProblem {
  /** The library that lacks the version, as loaded. */
  library: string;
  version: string;
  requiredBy: string;
  /** A weak requirement: the loader only warns. */
  weak: boolean;
}

/** A library named by LD_PRELOAD or /etc/ld.so.preload, loaded before the program's needs. */
export interface Preload {
  name: string;
  from: 'LD_PRELOAD' | '/etc/ld.so.preload';
  /** Where the loader opens it, or null when it cannot load it (and skips it). */
  resolved: string | null;
  /** Why it is skipped, in the loader's words ("cannot open shared object file"). */
  error: string | null;
}

export type LoaderKind = 'glibc' | 'musl' | 'static' | 'unknown';

export interface LoadResult {
  program: string;
  loader: LoaderKind;
  interpreter: { path: string; resolved: string | null; error: string | null } | null;
  /** LD_PRELOAD's libraries, then /etc/ld.so.preload's (glibc), in the loader's order. */
  preloads: Preload[];
  /** Every DT_NEEDED entry met, breadth first, as ld.so meets them (a preloaded library's too). */
  dependencies: Dependency[];
  versionProblems: VersionProblem[];
  /** The loader's default directories, in its order. */
  defaultDirs: string[];
  /**
   * Where `defaultDirs` come from: "read from PATH" (glibc's compiled-in list, or musl's
   * path file), "built into musl", or "assumed: …" when the loader could not be read.
   */
  defaultDirsFrom: string;
  /** Work cut short at a limit ("too many …"): what follows it was not examined. */
  limits: string[];
  notes: string[];
  /**
   * Why the program runs in secure mode (AT_SECURE: "set-user-ID to uid 0", "file
   * capabilities, run by uid 1000"), where both loaders ignore LD_LIBRARY_PATH, LD_PRELOAD
   * and the program's own $ORIGIN; null when it does not.
   */
  secure: string | null;
}

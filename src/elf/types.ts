/* What the ELF decoder returns (decodeElf): see ElfInfo. */

/** The kind of ELF file, from e_type, with PIE and static-PIE executables told apart. */
export type ElfType = 'executable' | 'pie-executable' | 'static-pie' | 'shared-object' | 'relocatable' | 'core' | 'unknown';
export type Libc = 'glibc' | 'musl' | 'none' | 'unknown';

export interface VersionNeed {
  /** The soname the versions are required from (vn_file). */
  file: string;
  versions: string[];
  /** Those of `versions` marked weak: a missing one is only a warning. */
  weak: string[];
}

export interface GoInfo {
  version: string;
  /** Main package path. */
  path: string | null;
  mainModule: { path: string; version: string } | null;
  /** `build` lines: CGO_ENABLED, GOOS, GOARCH, -ldflags, … */
  settings: Record<string, string>;
  dependencies: { path: string; version: string }[];
  /** From CGO_ENABLED; null when the build info does not say. */
  cgo: boolean | null;
}

export interface Hardening {
  pie: boolean;
  relro: 'none' | 'partial' | 'full';
  nx: boolean;
  /** null when the symbols that tell were stripped. */
  canary: boolean | null;
}

/**
 * What the decoder reads from one ELF file. `inspect --json` prints a summary of it under
 * `binaries[].elf` (report/binaries.ts); a file's details in the explorer carry all of it.
 */
export interface ElfInfo {
  class: 32 | 64;
  endian: 'little' | 'big';
  osabi: string;
  /** e_machine as a name: x86_64, aarch64, arm, i386, ppc64le, s390x, riscv64, … */
  machine: string;
  /** The OCI architecture this machine runs as (amd64, arm64, …), when there is one. */
  architecture: string | null;
  type: ElfType;
  interpreter: string | null;
  needed: string[];
  soname: string | null;
  /** As written in the file (colon-separated, with $ORIGIN and friends unexpanded). */
  rpath: string | null;
  runpath: string | null;
  flags: { bindNow: boolean; pie: boolean; nodeflib: boolean };
  versionNeeds: VersionNeed[];
  /** Versions this object defines (a libc's GLIBC_2.x), its own base name excluded. */
  versionDefs: string[];
  /** No program interpreter: the kernel runs it directly. */
  static: boolean;
  libc: Libc;
  buildId: string | null;
  /** The GNU ABI tag note: the oldest kernel a glibc binary supports. */
  abiTag: string | null;
  /** `.note.package` JSON (distribution packaging metadata). */
  package: Record<string, unknown> | null;
  go: GoInfo | null;
  hardening: Hardening;
  /**
   * A static glibc program that still loads NSS modules (libnss_*.so) at run time, for
   * getaddrinfo, getpwnam and friends; null when the question does not apply.
   */
  staticNss: boolean | null;
  /**
   * For a glibc dynamic loader (ld-linux-*.so.*, ld64.so.*): the system directories
   * compiled into it, in its search order, as it writes them (`/lib64/`); null otherwise.
   */
  systemDirs: string[] | null;
  /** For a glibc dynamic loader: the glibc release it says it is ("2.36"), when it says. */
  loaderRelease: string | null;
  /** Damage found while decoding; what could still be read is above. */
  problems: string[];
}

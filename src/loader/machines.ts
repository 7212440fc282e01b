/**
 * Per-machine facts the loaders and execve share, keyed by the ELF machine name
 * (ElfInfo.machine: x86_64, aarch64, arm, …) or, for what the kernel runs, by the OCI
 * architecture (amd64, arm64, …).
 */

/** Machines a kernel of one architecture runs besides its own (compat modes), by OCI architecture. */
const ALSO_RUNS: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'], s390x: ['s390'], ppc64le: [] };

/** Does a kernel of architecture `host` run a binary of architecture `binary`? */
export function hostRuns(host: string, binary: string | null): boolean {
  if (!binary) return false;
  return binary === host || (ALSO_RUNS[host] ?? []).includes(binary);
}

/** The program interpreter each glibc port links into its executables. */
export const GLIBC_INTERP: Record<string, string> = {
  x86_64: '/lib64/ld-linux-x86-64.so.2',
  aarch64: '/lib/ld-linux-aarch64.so.1',
  arm: '/lib/ld-linux-armhf.so.3',
  i386: '/lib/ld-linux.so.2',
  ppc64le: '/lib64/ld64.so.2',
  s390x: '/lib/ld64.so.1',
  riscv64: '/lib/ld-linux-riscv64-lp64d.so.1',
};

/** musl's ARCH in /lib/ld-musl-ARCH.so.1. */
export const MUSL_ARCH: Record<string, string> = {
  x86_64: 'x86_64',
  aarch64: 'aarch64',
  arm: 'armhf',
  i386: 'i386',
  ppc64le: 'powerpc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** Debian's multiarch tuple per machine (/lib/x86_64-linux-gnu). */
export const TRIPLETS: Record<string, string> = {
  x86_64: 'x86_64-linux-gnu',
  i386: 'i386-linux-gnu',
  aarch64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ppc64le: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
  mips64el: 'mips64el-linux-gnuabi64',
};

/** glibc's $PLATFORM (the AT_PLATFORM string) per machine. */
export const PLATFORM: Record<string, string> = {
  x86_64: 'x86_64',
  i386: 'i686',
  aarch64: 'aarch64',
  arm: 'v7l',
  ppc64le: 'power8',
  s390x: 'z900',
  riscv64: 'riscv64',
};

/** glibc-hwcaps levels ld.so probes, best first. */
export const HWCAPS: Record<string, string[]> = {
  x86_64: ['x86-64-v4', 'x86-64-v3', 'x86-64-v2'],
  ppc64le: ['power10', 'power9'],
  s390x: ['z16', 'z15', 'z14', 'z13'],
};

/**
 * The cache flags each port's ld.so accepts (_dl_cache_check_flags), the first being its
 * own (_DL_CACHE_DEFAULT_ID): FLAG_ELF_LIBC6 (3) with the port's bits, so a 64-bit loader
 * never takes an x32 or 32-bit entry. Keyed by machine and class.
 */
export const CACHE_IDS: Record<string, number[]> = {
  'x86_64/64': [0x0303],
  'x86_64/32': [0x0803],
  'aarch64/64': [0x0a03],
  'ppc64le/64': [0x0503],
  's390x/64': [0x0403],
  'arm/32': [0x0903],
  'i386/32': [0x0003, 0x0001],
};

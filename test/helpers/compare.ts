/** Comparing a merged tree with what `docker export` of a container gives. */
import type { FileRecord } from '../../src/fs/index.js';

/** What a runtime adds to every container (the init layer and mount points), not part of the image. */
export const RUNTIME_PATHS = [/^\/\.dockerenv$/, /^\/dev(\/|$)/, /^\/proc$/, /^\/sys$/, /^\/etc\/(hostname|hosts|resolv\.conf|mtab)$/];

export function comparable(files: FileRecord[], dropRuntime = false): string[] {
  return files
    .filter((f) => !dropRuntime || !RUNTIME_PATHS.some((re) => re.test(f.path)))
    .map((f) => {
      // A hard link and its target are the same file: export may name either one first.
      const type = f.type === 'hardlink' ? 'file' : f.type;
      return `${f.path} ${type} ${f.mode.toString(8)} ${type === 'file' ? f.size : 0} ${f.type === 'symlink' ? f.linkTarget : ''}`;
    });
}

/**
 * docker export of a container, less what the runtime added: its files (RUNTIME_PATHS)
 * and /etc itself when the image has no /etc (the runtime makes it for hosts and resolv.conf).
 */
export function exportComparable(exported: FileRecord[], image: FileRecord[]): string[] {
  const imageHasEtc = image.some((f) => f.path === '/etc');
  return comparable(exported, true).filter((line) => imageHasEtc || !line.startsWith('/etc '));
}

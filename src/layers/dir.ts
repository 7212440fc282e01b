/** Walks a plain root filesystem folder as if it were one layer tar. Links are never followed. */
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { fsError } from '../errors.js';
import type { EntryType } from '../archive/tar.js';
import { type Magic, magicOf } from '../archive/magic.js';
import type { LayerEntry } from './index.js';

function typeOf(st: import('node:fs').Stats): EntryType | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return null; // sockets are not part of an image
}

/**
 * The kernel's own file systems (proc, sysfs, cgroup, devpts, …), mounted in a root that is a
 * running system's (`--from /`): no image holds them, and their files are no files (a
 * /proc/PID/exe link that cannot be read, sizes that lie). Their mount points stay, empty, as
 * `docker export` leaves /proc and /sys.
 */
const KERNEL_FS = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x1cd1, // devpts
  0x73636673, // securityfs
  0x64626720, // debugfs
  0x74726163, // tracefs
  0xcafe4a11, // bpf
  0x6165676c, // pstore
  0x62656570, // configfs
  0x65735543, // fusectl
  0x19800202, // mqueue
  0x42494e4d, // binfmt_misc
  0x6e736673, // nsfs
]);

function kernelMount(dir: string): boolean {
  try {
    return KERNEL_FS.has(statfsSync(dir).type);
  } catch {
    return false;
  }
}

export function walkDir(root: string, layer = 0): LayerEntry[] {
  const out: LayerEntry[] = [];
  const inodes = new Map<string, string>(); // dev:ino -> first path, to spot hard links
  // folders to read, depth first (an explicit stack: a hostile folder can nest deeper than the call stack)
  const pending: [string, string, number][] = [[root, '/', lstatSync(root).dev]];
  while (pending.length) {
    const [real, path, dev] = pending.pop()!;
    visit(real, path, dev, (full, p, d) => pending.push([full, p, d]));
  }
  return out;

  function visit(real: string, path: string, dev: number, later: (full: string, p: string, dev: number) => void): void {
    let names: string[];
    try {
      names = readdirSync(real).sort();
    } catch (e) {
      if (gone(e)) return; // a live root's folder removed while it was walked
      throw fsError(e, real);
    }
    for (const name of names) {
      const full = join(real, name);
      const p = path === '/' ? `/${name}` : `${path}/${name}`;
      let st;
      let linkname = '';
      try {
        st = lstatSync(full);
        if (st.isSymbolicLink()) linkname = readlinkSync(full);
      } catch (e) {
        if (gone(e)) continue; // removed between the listing and now: it is not there
        throw fsError(e, full);
      }
      let type = typeOf(st);
      if (!type) continue;
      if (type === 'file' && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first) {
          type = 'hardlink';
          linkname = first;
        } else inodes.set(key, p);
      }
      out.push({
        path: p,
        rawName: p.slice(1),
        type,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: type === 'file' ? st.size : 0,
        mtime: Math.floor(st.mtimeMs / 1000),
        linkname,
        dataPos: 0,
        content: type === 'file' ? { file: full, offset: 0, size: st.size, layer, ordinal: out.length } : null,
        magic: type === 'file' ? sniffFile(full) : null,
      });
      // another file system mounted here: the kernel's own are left empty
      if (type === 'dir' && (st.dev === dev || !kernelMount(full))) later(full, p, st.dev);
    }
  }
}

const gone = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

function sniffFile(path: string): Magic {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'other'; // unreadable: the walk itself reports what matters
  }
  try {
    const b = Buffer.alloc(4);
    return magicOf(b.subarray(0, readSync(fd, b, 0, 4, 0)));
  } catch {
    return 'other'; // a file that opens but cannot be read (/proc, /sys, a device): not a program
  } finally {
    closeSync(fd);
  }
}

/** Walks a plain root filesystem folder as if it were one layer tar. Links are never followed. */
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
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

export function walkDir(root: string, layer = 0): LayerEntry[] {
  const out: LayerEntry[] = [];
  const inodes = new Map<string, string>(); // dev:ino -> first path, to spot hard links
  // folders to read, depth first (an explicit stack: a hostile folder can nest deeper than the call stack)
  const pending: [string, string][] = [[root, '/']];
  while (pending.length) {
    const [real, path] = pending.pop()!;
    visit(real, path, (full, p) => pending.push([full, p]));
  }
  return out;

  function visit(real: string, path: string, later: (full: string, p: string) => void): void {
    let names: string[];
    try {
      names = readdirSync(real).sort();
    } catch (e) {
      throw fsError(e, real);
    }
    for (const name of names) {
      const full = join(real, name);
      const p = path === '/' ? `/${name}` : `${path}/${name}`;
      let st;
      try {
        st = lstatSync(full);
      } catch (e) {
        throw fsError(e, full);
      }
      let type = typeOf(st);
      if (!type) continue;
      let linkname = '';
      if (type === 'symlink') linkname = readlinkSync(full);
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
      if (type === 'dir') later(full, p);
    }
  }
}

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

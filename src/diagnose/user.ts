/**
 * USER as runc resolves it before anything runs: "name", "uid", "name:group", "uid:gid".
 * A numeric id needs no entry; a name must be in the image's /etc/passwd (or /etc/group).
 */
import { type MergedTree, openBytes, resolvePath } from '../fs/index.js';

export interface UserCheck {
  ok: boolean;
  /** The runtime's error when a name cannot be found. */
  runtimeError: string | null;
  detail: string;
  /** The file that was (or was not) read. */
  file: string;
  /** The name that was looked up. */
  name: string | null;
}

/**
 * The first entry of a passwd-style file whose first field is `name`, read a chunk at a
 * time: a file of any size costs one pass and a bounded buffer. Null when the file is
 * absent or cannot be read by position; undefined when it has no such entry.
 */
function findEntry(tree: MergedTree, path: string, name: string): string[] | null | undefined {
  const r = resolvePath(tree, path);
  if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink') || !r.node.content?.file) return null;
  const b = openBytes(r.node.content);
  const want = Buffer.from(name + ':');
  try {
    let carry = Buffer.alloc(0);
    for (let off = 0; off < b.size || carry.length > 0; off += CHUNK) {
      const chunk = off < b.size ? b.read(off, CHUNK) : Buffer.from('\n');
      let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        if (buf[start] !== 0x23 && buf.subarray(start, start + want.length).equals(want)) {
          return buf.toString('utf8', start, nl).split(':');
        }
        start = nl + 1;
      }
      buf = buf.subarray(start);
      // a line longer than any real entry cannot match a name a runtime would accept: drop it
      carry = buf.length > LINE_MAX ? Buffer.alloc(0) : Buffer.from(buf);
      if (off >= b.size) break;
    }
    return undefined;
  } finally {
    b.close();
  }
}

const CHUNK = 1 << 20;
const LINE_MAX = 1 << 16;

const numeric = (s: string) => /^\d+$/.test(s);

export function checkUser(tree: MergedTree, user: string): UserCheck {
  if (!user) return { ok: true, runtimeError: null, detail: 'no USER: runs as root (0:0)', file: '/etc/passwd', name: null };
  const [name, group] = user.split(':', 2);
  let uidText = name;
  let primaryGid: string | null = null;
  if (name && !numeric(name)) {
    const passwd = findEntry(tree, '/etc/passwd', name);
    const hit = passwd ?? null;
    if (!hit) {
      return {
        ok: false,
        runtimeError: `unable to find user ${name}: no matching entries in passwd file`,
        detail: passwd === undefined ? `USER ${name}: no such entry in /etc/passwd` : `USER ${name}: the image has no /etc/passwd`,
        file: '/etc/passwd',
        name,
      };
    }
    uidText = hit[2] ?? '?';
    primaryGid = hit[3] ?? null;
  }
  let gidText = primaryGid ?? '0';
  if (group !== undefined && group !== '') {
    if (numeric(group)) gidText = group;
    else {
      const groups = findEntry(tree, '/etc/group', group);
      const hit = groups ?? null;
      if (!hit) {
        return {
          ok: false,
          runtimeError: `unable to find group ${group}: no matching entries in group file`,
          detail: groups === undefined ? `USER ${user}: no group ${group} in /etc/group` : `USER ${user}: the image has no /etc/group`,
          file: '/etc/group',
          name: group,
        };
      }
      gidText = hit[2] ?? '?';
    }
  }
  return { ok: true, runtimeError: null, detail: `USER ${user}: runs as ${uidText}:${gidText}`, file: '/etc/passwd', name: null };
}

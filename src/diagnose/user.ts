/**
 * USER as runc resolves it before anything runs: "name", "uid", "name:group", "uid:gid".
 * A numeric id needs no entry; a name must be in the image's /etc/passwd (or /etc/group).
 */
import { type MergedTree, openBytes, resolvePath } from '../fs/index.js';
import { type Credentials, ROOT } from '../loader/access.js';

export interface UserCheck {
  ok: boolean;
  /** The runtime's error when a name cannot be found. */
  runtimeError: string | null;
  detail: string;
  /** The file that was (or was not) read. */
  file: string;
  /** The name that was looked up. */
  name: string | null;
  /** The ids the process runs with, when they could be worked out. */
  credentials: Credentials | null;
}

/**
 * Visits each entry (its fields) of a passwd-style file, read a chunk at a time: a file of
 * any size costs one pass and a bounded buffer; `visit` returns true to stop. False when the
 * file is absent or cannot be read by position.
 */
function eachEntry(tree: MergedTree, path: string, visit: (fields: string[]) => boolean | void): boolean {
  const r = resolvePath(tree, path);
  if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink') || !r.node.content?.file) return false;
  const b = openBytes(r.node.content);
  try {
    let carry = Buffer.alloc(0);
    for (let off = 0; off < b.size || carry.length > 0; off += CHUNK) {
      const chunk = off < b.size ? b.read(off, CHUNK) : Buffer.from('\n');
      let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        if (nl > start && buf[start] !== 0x23 && visit(buf.toString('utf8', start, nl).split(':'))) return true;
        start = nl + 1;
      }
      buf = buf.subarray(start);
      // a line longer than any real entry cannot match a name a runtime would accept: drop it
      carry = buf.length > LINE_MAX ? Buffer.alloc(0) : Buffer.from(buf);
      if (off >= b.size) break;
    }
    return true;
  } finally {
    b.release();
  }
}

/** The first entry whose first field is `name`; null when the file is absent, undefined when it has no such entry. */
function findEntry(tree: MergedTree, path: string, name: string): string[] | null | undefined {
  let hit: string[] | undefined;
  const read = eachEntry(tree, path, (f) => {
    if (f[0] === name) hit = f;
    return hit !== undefined;
  });
  return read ? hit : null;
}

const CHUNK = 1 << 20;
const LINE_MAX = 1 << 16;

const numeric = (s: string) => /^\d+$/.test(s);

export function checkUser(tree: MergedTree, user: string): UserCheck {
  if (!user)
    return { ok: true, runtimeError: null, detail: 'no USER: runs as root (0:0)', file: '/etc/passwd', name: null, credentials: ROOT };
  const [name = '', group] = user.split(':', 2); // split always yields a first field
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
        credentials: null,
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
          credentials: null,
        };
      }
      gidText = hit[2] ?? '?';
    }
  }
  // runc adds the groups of /etc/group that list the user by name.
  let userName: string | null = numeric(name) ? null : name;
  if (numeric(name)) {
    eachEntry(tree, '/etc/passwd', (f) => {
      if (f[2] !== name) return false;
      userName = f[0] ?? null;
      return true;
    });
  }
  const extra: number[] = [];
  const member = userName;
  if (member) {
    eachEntry(tree, '/etc/group', (f) => {
      if ((f[3] ?? '').split(',').includes(member)) extra.push(Number(f[2]));
    });
  }
  const credentials =
    numeric(uidText) && numeric(gidText)
      ? { uid: Number(uidText), gids: [Number(gidText), ...extra.filter((g) => Number.isInteger(g))] }
      : null;
  return {
    ok: true,
    runtimeError: null,
    detail: `USER ${user}: runs as ${uidText}:${gidText}`,
    file: '/etc/passwd',
    name: null,
    credentials,
  };
}

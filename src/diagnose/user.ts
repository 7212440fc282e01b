/**
 * USER as runc resolves it before anything runs: "name", "uid", "name:group", "uid:gid".
 * A numeric id needs no entry; a name must be in the image's /etc/passwd (or /etc/group).
 */
import { type MergedTree, readSmallFile, resolvePath } from '../fs/index.js';
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

function entries(tree: MergedTree, path: string): string[][] | null {
  const r = resolvePath(tree, path);
  if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink')) return null;
  const buf = readSmallFile(r.node.content, 8 << 20);
  if (!buf) return null;
  return buf
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

const numeric = (s: string) => /^\d+$/.test(s);

export function checkUser(tree: MergedTree, user: string): UserCheck {
  if (!user) return { ok: true, runtimeError: null, detail: 'no USER: runs as root (0:0)', file: '/etc/passwd', name: null, credentials: ROOT };
  const [name, group] = user.split(':', 2);
  let uidText = name;
  let primaryGid: string | null = null;
  if (name && !numeric(name)) {
    const passwd = entries(tree, '/etc/passwd');
    const hit = passwd?.find((f) => f[0] === name);
    if (!hit) {
      return {
        ok: false,
        runtimeError: `unable to find user ${name}: no matching entries in passwd file`,
        detail: passwd ? `USER ${name}: no such entry in /etc/passwd` : `USER ${name}: the image has no /etc/passwd`,
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
      const groups = entries(tree, '/etc/group');
      const hit = groups?.find((f) => f[0] === group);
      if (!hit) {
        return {
          ok: false,
          runtimeError: `unable to find group ${group}: no matching entries in group file`,
          detail: groups ? `USER ${user}: no group ${group} in /etc/group` : `USER ${user}: the image has no /etc/group`,
          file: '/etc/group',
          name: group,
          credentials: null,
        };
      }
      gidText = hit[2] ?? '?';
    }
  }
  // runc adds the groups of /etc/group that list the user by name.
  const userName = numeric(name) ? (entries(tree, '/etc/passwd')?.find((f) => f[2] === name)?.[0] ?? null) : name;
  const extra = userName ? (entries(tree, '/etc/group') ?? []).filter((f) => (f[3] ?? '').split(',').includes(userName)).map((f) => Number(f[2])) : [];
  const credentials = numeric(uidText) && numeric(gidText) ? { uid: Number(uidText), gids: [Number(gidText), ...extra.filter((g) => Number.isInteger(g))] } : null;
  return { ok: true, runtimeError: null, detail: `USER ${user}: runs as ${uidText}:${gidText}`, file: '/etc/passwd', name: null, credentials };
}

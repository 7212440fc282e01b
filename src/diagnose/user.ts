/**
 * USER as runc resolves it before anything runs: "name", "uid", "name:group", "uid:gid".
 * A numeric id needs no entry; a name must be in the image's /etc/passwd (or /etc/group).
 */
import { type MergedTree, openBytes, readable, resolvePath } from '../fs/index.js';
import { type Credentials, ROOT } from '../loader/access.js';
import { CATALOG } from './catalog.js';
import type { Diagnostic, StepResult } from './types.js';

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
  if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink') || !readable(r.node.content)) return false;
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

const CHUNK = 1 << 20;
const LINE_MAX = 1 << 16;

const numeric = (s: string) => /^\d+$/.test(s);

/** Each file read once per tree and USER: diagnose, the report's loader context and repair ask alike. */
const checked = new WeakMap<MergedTree, Map<string, UserCheck>>();

export function checkUser(tree: MergedTree, user: string): UserCheck {
  let per = checked.get(tree);
  if (!per) checked.set(tree, (per = new Map<string, UserCheck>()));
  let c = per.get(user);
  if (!c) per.set(user, (c = lookUp(tree, user)));
  return c;
}

/**
 * The passwd entry of a name (or, for a numeric USER, of the uid, for its name), then the
 * group entry of a named group and every group that lists the user: one pass over each file.
 */
function lookUp(tree: MergedTree, user: string): UserCheck {
  if (!user)
    return { ok: true, runtimeError: null, detail: 'no USER: runs as root (0:0)', file: '/etc/passwd', name: null, credentials: ROOT };
  const [name = '', group] = user.split(':', 2); // split always yields a first field
  const byUid = numeric(name);
  let entry: string[] | undefined;
  const hasPasswd =
    (!!name || byUid) &&
    eachEntry(tree, '/etc/passwd', (f) => {
      if ((byUid ? f[2] : f[0]) !== name) return false;
      entry = f;
      return true;
    });
  let uidText = name;
  let primaryGid: string | null = null;
  if (name && !byUid) {
    if (!entry) {
      return {
        ok: false,
        runtimeError: CATALOG['user-missing'].runcUser(name),
        detail: hasPasswd ? `USER ${name}: no such entry in /etc/passwd` : `USER ${name}: the image has no /etc/passwd`,
        file: '/etc/passwd',
        name,
        credentials: null,
      };
    }
    uidText = entry[2] ?? '?';
    primaryGid = entry[3] ?? null;
  }
  // runc adds the groups of /etc/group that list the user by name.
  const member: string | null = byUid ? (entry?.[0] ?? null) : name;
  const named = group !== undefined && group !== '' && !numeric(group) ? group : null;
  let groupEntry: string[] | undefined;
  const extra: number[] = [];
  const hasGroup =
    (named !== null || !!member) &&
    eachEntry(tree, '/etc/group', (f) => {
      if (named !== null && groupEntry === undefined && f[0] === named) groupEntry = f;
      if (member && (f[3] ?? '').split(',').includes(member)) extra.push(Number(f[2]));
    });
  let gidText = primaryGid ?? '0';
  if (group !== undefined && group !== '') {
    if (named === null) gidText = group;
    else {
      if (!groupEntry) {
        return {
          ok: false,
          runtimeError: CATALOG['user-missing'].runcGroup(named),
          detail: hasGroup ? `USER ${user}: no group ${named} in /etc/group` : `USER ${user}: the image has no /etc/group`,
          file: '/etc/group',
          name: named,
          credentials: null,
        };
      }
      gidText = groupEntry[2] ?? '?';
    }
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

/** The USER step: the runtime looks the user up before anything runs. */
export function userStep(tree: MergedTree, user: string, layerOf: (path: string) => number | null): StepResult & { user: UserCheck } {
  const c = checkUser(tree, user);
  const words = CATALOG['user-missing'];
  const findings: Diagnostic[] = c.ok
    ? []
    : [
        {
          severity: 'error',
          code: 'user-missing',
          message: words.message(c.detail),
          path: c.file,
          layer: layerOf(c.file),
          runtimeError: c.runtimeError,
          fix: words.fix(c.file, c.name),
          evidence: [c.detail],
        },
      ];
  return { step: { step: 'user', ok: c.ok, detail: c.detail }, findings, user: c };
}

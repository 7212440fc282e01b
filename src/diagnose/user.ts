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
  /** The fix, where it is not the catalog's (a name to define). */
  fix?: string;
}

/** How a passwd-style file read: absent, read whole, or cut short by a line runc cannot read. */
type Scan = 'absent' | 'read' | 'too-long';

/**
 * Visits each entry (its fields) of a passwd-style file as runc reads it, a chunk at a time:
 * a file of any size costs one pass and a bounded buffer; `visit` returns true to stop. Each
 * line is trimmed of white space first (an indented entry or a Windows line end still
 * counts); empty lines and comments are skipped. runc reads /etc/passwd with Go's
 * bufio.Scanner, which stops at a line of 64 KiB or more ("too-long", a lookup that fails);
 * its group reader takes a line of any length.
 */
export function eachEntry(tree: MergedTree, path: string, visit: (fields: string[]) => boolean | void, lineLimit: boolean): Scan {
  const r = resolvePath(tree, path);
  if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink') || !readable(r.node.content)) return 'absent';
  const b = openBytes(r.node.content);
  try {
    let carry = Buffer.alloc(0);
    let dropping = false;
    for (let off = 0; off < b.size || carry.length > 0; off += CHUNK) {
      const chunk = off < b.size ? b.read(off, CHUNK) : Buffer.from('\n');
      let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        if (lineLimit && nl - start >= SCANNER_MAX) return 'too-long';
        const line = dropping ? '' : buf.toString('utf8', start, nl).trim();
        dropping = false;
        if (line !== '' && !line.startsWith('#') && visit(line.split(':'))) return 'read';
        start = nl + 1;
      }
      buf = buf.subarray(start);
      if (lineLimit && buf.length >= SCANNER_MAX) return 'too-long';
      // a longer line of /etc/group is no entry a runtime would look for: drop it, keep the rest
      dropping ||= buf.length > LINE_MAX;
      carry = dropping ? Buffer.alloc(0) : Buffer.from(buf);
      if (off >= b.size) break;
    }
    return 'read';
  } finally {
    b.release();
  }
}

const CHUNK = 1 << 20;
const LINE_MAX = 1 << 16;
/** Go's bufio.MaxScanTokenSize: runc's passwd reader fails on a line this long ("token too long"). */
const SCANNER_MAX = 64 * 1024;
/** runc's range for ids it takes as given (user.ErrRange). */
const ID_MAX = 2 ** 31 - 1;

/** A number as Go's strconv.Atoi reads it (a sign, leading zeros; within int64), or null. */
function atoi(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = BigInt(s);
  return n >= -(1n << 63n) && n < 1n << 63n ? Number(n) : null;
}

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
 * USER as runc's GetExecUser reads it: the first passwd entry of the name (or, for a numeric
 * USER, of the uid), then the group entry of a named group and every group that lists the
 * user: one pass over each file. A numeric id with no entry is taken as given if it is in
 * 0..2^31-1; an entry's ids are read as Atoi reads them (0 when they are not numbers).
 */
function lookUp(tree: MergedTree, user: string): UserCheck {
  const [name = '', group] = user.split(':', 2); // split always yields a first field
  const uidArg = atoi(name);
  let entry: string[] | undefined;
  // runc reads /etc/passwd even without USER (for uid 0's entry), and fails on a line it cannot read
  const passwd = eachEntry(
    tree,
    '/etc/passwd',
    (f) => {
      // the first entry wins, and runc's scanner reads on to the end: a long line after it fails too
      if (entry !== undefined) return;
      if (name === '' ? (atoi(f[2] ?? '') ?? 0) !== 0 : uidArg !== null ? (atoi(f[2] ?? '') ?? 0) !== uidArg : f[0] !== name) return;
      entry = f;
    },
    true,
  );
  const fail = (detail: string, runtimeError: string, file: string, who: string | null, fix?: string): UserCheck => ({
    ok: false,
    runtimeError,
    detail,
    file,
    name: who,
    credentials: null,
    ...(fix ? { fix } : {}),
  });
  const inRange = `Use ids from 0 to ${ID_MAX}: USER 65532:65532.`;
  if (passwd === 'too-long') {
    const who = name || '0';
    return fail(
      `${name ? `USER ${name}` : 'no USER'}: /etc/passwd has a line of 64 KiB or more, which runc's reader stops at`,
      `unable to find user ${who}: bufio.Scanner: token too long`,
      '/etc/passwd',
      who,
      'Rewrite /etc/passwd without the line of 64 KiB or more (runc reads it for every container, USER or not).',
    );
  }
  if (!user)
    return { ok: true, runtimeError: null, detail: 'no USER: runs as root (0:0)', file: '/etc/passwd', name: null, credentials: ROOT };
  let uid: number;
  let primaryGid = 0;
  if (entry) {
    uid = atoi(entry[2] ?? '') ?? 0;
    primaryGid = atoi(entry[3] ?? '') ?? 0;
  } else if (name === '') uid = 0;
  else if (uidArg === null) {
    return fail(
      passwd === 'read' ? `USER ${name}: no such entry in /etc/passwd` : `USER ${name}: the image has no /etc/passwd`,
      CATALOG['user-missing'].runcUser(name),
      '/etc/passwd',
      name,
    );
  } else if (uidArg < 0 || uidArg > ID_MAX) return fail(`USER ${user}: uid ${name} is out of range`, RANGE, '/etc/passwd', null, inRange);
  else uid = uidArg;
  // runc adds the groups of /etc/group that list the user by name (its entry's name, for a numeric USER).
  const member: string | null = entry?.[0] ?? null;
  const gidArg = group === undefined || group === '' ? null : atoi(group);
  const named = group !== undefined && group !== '' && gidArg === null ? group : null;
  let groupEntry: string[] | undefined;
  const extra: number[] = [];
  const hasGroup =
    (group !== undefined && group !== '') || !!member
      ? eachEntry(
          tree,
          '/etc/group',
          (f) => {
            const gid = atoi(f[2] ?? '') ?? 0;
            if (groupEntry === undefined && (named !== null ? f[0] === named : gidArg !== null && gid === gidArg)) groupEntry = f;
            if (member && (f[3] ?? '').split(',').includes(member)) extra.push(gid);
          },
          false,
        )
      : 'absent';
  let gid = primaryGid;
  if (group !== undefined && group !== '') {
    if (groupEntry) gid = atoi(groupEntry[2] ?? '') ?? 0;
    else if (named !== null) {
      return fail(
        hasGroup === 'read' ? `USER ${user}: no group ${named} in /etc/group` : `USER ${user}: the image has no /etc/group`,
        CATALOG['user-missing'].runcGroup(named),
        '/etc/group',
        named,
      );
    } else if (gidArg! < 0 || gidArg! > ID_MAX)
      return fail(`USER ${user}: gid ${group} is out of range`, RANGE, '/etc/group', null, inRange);
    else gid = gidArg!;
  }
  // an explicit group replaces the supplementary groups (runc keeps them only in the implicit form)
  const gids = group !== undefined && group !== '' ? [gid] : [gid, ...extra];
  return {
    ok: true,
    runtimeError: null,
    detail: `USER ${user}: runs as ${uid}:${gid}`,
    file: '/etc/passwd',
    name: null,
    credentials: { uid, gids },
  };
}

/** runc's (and the engine's) words for an id past 2^31-1 or below 0. */
const RANGE = `uids and gids must be in range 0-${ID_MAX}`;

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
          fix: c.fix ?? words.fix(c.file, c.name),
          evidence: [c.detail],
        },
      ];
  return { step: { step: 'user', ok: c.ok, detail: c.detail }, findings, user: c };
}

/**
 * su-exec's switch to its user (ENTRYPOINT ["su-exec", "app", "/app"], Alpine's gosu): a name
 * is looked up with getpwnam (a group name with getgrnam), then setgroups, setgid and setuid,
 * which only root may call; the program is then found by execvp (init-program.ts). Its lines
 * are err(3)'s: "su-exec: getpwnam(app): …", "su-exec: setgroups: Operation not permitted"
 * (read off su-exec built against Debian's musl, run in a chroot: test/hops.test.ts).
 */
import { type MergedTree, resolvePath } from '../fs/index.js';
import type { Credentials } from '../loader/access.js';
import { checkUser, eachEntry } from './user.js';

export type Switch =
  { ok: true; credentials: Credentials; reads: string[] } | { ok: false; line: string; detail: string; file: string | null };

const numeric = (s: string) => /^\d+$/.test(s);

/** su-exec's user switch as the container's user `who`; `prog` is how it names itself (its argv[0]'s last part). */
export function suExecSwitch(tree: MergedTree, spec: string, who: Credentials | undefined, prog: string): Switch {
  const cut = spec.indexOf(':');
  const user = cut === -1 ? spec : spec.slice(0, cut);
  const group = cut === -1 ? null : spec.slice(cut + 1);
  const has = (file: string) => {
    const r = resolvePath(tree, file);
    return r.ok && r.node.type !== 'dir';
  };
  // musl leaves EINVAL when the file has no such entry, ENOENT when there is no file
  const why = (file: string) => (has(file) ? 'Invalid argument' : 'No such file or directory');
  const fail = (call: string, file: string | null, detail: string): Switch => ({
    ok: false,
    line: `${prog}: ${call}`,
    detail,
    file,
  });
  const named = user !== '' && !numeric(user);
  const entry = named ? checkUser(tree, user) : null;
  if (entry && !entry.ok) return fail(`getpwnam(${user}): ${why('/etc/passwd')}`, '/etc/passwd', `no user ${user} in /etc/passwd`);
  const uid = named ? (entry?.credentials?.uid ?? 0) : user === '' ? (who?.uid ?? 0) : Number(user);
  // a uid's own entry (getpwuid) gives the groups, unless a group is named (setgroups then takes it alone)
  let own = named;
  if (!own) eachEntry(tree, '/etc/passwd', (f) => (own ||= f[2] === String(uid)) || undefined, false);
  if (group && !numeric(group) && !checkUser(tree, `${uid}:${group}`).ok)
    return fail(`getgrnam(${group}): ${why('/etc/group')}`, '/etc/group', `no group ${group} in /etc/group`);
  const ids = checkUser(tree, group ? `${uid}:${group}` : String(uid)).credentials ?? { uid, gids: [0] };
  if (who && who.uid !== 0) {
    const call = group || !own ? `setgroups(${ids.gids[0] ?? 0})` : 'setgroups';
    return fail(`${call}: Operation not permitted`, null, `uid ${who.uid} may not switch users`);
  }
  const reads = named ? ['/etc/passwd', '/etc/group'] : group && !numeric(group) ? ['/etc/group'] : [];
  return { ok: true, credentials: ids, reads };
}

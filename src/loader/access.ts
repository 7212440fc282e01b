/**
 * File permissions as the kernel checks them for the container's user: root reads
 * anything and executes what has any x bit; another user gets the owner's, the group's or
 * the others' bits, whichever class it falls in. The loader opens libraries with the
 * process's ids, so a library the user cannot read is, for the search, not there.
 */
export interface Credentials {
  uid: number;
  /** The primary group first, then the supplementary ones. */
  gids: number[];
}

export const ROOT: Credentials = { uid: 0, gids: [0] };

interface Owned {
  mode: number;
  uid: number;
  gid: number;
}

/** The three permission bits (r=4, w=2, x=1) that apply to `who` for this file. */
function bits(file: Owned, who: Credentials): number {
  if (file.uid === who.uid) return (file.mode >> 6) & 7;
  if (who.gids.includes(file.gid)) return (file.mode >> 3) & 7;
  return file.mode & 7;
}

export function mayRead(file: Owned, who: Credentials = ROOT): boolean {
  return who.uid === 0 || (bits(file, who) & 4) !== 0;
}

export function mayExecute(file: Owned, who: Credentials = ROOT): boolean {
  return who.uid === 0 ? (file.mode & 0o111) !== 0 : (bits(file, who) & 1) !== 0;
}

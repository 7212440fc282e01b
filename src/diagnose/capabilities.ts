/**
 * File capabilities (setcap …+ep) and the container's bounding set. A file that forces
 * capabilities (its effective flag set) must be granted every one of its permitted set, or
 * the kernel refuses to execute it (EPERM, bprm_caps_from_vfs_caps): root included. A
 * container's bounding set is the runtime's default unless `--cap-add` widens it, which an
 * image cannot say: the default of docker, containerd and cri-o is assumed.
 */

/** Capability names by bit (linux/capability.h), lower case as setcap writes them. */
const NAMES = [
  'cap_chown',
  'cap_dac_override',
  'cap_dac_read_search',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_linux_immutable',
  'cap_net_bind_service',
  'cap_net_broadcast',
  'cap_net_admin',
  'cap_net_raw',
  'cap_ipc_lock',
  'cap_ipc_owner',
  'cap_sys_module',
  'cap_sys_rawio',
  'cap_sys_chroot',
  'cap_sys_ptrace',
  'cap_sys_pacct',
  'cap_sys_admin',
  'cap_sys_boot',
  'cap_sys_nice',
  'cap_sys_resource',
  'cap_sys_time',
  'cap_sys_tty_config',
  'cap_mknod',
  'cap_lease',
  'cap_audit_write',
  'cap_audit_control',
  'cap_setfcap',
  'cap_mac_override',
  'cap_mac_admin',
  'cap_syslog',
  'cap_wake_alarm',
  'cap_block_suspend',
  'cap_audit_read',
  'cap_perfmon',
  'cap_bpf',
  'cap_checkpoint_restore',
];

/** The default bounding set of docker (moby's oci/caps), containerd and cri-o. */
const DEFAULT = new Set([
  'cap_chown',
  'cap_dac_override',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_net_bind_service',
  'cap_net_raw',
  'cap_sys_chroot',
  'cap_mknod',
  'cap_audit_write',
  'cap_setfcap',
]);

/** What docker run (or a pod's securityContext) changed of the default set: added and dropped ("ALL", "SYS_ADMIN" or "CAP_SYS_ADMIN"). */
export interface Capabilities {
  add: string[];
  drop: string[];
}

const canonical = (c: string) => (c.toLowerCase().startsWith('cap_') ? c.toLowerCase() : `cap_${c.toLowerCase()}`);

/** The capabilities a file forces that the container's bounding set lacks. */
export function deniedCaps(caps: readonly [number, number] | undefined, given?: Capabilities): string[] {
  if (!caps) return [];
  const add = new Set(given?.add.map(canonical));
  const drop = new Set(given?.drop.map(canonical));
  // as moby's TweakCapabilities (the CRI's alike): add ALL is every one but the drops; drop
  // ALL is the adds only; else the default set less the drops, plus the adds
  const granted = (name: string) =>
    add.has('cap_all') ? !drop.has(name) : drop.has('cap_all') ? add.has(name) : add.has(name) || (DEFAULT.has(name) && !drop.has(name));
  const out: string[] = [];
  // the kernel knows capabilities up to the last it names: higher bits of the record are masked off
  for (let bit = 0; bit < NAMES.length; bit++) {
    const word = bit < 32 ? caps[0] : caps[1];
    if (((word >>> (bit % 32)) & 1) === 0) continue;
    const name = NAMES[bit]!;
    if (!granted(name)) out.push(name);
  }
  return out;
}

/**
 * What a file's first bytes say it is, as the kernel's execve tells its formats apart: an
 * ELF file (\x7fELF) or a script (#!). The one place that knows the magic numbers; the
 * layer reader, the folder walker, the ELF decoder and the exec emulation all ask here.
 */

export type Magic = 'elf' | 'script' | 'other';

/** Starts with \x7fELF. */
export function isElf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

/** Starts with #! (binfmt_script). */
export function isScript(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x23 && head[1] === 0x21;
}

export function magicOf(head: Uint8Array): Magic {
  return isElf(head) ? 'elf' : isScript(head) ? 'script' : 'other';
}

/** ELF decoding: what a binary needs to run. */
export { decodeElf } from './decode.js';
export { readHeader, machineName, ELF_MAGIC } from './layout.js';
export { ElfDamage } from './reader.js';
export type * from './types.js';

/**
 * A decoding thread: receives byte ranges of ELF files and posts back what decodeElf
 * makes of them, so binaries decode on a second core while layers are still being read.
 */
import { parentPort } from 'node:worker_threads';
import { FileBytes, closeSharedFiles } from '../fs/bytes.js';
import { decodeElf } from './decode.js';
import { ElfDamage } from './reader.js';

export interface DecodeJob {
  key: string;
  file: string;
  offset: number;
  size: number;
}

parentPort!.on('message', (jobs: DecodeJob[] | 'close') => {
  if (jobs === 'close') {
    closeSharedFiles();
    parentPort!.close();
    return;
  }
  const results = jobs.map((j) => {
    const bytes = new FileBytes(j.file, j.offset, j.size);
    try {
      return { key: j.key, ok: true as const, info: decodeElf(bytes) };
    } catch (e) {
      // damage is a result; anything else is reported in the main thread
      if (e instanceof ElfDamage) return { key: j.key, ok: false as const, error: e.message };
      return { key: j.key, ok: false as const, error: `decoder failed: ${(e as Error)?.message ?? String(e)}`, bug: true };
    } finally {
      bytes.release();
    }
  });
  parentPort!.postMessage(results);
});

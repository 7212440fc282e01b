/**
 * Decoding a batch of ELF byte ranges: on a pool thread, or on the main thread while it would
 * only wait for them (DecodePool.drain).
 */
import { FileBytes, type ReadArena } from '../fs/bytes.js';
import type { Decoded } from './catalog.js';
import { decodeElf } from './decode.js';
import { ElfDamage } from './reader.js';

export interface DecodeJob {
  key: string;
  file: string;
  offset: number;
  size: number;
}

/** `bug`: not damage but a failure of the decoder itself, reported where the catalog decodes it again. */
export type JobResult = { key: string; bug?: true } & Decoded;

/** Decoded info holds no views of what was read (strings and numbers): one binary's reads may reuse the last one's memory. */
export function decodeJobs(jobs: DecodeJob[], arena: ReadArena): JobResult[] {
  return jobs.map((j) => {
    arena.reset();
    const bytes = new FileBytes(j.file, j.offset, j.size, null, arena);
    try {
      return { key: j.key, ok: true as const, info: decodeElf(bytes) };
    } catch (e) {
      // damage is a result; anything else is reported in the main thread
      if (e instanceof ElfDamage) return { key: j.key, ok: false as const, error: e.message };
      return { key: j.key, ok: false as const, error: `decoder failed: ${(e as Error)?.message ?? String(e)}`, bug: true as const };
    } finally {
      bytes.release();
    }
  });
}

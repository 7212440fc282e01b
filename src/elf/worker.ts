/**
 * A pool thread (see pool.ts): decodes batches of ELF byte ranges with decodeElf and
 * hashes large byte ranges, so both run on other cores while layers are still being read.
 */
import { parentPort } from 'node:worker_threads';
import { FileBytes, ReadArena, closeSharedFiles } from '../fs/bytes.js';
import { decodeElf } from './decode.js';
import { ElfDamage } from './reader.js';
import { hashRangeSync } from '../archive/hash.js';
import { ScopeError } from '../errors.js';
import type { Decoded } from './catalog.js';
import { type Summary, summarize } from './keep.js';

export interface DecodeJob {
  key: string;
  file: string;
  offset: number;
  size: number;
}

export interface HashJob {
  kind: 'hash';
  id: number;
  file: string;
  offset: number;
  size: number;
}

/** An ELF body out of a compressed stream, moved here to be decoded and summed up (keep.ts). */
export interface KeepJob {
  kind: 'keep';
  id: number;
  /** The body is its first `size` bytes; the memory goes back with the answer. */
  body: ArrayBuffer;
  size: number;
}

export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'decode'; results: ({ key: string; bug?: true } & Decoded)[] }
  | { kind: 'keep'; id: number; summary: Summary | null; body: ArrayBuffer }
  | { kind: 'hash'; id: number; digest?: string; error?: string; scope?: { code: ScopeError['code']; message: string } };

/** Decoded info holds no views of what was read (strings and numbers): one binary's reads may reuse the last one's memory. */
const arena = new ReadArena();

function decode(jobs: DecodeJob[]): WorkerReply {
  const results = jobs.map((j) => {
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
  return { kind: 'decode', results };
}

parentPort!.on('message', (m: { kind: 'decode'; jobs: DecodeJob[] } | HashJob | KeepJob | 'close') => {
  if (m === 'close') {
    closeSharedFiles();
    parentPort!.close();
    return;
  }
  if (m.kind === 'decode') {
    parentPort!.postMessage(decode(m.jobs));
    return;
  }
  if (m.kind === 'keep') {
    let summary: Summary | null = null;
    try {
      summary = summarize(Buffer.from(m.body, 0, m.size));
    } catch {
      // not damage (that is a result): the main thread decodes it again, on demand
    }
    const moved = summary ? [m.body, summary.store.buffer as ArrayBuffer] : [m.body];
    parentPort!.postMessage({ kind: 'keep', id: m.id, summary, body: m.body } satisfies WorkerReply, moved);
    return;
  }
  let reply: WorkerReply;
  try {
    reply = { kind: 'hash', id: m.id, digest: hashRangeSync(m.file, m.offset, m.size) };
  } catch (e) {
    reply = {
      kind: 'hash',
      id: m.id,
      error: String((e as Error)?.message ?? e),
      scope: e instanceof ScopeError ? { code: e.code, message: e.message } : undefined,
    };
  }
  parentPort!.postMessage(reply);
});

// up: bodies may be moved here now (see DecodePool.keep)
parentPort!.postMessage({ kind: 'ready' } satisfies WorkerReply);

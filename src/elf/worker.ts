/**
 * A pool thread (see pool.ts): decodes batches of ELF byte ranges with decodeElf and
 * hashes large byte ranges, so both run on other cores while layers are still being read.
 */
import { parentPort } from 'node:worker_threads';
import { ReadArena, closeSharedFiles } from '../fs/bytes.js';
import { type DecodeJob, type JobResult, decodeJobs } from './jobs.js';
import { type DigestAlgorithm, hashRangeSync } from '../archive/hash.js';
import { ScopeError } from '../errors.js';
import { type Summary, summarize } from './keep.js';

export type { DecodeJob };

export interface HashJob {
  kind: 'hash';
  id: number;
  file: string;
  offset: number;
  size: number;
  algorithm: DigestAlgorithm;
}

/** An ELF body out of a compressed stream, to be decoded and summed up here (keep.ts). */
export interface KeepJob {
  kind: 'keep';
  id: number;
  /** The body is `size` bytes at `offset`: in the pool's shared arena, or memory moved here. */
  body: ArrayBuffer | SharedArrayBuffer;
  offset: number;
  size: number;
}

export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'decode'; results: JobResult[] }
  | { kind: 'keep'; id: number; summary: Summary | null }
  | { kind: 'hash'; id: number; digest?: string; error?: string; scope?: { code: ScopeError['code']; message: string } };

const arena = new ReadArena();

function decode(jobs: DecodeJob[]): WorkerReply {
  return { kind: 'decode', results: decodeJobs(jobs, arena) };
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
      summary = summarize(Buffer.from(m.body, m.offset, m.size));
    } catch {
      // not damage (that is a result): the main thread decodes it again, on demand
    }
    // the arena's run is given back by the main thread when this answer lands
    parentPort!.postMessage(
      { kind: 'keep', id: m.id, summary } satisfies WorkerReply,
      summary ? [summary.store.buffer as ArrayBuffer] : [],
    );
    return;
  }
  let reply: WorkerReply;
  try {
    reply = { kind: 'hash', id: m.id, digest: hashRangeSync(m.file, m.offset, m.size, m.algorithm) };
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

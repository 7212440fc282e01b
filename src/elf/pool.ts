/**
 * One bounded pool of worker threads for the work that can leave the main thread while it
 * walks layers: hashing large layers, decoding the ELF bodies kept out of compressed layers,
 * and (for the explorer, which draws meanwhile) decoding ELF files; the other commands
 * decode on demand on the main thread, which costs less than the round trip. At most
 * `poolSize()` workers (the cores, capped at 4: each worker reserves address space that
 * `ulimit -v` counts), however many layers the image has; small layers are hashed on the
 * main thread, and a byte range is hashed once however often the manifest lists it.
 *
 * Decode results land in `results`; `drain()` waits for what was sent. Without workers (or
 * when one cannot start, as under a TypeScript loader that does not reach worker threads)
 * nothing is lost: hashing falls back to the main thread and the catalog decodes on demand.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { ContentRef } from '../layers/index.js';
import type { Decoded } from './catalog.js';
import type { HashJob, KeepJob, WorkerReply } from './worker.js';
import { type DecodeJob, type JobResult, decodeJobs } from './jobs.js';
import { ReadArena } from '../fs/bytes.js';
import { type Summary, piecesOf, summarize } from './keep.js';
import { type DigestAlgorithm, hashRange } from '../archive/hash.js';
import { ScopeError } from '../errors.js';

export function contentKey(ref: ContentRef): string {
  return `${ref.file}:${ref.offset}:${ref.layer}:${ref.ordinal}`;
}

const BATCH = 64;
/** Decode batches out with one thread at once: the rest wait in the queue. */
const AHEAD = 2;
/** Fewer ELF files than this are left to the catalog: no worker starts for them. */
const DECODE_HERE = 16;
/** Below this, a layer is hashed on the main thread: a worker's round trip costs more than the hash. */
const HASH_ON_MAIN = 32 << 20;

export function poolSize(): number {
  const env = Number(process.env.SCRATCHSCOPE_WORKERS);
  if (Number.isInteger(env) && env >= 0) return Math.min(env, 8);
  return Math.max(1, Math.min(4, availableParallelism()));
}

interface Slot {
  worker: Worker;
  /** Jobs sent and not answered (decode jobs count one each, a hash counts its MiB). */
  load: number;
  /** The thread has loaded its code and said so: bodies to keep may move to it. */
  ready: boolean;
  /** Decode batches sent and not answered. */
  batches: number;
}

export class DecodePool {
  private slots: Slot[] = [];
  private readonly max: number;
  private pending = 0;
  private batch: DecodeJob[] = [];
  /**
   * Batches not sent yet: a thread is given the next when it has few left, so this thread can
   * take the rest while it would only wait for them (drain).
   */
  private queue: DecodeJob[][] = [];
  private readonly arena = new ReadArena();
  private waiters: (() => void)[] = [];
  private hashes = new Map<number, { resolve: (d: string) => void; reject: (e: Error) => void; slot: Slot; weight: number }>();
  /** Bodies out with a thread to be decoded and kept (see keep()). */
  private keeps = new Map<number, { land: (s: Summary | null) => void; slot: Slot }>();
  /** Bodies handed to keep() so far. */
  private keptCount = 0;
  private nextHash = 0;
  /** ELF files handed to add() so far. */
  private added = 0;
  /** Hashes by byte range: a blob listed many times is read once. */
  private readonly hashed = new Map<string, Promise<string>>();
  private broken = false;
  readonly results = new Map<string, Decoded>();

  /** No thread starts until there is work worth one (see DECODE_HERE, HASH_ON_MAIN). */
  constructor(size = poolSize()) {
    this.max = size;
  }

  private spawn(): Slot | null {
    if (this.broken || this.slots.length >= this.max) return null;
    let worker: Worker;
    try {
      // Compiled, the worker sits beside this file; under a TypeScript loader its source does.
      // Named from the folder above, the path also holds from dist/bundle/ (scripts/bundle.mjs).
      const url = new URL(import.meta.url.endsWith('.ts') ? '../elf/worker.ts' : '../elf/worker.js', import.meta.url);
      // worker_threads loads with the first thread: a load read by position with few ELF files starts none
      const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof WorkerThreads;
      worker = new Worker(url);
    } catch {
      this.broken = true;
      return null;
    }
    worker.unref();
    const slot: Slot = { worker, load: 0, ready: false, batches: 0 };
    worker.on('message', (m: WorkerReply) => {
      if (m.kind === 'ready') {
        slot.ready = true;
        return;
      }
      if (m.kind === 'keep') {
        const k = this.keeps.get(m.id);
        if (!k) return;
        this.keeps.delete(m.id);
        this.settle(slot, 1);
        k.land(m.summary);
        return;
      }
      if (m.kind === 'hash') {
        const h = this.hashes.get(m.id);
        if (!h) return;
        this.hashes.delete(m.id);
        this.settle(slot, h.weight);
        if (m.digest) h.resolve(m.digest);
        else h.reject(Object.assign(new Error(m.error ?? 'hash failed'), { scope: m.scope }));
        return;
      }
      this.land(m.results);
      slot.batches--;
      this.settle(slot, m.results.length);
      this.answered(m.results.length);
      this.pump();
    });
    worker.on('error', () => this.fail(slot));
    worker.on('exit', () => this.fail(slot));
    this.slots.push(slot);
    return slot;
  }

  /** Work in flight keeps the process alive; an idle pool does not. */
  private busy(slot: Slot, n: number): void {
    if (slot.load === 0) slot.worker.ref();
    slot.load += n;
  }

  private settle(slot: Slot, n: number): void {
    slot.load -= n;
    if (slot.load <= 0) {
      slot.load = 0;
      slot.worker.unref();
    }
  }

  /** The least loaded worker, starting another while under the bound and all are busy. */
  private pick(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots) if (!best || s.load < best.load) best = s;
    if ((!best || best.load > 0) && this.slots.length < this.max) return this.spawn() ?? best;
    return best;
  }

  /**
   * A thread to move a body to: the least loaded of those that said they are up (a body moved
   * to a thread that then fails to start would be lost), starting one while under the bound.
   */
  private pickReady(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots) if (s.ready && (!best || s.load < best.load)) best = s;
    if ((!best || best.load > 0) && this.slots.length < this.max) this.spawn();
    return best;
  }

  private fail(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.broken = true;
    for (const [id, h] of this.hashes) {
      if (h.slot !== slot) continue;
      this.hashes.delete(id);
      h.reject(new Error('hashing thread stopped'));
    }
    // decode results are optional (the catalog decodes on demand): stop waiting for them;
    // a body sent to be kept is gone with the thread (it was moved there): its head stays
    // kept, and a later read brings the whole body back
    for (const [id, k] of this.keeps) {
      if (k.slot !== slot) continue;
      this.keeps.delete(id);
      k.land(null);
    }
    this.pending = 0;
    this.wake();
  }

  /** `n` jobs answered (a failed thread's were all let go already: never below zero). */
  private answered(n: number): void {
    this.pending = Math.max(0, this.pending - n);
    if (this.pending === 0) this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  add(ref: ContentRef): void {
    if (!ref.file || this.broken || this.max === 0) return;
    this.batch.push({ key: contentKey(ref), file: ref.file, offset: ref.offset, size: ref.size });
    this.added++;
    // the DECODE_HERE-th file starts a worker, which boots while the walk finds the rest
    if (this.batch.length >= BATCH || this.added === DECODE_HERE) this.flush();
  }

  /**
   * Decodes an ELF body that passed in a compressed stream and keeps the ranges read
   * (elf/keep.ts) in its ref's KeptBody; settles when the body is let go. The first few are
   * decoded here (no thread is worth starting for an image of one or two programs); the
   * rest go to a thread, which reads a body in shared memory (layers/arena.ts) where it
   * lies, and is given one in memory of its own (no copy). The caller gives the memory back
   * once this settles.
   */
  keep(ref: ContentRef, body: Buffer): Promise<void> {
    const kept = ref.kept;
    if (!kept) return Promise.resolve();
    const key = contentKey(ref);
    let done!: () => void;
    const settled = new Promise<void>((r) => (done = r));
    const land = (s: Summary | null) => {
      if (s) {
        this.results.set(key, s.decoded);
        kept.keep(piecesOf(s));
      }
      this.answered(1);
      done();
    };
    this.pending++;
    // decoded here until a thread is up (the first few always are)
    const slot = ++this.keptCount > DECODE_HERE && this.max > 0 ? this.pickReady() : null;
    if (!slot) {
      let summary: Summary | null = null;
      try {
        summary = summarize(body);
      } finally {
        land(summary);
      }
      return settled;
    }
    const id = this.nextHash++;
    this.busy(slot, 1);
    this.keeps.set(id, { land, slot });
    const shared = body.buffer instanceof SharedArrayBuffer;
    const job: KeepJob = { kind: 'keep', id, body: body.buffer, offset: body.byteOffset, size: body.length };
    slot.worker.postMessage(job, shared ? [] : [body.buffer]);
    return settled;
  }

  flush(): void {
    if (this.batch.length === 0) return;
    this.pending += this.batch.length;
    this.queue.push(this.batch);
    this.batch = [];
    this.pump();
  }

  /** Sends queued batches to threads with fewer than AHEAD out, starting threads while under the bound. */
  private pump(): void {
    while (this.queue.length > 0) {
      let slot: Slot | null = null;
      for (const s of this.slots) if (s.batches < AHEAD && (!slot || s.batches < slot.batches)) slot = s;
      if ((!slot || slot.batches > 0) && this.slots.length < this.max) slot = this.spawn() ?? slot;
      if (!slot) return; // this thread decodes them (drain), or the catalog on demand
      const jobs = this.queue.shift()!;
      slot.batches++;
      this.busy(slot, jobs.length);
      slot.worker.postMessage({ kind: 'decode', jobs });
    }
  }

  private land(results: JobResult[]): void {
    for (const r of results) {
      const { key, ...d } = r;
      if (!('bug' in d)) this.results.set(key, d);
    }
  }

  /**
   * sha256 of a byte range ("sha256:<hex>"): large ranges on a worker, in parallel with the
   * walk and with each other; small ones (or without workers) on the main thread.
   */
  hash(file: string, offset: number, size: number, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    const key = `${algorithm}:${file}:${offset}:${size}`;
    let p = this.hashed.get(key);
    if (!p) {
      p = this.hashNow(file, offset, size, algorithm);
      this.hashed.set(key, p);
    }
    return p;
  }

  /** Whether a hash of `size` bytes runs on the calling thread (small, or no thread to run it on). */
  hashesHere(size: number): boolean {
    return size < HASH_ON_MAIN || this.max === 0 || this.broken;
  }

  private hashNow(file: string, offset: number, size: number, algorithm: DigestAlgorithm): Promise<string> {
    const slot = size >= HASH_ON_MAIN ? this.pick() : null;
    if (!slot) return hashRange(file, offset, size, algorithm);
    const id = this.nextHash++;
    const weight = Math.ceil(size / (1 << 20));
    this.busy(slot, weight);
    const job: HashJob = { kind: 'hash', id, file, offset, size, algorithm };
    return new Promise<string>((resolve, reject) => {
      this.hashes.set(id, { resolve, reject, slot, weight });
      slot.worker.postMessage(job);
    }).catch((e: Error & { scope?: { code: ScopeError['code']; message: string } }) => {
      if (e.scope) throw new ScopeError(e.scope.code, e.scope.message);
      return hashRange(file, offset, size, algorithm); // the worker went away: hash here
    });
  }

  /**
   * Resolves once every decode sent so far is done (or its worker is gone). With `help`, this
   * thread decodes queued batches itself meanwhile (the last first: the threads take from the
   * front), giving the event loop a turn after each; without, it only waits (the explorer
   * draws meanwhile).
   */
  async drain(help = true): Promise<void> {
    // a few ELF files (a FROM scratch image has one or two) are decoded on demand by the
    // catalog, on this thread, sooner than a worker would boot and for less memory
    if (this.added < DECODE_HERE) this.batch = [];
    this.flush();
    while (help && this.queue.length > 0) {
      const jobs = this.queue.pop()!;
      this.land(decodeJobs(jobs, this.arena));
      this.answered(jobs.length);
      await new Promise((r) => setImmediate(r));
    }
    if (this.pending === 0) return;
    await new Promise<void>((r) => this.waiters.push(r));
  }

  close(): void {
    for (const [id, k] of this.keeps) {
      this.keeps.delete(id);
      k.land(null);
    }
    for (const s of this.slots) s.worker.postMessage('close');
    this.slots = [];
    this.broken = true;
  }
}

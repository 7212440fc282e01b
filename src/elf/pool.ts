/**
 * Decodes ELF files on a worker thread while the main thread walks layers. Results land
 * in the catalog's cache; `drain()` waits for what was sent. Without workers (or when one
 * cannot start, as under a TypeScript loader that does not reach worker threads) nothing
 * is lost: the catalog decodes on demand in the main thread.
 */
import { Worker } from 'node:worker_threads';
import type { ContentRef } from '../layers/index.js';
import type { Decoded } from './catalog.js';
import type { DecodeJob } from './worker.js';

export function contentKey(ref: ContentRef): string {
  return `${ref.file}:${ref.offset}:${ref.layer}:${ref.ordinal}`;
}

const BATCH = 64;

export class DecodePool {
  private worker: Worker | null = null;
  private pending = 0;
  private batch: DecodeJob[] = [];
  private waiters: (() => void)[] = [];
  readonly results = new Map<string, Decoded>();

  constructor() {
    try {
      // Compiled, the worker sits beside this file; under a TypeScript loader its source does.
      const url = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
      this.worker = new Worker(url);
      this.worker.unref();
      this.worker.on('message', (rs: ({ key: string } & Decoded)[]) => {
        for (const r of rs) {
          const { key, ...d } = r;
          if (!('bug' in d)) this.results.set(key, d);
        }
        this.pending -= rs.length;
        if (this.pending === 0) this.wake();
      });
      this.worker.on('error', () => this.fail());
      this.worker.on('exit', () => this.fail());
    } catch {
      this.worker = null;
    }
  }

  private fail(): void {
    this.worker = null;
    this.pending = 0;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  add(ref: ContentRef): void {
    if (!this.worker || !ref.file) return;
    this.batch.push({ key: contentKey(ref), file: ref.file, offset: ref.offset, size: ref.size });
    if (this.batch.length >= BATCH) this.flush();
  }

  flush(): void {
    if (!this.worker || this.batch.length === 0) return;
    this.pending += this.batch.length;
    this.worker.postMessage(this.batch);
    this.batch = [];
  }

  /** Resolves once everything sent so far is decoded (or the worker is gone). */
  drain(): Promise<void> {
    this.flush();
    if (!this.worker || this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  close(): void {
    if (this.worker) {
      this.worker.postMessage('close');
      this.worker = null;
    }
  }
}

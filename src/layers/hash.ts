/**
 * sha256 of a byte range, computed in a worker thread so a layer read by seeking can be
 * verified while the main thread walks its headers.
 */
import { Worker } from 'node:worker_threads';
import { ScopeError } from '../errors.js';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { file, offset, size } = workerData;
const hash = crypto.createHash('sha256');
const fd = fs.openSync(file, 'r');
const buf = Buffer.allocUnsafe(4 << 20);
let done = 0;
while (done < size) {
  const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - done), offset + done);
  if (n === 0) break;
  hash.update(n === buf.length ? buf : buf.subarray(0, n));
  done += n;
}
fs.closeSync(fd);
parentPort.postMessage({ digest: 'sha256:' + hash.digest('hex'), done });
`;

export function hashRange(file: string, offset: number, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { file, offset, size } });
    w.once('message', (m: { digest: string; done: number }) => {
      if (m.done < size) reject(new ScopeError('truncated', `${file}: ends before the layer does`));
      else resolve(m.digest);
    });
    w.once('error', (e) => reject(new ScopeError('io', `${file}: ${e.message}`)));
  });
}

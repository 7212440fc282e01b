import { createReadStream, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { inflater } from '/work/wt/hostile/dist/layers/decompress.js';
const file = process.argv[2];
const t0 = Date.now();
const h = createHash('sha256');
let n = 0;
try {
  const z = inflater('zstd');
  createReadStream(file, { highWaterMark: 1 << 20 }).pipe(z);
  for await (const c of z) { h.update(c); n += c.length; }
  const rss = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)[1];
  console.log(n, h.digest('hex').slice(0, 16), (Date.now() - t0) / 1000 + 's', Math.round(+rss / 1024) + 'MB');
} catch (e) { console.log('ERR', e.message); }

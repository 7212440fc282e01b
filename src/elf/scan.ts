/**
 * Looks for byte strings anywhere in a file, in bounded chunks (never the whole file in
 * memory). For the questions headers cannot answer: will a static glibc program load NSS
 * modules, does a program do TLS, does it read time zones.
 */
import type { Bytes } from '../fs/bytes.js';

const CHUNK = 1 << 20;

export function scanFor(view: Bytes, needles: string[], limit = 512 << 20): Set<string> {
  const bytes = view.plain?.() ?? view;
  const found = new Set<string>();
  const bufs = needles.map((n) => Buffer.from(n, 'latin1'));
  const overlap = Math.max(0, ...bufs.map((b) => b.length)) - 1;
  const end = Math.min(bytes.size, limit);
  for (let off = 0; off < end && found.size < needles.length; off += CHUNK) {
    const chunk = bytes.read(off, Math.min(CHUNK + overlap, end - off));
    bufs.forEach((b, i) => {
      const needle = needles[i];
      if (needle !== undefined && !found.has(needle) && chunk.indexOf(b) !== -1) found.add(needle);
    });
  }
  return found;
}

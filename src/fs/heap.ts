/**
 * Keeps the garbage of a long load from piling up. Reading a layer allocates entry records
 * that outlive a few young-generation collections (the layer is read while earlier ones
 * are applied) and so die in the old generation, which V8 lets grow to about twice what
 * was live at its last full collection before it collects again: on a 200,000-file image
 * half the peak resident memory was such garbage. A full collection when the heap has
 * grown by a quarter (and 24 MB) since the last one keeps the peak near what is live, for
 * a few collections per load.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;
let after = 0;
/** Below this the garbage costs less than collecting it (a small image's whole load). */
const FLOOR = 64 << 20;

function collector(): (() => void) | null {
  if (gc !== undefined) return gc;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  } catch {
    gc = null;
  }
  return gc;
}

/**
 * Collects when the heap grew well past what was live after the last collection here;
 * `slack`: how much garbage to allow (the load's end allows little: what follows walks the
 * tree and should start from what is live). By default 24 MB, or a quarter of what was
 * live when that is more: each collection marks everything live, and with a fixed 24 MB a
 * load marked five times its final heap in all, a cost per file that grew with the image
 * (1M files: 0.89x the time at 3% more peak memory; 200k files, whose live heap stays under
 * 96 MB, unchanged).
 */
export function collectIfGrown(slack?: number): void {
  const used = getHeapStatistics().used_heap_size;
  if (used < FLOOR || used < after * 1.25 + (slack ?? Math.max(24 << 20, after / 4))) return;
  const f = collector();
  if (!f) return;
  f();
  after = getHeapStatistics().used_heap_size;
}

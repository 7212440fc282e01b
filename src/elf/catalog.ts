/**
 * Every ELF file of the merged tree, decoded on first use and remembered. Hard links and
 * files that share a body are decoded once.
 */
import { isElf } from '../archive/magic.js';
import { ScopeError } from '../errors.js';
import { type MergedTree, type Node, ReadArena, openBytes } from '../fs/index.js';
import { decodeElf } from './decode.js';
import { ElfDamage } from './reader.js';
import type { ElfInfo } from './types.js';
import { contentKey } from './pool.js';

export type Decoded = { ok: true; info: ElfInfo } | { ok: false; error: string };

export class BinaryCatalog {
  private readonly cache: Map<string, Decoded>;
  /**
   * The reads of one decode after another, in memory reused (as the decoding threads do): a
   * fresh buffer a window cost page faults and collections over a thousand binaries.
   */
  private readonly arena = new ReadArena();
  /** `decoded`: results already made (by the decoding thread), shared and added to. */
  constructor(
    readonly tree: MergedTree,
    decoded?: Map<string, Decoded>,
  ) {
    this.cache = decoded ?? new Map<string, Decoded>();
  }

  /** Decodes the regular file (or hard link) at `path`, taken literally; null when it is not ELF. */
  at(path: string): Decoded | null {
    const node = this.tree.get(path);
    return node ? this.of(node) : null;
  }

  of(node: Node): Decoded | null {
    if ((node.type !== 'file' && node.type !== 'hardlink') || !node.content) return null;
    if (node.magic !== null && node.magic !== 'elf') return null;
    const ref = node.content;
    const key = contentKey(ref);
    const hit = this.cache.get(key);
    if (hit) return hit;
    let d: Decoded | null;
    let bytes;
    try {
      this.arena.reset(); // a decoded ElfInfo holds no views of what was read
      bytes = openBytes(ref, null, this.arena);
      if (node.magic === null && !isElf(bytes.read(0, 4))) return null;
      d = { ok: true, info: decodeElf(bytes) };
    } catch (e) {
      if (e instanceof ElfDamage || e instanceof ScopeError) d = { ok: false, error: e.message };
      else throw e;
    } finally {
      bytes?.release();
    }
    this.cache.set(key, d);
    return d;
  }

  /** Every ELF file in the tree, in path order, with its node. */
  *all(): Generator<[string, Decoded, Node]> {
    for (const [path, node] of this.tree.walk()) {
      if (node.magic !== 'elf' && node.magic !== null) continue;
      const d = this.of(node);
      if (d) yield [path, d, node];
    }
  }
}

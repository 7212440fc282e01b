/**
 * Loads an image into the model every other stage reads: source -> layers -> merged tree.
 * Layers are read concurrently (inflating compressed ones on the thread pool) and applied
 * strictly in order.
 */
import { configPath, historyForLayers } from './source/config.js';
import { posix } from 'node:path';
import { openImage } from './source/index.js';
import { allowTempFor, makeTempDir, removeTempDir } from './source/tempdir.js';
import type { HistoryEntry, ImageConfig, LayerSource, OpenOptions, OpenedImage, SourceInfo } from './source/types.js';
import {
  type ContentRef,
  type LayerRead,
  type LayerWalk,
  KEEP_ELF_MAX,
  checkUncompressed,
  describeLayer,
  walkLayer,
} from './layers/index.js';
import { BodyArena } from './layers/arena.js';
import { ScopeError } from './errors.js';
import { magicOf } from './archive/magic.js';
import { readHead, sniffCompression } from './archive/decompress.js';
import { type LayerChanges, MergedTree, type Node } from './fs/tree.js';
import { closeSharedFiles } from './fs/bytes.js';
import { byPlace, readHeads } from './fs/content.js';
import { DecodePool } from './elf/pool.js';
import { Budget } from './layers/budget.js';
import type { Decoded } from './elf/catalog.js';

/**
 * One layer of the model, the record every later stage reads: what the source says of it
 * (index, digests, media type, where its bytes are), what reading it found (compression,
 * tar size, verified), its build step, and its changes (the merged tree's own record,
 * tree.layers[index]).
 */
export interface LayerInfo extends LayerSource, Omit<LayerRead, 'entries'> {
  /** Bytes as stored (compressed size for compressed layers). */
  storedSize: number;
  history: HistoryEntry | null;
  changes: LayerChanges;
}

export interface ImageModel {
  /** ELF files decoded while layers were read (analysis only), keyed by content. */
  decoded: Map<string, Decoded>;
  /** Settles when the decoding thread has caught up. */
  decodedReady: Promise<void>;
  source: SourceInfo;
  config: ImageConfig | null;
  history: HistoryEntry[];
  layers: LayerInfo[];
  tree: MergedTree;
  opened: OpenedImage;
  close(): Promise<void>;
}

export interface LoadProgress {
  layersDone: number;
  layersTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface LoadOptions extends OpenOptions {
  verify?: boolean;
  /**
   * Prepare for binary analysis: tell ELF files and scripts apart, decode ELF files, and
   * keep the bodies later stages read by position (out of compressed layers in a file: in
   * memory, see layers/kept.ts; out of a stream: copied into a temp folder).
   */
  analysis?: boolean;
  /**
   * Without analysis: still tell the files apart by their first bytes as the walk passes
   * them (read from the window that brought the header, so nearly free), for a quick load
   * that analyseLoaded goes on from.
   */
  sniff?: boolean;
  onProgress?: (p: LoadProgress) => void;
  /** How many layers may be read at once. */
  concurrency?: number;
  /**
   * With analysis: return as soon as the tree is built, the ELF files decoding on the pool's
   * threads (see decodedReady). Without, the catalog decodes each on this thread when it is
   * first asked for: a few tens of microseconds a file, less than a thread's start and the
   * round trip of its results (on two cores, inspect took a tenth less time and 20 MB less
   * memory so); the explorer draws meanwhile, so its decoding goes to the threads.
   */
  decodeInBackground?: boolean;
}

export async function loadImage(reference: string, opts: LoadOptions = {}): Promise<ImageModel> {
  // its threads start when there is work worth one: many ELF files, or a large layer to hash
  const pool = new DecodePool();
  let opened: OpenedImage;
  try {
    opened = await openImage(reference, opts);
  } catch (e) {
    pool?.close();
    throw e;
  }
  try {
    return await loadOpened(opened, opts, pool);
  } catch (e) {
    await opened.close();
    throw e;
  }
}

/** Every layer is a folder, or an uncompressed tar at a known place in a file: read by position, nothing spooled. */
export function seekable(opened: OpenedImage): boolean {
  return opened.layers.every((l) => {
    if (l.dir) return true;
    const b = l.blob;
    if (!b || b.file === null) return false;
    return b.size === 0 || sniffCompression(readHead(b.file, b.offset, Math.min(4, b.size))) === 'none';
  });
}

/**
 * What a load that failed with `e` reports: an earlier layer's failed digest check if there
 * is one (the first in layer order), so the layer named does not depend on which hash or
 * walk finished first.
 */
async function firstFailure(checks: Promise<boolean>[], e: unknown): Promise<unknown> {
  for (const c of checks) {
    try {
      await c;
    } catch (earlier) {
      return earlier;
    }
  }
  return e;
}

/**
 * Where the image's command may be, by its config alone (its first word as given, or along
 * PATH). Out of a compressed layer, a body there is kept whole: the checks of a launch scan
 * its program end to end, and reading it again would inflate its layer a second time.
 */
export function launchPaths(config: ImageConfig | null): Set<string> {
  const out = new Set<string>();
  const first = config?.entrypoint?.[0] ?? config?.cmd?.[0];
  if (!config || !first) return out;
  const cwd = config.workingDir || '/';
  if (first.includes('/')) out.add(posix.resolve(cwd, first));
  else for (const dir of configPath(config.env).split(':')) out.add(posix.resolve(cwd, dir || '.', first));
  return out;
}

/** Bytes of ELF bodies out of compressed layers held at once while they are decoded (see layers/kept.ts). */
const KEEP_ROOM = 32 << 20;

/** Compressed layers walked ahead of the one being applied, beyond those being read (each holds its entries). */
const WALKED_AHEAD = 3;

/** Digest checks left running behind the walks, at most. */
const CHECKS_AHEAD = 8;

export async function loadOpened(
  opened: OpenedImage,
  opts: LoadOptions = {},
  pool: DecodePool | null = new DecodePool(),
): Promise<ImageModel> {
  const { layers } = opened;
  const verify = opts.verify ?? true;
  const concurrency = Math.max(1, opts.concurrency ?? 3);
  const bytesTotal = layers.reduce((n, l) => n + (l.blob?.size ?? 0), 0);
  allowTempFor(bytesTotal);
  const progress: LoadProgress = { layersDone: 0, layersTotal: layers.length, bytesDone: 0, bytesTotal };
  // Bodies later stages read are kept in memory out of compressed layers in a file (they can
  // be inflated again), and spooled only out of streamed layers (a registry's), or for an ELF
  // file too large to hold: an image read by position needs no temp folder (nor a writable
  // TMPDIR, nor the folder's watcher process), and a compressed one only for such a file.
  let spoolDir: string | null = null;
  const spoolHere = () => (spoolDir ??= makeTempDir());
  if (opts.analysis && layers.some((l) => l.blob && l.blob.file === null)) spoolHere();
  // the room's bodies, and one larger body alone (the room lets one through when empty), in
  // memory shared with the decoding threads and reused from body to body (arena.ts)
  const bodies = new BodyArena(KEEP_ELF_MAX);
  const keep =
    opts.analysis && pool
      ? {
          elf: (ref: ContentRef, body: Buffer) => pool.keep(ref, body),
          buffer: (n: number) => bodies.take(n) ?? Buffer.from(new ArrayBuffer(n)),
          release: (body: Buffer) => bodies.give(body),
          room: new Budget(KEEP_ROOM),
          whole: launchPaths(opened.config),
        }
      : null;
  const close = async () => {
    bodies.retire();
    pool?.close();
    closeSharedFiles();
    if (spoolDir) removeTempDir(spoolDir);
    await opened.close();
  };
  // without a pool (the quick verdict), one of no threads: it hashes here, still once per byte range
  const hasher = pool ?? new DecodePool(0);
  const reads: (Promise<LayerWalk> | null)[] = new Array<Promise<LayerWalk> | null>(layers.length);
  // stored bytes read of the layers under way, so progress moves within a layer (at most every 50 ms)
  const partial = new Map<number, number>();
  let told = 0;
  const tell = (force: boolean) => {
    if (!opts.onProgress || (!force && Date.now() - told < 50)) return;
    told = Date.now();
    let inFlight = 0;
    for (const n of partial.values()) inFlight += n;
    opts.onProgress({ ...progress, bytesDone: Math.min(bytesTotal, progress.bytesDone + inFlight) });
  };
  let next = 0;
  let reading = 0;
  /** The load failed: reads still under way end, none starts. */
  let stopped = false;
  let applied = 0;
  /** Layers that may be walked ahead beyond those being read: WALKED_AHEAD once a read inflated its layer. */
  let ahead = 0;
  /**
   * Starts reads while fewer than `concurrency` are under way and few walked layers wait for
   * the one before them: a read that ends starts the next at once. Started only as layers
   * were applied, a large first layer held back every layer after the few beside it (gzip:
   * its 1 GB layer, then the 360 MB one, one after the other). Layers read by position are
   * walked on this thread at once, where walking ahead only holds more entries (200k files:
   * 20 MB more at the peak): they go no further ahead than before.
   */
  const startMore = () => {
    while (!stopped && next < layers.length && reading < concurrency && next - applied < concurrency + ahead) start();
  };
  const start = () => {
    const l = layers[next];
    if (l === undefined) return;
    next++;
    reading++;
    const onStored = (n: number) => {
      partial.set(l.index, Math.min(n, l.blob?.size ?? 0));
      tell(false);
    };
    const read = walkLayer(l, {
      verify,
      sniff: opts.analysis || opts.sniff,
      spoolDir: opts.analysis ? spoolHere : null,
      sparseDir: spoolHere,
      keep,
      onElf: pool && opts.analysis && opts.decodeInBackground ? (ref) => pool.add(ref) : undefined,
      hash: (file, offset, size, algorithm) => hasher.hash(file, offset, size, algorithm),
      onStored,
    }).then(
      (r) => {
        reading--;
        partial.delete(l.index);
        progress.layersDone++;
        progress.bytesDone += l.blob?.size ?? 0;
        tell(true);
        if (r.compression === 'gzip' || r.compression === 'zstd') ahead = WALKED_AHEAD;
        startMore();
        return r;
      },
      (e: unknown) => {
        reading--;
        throw e;
      },
    );
    reads[l.index] = read;
    read.catch(() => {}); // awaited in order below
  };
  startMore();
  tell(true);
  const tree = new MergedTree();
  const history = historyForLayers(opened.history, layers.length);
  const infos: LayerInfo[] = [];
  // A layer hashed by position may still be hashing when its walk ends: the next walks go on
  // (the largest layer's hash no longer holds back the rest), with at most CHECKS_AHEAD checks
  // open at once (each holds a descriptor and a buffer), and all are settled before the model is.
  const checks: Promise<boolean>[] = [];
  const abandon = () => {
    stopped = true;
    bodies.retire(); // the threads may still read bodies they were sent
    pool?.close();
    if (spoolDir) removeTempDir(spoolDir);
  };
  for (const l of layers) {
    let read: LayerWalk;
    try {
      const pending = reads[l.index];
      if (!pending) throw new Error(`layer ${l.index} was never started`);
      read = await pending;
      reads[l.index] = null; // its entries are garbage once applied, not held to the end of the load
      checks.push(read.verification);
      // a small layer is hashed on this thread, beside the walks: waiting for it costs no time,
      // and keeps as few hashes (each a buffer) and walks going at once as before
      if (!pool || pool.hashesHere(l.blob?.size ?? 0)) await read.verification;
      else if (checks.length > CHECKS_AHEAD) await checks[checks.length - 1 - CHECKS_AHEAD];
    } catch (e) {
      const first = await firstFailure(checks, e); // before the pool closes: its hashes must answer
      abandon();
      throw first;
    }
    applied++;
    startMore();
    const changes = tree.apply(l.index, read.entries);
    infos.push({
      ...l,
      compression: read.compression,
      storedSize: l.blob?.size ?? 0,
      tarSize: read.tarSize,
      verified: false,
      history: history[l.index] ?? null,
      changes,
    });
  }
  try {
    // in layer order: the layer named on a failure is the first that fails, however fast each hash went
    for (const info of infos) info.verified = await checks[info.index]!;
  } catch (e) {
    abandon();
    throw e;
  }
  tree.done();
  const decodedReady = pool ? pool.drain(!opts.decodeInBackground) : Promise.resolve();
  if (!opts.decodeInBackground) await decodedReady;
  return {
    decoded: pool?.results ?? new Map<string, Decoded>(),
    decodedReady,
    source: opened.source,
    config: opened.config,
    history: opened.history,
    layers: infos,
    tree,
    opened,
    close,
  };
}

/**
 * The full analysis of a model loaded without it from layers read by position (the quick
 * verdict's): the digests checked, the regular files told apart, the ELF files handed to the
 * decoding threads. The tree is the one already built: on an image of 200,000 small files,
 * walking the layers and building the tree again cost as much as all the rest, and the two
 * trees were held at once. Takes over `model` (its close closes both).
 */
export async function analyseLoaded(model: ImageModel, opts: LoadOptions, pool = new DecodePool()): Promise<ImageModel> {
  const verify = opts.verify ?? true;
  try {
    const checks = new Map<number, Promise<boolean>>();
    const check = (l: LayerInfo) => {
      const p = checkUncompressed(l, (f, o, s, a) => pool.hash(f, o, s, a));
      p.catch(() => {}); // awaited below, in layer order
      checks.set(l.index, p);
      return p;
    };
    // large layers hash on the pool's threads; small ones on this one, a few at a time (each holds a descriptor and a buffer)
    const here = verify ? model.layers.filter((l) => l.compression === 'none' && pool.hashesHere(l.blob?.size ?? 0)) : [];
    if (verify) for (const l of model.layers) if (l.compression === 'none' && !here.includes(l)) void check(l);
    const lanes = Array.from({ length: Math.min(Math.max(1, opts.concurrency ?? 3), here.length) }, async () => {
      for (let l = here.shift(); l; l = here.shift()) await check(l).catch(() => {});
    });
    // a folder's files are not sniffed by a load either: the catalog looks at them on demand
    const tars = new Set(model.layers.filter((l) => l.compression !== 'dir').map((l) => l.index));
    const fault = await sniffTree(model.tree, tars, opts.decodeInBackground ? (ref) => pool.add(ref) : () => {});
    await Promise.all(lanes);
    // in layer order, a body that could not be sniffed where the walk would have failed: the
    // first failing layer is named, as a load does
    for (const l of model.layers) {
      if (fault && l.index >= fault.layer) throw new ScopeError(fault.error.code, `${describeLayer(l)}: ${fault.error.message}`);
      l.verified = (await checks.get(l.index)) ?? false;
    }
  } catch (e) {
    pool.close();
    throw e;
  }
  const decodedReady = pool.drain(!opts.decodeInBackground);
  if (!opts.decodeInBackground) await decodedReady;
  return {
    ...model,
    decoded: pool.results,
    decodedReady,
    close: async () => {
      pool.close();
      await model.close();
    },
  };
}

/** Files sniffed between two looks at the clock. */
const SNIFF_SLICE = 4096;

/**
 * Tells the regular files of `layers` apart by their first bytes, as a walk with sniffing
 * does, and hands ELF files on once each (those the walk told apart too, visible ones only). Gives the event loop a turn every 50 ms, as the
 * walk does (the explorer draws its banner meanwhile). Returns the first body that could
 * not be read (a file changed under us, an I/O error) and its layer, instead of throwing.
 */
async function sniffTree(
  tree: MergedTree,
  layers: Set<number>,
  onElf: (ref: ContentRef) => void,
): Promise<{ layer: number; error: ScopeError } | null> {
  const files: Node[] = [];
  /** Files the walk already told apart as ELF (a quick load with sniff): handed on, in file order. */
  const elves: Node[] = [];
  const empty = magicOf(Buffer.alloc(0));
  for (const node of tree.nodes()) {
    if ((node.type !== 'file' && node.type !== 'hardlink') || !node.content || !layers.has(node.content.layer)) continue;
    if (node.magic === 'elf') elves.push(node);
    else if (node.magic !== null) continue;
    else if (node.content.size === 0) node.magic = empty;
    else files.push(node);
  }
  elves.sort((a, b) => byPlace(a.content!, b.content!));
  let handed: ContentRef | null = null;
  for (const node of elves) {
    // a hard link shares its target's body: sorted next to it, decoded once
    if (node.content !== handed) onElf(node.content!);
    handed = node.content;
  }
  files.sort((a, b) => byPlace(a.content!, b.content!));
  let last: ContentRef | null = null;
  let fault: { layer: number; error: ScopeError } | null = null;
  let turn = Date.now();
  for (let at = 0; at < files.length && !fault; at += SNIFF_SLICE) {
    if (Date.now() - turn >= 50) {
      await new Promise((r) => setImmediate(r));
      turn = Date.now();
    }
    try {
      readHeads(
        files.slice(at, at + SNIFF_SLICE),
        (node) => node.content!,
        4,
        (node, head) => {
          node.magic = magicOf(head);
          // a hard link shares its target's body: sorted next to it, decoded once
          if (node.magic === 'elf' && node.content !== last) onElf(node.content!);
          last = node.content;
        },
        (node, error) => {
          fault = { layer: node.content!.layer, error };
          throw error;
        },
      );
    } catch (e) {
      if (!fault) throw e;
    }
  }
  return fault;
}

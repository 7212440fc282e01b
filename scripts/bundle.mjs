#!/usr/bin/env node
/**
 * Bundles the compiled command line (dist/cli.js and every module it imports, statically or on
 * demand) into dist/bundle/: Node 20's ESM loader resolves, reads and compiles each module on
 * its own, and the 85 modules of an `inspect` cost a tenth of its verdict's time. Dynamic
 * imports stay lazy (each becomes a chunk loaded on demand), so `--help` still loads no
 * analysis stage and ink loads only with the explorer. Packages stay outside, loaded by Node.
 * Worker threads and the refetch child run from dist/ as compiled (their own module graphs):
 * the bundle sits one folder down so their paths ('../elf/worker.js') hold from both places.
 * meta.json maps each chunk to its modules, for the start-up test.
 */
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url).pathname;
const out = root + 'dist/bundle/';
rmSync(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root, // meta.json names modules from the repository's root: dist/load.js
  entryPoints: ['dist/cli.js'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(out + 'meta.json', JSON.stringify(result.metafile));

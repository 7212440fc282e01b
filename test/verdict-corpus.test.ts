/**
 * The verdict from the layer indexes equals the full analysis' on every image of the corpus
 * of real programs (fixtures/corpus), built and cached as test/corpus.test.ts builds it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { same } from './helpers/verdict.js';
import { engineAvailable } from './helpers/engine.js';
import { cacheRoot, corpusHash } from '../fixtures/corpus/build.mjs';

const REPO = new URL('..', import.meta.url).pathname;

const cached = join(cacheRoot(), `corpus-${corpusHash()}`);
const haveCache = existsSync(join(cached, '.complete'));
const available = engineAvailable();
const skip = haveCache || available === true ? false : available;

describe('the verdict from the layer indexes equals the full analysis on the corpus of real programs', { skip, timeout: 1_800_000 }, () => {
  let dir = cached;
  before(() => {
    if (!haveCache) {
      const b = spawnSync('node', [REPO + 'fixtures/corpus/build.mjs'], { encoding: 'utf8', timeout: 1_500_000, maxBuffer: 64 << 20 });
      assert.equal(b.status, 0, `building the corpus failed: ${b.stderr.slice(-3000)}`);
      dir = b.stdout.trim();
    }
  });

  it('every corpus image', async () => {
    const images = readdirSync(join(dir, 'images'))
      .filter((n) => n.endsWith('.tar'))
      .sort();
    assert.ok(images.length >= 40, `${images.length} images`);
    for (const n of images) assert.equal(await same(join(dir, 'images', n)), true, `${n}: no fast path`);
  });
});

/**
 * Node's own modules that cost a run several milliseconds to load and that many runs never
 * use: crypto (fifteen internal modules) hashes nothing in the verdict of an uncompressed
 * image without --verify. Loaded on first use instead of with the module that names it.
 */
import { createRequire } from 'node:module';
import type * as Crypto from 'node:crypto';

const require = createRequire(import.meta.url);

let crypto: typeof Crypto | undefined;

export const nodeCrypto = (): typeof Crypto => (crypto ??= require('node:crypto') as typeof Crypto);

/** The story behind each diagnostic code, for `scratchscope explain CODE`: read from the catalogue. */
import { CATALOG } from './catalog.js';
import type { Code } from './types.js';

export const EXPLAIN = Object.fromEntries(Object.entries(CATALOG).map(([code, e]) => [code, e.story])) as Record<Code, string>;

#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// Listing a big image allocates many small objects that all live to the end; a larger
// young generation spares the collector from copying them over and over.
setFlagsFromString('--max-semi-space-size=64');
const { main } = await import('../dist/cli.js');

await main(process.argv);

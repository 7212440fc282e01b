#!/usr/bin/env node
// `--version` alone is answered before the command line parser loads: it is what scripts
// call to see that the tool is there, and it should cost no more than starting node.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VERSION } = await import('../dist/version.js');
  process.stdout.write(VERSION + '\n');
} else {
  const { setFlagsFromString } = await import('node:v8');
  // Listing a big image allocates many small objects that all live to the end; a larger
  // young generation spares the collector from copying them over and over.
  setFlagsFromString('--max-semi-space-size=64');
  const { main } = await import('../dist/cli.js');
  await main(process.argv);
}

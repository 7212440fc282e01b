#!/usr/bin/env node
import { statSync } from 'node:fs';
// `--version` and `explain CODE` are answered before the command line parser loads: scripts
// call the one to see that the tool is there, people the other to read a diagnostic's story,
// and neither should cost much more than starting node. Anything else (an unknown code,
// options, help) goes to the parser, which words its errors.
const args = process.argv.slice(2);

/** Writes a fast answer; a reader that went away (| head) is not an error, a full disk is (as the parser's path says it). */
function answer(text) {
  process.stdout.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    const why = `${e.syscall} failed: ${e.message.replace(/^\w+: /, '').replace(/, \w+.*$/, '')} (${e.code})`;
    process.stderr.write(`scratchscope: cannot write to standard output: ${e.syscall ? why : e.message}\n`);
    process.exit(3);
  });
  process.stdout.write(text);
}

let answered = false;
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VERSION } = await import('../dist/version.js');
  answer(VERSION + '\n');
  answered = true;
} else if (args.length === 2 && args[0] === 'explain' && !args[1].startsWith('-')) {
  const { explainText } = await import('../dist/diagnose/explain.js');
  const text = explainText(args[1]);
  if (text !== null) {
    answer(text);
    answered = true;
  }
}
/**
 * The command line bundled into a few files (scripts/bundle.mjs, run by `npm run build`), when
 * it is as new as the compiled one: a `tsc` alone after an edit leaves the bundle behind, and
 * the compiled modules then run as they are.
 */
function commandLine() {
  try {
    const bundled = statSync(new URL('../dist/bundle/cli.js', import.meta.url)).mtimeMs;
    if (bundled >= statSync(new URL('../dist/cli.js', import.meta.url)).mtimeMs) return '../dist/bundle/cli.js';
  } catch {
    /* not bundled */
  }
  return '../dist/cli.js';
}

if (!answered) {
  const { main } = await import(commandLine());
  await main(process.argv);
}

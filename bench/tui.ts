/**
 * The explorer's speed as a person feels it, measured on the real binary in tmux with the
 * benchmark image (about 2 GB, 16,500 entries; built once by make-image.ts):
 * - first frame: from starting the command to the first thing on screen;
 * - tree usable: to the Files pane showing rows;
 * - keystroke latency: from sending a key to the screen changing, for moves in the tree,
 *   while the launch is still analysed and after, and for each key typed into a filter.
 * Run: node --import tsx bench/tui.ts
 */
import { spawnSync } from 'node:child_process';
import { makeBenchImage } from './make-image.js';

const REPO = new URL('..', import.meta.url).pathname;
const SOCKET = `scratchscope-bench-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'ui').stdout;

async function until(pred: (s: string) => boolean, what: string, ms = 120_000): Promise<string> {
  const end = performance.now() + ms;
  for (;;) {
    const s = screen();
    if (pred(s)) return s;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}:\n${s}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Milliseconds from sending `key` to the screen differing from what it was. */
async function latency(key: string[], literal = false): Promise<number> {
  const before = screen();
  const t0 = performance.now();
  tmux('send-keys', '-t', 'ui', ...(literal ? ['-l'] : []), ...key);
  await until((s) => s !== before, `a change after ${key.join(' ')}`, 10_000);
  return performance.now() - t0;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : NaN;
};
const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms over ${xs.length}`;

async function run(image: string, label: string): Promise<void> {
  tmux('kill-session', '-t', 'ui');
  const t0 = performance.now();
  tmux('new-session', '-d', '-s', 'ui', '-x', '120', '-y', '40', 'sh', '-c', `cd ${REPO} && node bin/scratchscope.js ${image}; sleep 600`);
  await until((s) => s.trim() !== '', 'the first frame');
  const first = performance.now() - t0;
  await until((s) => /› {2}drwx/.test(s), 'the tree');
  const usable = performance.now() - t0;
  const analysing: number[] = [];
  // while the launch is being worked out (the report comes last)
  for (let i = 0; i < 20 && /analysing/.test(screen()); i++) analysing.push(await latency([i % 2 ? 'k' : 'j']));
  await until((s) => /WILL (START|FAIL)/.test(s), 'the verdict');
  const verdict = performance.now() - t0;
  const moves: number[] = [];
  for (let i = 0; i < 40; i++) moves.push(await latency([i % 2 ? 'k' : 'j']));
  const typing: number[] = [];
  tmux('send-keys', '-t', 'ui', '/');
  await until((s) => /\/▏/.test(s), 'the filter prompt');
  for (const ch of 'libcrypto') typing.push(await latency([ch], true));
  for (let i = 0; i < 9; i++) typing.push(await latency(['BSpace']));
  tmux('send-keys', '-t', 'ui', 'Escape');
  const layers: number[] = [];
  tmux('send-keys', '-t', 'ui', 'BTab');
  await until((s) => /Layer\b/.test(s), 'the Layers pane');
  for (let i = 0; i < 5; i++) layers.push(await latency(['j']));
  tmux('send-keys', '-t', 'ui', 'q');
  console.log(`${label}
  first frame            ${first.toFixed(0)} ms
  tree usable            ${usable.toFixed(0)} ms
  verdict shown          ${verdict.toFixed(0)} ms
  keys while analysing   ${analysing.length ? fmt(analysing) : '(the verdict came first)'}
  moves in the tree      ${fmt(moves)}
  typing a filter        ${fmt(typing)}
  picking layers         ${fmt(layers)}  (each builds "the image as of layer N")`);
}

/** The floor: the same measurement on `cat` echoing a key (tmux, the pty and polling, nothing else). */
async function floor(): Promise<void> {
  tmux('kill-session', '-t', 'ui');
  tmux('new-session', '-d', '-s', 'ui', '-x', '120', '-y', '40', 'cat');
  await until((s) => s !== null, 'cat');
  const xs: number[] = [];
  for (let i = 0; i < 30; i++) xs.push(await latency([i % 10 === 9 ? 'Enter' : 'x']));
  const t0 = performance.now();
  spawnSync('node', ['-e', '0']);
  console.log(`floor: a key echoed by cat ${fmt(xs)}; node -e 0 takes ${(performance.now() - t0).toFixed(0)} ms`);
}

const img = await makeBenchImage();
try {
  await floor();
  await run(img.dockerTar, 'docker save tar, 2.0 GB');
  await run(img.ociGzip, 'gzip OCI archive, 0.75 GB');
} finally {
  tmux('kill-server');
}

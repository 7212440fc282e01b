#!/usr/bin/env node
// Screenshots of the explorer for README: the real binary runs in tmux on a broken and on
// a working fixture image, the screen is captured with its colours (capture-pane -e), and
// the capture is drawn as SVG and turned into PNG by rsvg-convert (librsvg2-bin).
// usage: node scripts/screenshots.mjs   (needs tmux, rsvg-convert, a built dist/)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(repo, 'screenshots');
const SOCKET = `scratchscope-shots-${process.pid}`;
const COLS = 110;
const ROWS = 32;
const tmux = (...args) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Each shot: keys sent one at a time, each followed by a wait for the screen to show its
// effect (never a fixed sleep).
const SHOTS = [
  {
    name: 'broken',
    image: 'fixtures/images/broken.docker.tar',
    ready: /WILL FAIL/,
    steps: [
      ['Tab', /Details/],
      ['Tab', /Diagnostics \(\d+\)/],
    ],
  },
  { name: 'working', image: 'fixtures/images/layers.docker.tar', ready: /WILL START/, steps: [['e', /ELF 64-bit/]] },
  {
    name: 'layer',
    image: 'fixtures/images/layers.docker.tar',
    ready: /WILL START/,
    steps: [
      ['BTab', /Layer\b/],
      ['j', /layer 0 of/],
      ['j', /layer 1 of/],
      ['j', /layer 2 of/],
      ['j', /layer 3 of/],
      ['j', /as of layer 4/],
      ['Tab', /Details/],
      ['j', /›.*etc/],
      ['j', /›.*fsop/],
      ['j', /›.*gone/],
      ['j', /›.*keep/],
      ['j', /›.*new\.txt/],
    ],
  },
  { name: 'wasted', image: 'fixtures/images/layers.docker.tar', ready: /WILL START/, steps: [['w', /wasted in \d+ file versions/]] },
];

async function until(pred, what) {
  for (let i = 0; i < 1200; i++) {
    if (pred.test(tmux('capture-pane', '-p', '-t', 'shot').stdout)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function capture(shot) {
  tmux('kill-session', '-t', 'shot');
  const cmd = `cd '${repo}' && TERM=xterm-256color node bin/scratchscope.js ${shot.image}; sleep 30`;
  tmux('new-session', '-d', '-s', 'shot', '-x', String(COLS), '-y', String(ROWS), 'sh', '-c', cmd);
  await until(shot.ready, `${shot.name}: the explorer`);
  for (const [k, wait] of shot.steps) {
    tmux('send-keys', '-t', 'shot', k);
    await until(wait, `${shot.name}: ${k}`);
  }
  const screen = tmux('capture-pane', '-e', '-p', '-t', 'shot').stdout;
  tmux('send-keys', '-t', 'shot', 'q');
  return screen;
}

// --- ANSI (SGR) to cells -------------------------------------------------------------
const BASE = ['#1e1e2e', '#f38ba8', '#a6e3a1', '#f9e2af', '#89b4fa', '#cba6f7', '#94e2d5', '#cdd6f4'];
const BRIGHT = ['#6c7086', '#f38ba8', '#a6e3a1', '#f9e2af', '#89b4fa', '#cba6f7', '#94e2d5', '#ffffff'];
const FG = '#cdd6f4';
const BG = '#1e1e2e';

function color256(n) {
  if (n < 8) return BASE[n];
  if (n < 16) return BRIGHT[n - 8];
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (x) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
}

function parse(text) {
  const lines = [];
  let st = { fg: null, bg: null, bold: false, dim: false, inverse: false, strike: false };
  for (const raw of text.split('\n').slice(0, ROWS)) {
    const cells = [];
    const re = /\x1b\[([0-9;]*)m|([^\x1b]+)/g;
    let m;
    while ((m = re.exec(raw))) {
      if (m[2] !== undefined) {
        for (const ch of m[2]) cells.push({ ch, ...st });
        continue;
      }
      const codes = m[1] === '' ? [0] : m[1].split(';').map(Number);
      for (let i = 0; i < codes.length; i++) {
        const c = codes[i];
        if (c === 0) st = { fg: null, bg: null, bold: false, dim: false, inverse: false, strike: false };
        else if (c === 1) st = { ...st, bold: true };
        else if (c === 2) st = { ...st, dim: true };
        else if (c === 7) st = { ...st, inverse: true };
        else if (c === 9) st = { ...st, strike: true };
        else if (c === 22) st = { ...st, bold: false, dim: false };
        else if (c === 27) st = { ...st, inverse: false };
        else if (c === 29) st = { ...st, strike: false };
        else if (c >= 30 && c <= 37) st = { ...st, fg: BASE[c - 30] };
        else if (c >= 90 && c <= 97) st = { ...st, fg: BRIGHT[c - 90] };
        else if (c === 39) st = { ...st, fg: null };
        else if (c >= 40 && c <= 47) st = { ...st, bg: BASE[c - 40] };
        else if (c === 49) st = { ...st, bg: null };
        else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
          st = { ...st, [c === 38 ? 'fg' : 'bg']: color256(codes[i + 2]) };
          i += 2;
        } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
          st = { ...st, [c === 38 ? 'fg' : 'bg']: `rgb(${codes[i + 2]},${codes[i + 3]},${codes[i + 4]})` };
          i += 4;
        }
      }
    }
    lines.push(cells);
  }
  return lines;
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function svg(lines) {
  const cw = 8.4;
  const ch = 18;
  const pad = 12;
  const parts = [];
  lines.forEach((cells, y) => {
    cells.forEach((c, x) => {
      let fg = c.fg ?? FG;
      let bg = c.bg;
      if (c.inverse) [fg, bg] = [bg ?? BG, fg];
      if (bg) parts.push(`<rect x="${pad + x * cw}" y="${pad + y * ch}" width="${cw + 0.5}" height="${ch}" fill="${bg}"/>`);
      if (c.ch !== ' ') {
        const style = `${c.bold ? ' font-weight="bold"' : ''}${c.dim ? ' opacity="0.6"' : ''}${c.strike ? ' text-decoration="line-through"' : ''}`;
        parts.push(`<text x="${pad + x * cw}" y="${pad + y * ch + 13.5}" fill="${fg}"${style}>${esc(c.ch)}</text>`);
      }
    });
  });
  const w = pad * 2 + COLS * cw;
  const h = pad * 2 + ROWS * ch;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="${BG}"/><g font-family="DejaVu Sans Mono, monospace" font-size="14" xml:space="preserve">${parts.join('')}</g></svg>`;
}

mkdirSync(out, { recursive: true });
try {
  for (const shot of SHOTS) {
    const screen = await capture(shot);
    const file = join(out, `${shot.name}.svg`);
    writeFileSync(file, svg(parse(screen)));
    const r = spawnSync('rsvg-convert', ['-o', join(out, `${shot.name}.png`), file]);
    if (r.status !== 0) throw new Error(`rsvg-convert failed: ${r.stderr}`);
    spawnSync('rm', ['-f', file]);
    console.log(`screenshots/${shot.name}.png`);
  }
} finally {
  tmux('kill-server');
}

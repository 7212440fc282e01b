/** @jsxRuntime automatic */
/** @jsxImportSource react */
/**
 * The explorer, driven key by key with ink-testing-library; each test asserts on the
 * rendered frames.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import type { ImageModel } from '../src/load.js';
import { loadImage } from '../src/load.js';
import { type Report, buildReport } from '../src/report/index.js';
import { App } from '../src/tui/App.js';
import { makeTar, tempDir, writeOciLayout } from './helpers/build.js';

const FX = new URL('../fixtures/images/', import.meta.url).pathname;
const KEY = { down: '\u001B[B', up: '\u001B[A', right: '\u001B[C', left: '\u001B[D', tab: '\t', shiftTab: '\u001B[Z', enter: '\r', esc: '\u001B' };
// ink draws at most every ~32 ms; leave it room even on a busy machine
const tick = (ms = 100) => new Promise((r) => setTimeout(r, ms));

/** The rows of the Files pane (left column, below its title). */
function filesPane(frame: string): string[] {
  const lines = frame.split('\n');
  const at = lines.findIndex((l) => /│(▶ )?Files \(/.test(l));
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.startsWith('╰')) break;
    out.push(l.slice(0, l.indexOf('│', 1) + 1));
  }
  return out;
}

async function open(ref: string): Promise<{ model: ImageModel; report: Report }> {
  const model = await loadImage(ref, { analysis: true });
  return { model, report: buildReport(model) };
}

async function press(stdin: { write: (s: string) => void }, ...keys: string[]) {
  for (const k of keys) {
    stdin.write(k);
    await tick();
  }
}

describe('the explorer', () => {
  const tmp = tempDir();
  let good: { model: ImageModel; report: Report };
  let bad: { model: ImageModel; report: Report };
  before(async () => {
    good = await open(FX + 'layers.docker.tar');
    const hello = readFileSync(new URL('../fixtures/foreign/hello-arm64', import.meta.url));
    const dir = writeOciLayout(`${tmp.dir}/bad`, { layers: [await makeTar([{ name: 'app', body: hello, mode: 0o755 }])], config: { Entrypoint: ['/app'] }, architecture: 'arm64' });
    bad = await open(dir);
  });
  after(async () => {
    await good.model.close();
    await bad.model.close();
    tmp.cleanup();
  });

  const mount = (s: { model: ImageModel; report: Report | null }, width = 100, height = 30) => render(<App model={s.model} report={s.report} width={width} height={height} />);

  it('shows the verdict banner, layers, the merged tree and the footer', () => {
    const { lastFrame, unmount } = mount(good);
    const f = lastFrame()!;
    assert.match(f, /✔ WILL START \["\/usr\/bin\/hello"\]/);
    assert.match(f, /Layers \(8\)/);
    assert.match(f, /COPY file:/);
    assert.match(f, /Files \(merged\)/);
    assert.match(f, /▸data/);
    assert.match(f, /q quit/);
    unmount();
  });

  it('a failing image shows the runtime\'s line and the fix in red', () => {
    const { lastFrame, unmount } = mount(bad);
    const f = lastFrame()!;
    assert.match(f, /✘ WILL FAIL exec \/app: no such file or directory/);
    assert.match(f, /fix: Link it statically/);
    unmount();
  });

  it('arrows and hjkl move, enter and l/h expand and collapse', async () => {
    const { lastFrame, stdin, unmount } = mount(good);
    await press(stdin, KEY.enter);
    assert.match(lastFrame()!, /▾data/);
    assert.match(lastFrame()!, /a\.txt/);
    await press(stdin, 'j', KEY.down);
    assert.match(lastFrame()!, /›.*a\.txt/);
    await press(stdin, 'h');
    assert.match(lastFrame()!, /›.*▾data/, 'h on a file goes to its folder');
    await press(stdin, 'h');
    assert.match(lastFrame()!, /›.*▸data/, 'h on an open folder closes it');
    await press(stdin, 'l');
    assert.match(lastFrame()!, /▾data/);
    unmount();
  });

  it('details of a file, and of an ELF file with its loader and hardening', async () => {
    const { lastFrame, stdin, unmount } = mount(good);
    await press(stdin, 'e');
    const f = lastFrame()!;
    assert.match(f, /Details/);
    assert.match(f, /\/usr\/bin\/hello/);
    assert.match(f, /-rwsr-xr-x \(4755\)/);
    assert.match(f, /ELF 64-bit x86_64, executable/);
    assert.match(f, /harden PIE no, RELRO partial/);
    unmount();
  });

  it('a layer shows its changes, each with a letter; a, m and r hide them', async () => {
    const { lastFrame, stdin, unmount } = mount(good);
    await press(stdin, KEY.shiftTab); // focus Layers
    await press(stdin, 'j', 'j', 'j', 'j', 'j'); // layer 4: rmrf /keep, mkdir, write
    let f = lastFrame()!;
    assert.match(f, /Files \(layer 4, AMD\)/);
    assert.match(f, /D .*old\.txt/);
    assert.match(f, /A .*new\.txt/);
    await press(stdin, 'r');
    f = lastFrame()!;
    assert.doesNotMatch(f, /old\.txt/);
    assert.match(f, /Files \(layer 4, AM\)/);
    await press(stdin, 'a');
    assert.doesNotMatch(lastFrame()!, /new\.txt/);
    unmount();
  });

  it('/ filters the tree by path; escape clears it', async () => {
    const { lastFrame, stdin, unmount } = mount(good);
    await press(stdin, '/', 'h', 'e', 'l', 'l', 'o', KEY.enter);
    assert.match(lastFrame()!, /Files \(merged\)  \/hello/);
    let rows = filesPane(lastFrame()!).join('\n');
    assert.match(rows, /▾usr/);
    assert.match(rows, /hello/);
    assert.doesNotMatch(rows, /fsop/);
    await press(stdin, KEY.esc);
    rows = filesPane(lastFrame()!).join('\n');
    assert.match(rows, /fsop/);
    unmount();
  });

  it('s sorts by size, largest first', async () => {
    const { lastFrame, stdin, unmount } = mount(good);
    await press(stdin, 's');
    const rows = filesPane(lastFrame()!).filter((l) => /[-dlh][-r][-w]/.test(l));
    assert.match(rows[0], /fsop/);
    assert.match(lastFrame()!, /by size/);
    unmount();
  });

  it('tab moves between panes; diagnostics open to message, runtime line and fix; d jumps to the file', async () => {
    const { lastFrame, stdin, unmount } = mount(bad);
    await press(stdin, KEY.tab, KEY.tab); // tree -> details -> diagnostics
    let f = lastFrame()!;
    assert.match(f, /Diagnostics \(\d+\)/);
    assert.match(f, /interpreter-missing/);
    assert.match(f, /runtime: exec \/app: no such file or/);
    assert.match(f, /fix: Link it statically/);
    await press(stdin, 'd');
    f = lastFrame()!;
    assert.match(f, /Details/);
    assert.match(f, /interp \/lib\/ld-linux-aarch64\.so\.1 MISSING/);
    unmount();
  });

  it('the Image pane shows the config and sizes', async () => {
    const { lastFrame, stdin, unmount } = mount(good);
    await press(stdin, KEY.tab, KEY.tab, KEY.tab);
    const f = lastFrame()!;
    assert.match(f, /Image/);
    assert.match(f, /entrypoint \["\/usr\/bin\/hello"\]/);
    assert.match(f, /env +GREETING=hi/);
    assert.match(f, /wasted +118 kB/);
    unmount();
  });

  it('? shows every key; escape closes it', async () => {
    const { lastFrame, stdin, unmount } = mount(good);
    await press(stdin, '?');
    assert.match(lastFrame()!, /scratchscope keys/);
    assert.match(lastFrame()!, /shift-tab/);
    await press(stdin, KEY.esc);
    assert.doesNotMatch(lastFrame()!, /scratchscope keys/);
    unmount();
  });

  it('fits an 80x24 terminal, and uses the room of a larger one', () => {
    for (const [w, h] of [
      [80, 24],
      [160, 50],
    ]) {
      const { lastFrame, unmount } = mount(good, w, h);
      const lines = lastFrame()!.split('\n');
      assert.ok(lines.length <= h, `${lines.length} lines in ${h}`);
      assert.ok(lines.every((l) => [...l].length <= w), `a line wider than ${w}`);
      if (w === 160) assert.ok(lines.some((l) => [...l].length > 120));
      unmount();
    }
  });

  it('the banner says it is still working while binaries are decoded', () => {
    const { lastFrame, unmount } = mount({ model: good.model, report: null });
    assert.match(lastFrame()!, /decoding binaries/);
    unmount();
  });

  it('draws only the visible rows of a 20,000-file tree', async () => {
    const entries = [{ name: 'big/' }, ...Array.from({ length: 20_000 }, (_, i) => ({ name: `big/f${String(i).padStart(5, '0')}`, body: 'x' }))];
    const dir = writeOciLayout(`${tmp.dir}/big`, { layers: [await makeTar(entries)], config: { Entrypoint: ['/nope'] } });
    const s = await open(dir);
    const { lastFrame, stdin, unmount } = mount(s, 80, 24);
    await press(stdin, KEY.enter);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) stdin.write('j');
    await tick(500);
    const ms = performance.now() - t0;
    const f = lastFrame()!;
    assert.ok(f.split('\n').length <= 24);
    assert.match(f, /f00019/);
    assert.ok(ms < 2000, `20 moves took ${ms} ms`);
    unmount();
    await s.model.close();
  });
});

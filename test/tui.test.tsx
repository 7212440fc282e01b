/** @jsxRuntime automatic */
/** @jsxImportSource react */
/**
 * The explorer without a terminal: the reducer key by key (every defect of issue #15 and
 * every dive-like feature), the key parser and key map, the file-tree view against the
 * merged tree, and the screen drawn from a state with ink-testing-library.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import type { ImageModel } from '../src/load.js';
import { loadImage } from '../src/load.js';
import { buildReport, reportHead } from '../src/report/index.js';
import { FileTree } from '../src/report/tree.js';
import { type VerdictReport, explore } from '../src/report/explore.js';
import { App } from '../src/tui/App.js';
import { imageLines, layerStep } from '../src/tui/content.js';
import { keysFile, loadBindings, makeBindings, parseKeys } from '../src/tui/keys.js';
import { progressText } from '../src/tui/content.js';
import { type Env, type State, currentRow, initialState, layoutOf, needs, reduce, rowsOf, settle, textOf } from '../src/tui/state.js';
import { Store } from '../src/tui/store.js';
import { makeTar, tempDir, writeOciLayout } from './helpers/build.js';

const FX = new URL('../fixtures/images/', import.meta.url).pathname;
const HELLO_ARM = readFileSync(new URL('../fixtures/foreign/hello-arm64', import.meta.url));

async function envOf(model: ImageModel | null, withReport = true): Promise<Env> {
  if (!model) return { head: null, report: null, files: null, bindings: makeBindings() };
  const files = new FileTree(model);
  await files.build({ layer: null, changesOnly: false });
  return { head: reportHead(model), report: withReport ? buildReport(model, { binaries: false }) : null, files, bindings: makeBindings() };
}

/** Feeds keys (a string is parsed as one input chunk) and builds what the state asks for, as the shell does. */
async function press(s: State, env: Env, ...chunks: string[]): Promise<State> {
  for (const chunk of chunks) {
    for (const k of parseKeys(chunk)) {
      s = reduce(s, k, env);
      for (let n = needs(s, env); n.view || n.wasted || n.details; n = needs(s, env)) {
        if (n.view) await env.files!.build(n.view);
        if (n.wasted) await env.files!.buildWasted();
        if (n.details) await env.files!.prepareDetails(n.details);
        s = settle(s, env);
      }
    }
  }
  return s;
}

const K = {
  down: '\x1b[B',
  up: '\x1b[A',
  right: '\x1b[C',
  left: '\x1b[D',
  tab: '\t',
  shiftTab: '\x1b[Z',
  enter: '\r',
  esc: '\x1b',
  home: '\x1b[H',
  end: '\x1b[F',
  pgup: '\x1b[5~',
  pgdn: '\x1b[6~',
  ctrlC: '\x03',
  ctrlZ: '\x1a',
  ctrlR: '\x12',
  ctrlU: '\x15',
};
const names = (s: State, env: Env) =>
  rowsOf(s, env).rows.map((r) => `${'  '.repeat(r.depth)}${r.e.name}${r.e.children ? (r.open ? '/' : '/…') : ''}`);
const marked = (s: State, env: Env) => rowsOf(s, env).rows.map((r) => `${r.e.mark ?? ' '} ${r.e.name}`);
const frame = (s: State, env: Env) => {
  const r = render(<App s={s} env={env} load={{ reference: 'x', progress: null, elapsed: 0 }} />);
  // eslint-disable-next-line no-control-regex
  const f = r.lastFrame()!.replace(/\x1b\[[0-9;]*m/g, '');
  r.unmount();
  return f;
};

describe('the verdict first, in the explorer', () => {
  it("explore() hears the verdict from the layer indexes before it resolves, and it is the report's", async () => {
    for (const [name, fast] of [
      ['broken.docker.tar', true],
      ['layers.docker.tar', true],
      ['layers.oci-gzip.tar', false],
    ] as const) {
      let heard: VerdictReport | null = null;
      const x = await explore(FX + name, { onVerdict: (v) => (heard = v) });
      try {
        assert.equal(heard !== null, fast, `${name}: a verdict before the load ${fast ? 'expected' : 'not expected'}`);
        await x.decoded;
        const r = x.report();
        if (heard) {
          const h = heard as VerdictReport;
          assert.deepEqual([h.verdict, h.launch, h.diagnostics], [r.verdict, r.launch, r.diagnostics], name);
        }
      } finally {
        await x.close();
      }
    }
  });

  it('the banner is drawn from that verdict while the image still loads, and the report keeps it', async () => {
    const x = await explore(FX + 'broken.docker.tar', {});
    try {
      await x.decoded;
      const r = x.report();
      const s = initialState(100, 30);
      const loading = frame(s, { head: null, report: null, verdict: r, files: null, bindings: makeBindings() });
      assert.match(loading, /WILL FAIL/);
      const first = r.diagnostics.find((d) => d.severity === 'error')!;
      assert.ok(loading.includes(first.fix.slice(0, 40)), loading);
      assert.match(loading, /checking digests/, 'every layer read: the rate and time left no longer move');
      // without it, the loading screen has no banner
      const before = frame(s, { head: null, report: null, files: null, bindings: makeBindings() });
      assert.doesNotMatch(before, /WILL (FAIL|START)|checking digests/);
      // the tree shown while the report is still made: the layout leaves the failing banner its three rows
      const head = { head: x.head, files: x.files, bindings: makeBindings() };
      assert.deepEqual(layoutOf(s, { ...head, report: null, verdict: r }), layoutOf(s, { ...head, report: r }));
      assert.equal(layoutOf(s, { ...head, report: null, verdict: r }).bannerH, 3);
    } finally {
      await x.close();
    }
  });
});

describe('keys', () => {
  it('splits a chunk into every key it holds: letters, arrows, ctrl keys, a bracketed paste', () => {
    assert.deepEqual(
      parseKeys('jjk').map((k) => k.id),
      ['j', 'j', 'k'],
    );
    assert.deepEqual(
      parseKeys('\x1b[A\x1b[B\x1bOC\x1b[5~\x1b[6~\x1b[1~\x1b[4~\x1b[H\x1b[F\x1b[Z').map((k) => k.id),
      ['up', 'down', 'right', 'pageup', 'pagedown', 'home', 'end', 'home', 'end', 'shift-tab'],
    );
    assert.deepEqual(
      parseKeys('\r\t\x7f\x03\x1a\x1b').map((k) => k.id),
      ['enter', 'tab', 'backspace', 'ctrl-c', 'ctrl-z', 'escape'],
    );
    assert.deepEqual(
      parseKeys('\x1b[200~q/\x1b[201~j').map((k) => [k.id, k.text]),
      [
        ['paste', 'q'],
        ['paste', '/'],
        ['j', 'j'],
      ],
    );
  });

  it('remaps from keys.json under XDG_CONFIG_HOME, and refuses unknown actions, bad keys and clashes with one line', () => {
    const t = tempDir();
    try {
      const file = keysFile({ XDG_CONFIG_HOME: t.dir });
      assert.equal(file, join(t.dir, 'scratchscope', 'keys.json'));
      assert.equal(loadBindings(file).get('j'), 'down', 'no file: the defaults');
      mkdirSync(join(t.dir, 'scratchscope'));
      writeFileSync(file, JSON.stringify({ down: ['n', 'down'], quit: ['Q'] }));
      const b = loadBindings(file);
      assert.equal(b.get('n'), 'down');
      assert.equal(b.get('j'), undefined);
      assert.equal(b.get('Q'), 'quit');
      assert.equal(b.get('ctrl-c'), 'quit', 'ctrl-c always quits');
      writeFileSync(file, JSON.stringify({ dwn: ['n'] }));
      assert.throws(() => loadBindings(file), /no action "dwn"/);
      writeFileSync(file, JSON.stringify({ down: ['e'] }));
      assert.throws(() => loadBindings(file), /"e" is bound to both/);
      writeFileSync(file, JSON.stringify({ down: ['ctrl-shift-x'] }));
      assert.throws(() => loadBindings(file), /is not a key/);
      writeFileSync(file, '{');
      assert.throws(() => loadBindings(file), /not JSON/);
    } finally {
      t.cleanup();
    }
  });
});

describe('the explorer', () => {
  const tmp = tempDir();
  let good: ImageModel;
  let bad: ImageModel;
  let linked: ImageModel;
  let bare: ImageModel;
  let G: Env;
  let B: Env;
  before(async () => {
    good = await loadImage(FX + 'layers.docker.tar', { analysis: true });
    const app = { name: 'app', body: HELLO_ARM, mode: 0o755 };
    bad = await loadImage(
      writeOciLayout(`${tmp.dir}/bad`, { layers: [await makeTar([app])], config: { Entrypoint: ['/app'] }, architecture: 'arm64' }),
      { analysis: true },
    );
    const hello = readFileSync(FX + 'hello.docker.tar'); // any bytes: only the link matters here
    linked = await loadImage(
      writeOciLayout(`${tmp.dir}/linked`, {
        layers: [
          await makeTar([
            { name: 'bin/' },
            { name: 'bin/real', body: hello.subarray(0, 64), mode: 0o755 },
            { name: 'app', type: 'symlink', linkname: 'bin/real' },
          ]),
        ],
        config: { Entrypoint: ['/app'] },
      }),
      { analysis: true },
    );
    bare = await loadImage(
      writeOciLayout(`${tmp.dir}/bare`, {
        layers: [await makeTar([{ name: 'etc/' }, { name: 'etc/x', body: 'x' }, { name: 'we\x1b]0;pwned\x07ird', body: 'y' }])],
        config: {},
      }),
      { analysis: true },
    );
    G = await envOf(good);
    B = await envOf(bad);
  });
  after(async () => {
    for (const m of [good, bad, linked, bare]) await m?.close();
    tmp.cleanup();
  });

  it('every key of one chunk acts (a paste, key repeat)', async () => {
    const one = await press(initialState(), G, 'jjj');
    assert.equal(one.cursor, 3);
    const typed = await press(initialState(), G, '/hello\r');
    assert.equal(typed.filter.text, 'hello');
    assert.equal(typed.editing, false);
  });

  it('the store applies a whole chunk, draws once, and hands the effects over', () => {
    const effects: unknown[] = [];
    const store = new Store(initialState(), G, { reference: 'x', progress: null, elapsed: 0 }, (e) => effects.push(e));
    let draws = 0;
    store.subscribe(() => draws++);
    store.keys(parseKeys('jjjq'));
    assert.equal(draws, 1);
    assert.equal(store.get().s.cursor, 3);
    assert.deepEqual(store.get().s.effects, []);
    assert.deepEqual(effects, [{ kind: 'quit' }]);
  });

  it('q and ctrl-c quit at any moment: while the image loads, in help, while typing a filter', async () => {
    const loading = await envOf(null);
    assert.deepEqual(reduce(initialState(), parseKeys('q')[0]!, loading).effects, [{ kind: 'quit' }]);
    assert.deepEqual(reduce(initialState(), parseKeys(K.ctrlC)[0]!, loading).effects, [{ kind: 'quit' }]);
    const filtering = await press(initialState(), G, '/he');
    assert.equal(filtering.editing, true);
    assert.deepEqual(reduce(filtering, parseKeys(K.ctrlC)[0]!, G).effects, [{ kind: 'quit' }]);
    assert.equal(reduce(filtering, parseKeys('q')[0]!, G).filter.text, 'heq', 'q types while filtering');
    const help = await press(initialState(), G, '?');
    assert.deepEqual(reduce(help, parseKeys('q')[0]!, G).effects, [{ kind: 'quit' }]);
    assert.deepEqual(reduce(initialState(), parseKeys(K.ctrlZ)[0]!, G).effects, [{ kind: 'suspend' }]);
    assert.match((await press(initialState(), loading, 'j')).status!, /still reading the image: q quits/);
  });

  it('at 80x24 the whole diagnostic wraps and scrolls: G brings the end of the fix into view', async () => {
    let s = await press(initialState(80, 23), B, K.tab, K.tab);
    assert.equal(s.focus, 'diagnostics');
    const lines = textOf('diagnostics', s, B);
    const last = lines[lines.length - 1]!.text;
    assert.ok(lines.length > 15, 'long enough to need scrolling');
    assert.ok(!frame(s, B).includes(last.trim()));
    s = await press(s, B, 'G');
    const f = frame(s, B);
    assert.ok(f.includes(last.trim()), `the fix's last line shows:\n${f}`);
    assert.match(f, /Diagnostics \(\d+\) \d+–\d+ of \d+/);
    assert.ok(f.split('\n').every((l) => [...l].length <= 80));
    s = await press(s, B, 'g');
    assert.equal(s.scroll.diagnostics, 0);
  });

  it('the Layers pane says how many rows it hides, and scrolls', async () => {
    let s = initialState(80, 23);
    assert.match(frame(s, G), /Layers \(8\) {2}↓\d+ more/);
    s = await press(s, G, K.shiftTab, 'G');
    assert.equal(s.layerCursor, 8);
    const f = frame(s, G);
    assert.match(f, /Layers \(8\) {2}↑\d+ more/);
    assert.match(f, /› +7 /);
  });

  it('filtering keeps folding: after clearing it, the tree is as it was', async () => {
    let s = await press(initialState(), G, K.enter); // open /data
    const before = names(s, G);
    assert.ok(before.includes('  a.txt'));
    s = await press(s, G, '/hello');
    assert.ok(names(s, G).some((n) => n.trim() === 'hello'));
    s = await press(s, G, K.enter, K.home, K.enter); // collapse a folder inside the filter
    assert.ok(!names(s, G).some((n) => n.trim() === 'hello'), 'folding works while filtering');
    s = await press(s, G, K.esc);
    assert.equal(s.filter.text, '');
    assert.deepEqual(names(s, G), before);
  });

  it('regex filters, and a bad regex says so', async () => {
    let s = await press(initialState(), G, '/', K.ctrlR, '^/usr/bin/h.l+o$', K.enter);
    assert.deepEqual(names(s, G), ['usr/', '  bin/', '    hello']);
    s = await press(s, G, '/', K.ctrlU, '([');
    assert.ok(rowsOf(s, G).error);
    assert.match(frame(s, G), /bad regex/);
  });

  it("e goes to the file the entrypoint's link leads to and says both; e and d say when there is nothing", async () => {
    const L = await envOf(linked);
    const s = await press(initialState(), L, 'e');
    assert.equal(currentRow(s, L)!.e.path, '/bin/real');
    assert.match(s.status!, /entrypoint \/app is a link to \/bin\/real/);
    const N = await envOf(bare);
    assert.match((await press(initialState(), N, 'e')).status!, /no entrypoint or command/);
    assert.match((await press(initialState(), G, 'd')).status!, /no diagnostics/);
    assert.match((await press(initialState(), await envOf(good, false), 'e')).status!, /once the launch is worked out/);
    const d = await press(initialState(), B, 'd');
    assert.equal(currentRow(d, B)!.e.path, '/app');
  });

  it("the command's closure is marked in the tree, and a file says what needs it", async () => {
    const hello = await loadImage(FX + 'hello.docker.tar', { analysis: true });
    try {
      const H = await envOf(hello);
      const s = await press(initialState(), H, 'e');
      assert.equal(currentRow(s, H)!.e.path, '/hello');
      const details = textOf('details', s, H)
        .map((l) => l.text.trim())
        .join(' '); // wrapped to the pane: one run of words
      assert.match(details, /● in the closure of \/hello: executable, needed to start/);
      assert.match(details, /the command the runtime executes/);
      assert.match(frame(s, H), /●hello/);
      // a file outside the closure says nothing of it
      assert.doesNotMatch(
        textOf('details', await press(initialState(), G, K.down), G)
          .map((l) => l.text)
          .join('\n'),
        /in the closure/,
      );
    } finally {
      await hello.close();
    }
  });

  it('progress: bytes of the total, a rounded rate and the time left', () => {
    const t = progressText({ bytesDone: 512_000_000, bytesTotal: 1_600_000_000, layersDone: 1, layersTotal: 5 }, 1000);
    assert.equal(t, '512 MB of 1.6 GB · 512 MB/s · about 2 s left · layer 2 of 5');
    assert.equal(progressText(null, 50), 'opening…');
  });

  it("a layer's changes add up to its header; a, m and r say what they need in the final image", async () => {
    let s = await press(initialState(), G, K.shiftTab, 'jjj', 'u'); // layer 2, only its changes
    const tree = G.files!.view({ layer: 2, changesOnly: true })!;
    assert.equal(tree.root.size, G.head!.layers[2]!.contentBytes);
    assert.match(frame(s, G), /Files \(layer 2's changes\)/);
    s = await press(initialState(), G, 'a');
    assert.match(s.status!, /pick a layer/);
    assert.equal(s.show.A, true);
  });

  it('the image as of a layer marks its changes; u shows only them; a, m, r hide each kind', async () => {
    let s = await press(initialState(), G, K.shiftTab, 'jjjjj'); // layer 4: rmrf /keep, mkdir, write
    assert.equal(s.layerCursor, 5);
    let rows = marked(s, G);
    assert.ok(rows.includes('D old.txt'), rows.join('\n'));
    assert.ok(rows.includes('A new.txt'));
    assert.ok(rows.includes('  fsop'), 'unchanged files show too');
    s = await press(s, G, 'u');
    rows = marked(s, G);
    assert.ok(!rows.some((r) => /fsop/.test(r)), 'only the changes');
    s = await press(s, G, 'r');
    assert.ok(!names(s, G).some((r) => /old\.txt/.test(r)));
    s = await press(s, G, 'a');
    assert.ok(!names(s, G).some((r) => /new\.txt/.test(r)));
    assert.match(frame(s, G), /hiding AD/);
  });

  it('imported layers, plurals, and nothing printed for what is absent', () => {
    assert.equal(layerStep(null), 'imported (no build step recorded)');
    const head = { ...G.head!, image: { ...G.head!.image!, cmd: null }, layers: G.head!.layers.slice(0, 1) };
    const text = imageLines(head, 1)
      .map((l) => l.text)
      .join('\n');
    assert.doesNotMatch(text, /cmd|null/);
    assert.match(text, /layers +1\b/);
    assert.match(text, /in 1 file version;/);
  });

  it('home/end, g/G, page up/down move in every pane', async () => {
    let s = await press(initialState(80, 23), G, '+'); // everything open
    const n = rowsOf(s, G).rows.length;
    s = await press(s, G, 'G');
    assert.equal(s.cursor, n - 1);
    s = await press(s, G, K.home);
    assert.equal(s.cursor, 0);
    s = await press(s, G, K.pgdn);
    assert.ok(s.cursor > 3);
    s = await press(s, G, K.pgup);
    assert.equal(s.cursor, 0);
    s = await press(s, G, K.end);
    assert.equal(s.cursor, n - 1);
  });

  it('collapse all and expand all; sort by name, size, layer; attribute columns', async () => {
    let s = await press(initialState(), G, '+');
    assert.ok(names(s, G).includes('  a.txt'));
    s = await press(s, G, '-');
    assert.ok(names(s, G).every((r) => !r.startsWith('  ')));
    s = await press(s, G, 's');
    assert.equal(s.sort, 'size');
    assert.equal(names(s, G)[0], 'fsop');
    s = await press(s, G, 's');
    assert.equal(s.sort, 'layer');
    assert.equal(rowsOf(s, G).rows[0]!.e.layer, Math.max(...rowsOf(s, G).rows.map((r) => r.e.layer ?? -1)));
    assert.match(frame(s, G), /by layer/);
    assert.match(frame(s, G), /-rwxr-xr-x/);
    s = await press(s, G, 't');
    assert.match(frame(s, G), /0:0 /);
    s = await press(s, G, 't');
    assert.doesNotMatch(frame(s, G), /-rwxr-xr-x/);
  });

  it('the wasted list adds up to the wasted bytes and jumps to each file in the layer that wrote it', async () => {
    let s = await press(initialState(140, 30), G, 'w');
    const list = G.files!.wasted()!;
    assert.equal(
      list.reduce((n, w) => n + w.size, 0),
      good.tree.wastedBytes,
    );
    assert.match(frame(s, G), /118 kB wasted in \d+ file versions/);
    assert.match(frame(s, G), /efficiency \d+\.\d%/);
    s = await press(s, G, K.enter);
    assert.equal(s.focus, 'tree');
    assert.equal(s.layerCursor, list[0]!.writtenIn + 1);
    assert.equal(currentRow(s, G)!.e.path, list[0]!.path);
    assert.match(s.status!, /overwrites|removes/);
  });

  it('a layer shows its digest, sizes and whole command', async () => {
    const s = await press(initialState(120, 40), G, K.shiftTab, 'jjjjj');
    const f = frame(s, G);
    assert.match(f, /Layer/);
    assert.match(f, /layer 4 of 8/);
    assert.match(f, /\/fsop rmrf \/keep mkdir \/keep write/);
    assert.match(f, /recreated/);
  });

  it('x exports the file only where asked, never over an existing file; y copies the path', async () => {
    let s = await press(initialState(), G, 'e', 'x');
    assert.deepEqual(s.prompt, { path: '/usr/bin/hello', text: './hello' });
    const dest = join(tmp.dir, 'out-hello');
    s = await press(s, G, K.ctrlU, dest, K.enter);
    assert.deepEqual(s.effects, [{ kind: 'export', path: '/usr/bin/hello', dest }]);
    const r = await G.files!.exportFile('/usr/bin/hello', dest);
    assert.equal(r.bytes, good.tree.get('/usr/bin/hello')!.size);
    assert.equal(readFileSync(dest).subarray(0, 4).toString('latin1'), '\x7fELF');
    await assert.rejects(G.files!.exportFile('/usr/bin/hello', dest), /exists; not overwritten/);
    await assert.rejects(G.files!.exportFile('/usr/bin/hello', join(tmp.dir, 'no/such/dir/x')), /folder does not exist/);
    assert.ok(!existsSync(join(tmp.dir, 'no')));
    s = await press(initialState(), G, 'x');
    assert.match(s.status!, /is a folder/);
    s = await press(initialState(), G, 'e', 'x', K.esc);
    assert.equal(s.prompt, null);
    assert.deepEqual((await press(initialState(), G, 'e', 'y')).effects, [{ kind: 'copy', text: '/usr/bin/hello' }]);
  });

  it('? lists the key map in force', async () => {
    const env = { ...G, bindings: makeBindings({ down: ['n'] }) };
    const s = await press(initialState(100, 40), env, '?');
    const f = frame(s, env);
    assert.match(f, /Keys/);
    assert.match(f, /n +move down/);
    assert.equal((await press(s, env, K.esc)).help, false);
  });

  it('names the image controls are escaped on screen', async () => {
    const N = await envOf(bare);
    const f = frame(initialState(140, 30), N);
    assert.match(f, /we\\x1b\]0;pwned\\x07ird/);
    assert.ok(!f.includes('\x07'));
  });

  it('fits 80x24 and uses the room of a larger terminal', () => {
    for (const [w, h] of [
      [80, 23],
      [200, 49],
    ] as const) {
      const s = initialState(w, h);
      const lines = frame(s, B).split('\n');
      assert.ok(lines.length <= h, `${lines.length} lines in ${h}`);
      assert.ok(
        lines.every((l) => [...l].length <= w),
        `a line wider than ${w}`,
      );
      if (w === 200) assert.ok(layoutOf(s, B).leftW > 100);
      const help = frame({ ...s, help: true }, B).split('\n');
      assert.ok(help.length <= h && help.every((l) => [...l].length <= w), 'the help screen fits too');
    }
  });

  it('the file-tree view replays the layers into the merged tree', () => {
    const t = G.files!.view({ layer: null, changesOnly: false })!;
    const mine = t.all.map((e) => `${e.path} ${e.type} ${e.type === 'file' ? e.size : ''}`).sort();
    const theirs = [...good.tree.walk()].map(([p, n]) => `${p} ${n.type} ${n.type === 'file' ? n.size : ''}`).sort();
    assert.deepEqual(mine, theirs);
  });

  it('filters a 20,000-file tree and draws only the visible rows', async () => {
    const entries = [
      { name: 'big/' },
      ...Array.from({ length: 20_000 }, (_, i) => ({ name: `big/f${String(i).padStart(5, '0')}`, body: 'x' })),
    ];
    const m = await loadImage(writeOciLayout(`${tmp.dir}/big`, { layers: [await makeTar(entries)], config: { Entrypoint: ['/nope'] } }), {
      analysis: true,
    });
    try {
      const env = await envOf(m);
      let s = await press(initialState(80, 23), env, K.enter, 'jjjjjjjjjjjjjjjjjjjj');
      assert.match(frame(s, env), /f00019/);
      s = await press(s, env, '/f1999');
      assert.deepEqual(
        names(s, env)
          .slice(1)
          .map((n) => n.trim()),
        Array.from({ length: 10 }, (_, i) => `f1999${i}`),
      );
    } finally {
      await m.close();
    }
  });
});

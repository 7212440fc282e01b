/**
 * The real binary in a real pseudo-terminal (tmux). Every step waits for a condition on
 * the screen (capture-pane polled until a predicate holds, with a generous timeout),
 * never for a fixed time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { available } from './helpers/roots.js';
import { assertSchema } from './helpers/schema.js';
import { at } from './helpers/assert.js';
import { parseReport } from './helpers/json.js';

const REPO = new URL('..', import.meta.url).pathname;
const skip = available('tmux') ? false : 'needs tmux';
if (skip && process.env.CI === 'true') throw new Error('the terminal test cannot run under CI: tmux is missing (see .ci/run)');

const SOCKET = `scratchscope-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'ui').stdout;
const send = (...keys: string[]) => assert.equal(tmux('send-keys', '-t', 'ui', ...keys).status, 0);
/** Text typed in one write: the program gets it as one input chunk. */
const sendChunk = (text: string) => assert.equal(tmux('send-keys', '-t', 'ui', '-l', text).status, 0);

async function until(pred: (s: string) => boolean, what: string, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = screen();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen shows:\n${s}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the explorer in a fresh session; the shell's own line before it shows the screen was restored. */
function start(args: string, size = ['80', '24'], env = ''): void {
  tmux('kill-session', '-t', 'ui');
  const cmd = `cd ${REPO} && printf 'before-ui\\n' && ${env} node bin/scratchscope.js ${args}; echo "exit-code=$?"; sleep 600`;
  assert.equal(tmux('new-session', '-d', '-s', 'ui', '-x', size[0]!, '-y', size[1]!, 'sh', '-c', cmd).status, 0);
}

async function exitsRestored(code = 0): Promise<void> {
  const s = await until((x) => /exit-code=\d+/.test(x), 'the program to exit');
  assert.match(s, new RegExp(`exit-code=${code}`));
  // the alternate screen is gone: the shell's own output is back, the UI is not
  assert.match(s, /before-ui/);
  assert.doesNotMatch(s, /Layers \(|WILL START|Reading /);
}

describe('in a terminal', { skip }, () => {
  let server: Server | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'scratchscope-tui-'));
  afterEach(() => tmux('kill-session', '-t', 'ui'));
  after(() => {
    tmux('kill-server');
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens an image, moves around, and quits cleanly', async () => {
    start('fixtures/images/layers.docker.tar');
    let s = await until((x) => /WILL START/.test(x), 'the verdict banner');
    assert.match(s, /Files \(final image\)/);
    assert.ok(s.split('\n').every((l) => [...l].length <= 80));
    send('e');
    s = await until((x) => /ELF 64-bit x86_64/.test(x), 'details of the entrypoint');
    assert.match(s, /\/usr\/bin\/hello/);
    send('Tab', 'Tab');
    await until((x) => /Diagnostics \(0\)/.test(x), 'the diagnostics pane');
    send('?');
    await until((x) => /scratchscope keys/.test(x), 'the help screen');
    send('Escape');
    await until((x) => !/scratchscope keys/.test(x), 'help to close');
    send('q');
    await exitsRestored();
  });

  it('an image it cannot open: the terminal back, then the real error line and its exit code', async () => {
    start('/nonexistent/image.tar');
    await exitsRestored(4);
    assert.match(screen(), /^scratchscope: \/nonexistent\/image\.tar: no such file or directory$/m);
    start('fixtures/images/multi.docker.tar');
    await exitsRestored(2);
    assert.match(screen(), /^scratchscope: .*multi\.docker\.tar holds several images/m);
  });

  it('acts on every key of a chunk and of a bracketed paste', async () => {
    start('fixtures/images/layers.docker.tar');
    await until((x) => /WILL START/.test(x) && /›.*▸data/.test(x), 'the tree');
    sendChunk('jjj'); // data, etc, fsop, keep
    await until((x) => /›.*keep/.test(x), 'the cursor three rows down');
    send('/');
    await until((x) => /\/▏/.test(x), 'the filter prompt');
    assert.equal(tmux('set-buffer', 'hello').status, 0);
    assert.equal(tmux('paste-buffer', '-p', '-t', 'ui').status, 0);
    const s = await until((x) => /\/hello▏/.test(x), 'the pasted filter');
    assert.match(s, /hello/);
    assert.doesNotMatch(s, /fsop/);
    send('Enter', 'q');
    await exitsRestored();
  });

  it('q quits while the image is still loading', async () => {
    // an engine that accepts and never answers: the explorer stays on its loading screen
    const sock = join(dir, 'engine.sock');
    server = createServer(() => {});
    await new Promise<void>((r) => server!.listen(sock, r));
    start('docker-daemon:never/answers:latest', ['80', '24'], `DOCKER_HOST=unix://${sock}`);
    await until((x) => /Reading docker-daemon:never\/answers/.test(x) && /q or ctrl-c quits/.test(x), 'the loading screen');
    send('q');
    await exitsRestored();
  });

  it('ctrl-c quits while a filter is being typed, and restores the terminal', async () => {
    start('fixtures/images/layers.docker.tar');
    await until((x) => /WILL START/.test(x), 'the explorer');
    send('/', 'h', 'e', 'l');
    await until((x) => /\/hel▏/.test(x), 'the filter being typed');
    send('C-c');
    await exitsRestored();
    assert.equal(tmux('display', '-p', '-t', 'ui', '#{alternate_on}').stdout.trim(), '0');
  });

  it('at 80x24, scrolls a long fix into view', async () => {
    const json = spawnSync('node', ['bin/scratchscope.js', 'inspect', '--json', 'fixtures/images/broken.docker.tar'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    const report = parseReport(json.stdout);
    assertSchema(report, 'Report');
    const fix = at(report.diagnostics).fix;
    const lastWord = fix.trim().split(/\s+/).pop()!;
    start('fixtures/images/broken.docker.tar');
    await until((x) => /WILL FAIL/.test(x), 'the verdict');
    send('Tab', 'Tab');
    await until((x) => /Diagnostics \(\d+\) 1–\d+ of \d+/.test(x), 'the diagnostics pane, with more than fits');
    // the position in the title shows only when not everything fits
    send('G');
    const s = await until((x) => /Diagnostics \(\d+\) \d+–(\d+) of \1/.test(x), 'the end of the diagnostics');
    assert.ok(
      s.split('\n').some((l) => l.slice(46).includes(lastWord)),
      `the fix's last word ${lastWord} shows:\n${s}`,
    );
    assert.ok(s.split('\n').every((l) => [...l].length <= 80));
    send('q');
    await exitsRestored();
  });
});

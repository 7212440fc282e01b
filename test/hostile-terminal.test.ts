/**
 * Names full of escape sequences printed to a real terminal (tmux): the screen shows them
 * escaped, and the terminal's title and contents are untouched. A raw printf of the same
 * bytes, in the same harness, does change both: the checks can see an attack land.
 * Also: the explorer starts under `ulimit -v 4000000` (its layout engine is WebAssembly).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { corpus } from './hostile/gen.js';
import { available } from './helpers/roots.js';

const REPO = new URL('..', import.meta.url).pathname;
const skip = available('tmux') ? false : 'needs tmux';
if (skip && process.env.CI === 'true') throw new Error('the terminal test cannot run under CI: tmux is missing (see .ci/run)');

const SOCKET = `scratchscope-hostile-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = (pane: string) => tmux('capture-pane', '-p', '-t', pane).stdout;
const title = (pane: string) => tmux('display', '-p', '-t', pane, '#{pane_title}').stdout.trim();

async function until(pane: string, pred: (s: string) => boolean, what: string, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = screen(pane);
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen shows:\n${s}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function open(pane: string, cmd: string): void {
  assert.equal(
    tmux('new-session', '-d', '-s', pane, '-x', '200', '-y', '50', 'sh', '-c', `${cmd}; echo "exit-code=$?"; sleep 120`).status,
    0,
  );
  tmux('select-pane', '-t', pane, '-T', 'untouched');
}

describe('escape sequences from the image, on a real terminal', { skip }, () => {
  after(() => tmux('kill-server'));
  const image = corpus().cases.find((c) => c.name === 'escape-names')!.args[1];

  it('a raw printf of the bytes does set the title and clear the screen (the harness sees it)', async () => {
    open('raw', `printf 'before-output\\n'; sleep 1; printf '\\033]0;pwned\\007\\033[2J'`);
    const s = await until('raw', (x) => /exit-code=/.test(x), 'the printf');
    assert.equal(title('raw'), 'pwned');
    assert.doesNotMatch(s, /before-output/);
  });

  for (const command of ['files', 'inspect']) {
    it(`${command}: the name shows escaped; the title and the screen stay`, async () => {
      open(command, `printf 'before-output\\n'; sleep 1; node ${REPO}bin/scratchscope.js ${command} ${image}`);
      const s = await until(command, (x) => /exit-code=\d/.test(x), 'the command to finish');
      assert.match(s, /exit-code=0/);
      assert.match(s, /before-output/, 'the screen was not cleared');
      assert.match(s, /\\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[31mEVIL\\u202e\\x9b1m\\x0afake line/, 'the name, escaped');
      assert.doesNotMatch(s, /^fake line/m, 'no line of its own for the text after the newline');
      assert.equal(title(command), 'untouched');
    });
  }

  it('the explorer starts under ulimit -v 4000000 and quits cleanly', async () => {
    open('tui', `cd ${REPO} && ulimit -v 4000000 && node bin/scratchscope.js fixtures/images/layers.docker.tar`);
    await until('tui', (x) => /WILL START/.test(x), 'the verdict banner');
    tmux('send-keys', '-t', 'tui', 'q');
    const s = await until('tui', (x) => /exit-code=\d/.test(x), 'the explorer to exit');
    assert.match(s, /exit-code=0/);
  });
});

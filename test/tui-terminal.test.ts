/**
 * The real binary in a real pseudo-terminal (tmux): it opens a fixture image, moves
 * around, quits on q, and leaves the terminal as it was.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { available } from './helpers/roots.js';

const REPO = new URL('..', import.meta.url).pathname;
const skip = available('tmux') ? false : 'needs tmux';
if (skip && process.env.CI === 'true') throw new Error('the terminal test cannot run under CI: tmux is missing (see .ci/run)');

const SOCKET = `scratchscope-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'ui').stdout;

/** One key at a time, as a person types (keys sent together arrive as one chunk). */
async function keys(...ks: string[]) {
  for (const k of ks) {
    tmux('send-keys', '-t', 'ui', k);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function until(pred: (s: string) => boolean, what: string, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = screen();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen shows:\n${s}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('in a terminal', { skip }, () => {
  after(() => tmux('kill-server'));

  it('opens an image, moves around, and quits cleanly', async () => {
    const cmd = `cd ${REPO} && printf 'before-ui\\n' && node bin/scratchscope.js fixtures/images/layers.docker.tar; echo "exit-code=$?"; sleep 60`;
    assert.equal(tmux('new-session', '-d', '-s', 'ui', '-x', '80', '-y', '24', 'sh', '-c', cmd).status, 0);
    let s = await until((x) => /WILL START/.test(x), 'the verdict banner');
    assert.match(s, /Files \(merged\)/);
    assert.ok(s.split('\n').every((l) => [...l].length <= 80));
    await keys('e');
    s = await until((x) => /ELF 64-bit x86_64/.test(x), 'details of the entrypoint');
    assert.match(s, /\/usr\/bin\/hello/);
    await keys('Tab', 'Tab');
    s = await until((x) => /Diagnostics \(0\)/.test(x), 'the diagnostics pane');
    await keys('?');
    await until((x) => /scratchscope keys/.test(x), 'the help screen');
    await keys('Escape', 'q');
    s = await until((x) => /exit-code=\d+/.test(x), 'the program to exit');
    assert.match(s, /exit-code=0/);
    // the alternate screen is gone: the shell's own output is back, the UI is not
    assert.match(s, /before-ui/);
    assert.doesNotMatch(s, /Layers \(|WILL START/);
  });
});

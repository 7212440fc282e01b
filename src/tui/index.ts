/**
 * The explorer's shell: owns the terminal (alternate screen, raw keys, bracketed paste),
 * loads the image while the progress screen answers keys, feeds every key of every input
 * chunk to the reducer, and carries out its effects. The terminal is restored however the
 * program ends: q, ctrl-c, a signal, an error; ctrl-z suspends and `fg` redraws.
 */
import { writeSync } from 'node:fs';
import { printable } from '../render/format.js';
import { type Exploration, type LoadOptions, type LoadProgress, type VerdictReport, explore } from '../report/explore.js';
import type { ReportOptions } from '../report/index.js';
import { progressBar, progressText } from './content.js';
import { type Bindings, loadBindings, parseKeys } from './keys.js';
import { initialState, needs, resize, settle } from './state.js';
import { Store } from './store.js';

const ENTER = '\x1b[?1049h\x1b[H\x1b[2J\x1b[?2004h'; // alternate screen, bracketed paste on
const LEAVE = '\x1b[?2004l\x1b[?25h\x1b[?1049l'; // paste off, cursor shown, main screen back

/** Runs the explorer; resolves with the error that ended it, or null when the user quit. */
export async function runTui(
  reference: string,
  options: LoadOptions & ReportOptions,
  bindings: Bindings = loadBindings(),
): Promise<Error | null> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const started = Date.now();
  let onScreen = false;
  const enter = () => {
    onScreen = true;
    stdout.write(ENTER);
    stdin.setRawMode?.(true);
  };
  const leave = () => {
    if (!onScreen) return;
    onScreen = false;
    try {
      stdin.setRawMode?.(false);
    } catch {
      // stdin already gone
    }
    try {
      writeSync(stdout.fd, LEAVE);
    } catch {
      // the terminal is gone: nothing to restore
    }
  };
  const size = () => [stdout.columns || 80, Math.max(10, (stdout.rows || 24) - 1)] as const;

  let image: Exploration | null = null;
  let loading = true;
  let finish: (e: Error | null) => void = () => {};
  const done = new Promise<Error | null>((r) => (finish = r));
  type Screen = { redraw: () => void; unmount: () => void };
  let screen = null as Screen | null;
  const redraw = () => screen?.redraw();

  const store = new Store(
    initialState(...size()),
    { head: null, report: null, files: null, bindings },
    { reference, progress: null, elapsed: 0 },
    (e) => {
      switch (e.kind) {
        case 'quit':
          return finish(null);
        case 'suspend':
          return suspend();
        case 'copy':
          // OSC 52: the terminal puts the text on its clipboard (where it allows that)
          stdout.write(`\x1b]52;c;${Buffer.from(e.text).toString('base64')}\x07`);
          return;
        case 'export':
          store
            .get()
            .env.files?.exportFile(e.path, e.dest)
            .then(
              (r) => store.say(`wrote ${r.bytes} bytes to ${r.written}`),
              (err: Error) => store.say(`export failed: ${err.message}`),
            );
      }
    },
  );

  // views of a big tree build in slices; the screen follows when they are ready
  store.onUpdate = () => {
    const { s, env } = store.get();
    const n = needs(s, env);
    if (n.view) void env.files!.build(n.view).then(() => store.update({ s: settle(store.get().s, store.get().env) }));
    if (n.wasted) void env.files!.buildWasted().then(() => store.update({}));
    if (n.details) void env.files!.prepareDetails(n.details).then(() => store.update({}), finish);
  };

  const suspend = () => {
    leave();
    process.once('SIGCONT', () => {
      enter();
      store.update({ s: resize(store.get().s, ...size()) });
      redraw();
    });
    process.kill(process.pid, 'SIGTSTP');
  };

  const onData = (chunk: string) => store.keys(parseKeys(chunk));
  const onResize = () => store.update({ s: resize(store.get().s, ...size()) });
  const onSignal = (sig: NodeJS.Signals) => {
    leave();
    process.exit(sig === 'SIGINT' ? 130 : sig === 'SIGHUP' ? 129 : 143);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

  enter();
  process.on('exit', leave);
  for (const sig of signals) process.on(sig, onSignal);
  stdin.setEncoding('utf8');
  stdin.on('data', onData);
  stdin.resume();
  stdout.on('resize', onResize);
  // The first frame, in plain text, before ink (and its layout engine) has loaded.
  const plain = () => {
    if (screen || !onScreen) return;
    const { load } = store.get();
    const p = load.progress;
    const bar = progressBar(p && p.bytesTotal ? p.bytesDone / p.bytesTotal : 0, Math.max(10, Math.min(60, size()[0] - 12)));
    stdout.write(
      `\x1b[H\x1b[2K Reading ${printable(reference)}\r\n\x1b[2K ${bar.full}${bar.empty}▏\r\n\x1b[2K ${progressText(p, load.elapsed)}\r\n\x1b[2K q or ctrl-c quits`,
    );
  };
  plain();
  store.subscribe(plain);
  // React's development build checks every render and costs a keystroke twice the time
  process.env.NODE_ENV ??= 'production';
  void import('./mount.js').then((m) => {
    if (!onScreen) return;
    stdout.write('\x1b[H\x1b[2J');
    screen = m.mount(store);
  }, finish);

  const ticker = setInterval(() => store.update({ load: { ...store.get().load, elapsed: Date.now() - started } }), 100);
  const onProgress = (progress: LoadProgress) => store.update({ load: { reference, progress, elapsed: Date.now() - started } });
  const onVerdict = (verdict: VerdictReport) => store.update({ env: { ...store.get().env, verdict } });
  explore(reference, { ...options, onProgress, onVerdict })
    .then((x) => {
      image = x;
      loading = false;
      clearInterval(ticker);
      store.update({ env: { ...store.get().env, head: x.head, files: x.files } });
      // the tree is usable now; the verdict follows once the decoding thread has caught up
      return x.decoded.then(
        () =>
          new Promise<void>((r) =>
            setImmediate(() => {
              try {
                store.update({ env: { ...store.get().env, report: x.report() } });
              } catch (e) {
                finish(e as Error);
              }
              r();
            }),
          ),
      );
    })
    .catch((e: Error) => finish(e));

  const result = await done;
  clearInterval(ticker);
  screen?.unmount();
  stdin.off('data', onData);
  stdin.pause();
  stdout.off('resize', onResize);
  leave();
  for (const sig of signals) process.off(sig, onSignal);
  process.off('exit', leave);
  // Quit while the image still loads: nothing is waited for (the temp folder goes on exit).
  if (loading && !result) process.exit(0);
  await (image as Exploration | null)?.close();
  return result;
}

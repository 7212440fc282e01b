/** Draws the store with ink; loaded after the first frame is on screen (ink and its layout engine take a while to load). */
import { render, useStdout } from 'ink';
import { useSyncExternalStore } from 'react';
import { App } from './App.js';
import type { Store } from './store.js';

function Root({ store, onRedraw }: { store: Store; onRedraw: (f: () => void) => void }) {
  const snap = useSyncExternalStore(store.subscribe, store.get);
  const { write } = useStdout();
  onRedraw(() => write(''));
  return <App s={snap.s} env={snap.env} load={snap.load} />;
}

/** Mounts the explorer; returns how to redraw everything (after `fg`) and how to unmount. */
export function mount(store: Store): { redraw: () => void; unmount: () => void } {
  let redraw = () => {};
  const app = render(<Root store={store} onRedraw={(f) => (redraw = f)} />, {
    exitOnCtrlC: false,
    patchConsole: false,
    incrementalRendering: true,
  });
  return { redraw: () => redraw(), unmount: () => app.unmount() };
}

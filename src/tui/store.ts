/** The explorer's state, what it is drawn from, and the effects its keys ask for. */
import type { LoadView } from './content.js';
import type { Key } from './keys.js';
import { type Effect, type Env, type State, reduce } from './state.js';

export interface Snapshot {
  s: State;
  env: Env;
  load: LoadView;
}

/** One notification per input chunk, however many keys it holds. */
export class Store {
  snap: Snapshot;
  private readonly listeners = new Set<() => void>();
  /** Heard after every change: starts what the new state needs built. */
  onUpdate: () => void = () => {};

  constructor(
    s: State,
    env: Env,
    load: LoadView,
    private readonly onEffect: (e: Effect) => void,
  ) {
    this.snap = { s, env, load };
  }

  subscribe = (f: () => void): (() => void) => {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  };

  get = (): Snapshot => this.snap;

  update(patch: Partial<Snapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const f of this.listeners) f();
    this.onUpdate();
  }

  keys(keys: Key[]): void {
    let s = this.snap.s;
    for (const k of keys) s = reduce(s, k, this.snap.env);
    const effects = s.effects;
    if (effects.length) s = { ...s, effects: [] };
    this.update({ s });
    for (const e of effects) this.onEffect(e);
  }

  say(status: string): void {
    this.update({ s: { ...this.snap.s, status } });
  }
}

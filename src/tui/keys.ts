/**
 * Keys: a terminal input chunk split into every key it holds (a paste, key repeat or a
 * fast typist sends many at once), the actions they are bound to, and the user's
 * remapping from $XDG_CONFIG_HOME/scratchscope/keys.json.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ScopeError } from '../errors.js';

/** `id` names the key as bindings do ("j", "G", "ctrl-c", "up", "shift-tab"); `text` is what it types. */
export interface Key {
  id: string;
  text: string | null;
}

const CSI_FINAL: Record<string, string> = { A: 'up', B: 'down', C: 'right', D: 'left', H: 'home', F: 'end', Z: 'shift-tab', P: 'f1' };
const CSI_TILDE: Record<string, string> = {
  '1': 'home',
  '7': 'home',
  '4': 'end',
  '8': 'end',
  '5': 'pageup',
  '6': 'pagedown',
  '3': 'delete',
  '2': 'insert',
};
const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';

function textKey(ch: string): Key {
  return { id: ch === ' ' ? 'space' : ch, text: ch };
}

/** Every key in `chunk`, in order. An escape not followed by a sequence is the Escape key. */
export function parseKeys(chunk: string): Key[] {
  const out: Key[] = [];
  let i = 0;
  while (i < chunk.length) {
    if (chunk.startsWith(PASTE_START, i)) {
      // bracketed paste: its text is typed as is, never read as commands
      const end = chunk.indexOf(PASTE_END, i + PASTE_START.length);
      const body = chunk.slice(i + PASTE_START.length, end < 0 ? chunk.length : end);
      for (const ch of body) if (ch >= ' ' && ch !== '\x7f') out.push({ id: 'paste', text: ch });
      i = end < 0 ? chunk.length : end + PASTE_END.length;
      continue;
    }
    const ch = chunk[i]!;
    if (ch === '\x1b') {
      const next = chunk[i + 1];
      if (next === '[' || next === 'O') {
        let j = i + 2;
        while (j < chunk.length && /[0-9;]/.test(chunk[j]!)) j++;
        const final = chunk[j];
        if (final !== undefined) {
          const params = chunk.slice(i + 2, j);
          const id = final === '~' ? CSI_TILDE[params.split(';')[0]!] : CSI_FINAL[final];
          if (id) out.push({ id, text: null });
          i = j + 1;
          continue;
        }
      }
      out.push({ id: 'escape', text: null });
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      out.push({ id: 'enter', text: null });
      i += ch === '\r' && chunk[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    const code = ch.charCodeAt(0);
    if (ch === '\t') out.push({ id: 'tab', text: null });
    else if (code === 0x7f || code === 0x08) out.push({ id: 'backspace', text: null });
    else if (code === 0) out.push({ id: 'ctrl-space', text: null });
    else if (code < 0x20) out.push({ id: `ctrl-${String.fromCharCode(code + 0x60)}`, text: null });
    else {
      const cp = chunk.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      out.push(textKey(s));
      i += s.length;
      continue;
    }
    i++;
  }
  return out;
}

/** Every action a key can be bound to, with its default keys and what it does (for `?`). */
export const ACTIONS = {
  quit: [['q'], 'quit (ctrl-c always quits)'],
  help: [['?'], 'this help; esc closes it'],
  'next-pane': [['tab'], 'next pane'],
  'prev-pane': [['shift-tab'], 'previous pane'],
  up: [['up', 'k'], 'move up'],
  down: [['down', 'j'], 'move down'],
  left: [['left', 'h'], 'close a folder, or go to its parent'],
  right: [['right', 'l'], 'open a folder'],
  open: [['enter', 'space'], 'open or close; in a list, go to the file'],
  'page-up': [['pageup', 'ctrl-b'], 'a page up'],
  'page-down': [['pagedown', 'ctrl-f'], 'a page down'],
  top: [['home', 'g'], 'to the top'],
  bottom: [['end', 'G'], 'to the bottom'],
  filter: [['/'], 'filter paths (ctrl-r: regex)'],
  escape: [['escape'], 'clear the filter or the message'],
  entrypoint: [['e'], 'go to the entrypoint (and the file a link leads to)'],
  diagnostic: [['d'], "go to the first diagnostic's file"],
  sort: [['s'], 'sort by name, size, layer'],
  added: [['a'], "show or hide a layer's added files"],
  modified: [['m'], "show or hide a layer's modified files"],
  removed: [['r'], "show or hide a layer's removed files"],
  'changes-only': [['u', 'ctrl-u'], 'a layer: only its changes, or the image as of it'],
  'collapse-all': [['-'], 'close every folder'],
  'expand-all': [['+', '='], 'open every folder'],
  attributes: [['t'], 'show or hide mode, owner and size columns'],
  wasted: [['w'], 'the wasted files'],
  export: [['x'], 'export the file to a local path'],
  'copy-path': [['y'], "copy the file's path (to the terminal's clipboard)"],
  suspend: [['ctrl-z'], 'suspend (fg comes back)'],
} as const satisfies Record<string, readonly [readonly string[], string]>;

export type Action = keyof typeof ACTIONS;

export type Bindings = ReadonlyMap<string, Action>;

const NAMED = new Set([
  'up',
  'down',
  'left',
  'right',
  'home',
  'end',
  'pageup',
  'pagedown',
  'enter',
  'tab',
  'shift-tab',
  'escape',
  'space',
  'backspace',
  'delete',
  'insert',
  'f1',
  'ctrl-space',
]);

function validKey(id: string): boolean {
  return NAMED.has(id) || /^ctrl-[a-z]$/.test(id) || [...id].length === 1;
}

/** The default bindings, with `overrides` (action -> keys) replacing an action's keys. */
export function makeBindings(overrides: Record<string, unknown> = {}, where = 'key bindings'): Bindings {
  const keysOf = new Map<Action, readonly string[]>(Object.entries(ACTIONS).map(([a, [k]]) => [a as Action, k]));
  for (const [action, keys] of Object.entries(overrides)) {
    if (!(action in ACTIONS)) throw new ScopeError('usage', `${where}: no action "${action}"; actions: ${Object.keys(ACTIONS).join(', ')}`);
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
      throw new ScopeError('usage', `${where}: "${action}" takes a list of keys, like ["j", "down"]`);
    for (const k of keys)
      if (!validKey(k))
        throw new ScopeError('usage', `${where}: "${k}" is not a key (one character, ctrl-a … ctrl-z, or ${[...NAMED].join(', ')})`);
    keysOf.set(action as Action, keys);
  }
  const out = new Map<string, Action>();
  for (const [action, keys] of keysOf) {
    for (const k of keys) {
      const other = out.get(k);
      if (other) throw new ScopeError('usage', `${where}: "${k}" is bound to both ${other} and ${action}`);
      out.set(k, action);
    }
  }
  if (!out.has('ctrl-c')) out.set('ctrl-c', 'quit');
  return out;
}

export function keysFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'scratchscope', 'keys.json');
}

/** The user's bindings: the defaults, remapped by keys.json when there is one. */
export function loadBindings(file = keysFile()): Bindings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return makeBindings();
    throw new ScopeError('usage', `${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ScopeError('usage', `${file}: not JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new ScopeError('usage', `${file}: expected an object of action -> keys, like {"down": ["j", "n"]}`);
  return makeBindings(json as Record<string, unknown>, file);
}

/** The keys bound to an action, as `?` and the footer name them. */
export function keysFor(b: Bindings, action: Action): string[] {
  const out: string[] = [];
  for (const [k, a] of b) if (a === action) out.push(k);
  return out;
}

/**
 * The explorer's state and its reducer: (state, key) -> state, pure given the report and
 * the file-tree view (`Env`). Side effects (quit, suspend, export, copy) are requests in
 * `effects` that the terminal shell carries out. What the screen shows is derived from
 * the state here too, so the reducer and the drawing agree on sizes and bounds.
 */
import type { Report, ReportHead, VerdictReport } from '../report/index.js';
import type { FileEntry, FileTree, Tree, TreeSort, TreeViewKey, WastedFile } from '../report/tree.js';
import { diagnosticLines, fileLines, helpLines, imageLines, layerLines } from './content.js';
import type { Action, Bindings, Key } from './keys.js';
import { AUTO, type Filter, type Fold, type Row, type RowQuery, type Show, buildRows, isOpen } from './rows.js';
import { type Line, layout } from './text.js';

export type Pane = 'layers' | 'tree' | 'details' | 'diagnostics' | 'image' | 'wasted';
const PANES: Pane[] = ['layers', 'tree', 'details', 'diagnostics', 'image', 'wasted'];
type TextPane = 'details' | 'diagnostics' | 'image' | 'help';

export type Effect =
  { kind: 'quit' } | { kind: 'suspend' } | { kind: 'export'; path: string; dest: string } | { kind: 'copy'; text: string };

export interface Env {
  /** null while the image loads. */
  head: ReportHead | null;
  /** null until the launch is worked out. */
  report: Report | null;
  /** The verdict from the layer indexes, while the report is still being made (the banner's). */
  verdict?: VerdictReport | null;
  files: FileTree | null;
  bindings: Bindings;
}

export interface State {
  width: number;
  height: number;
  focus: Pane;
  help: boolean;
  /** 0: the final image; i + 1: layer i. */
  layerCursor: number;
  changesOnly: boolean;
  fold: Fold;
  /** Folding while a filter is on; the tree's own comes back when it is cleared. */
  filterFold: Fold;
  filter: Filter;
  editing: boolean;
  show: Show;
  sort: TreeSort;
  /** Attribute columns: mode and size, all (mode, owner, size), or none. */
  attrs: 'some' | 'all' | 'none';
  cursor: number;
  scroll: Record<TextPane, number>;
  wastedCursor: number;
  /** Asking where to export a file. */
  prompt: { path: string; text: string } | null;
  /** A path to show once its view's tree is built. */
  pending: { path: string; layerCursor: number; status: string | null } | null;
  status: string | null;
  effects: Effect[];
}

export function initialState(width = 80, height = 24): State {
  return {
    width,
    height,
    focus: 'tree',
    help: false,
    layerCursor: 0,
    changesOnly: false,
    fold: AUTO,
    filterFold: AUTO,
    filter: { text: '', regex: false },
    editing: false,
    show: { A: true, M: true, D: true },
    sort: 'name',
    attrs: 'some',
    cursor: 0,
    scroll: { details: 0, diagnostics: 0, image: 0, help: 0 },
    wastedCursor: 0,
    prompt: null,
    pending: null,
    status: null,
    effects: [],
  };
}

// ---- derived: layout, rows, pane text -------------------------------------------------

export interface Layout {
  bannerH: number;
  mainH: number;
  leftW: number;
  rightW: number;
  layersH: number;
  treeH: number;
}

export function layoutOf(s: State, env: Env): Layout {
  // the banner drawn: the report's, or before it the verdict from the layer indexes
  const bannerH = (env.report ?? env.verdict)?.verdict === 'fails' ? 3 : 1;
  const mainH = Math.max(8, s.height - bannerH - 3); // the info line, the status line, the footer
  const leftW = Math.min(s.width - 24, Math.max(44, Math.floor(s.width * 0.58)));
  const layers = env.head?.layers.length ?? 0;
  const layersH = Math.min(layers + 4, Math.max(6, Math.floor(mainH / 3)));
  return { bannerH, mainH, leftW, rightW: s.width - leftW, layersH, treeH: mainH - layersH };
}

/** Rows of content a bordered, titled pane of height `h` has room for. */
export const inner = (h: number): number => Math.max(1, h - 3);

export function viewKey(s: State): TreeViewKey {
  return { layer: s.layerCursor === 0 ? null : s.layerCursor - 1, changesOnly: s.layerCursor !== 0 && s.changesOnly };
}

export function queryOf(s: State): RowQuery {
  return { key: viewKey(s), fold: s.filter.text ? s.filterFold : s.fold, filter: s.filter, show: s.show, sort: s.sort };
}

export function treeOf(s: State, env: Env): Tree | null {
  return env.files ? env.files.view(viewKey(s)) : null;
}

let rowMemo: { tree: Tree; q: RowQuery; out: { rows: Row[]; error: string | null } } | null = null;

/** The Files pane's rows (the last answer is kept: most keys do not change them). */
export function rowsOf(s: State, env: Env): { rows: Row[]; error: string | null } {
  const tree = treeOf(s, env);
  if (!tree) return { rows: [], error: null };
  const q = queryOf(s);
  const m = rowMemo;
  if (
    m &&
    m.tree === tree &&
    m.q.fold === q.fold &&
    m.q.filter.text === q.filter.text &&
    m.q.filter.regex === q.filter.regex &&
    m.q.show === q.show &&
    m.q.sort === q.sort &&
    m.q.key.layer === q.key.layer &&
    m.q.key.changesOnly === q.key.changesOnly
  )
    return m.out;
  const out = buildRows(tree, q);
  rowMemo = { tree, q, out };
  return out;
}

export function currentRow(s: State, env: Env): Row | null {
  const { rows } = rowsOf(s, env);
  return rows[Math.min(s.cursor, rows.length - 1)] ?? null;
}

/** The pane on the right: what the focus asks for, else a file's (or a layer's) details. */
export function rightPane(s: State): 'details' | 'diagnostics' | 'image' | 'wasted' {
  return s.focus === 'diagnostics' || s.focus === 'image' || s.focus === 'wasted' ? s.focus : 'details';
}

export function wastedOf(env: Env): WastedFile[] {
  return env.files?.wasted() ?? [];
}

/** What the shell must build (in slices) before the screen can show it. */
export function needs(s: State, env: Env): { view: TreeViewKey | null; wasted: boolean; details: string | null } {
  if (!env.files) return { view: null, wasted: false, details: null };
  const key = s.pending ? viewKey({ ...s, layerCursor: s.pending.layerCursor, changesOnly: false }) : viewKey(s);
  const e = rightPane(s) === 'details' && s.focus !== 'layers' && !s.help ? currentRow(s, env)?.e : undefined;
  // a final-image file (a folder or a replaced version has no more to say)
  const final = e && !e.children && e.mark !== 'D' ? env.files.finalLayer(e.path) : null;
  const details = final !== null && final === e!.layer && !env.files.detailsIfReady(e!.path) ? e!.path : null;
  return { view: env.files.view(key) ? null : key, wasted: (s.focus === 'wasted' || s.focus === 'image') && !env.files.wasted(), details };
}

/** Finishes what waited for a tree (a jump to a path), once it is built. */
export function settle(s: State, env: Env): State {
  const p = s.pending;
  if (!p || !env.files?.view(viewKey({ ...s, layerCursor: p.layerCursor, changesOnly: false }))) return s;
  const r = reveal({ ...s, pending: null }, env, p.path, p.layerCursor);
  return p.status && r.focus === 'tree' && !r.status ? { ...r, status: p.status } : r;
}

/** A text pane's lines, escaped and wrapped to the width they are drawn at. */
export function textOf(pane: TextPane, s: State, env: Env): Line[] {
  const L = layoutOf(s, env);
  const width = (pane === 'help' ? s.width : L.rightW) - 2;
  if (pane === 'help') return layout(helpLines(env.bindings), width);
  if (!env.head || !env.files) return [];
  if (pane === 'diagnostics') return layout(diagnosticLines(env.report), width);
  if (pane === 'image') return layout(imageLines(env.head, env.files.wasted()?.length ?? null), width);
  if (s.focus === 'layers') return layout(layerLines(env.head, s.layerCursor), width);
  const row = currentRow(s, env);
  return layout(fileLines(row?.e ?? null, viewKey(s).layer, env.files, env.report?.closure ?? null), width);
}

/** How many lines a text pane shows at once. */
export function textRoom(pane: TextPane, s: State, env: Env): number {
  return pane === 'help' ? Math.max(1, s.height - 3) : inner(layoutOf(s, env).mainH);
}

// ---- the reducer -------------------------------------------------------------------------

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

function say(s: State, status: string): State {
  return { ...s, status };
}

/** Moves whatever the focused pane scrolls by `delta` (Infinity: to the end). */
function move(s: State, env: Env, delta: number): State {
  const L = layoutOf(s, env);
  switch (s.focus) {
    case 'layers': {
      const n = env.head?.layers.length ?? 0;
      const c = clamp(s.layerCursor + delta, 0, n);
      if (c === s.layerCursor) return s;
      return { ...s, layerCursor: c, fold: AUTO, filterFold: AUTO, cursor: 0, scroll: { ...s.scroll, details: 0 } };
    }
    case 'tree': {
      const n = rowsOf(s, env).rows.length;
      return { ...s, cursor: clamp(Math.min(s.cursor, n - 1) + delta, 0, Math.max(0, n - 1)) };
    }
    case 'wasted':
      return { ...s, wastedCursor: clamp(s.wastedCursor + delta, 0, Math.max(0, wastedOf(env).length - 1)) };
    default: {
      const pane = rightPane(s) as TextPane;
      const max = Math.max(0, textOf(pane, s, env).length - inner(L.mainH));
      return { ...s, scroll: { ...s.scroll, [pane]: clamp(s.scroll[pane] + delta, 0, max) } };
    }
  }
}

function pageOf(s: State, env: Env): number {
  const L = layoutOf(s, env);
  return Math.max(1, inner(s.focus === 'layers' ? L.layersH : s.focus === 'tree' ? L.treeH : L.mainH) - 1);
}

/** Shows `path` in the Files pane: that view (the final image unless a layer is named), its folders open, the cursor on it. */
export function reveal(s: State, env: Env, path: string, layerCursor = 0, status: string | null = null): State {
  let next: State = {
    ...s,
    layerCursor,
    changesOnly: false,
    filter: { ...s.filter, text: '' },
    editing: false,
    focus: 'tree',
    fold: layerCursor === s.layerCursor && !s.changesOnly ? s.fold : AUTO,
  };
  const tree = treeOf(next, env);
  if (!tree) return { ...next, pending: { path, layerCursor, status }, status: 'building the tree…' };
  const q = queryOf(next);
  const flipped = new Set(next.fold.flipped);
  for (let p = path.lastIndexOf('/'); p > 0; p = path.lastIndexOf('/', p - 1)) {
    const e = tree.byPath.get(path.slice(0, p));
    if (e && !isOpen(e, q, false)) {
      if (flipped.has(e.path)) flipped.delete(e.path);
      else flipped.add(e.path);
    }
  }
  next = { ...next, fold: { base: next.fold.base, flipped } };
  const at = rowsOf(next, env).rows.findIndex((r) => r.e.path === path);
  if (at < 0) return say(s, `${path} is not in the image`);
  return { ...next, cursor: at, scroll: { ...next.scroll, details: 0 }, status };
}

function toggleFold(s: State, e: FileEntry): State {
  const key = s.filter.text ? 'filterFold' : 'fold';
  const flipped = new Set(s[key].flipped);
  if (flipped.has(e.path)) flipped.delete(e.path);
  else flipped.add(e.path);
  return { ...s, [key]: { base: s[key].base, flipped } };
}

function typing(s: State, text: string): State {
  return { ...s, filter: { ...s.filter, text }, filterFold: AUTO, cursor: 0 };
}

/** Keys while the filter is being typed: text goes in, arrows still move. */
function filterKey(s: State, key: Key, env: Env): State | null {
  switch (key.id) {
    case 'enter':
      return { ...s, editing: false };
    case 'escape':
      return { ...typing(s, ''), editing: false };
    case 'backspace':
      return typing(s, [...s.filter.text].slice(0, -1).join(''));
    case 'ctrl-u':
      return typing(s, '');
    case 'ctrl-r':
      return { ...s, filter: { ...s.filter, regex: !s.filter.regex }, filterFold: AUTO, cursor: 0 };
    case 'up':
    case 'down':
    case 'pageup':
    case 'pagedown':
      return move(s, env, key.id === 'up' ? -1 : key.id === 'down' ? 1 : key.id === 'pageup' ? -pageOf(s, env) : pageOf(s, env));
    case 'tab':
    case 'shift-tab':
      return null; // leaves the filter, then acts
  }
  return key.text !== null ? typing(s, s.filter.text + key.text) : s;
}

function promptKey(s: State, key: Key): State {
  const p = s.prompt!;
  switch (key.id) {
    case 'enter':
      if (!p.text.trim()) return { ...s, prompt: null, status: 'export cancelled: no path given' };
      return {
        ...s,
        prompt: null,
        status: `exporting ${p.path}…`,
        effects: [...s.effects, { kind: 'export', path: p.path, dest: p.text.trim() }],
      };
    case 'escape':
      return { ...s, prompt: null, status: 'export cancelled' };
    case 'backspace':
      return { ...s, prompt: { ...p, text: [...p.text].slice(0, -1).join('') } };
    case 'ctrl-u':
      return { ...s, prompt: { ...p, text: '' } };
  }
  return key.text !== null ? { ...s, prompt: { ...p, text: p.text + key.text } } : s;
}

const LAYER_ONLY = "a layer's changes: pick a layer in Layers (shift-tab) first";

export function reduce(s0: State, key: Key, env: Env): State {
  const s = s0.status && !s0.prompt ? { ...s0, status: null } : s0;
  if (key.id === 'ctrl-c') return { ...s, effects: [...s.effects, { kind: 'quit' }] };
  if (s.prompt) return promptKey(s, key);
  if (s.editing) {
    const r = filterKey(s, key, env);
    if (r) return r;
    return reduce({ ...s, editing: false }, key, env);
  }
  const action: Action | undefined = env.bindings.get(key.id);
  if (action === 'quit') return { ...s, effects: [...s.effects, { kind: 'quit' }] };
  if (action === 'suspend') return { ...s, effects: [...s.effects, { kind: 'suspend' }] };
  if (s.help) {
    const max = Math.max(0, textOf('help', s, env).length - textRoom('help', s, env));
    const scroll = (v: number) => ({ ...s, scroll: { ...s.scroll, help: clamp(v, 0, max) } });
    if (action === 'help' || action === 'escape') return { ...s, help: false };
    if (action === 'down') return scroll(s.scroll.help + 1);
    if (action === 'up') return scroll(s.scroll.help - 1);
    if (action === 'page-down') return scroll(s.scroll.help + textRoom('help', s, env) - 1);
    if (action === 'page-up') return scroll(s.scroll.help - textRoom('help', s, env) + 1);
    if (action === 'top') return scroll(0);
    if (action === 'bottom') return scroll(max);
    return s;
  }
  if (action === 'help') return { ...s, help: true, scroll: { ...s.scroll, help: 0 } };
  if (!env.head || !env.files) return action ? say(s, 'still reading the image: q quits') : s;
  if (!action) return say(s, `${key.id === 'paste' ? 'pasted text' : `"${key.id}"`} does nothing here: ? lists the keys`);
  const row = currentRow(s, env);
  const inLayer = s.layerCursor !== 0;
  switch (action) {
    case 'next-pane':
    case 'prev-pane': {
      const i = PANES.indexOf(s.focus);
      return {
        ...s,
        focus: PANES[(i + (action === 'next-pane' ? 1 : PANES.length - 1)) % PANES.length]!,
        scroll: { ...s.scroll, details: 0 },
      };
    }
    case 'up':
      return move(s, env, -1);
    case 'down':
      return move(s, env, 1);
    case 'page-up':
      return move(s, env, -pageOf(s, env));
    case 'page-down':
      return move(s, env, pageOf(s, env));
    case 'top':
      return move(s, env, -Infinity);
    case 'bottom':
      return move(s, env, Infinity);
    case 'left':
    case 'right':
    case 'open':
      return openKey(s, env, action, row);
    case 'filter':
      return { ...s, focus: 'tree', editing: true, filterFold: AUTO };
    case 'escape':
      if (s.filter.text) return typing(s, '');
      return s;
    case 'entrypoint':
      return entrypoint(s, env);
    case 'diagnostic': {
      if (!env.report) return say(s, 'diagnostics come once the launch is worked out (a moment)');
      const list = env.report.diagnostics;
      if (list.length === 0) return say(s, 'no diagnostics: nothing to go to');
      const first = list.find((d) => d.path);
      if (!first) return say(s, `no diagnostic names a file; ${list[0]!.code} is in Diagnostics`);
      return reveal(s, env, first.path!);
    }
    case 'sort': {
      const sort = s.sort === 'name' ? 'size' : s.sort === 'size' ? 'layer' : 'name';
      return { ...s, sort, status: `sorted by ${sort}` };
    }
    case 'added':
    case 'modified':
    case 'removed': {
      if (!inLayer) return say(s, `${action === 'added' ? 'a' : action === 'modified' ? 'm' : 'r'} shows or hides ${LAYER_ONLY}`);
      const k = action === 'added' ? 'A' : action === 'modified' ? 'M' : 'D';
      const show = { ...s.show, [k]: !s.show[k] };
      return { ...s, show, cursor: 0, status: `${show[k] ? 'showing' : 'hiding'} ${action} files` };
    }
    case 'changes-only':
      if (!inLayer) return say(s, `u switches between the image as of a layer and ${LAYER_ONLY}`);
      return {
        ...s,
        changesOnly: !s.changesOnly,
        fold: AUTO,
        cursor: 0,
        status: s.changesOnly ? `the image as of layer ${s.layerCursor - 1}` : `only layer ${s.layerCursor - 1}'s changes`,
      };
    case 'collapse-all':
    case 'expand-all': {
      const fold: Fold = { base: action === 'expand-all' ? 'open' : 'closed', flipped: new Set() };
      const keep = row?.e.path;
      const next = s.filter.text ? { ...s, filterFold: fold } : { ...s, fold };
      const at = keep ? rowsOf(next, env).rows.findIndex((r) => r.e.path === keep) : -1;
      return { ...next, cursor: at >= 0 ? at : 0 };
    }
    case 'attributes':
      return { ...s, attrs: s.attrs === 'some' ? 'all' : s.attrs === 'all' ? 'none' : 'some' };
    case 'wasted':
      return { ...s, focus: 'wasted' };
    case 'export': {
      if (!row) return say(s, 'no file selected');
      const e = row.e;
      if (e.mark === 'D') return say(s, `${e.path} was removed: nothing to export`);
      if (e.children) return say(s, `${e.path} is a folder: x exports one file`);
      const final = env.files.finalLayer(e.path);
      if (final === null || final !== e.layer) return say(s, `only the final image's version of ${e.path} can be exported`);
      if (e.type !== 'file' && e.type !== 'hardlink' && e.type !== 'symlink') return say(s, `${e.path} is a ${e.type}, not a file`);
      return { ...s, prompt: { path: e.path, text: `./${e.name}` } };
    }
    case 'copy-path':
      if (!row) return say(s, 'no file selected');
      return {
        ...s,
        status: `copied ${row.e.path} (to the terminal's clipboard, where it allows that)`,
        effects: [...s.effects, { kind: 'copy', text: row.e.path }],
      };
  }
  return s;
}

function openKey(s: State, env: Env, action: 'left' | 'right' | 'open', row: Row | null): State {
  switch (s.focus) {
    case 'layers':
      return action === 'left' ? s : { ...s, focus: 'tree' };
    case 'tree': {
      if (!row) return s;
      if (row.e.children && (action === 'open' || (action === 'right' && !row.open) || (action === 'left' && row.open)))
        return toggleFold(s, row.e);
      if (action === 'left' && row.e.parent) {
        const at = rowsOf(s, env).rows.findIndex((r) => r.e === row.e.parent);
        if (at >= 0) return { ...s, cursor: at };
      }
      if (action === 'open' && !row.e.children) return { ...s, focus: 'details' };
      return s;
    }
    case 'diagnostics': {
      if (action === 'left') return s;
      const lines = textOf('diagnostics', s, env);
      const at = lines[s.scroll.diagnostics]?.item;
      const d = at !== undefined ? env.report?.diagnostics[at] : undefined;
      if (!d) return s;
      if (!d.path) return say(s, `${d.code} names no file`);
      return reveal(s, env, d.path);
    }
    case 'wasted': {
      if (action === 'left') return s;
      const w = wastedOf(env)[s.wastedCursor];
      if (!w) return s;
      return reveal(
        s,
        env,
        w.path,
        w.writtenIn + 1,
        `${w.path} as of layer ${w.writtenIn}; layer ${w.droppedIn} ${w.how === 'removed' ? 'removes' : 'overwrites'} it`,
      );
    }
  }
  return s;
}

function entrypoint(s: State, env: Env): State {
  const r = env.report;
  if (!r) return say(s, 'the entrypoint is known once the launch is worked out (a moment)');
  if (r.launch.argv.length === 0) return say(s, 'this image has no entrypoint or command');
  const exe = r.launch.executable;
  if (!exe) return say(s, `${r.launch.argv[0]} is not in the image (see Diagnostics)`);
  const f = env.files!.follow(exe, env.head?.image?.workingDir || '/');
  if (!f) return say(s, `${exe} is not in the image`);
  return reveal(
    s,
    env,
    f.target,
    0,
    f.named !== f.target ? `entrypoint ${f.named} is a link to ${f.target}: showing the file it runs` : `entrypoint ${f.target}`,
  );
}

/** New terminal size: everything that scrolls stays in bounds. */
export function resize(s: State, width: number, height: number): State {
  return { ...s, width, height };
}

/**
 * The explorer: verdict banner, Layers and Files on the left, Details / Diagnostics /
 * Image on the right, keys in the footer. It reads the core's model and report and asks
 * the core for file details; it never parses bytes.
 */
import { Box, Text, useApp, useInput } from 'ink';
import { useMemo, useRef, useState } from 'react';
import { BinaryCatalog } from '../elf/catalog.js';
import { TreeView, resolvePath } from '../fs/index.js';
import type { ImageModel } from '../load.js';
import { fileDetails } from '../report/details.js';
import type { Report } from '../report/index.js';
import { Banner, bannerHeight } from './Banner.js';
import { DetailsPane } from './DetailsPane.js';
import { DiagnosticsPane } from './DiagnosticsPane.js';
import { Footer } from './Footer.js';
import { Help } from './Help.js';
import { ImagePane, imageLines } from './ImagePane.js';
import { LayersPane } from './LayersPane.js';
import { type TreeState, TreePane } from './TreePane.js';

export type Focus = 'layers' | 'tree' | 'details' | 'diagnostics' | 'image';
const ORDER: Focus[] = ['layers', 'tree', 'details', 'diagnostics', 'image'];

export interface AppProps {
  model: ImageModel;
  report: Report | null;
  width: number;
  height: number;
}

export function App({ model, report, width, height }: AppProps) {
  const { exit } = useApp();
  const view = useMemo(() => new TreeView(model.tree), [model]);
  const catalog = useMemo(() => new BinaryCatalog(model.tree, model.decoded), [model]);
  const [focus, setFocus] = useState<Focus>('tree');
  const [help, setHelp] = useState(false);
  const [layerCursor, setLayerCursor] = useState(0);
  const [treeCursor, setTreeCursor] = useState(0);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [tree, setTree] = useState<TreeState>({ filter: '', editingFilter: false, show: { added: true, modified: true, removed: true }, sortBySize: false });
  // Keys can arrive faster than renders: modes that change how the next key reads live in a ref.
  const editing = useRef(false);
  const setEditing = (on: boolean) => {
    editing.current = on;
    setTree((t) => ({ ...t, editingFilter: on }));
  };
  const [diagCursor, setDiagCursor] = useState(0);
  const [diagOpen, setDiagOpen] = useState(true);
  const [scroll, setScroll] = useState(0);

  const layer = layerCursor === 0 ? null : layerCursor - 1;
  // In a layer's view every folder starts open and `expanded` holds the closed ones.
  const rows = useMemo(
    () => view.rows({ layer, expanded, expandAll: layer !== null, filter: tree.filter, show: tree.show, sortBySize: tree.sortBySize }),
    [view, layer, expanded, tree.filter, tree.show, tree.sortBySize],
  );
  const cursor = Math.min(treeCursor, Math.max(0, rows.length - 1));
  const row = rows[cursor] ?? null;
  const details = useMemo(() => (row ? fileDetails(model, catalog, row.path, row.node) : null), [model, catalog, row]);
  const image = useMemo(() => imageLines(model), [model]);
  const diagnostics = report?.diagnostics ?? [];

  /** Shows `path` in the merged tree: its folders expanded, the cursor on it. */
  const reveal = (path: string | null) => {
    if (!path) return;
    const r = resolvePath(model.tree, path, { followLast: false, cwd: model.config?.workingDir || '/' });
    const target = r.ok ? r.path : path;
    const next = new Set(expanded);
    for (const a of TreeView.ancestors(target)) next.add(a);
    setExpanded(next);
    setLayerCursor(0);
    setEditing(false);
    setTree((t) => ({ ...t, filter: '' }));
    const all = view.rows({ layer: null, expanded: next, filter: '', show: tree.show, sortBySize: tree.sortBySize });
    const at = all.findIndex((x) => x.path === target);
    if (at >= 0) setTreeCursor(at);
    setFocus('tree');
  };

  const page = Math.max(1, height - 8);
  useInput((input, key) => {
    if (editing.current) {
      if (key.return) setEditing(false);
      else if (key.escape) {
        setEditing(false);
        setTree((t) => ({ ...t, filter: '' }));
      }
      else if (key.backspace || key.delete) setTree((t) => ({ ...t, filter: t.filter.slice(0, -1) }));
      else if (input && !key.ctrl && !key.meta) setTree((t) => ({ ...t, filter: t.filter + input }));
      setTreeCursor(0);
      return;
    }
    if (input === 'q' || (key.ctrl && input === 'c')) return exit();
    if (help) {
      if (key.escape || input === '?') setHelp(false);
      return;
    }
    if (input === '?') return setHelp(true);
    if (key.tab) {
      const i = ORDER.indexOf(focus);
      setFocus(ORDER[(i + (key.shift ? ORDER.length - 1 : 1)) % ORDER.length]);
      setScroll(0);
      return;
    }
    if (input === '/') {
      setFocus('tree');
      return setEditing(true);
    }
    if (key.escape) return setTree((t) => ({ ...t, filter: '' }));
    if (input === 'a' || input === 'm' || input === 'r') {
      const k = input === 'a' ? 'added' : input === 'm' ? 'modified' : 'removed';
      return setTree((t) => ({ ...t, show: { ...t.show, [k]: !t.show[k] } }));
    }
    if (input === 's') return setTree((t) => ({ ...t, sortBySize: !t.sortBySize }));
    if (input === 'e') return reveal(report?.launch.executable ?? model.config?.entrypoint?.[0] ?? model.config?.cmd?.[0] ?? null);
    if (input === 'd') {
      const first = diagnostics.find((x) => x.path);
      if (first) {
        setDiagCursor(diagnostics.indexOf(first));
        reveal(first.path);
      }
      return;
    }
    const up = key.upArrow || input === 'k';
    const down = key.downArrow || input === 'j';
    const left = key.leftArrow || input === 'h';
    const right = key.rightArrow || input === 'l';
    const toggle = key.return || input === ' ';
    const step = key.pageUp ? -page : key.pageDown ? page : up ? -1 : down ? 1 : 0;
    switch (focus) {
      case 'layers':
        if (step) {
          setLayerCursor((c) => Math.max(0, Math.min(model.layers.length, c + step)));
          setTreeCursor(0);
          setExpanded(new Set());
        }
        if (toggle || right) setFocus('tree');
        break;
      case 'tree':
        if (step) setTreeCursor((c) => Math.max(0, Math.min(rows.length - 1, Math.min(c, rows.length - 1) + step)));
        if (row && row.isDir && (toggle || (right && !row.expanded) || (left && row.expanded))) {
          const next = new Set(expanded);
          if (next.has(row.path)) next.delete(row.path);
          else next.add(row.path);
          setExpanded(next);
        } else if (row && left) {
          const parent = row.path.slice(0, row.path.lastIndexOf('/')) || null;
          const at = parent ? rows.findIndex((x) => x.path === parent) : -1;
          if (at >= 0) setTreeCursor(at);
        }
        break;
      case 'diagnostics':
        if (step) setDiagCursor((c) => Math.max(0, Math.min(diagnostics.length - 1, c + step)));
        if (toggle) setDiagOpen((o) => !o);
        if (right || (toggle && !diagOpen)) reveal(diagnostics[diagCursor]?.path ?? null);
        break;
      default:
        if (step) setScroll((s) => Math.max(0, s + step));
    }
  });

  const top = bannerHeight(report) + 1;
  const mainHeight = Math.max(8, height - top - 1);
  const leftWidth = Math.max(40, Math.floor(width * 0.58));
  const rightWidth = Math.max(20, width - leftWidth);
  const layersHeight = Math.min(model.layers.length + 4, Math.max(5, Math.floor(mainHeight / 3)));
  const right: Focus = focus === 'diagnostics' || focus === 'image' ? focus : 'details';

  if (help) {
    return (
      <Box flexDirection="column" width={width}>
        <Help />
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Banner report={report} width={width} />
      <Text dimColor wrap="truncate-end">
        {model.source.image ?? model.source.location} · {model.source.platform ?? 'no platform'} · {model.layers.length} layers
        {report ? '' : ' · analysing…'}
      </Text>
      <Box flexDirection="row" height={mainHeight}>
        <Box flexDirection="column" width={leftWidth}>
          <LayersPane model={model} cursor={layerCursor} focused={focus === 'layers'} width={leftWidth} height={layersHeight} />
          <TreePane rows={rows} cursor={cursor} focused={focus === 'tree'} width={leftWidth} height={mainHeight - layersHeight} layer={layer} state={tree} />
        </Box>
        {right === 'details' ? <DetailsPane row={row} details={details} focused={focus === 'details'} width={rightWidth} height={mainHeight} scroll={scroll} /> : null}
        {right === 'diagnostics' ? <DiagnosticsPane report={report} cursor={diagCursor} open={diagOpen} focused width={rightWidth} height={mainHeight} /> : null}
        {right === 'image' ? <ImagePane lines={image} focused width={rightWidth} height={mainHeight} scroll={scroll} /> : null}
      </Box>
      <Footer />
    </Box>
  );
}

/**
 * The explorer's screen, drawn from the state and the report: verdict banner, Layers and
 * Files on the left, Details / Diagnostics / Image / Wasted on the right, a status line
 * and the keys. It holds no state of its own and decodes nothing.
 */
import { Box, Text } from 'ink';
import { printable } from '../render/format.js';
import { Banner } from './Banner.js';
import { Footer, StatusLine } from './Footer.js';
import { LayersPane } from './LayersPane.js';
import { type LoadView, Progress } from './Progress.js';
import { type Env, type State, layoutOf, rightPane, rowsOf, textOf, textRoom, treeOf } from './state.js';
import { TextPane } from './TextPane.js';
import { TreePane } from './TreePane.js';
import { WastedPane } from './WastedPane.js';
import { plural } from './text.js';

export function App({ s, env, load }: { s: State; env: Env; load: LoadView }) {
  const { width, height } = s;
  if (s.help) {
    const lines = textOf('help', s, env);
    return (
      <Box flexDirection="column" width={width} height={height}>
        <TextPane
          title="Keys (esc closes)"
          lines={lines}
          scroll={s.scroll.help}
          focused
          width={width}
          height={textRoom('help', s, env) + 3}
        />
      </Box>
    );
  }
  const head = env.head;
  if (!head) {
    return (
      <Box flexDirection="column" width={width}>
        {env.verdict ? <Banner report={env.verdict} width={width} /> : null}
        <Progress load={load} width={width} checking={!!env.verdict} />
        <StatusLine s={s} />
      </Box>
    );
  }
  const L = layoutOf(s, env);
  const { rows, error } = rowsOf(s, env);
  const right = rightPane(s);
  const textPane = right === 'wasted' ? null : right;
  const lines = textPane ? textOf(textPane, s, env) : [];
  const scroll = textPane ? s.scroll[textPane] : 0;
  const current = textPane === 'diagnostics' ? lines[Math.min(scroll, lines.length - 1)]?.item : undefined;
  const title =
    right === 'details'
      ? s.focus === 'layers'
        ? 'Layer'
        : 'Details'
      : right === 'diagnostics'
        ? `Diagnostics (${env.report?.diagnostics.length ?? '…'})`
        : 'Image';
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Banner report={env.report ?? env.verdict ?? null} width={width} />
      <Text dimColor wrap="truncate-end">
        {printable(head.source.image ?? head.source.location)}
        {head.source.platform ? ` · ${head.source.platform}` : ''} · {plural(head.layers.length, 'layer')}
        {env.report ? '' : ' · analysing…'}
      </Text>
      <Box flexDirection="row" height={L.mainH}>
        <Box flexDirection="column" width={L.leftW}>
          <LayersPane head={head} cursor={s.layerCursor} focused={s.focus === 'layers'} width={L.leftW} height={L.layersH} />
          <TreePane
            s={s}
            rows={rows}
            error={error}
            building={!treeOf(s, env)}
            focused={s.focus === 'tree'}
            width={L.leftW}
            height={L.treeH}
            closure={env.report?.closure ?? null}
          />
        </Box>
        {right === 'wasted' ? (
          <WastedPane head={head} list={env.files?.wasted() ?? null} cursor={s.wastedCursor} focused width={L.rightW} height={L.mainH} />
        ) : (
          <TextPane
            title={title}
            lines={lines}
            scroll={scroll}
            current={current}
            focused={s.focus === right}
            width={L.rightW}
            height={L.mainH}
          />
        )}
      </Box>
      <StatusLine s={s} />
      <Footer bindings={env.bindings} />
    </Box>
  );
}

/** Every diagnostic; the selected one opens to its message, the runtime's line, evidence and fix. */
import { Text } from 'ink';
import type { Diagnostic } from '../diagnose/index.js';
import type { Report } from '../report/index.js';
import { Pane, windowOf } from './Pane.js';
import { c } from './theme.js';

const SEV = { error: ['✘', 'red'], warning: ['!', 'yellow'], info: ['i', 'blue'] } as const;

type Line = { text: string; color?: string; selected?: boolean; key: string };

/** Splits text into lines of at most `width` characters; continuation lines are indented. */
export function wrap(text: string, width: number, indent = '    '): string[] {
  const out: string[] = [];
  let rest = text;
  let first = true;
  while (rest.length > 0) {
    const room = Math.max(8, width - (first ? 0 : indent.length));
    let cut = rest.length <= room ? rest.length : rest.lastIndexOf(' ', room);
    if (cut <= room / 2) cut = Math.min(room, rest.length);
    out.push((first ? '' : indent) + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    first = false;
  }
  return out.length ? out : [''];
}

export function diagnosticLines(list: Diagnostic[], cursor: number, open: boolean, width = 1000): Line[] {
  const lines: Line[] = [];
  list.forEach((d, i) => {
    const [sym, color] = SEV[d.severity];
    const selected = i === cursor;
    const add = (text: string, key: string, c?: string, sel = false) => wrap(text, width, '      ').forEach((t, j) => lines.push({ text: t, color: c, selected: sel && j === 0, key: `${key}.${j}` }));
    if (!(selected && open)) {
      lines.push({ text: `${sym} ${d.code}: ${d.message}`, color, selected, key: `d${i}` });
      return;
    }
    add(`${sym} ${d.code}: ${d.message}`, `d${i}`, color, true);
    // glibc can print several lines (one per missing version): one line each
    d.runtimeError?.split('\n').forEach((l, j) => add(`    runtime: ${l}`, `d${i}r${j}`));
    if (d.path) add(`    file: ${d.path}${d.layer !== null ? ` (layer ${d.layer})` : ''}`, `d${i}p`);
    d.evidence.forEach((e, j) => add(`    seen: ${e}`, `d${i}e${j}`));
    add(`    fix: ${d.fix}`, `d${i}f`, 'cyan');
  });
  return lines;
}

export function DiagnosticsPane({ report, cursor, open, focused, width, height }: { report: Report | null; cursor: number; open: boolean; focused: boolean; width: number; height: number }) {
  const list = report?.diagnostics ?? [];
  const lines = diagnosticLines(list, cursor, open, width - 2);
  const selectedAt = lines.findIndex((l) => l.selected);
  const [from, to] = windowOf(lines.length, Math.max(0, selectedAt), Math.max(1, height - 3));
  return (
    <Pane title={`Diagnostics (${list.length})`} focused={focused} width={width} height={height}>
      {!report ? <Text dimColor>decoding…</Text> : list.length === 0 ? <Text color={c('green')}>nothing to report</Text> : null}
      {lines.slice(from, to).map((l) => (
        <Text key={l.key} color={c(l.color)} inverse={l.selected && focused} wrap="truncate-end">
          {l.text}
        </Text>
      ))}
    </Pane>
  );
}

/** The image config and sizes: Entrypoint, Cmd, Env, User, WorkingDir, total and wasted. */
import { Text } from 'ink';
import type { ImageModel } from '../load.js';
import { formatBytes } from '../render/format.js';
import { Pane } from './Pane.js';

export function imageLines(model: ImageModel): string[] {
  const s = model.source;
  const cfg = model.config;
  let files = 0;
  let bytes = 0;
  for (const [, n] of model.tree.walk()) {
    if (n.type === 'file') {
      files++;
      bytes += n.size;
    }
  }
  const lines = [`${s.image ?? '(unnamed)'}  [${s.kind}]`, `platform   ${s.platform ?? '?'}`];
  if (cfg) {
    lines.push(`entrypoint ${JSON.stringify(cfg.entrypoint)}`, `cmd        ${JSON.stringify(cfg.cmd)}`, `user       ${cfg.user || '(root)'}`, `workdir    ${cfg.workingDir || '/'}`);
    for (const e of cfg.env) lines.push(`env        ${e}`);
    if (cfg.exposedPorts.length) lines.push(`ports      ${cfg.exposedPorts.join(' ')}`);
  } else lines.push('no config: a plain root filesystem');
  lines.push(`files      ${files} files, ${formatBytes(bytes)}`, `wasted     ${formatBytes(model.tree.wastedBytes)}`);
  for (const w of model.tree.wasted(5)) lines.push(`  ${formatBytes(w.size).padStart(8)} ${w.path}`);
  return lines;
}

export function ImagePane({ lines, focused, width, height, scroll }: { lines: string[]; focused: boolean; width: number; height: number; scroll: number }) {
  const size = Math.max(1, height - 3);
  const start = Math.min(scroll, Math.max(0, lines.length - size));
  return (
    <Pane title="Image" focused={focused} width={width} height={height}>
      {lines.slice(start, start + size).map((l, i) => (
        <Text key={start + i} wrap="truncate-end">
          {l}
        </Text>
      ))}
    </Pane>
  );
}

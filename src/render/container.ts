/** The container report as text: the verdict, the recorded message beside ours, then the details. */
import { printable } from '../text.js';
import type { ContainerReport, PodReport } from '../report/index.js';
import { diagnosticLines, launchLines } from './text.js';

const show = (v: unknown) => printable(typeof v === 'string' ? v : JSON.stringify(v));

export function renderContainer(r: ContainerReport): string {
  const c = r.container;
  const out: string[] = [];
  const id = c.id.replace(/^[a-z-]+:\/\//, '').slice(0, 12);
  out.push(`Container  ${printable(c.name)}${id ? ` (${id})` : ''}  ${c.status}`);
  out.push(
    `Image      ${printable(c.image)} (${c.imageId.replace(/^sha256:/, '').slice(0, 12)})${c.imageMoved ? `  [the name now points at another image]` : ''}`,
  );
  out.push('');
  const cause = r.diagnostics.find((d) => d.severity === 'error');
  if (r.verdict === 'fails') {
    out.push(
      `✘ failed${r.failedStep ? ` at the ${r.failedStep} step` : ''}: ${cause ? printable(cause.message) : 'the runtime refused to start it'}`,
    );
  } else if (r.verdict === 'started') {
    out.push(`✔ started${r.exit ? `, then exited with ${r.exit.code}: ${r.exit.meaning}` : ' (running)'}`);
  } else {
    out.push(`✔ will start: ${show(r.launch.argv)} (not started yet)`);
  }
  if (r.recorded) out.push(`  recorded (${r.recorded.where}): ${printable(r.recorded.message)}`);
  if (r.predicted) out.push(`  scratchscope predicts:   ${printable(r.predicted)}`);
  out.push(
    `  ${r.agreement === 'same' ? 'same cause' : r.agreement === 'differs' ? 'they differ' : 'nothing recorded'}: ${printable(r.finding)}`,
  );
  if (cause) out.push(`  fix: ${printable(cause.fix)}`);
  if (r.overrides.length) {
    out.push('');
    out.push('Changed by the container');
    for (const o of r.overrides)
      out.push(`  ${o.field.padEnd(10)} ${show(o.container)}${o.image !== null ? `  (image: ${show(o.image)})` : ''}`);
  }
  for (const f of r.mountFindings) out.push(`  mount      ${printable(f.detail)}`);
  if (r.exit) {
    out.push('');
    out.push(`Exit       ${r.exit.code}: ${r.exit.meaning}`);
    for (const l of r.exit.logTail) out.push(`  | ${printable(l)}`);
  }
  out.push(...launchLines(r.launch.steps), ...diagnosticLines(r.diagnostics.filter((d) => d !== cause)));
  return out.join('\n') + '\n';
}

export function renderPod(p: PodReport): string {
  const head = `${p.kind} ${printable(p.name)}${p.namespace ? ` (namespace ${printable(p.namespace)})` : ''}: ${p.containers.length} container${p.containers.length === 1 ? '' : 's'}\n`;
  return (
    head +
    p.containers
      .map(
        (c) =>
          `\n── ${c.role === 'init' ? 'init container' : 'container'} ${printable(c.container.name)}, runtime words: ${c.runtime}${c.restartCount ? `, restarted ${c.restartCount} times` : ''}\n` +
          renderContainer(c),
      )
      .join('')
  );
}

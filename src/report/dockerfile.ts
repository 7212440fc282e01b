/**
 * Which Dockerfile instruction a diagnostic comes from, so CI can show it inline: the
 * final stage's USER for a user problem, its ENTRYPOINT (else CMD) for the command, and
 * the COPY/ADD that brought the file a diagnostic names. Only what that needs is parsed:
 * line continuations, comments, stages, WORKDIR, and COPY/ADD sources and destination.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fsError } from '../errors.js';
import type { Diagnostic, Launch } from '../diagnose/index.js';

export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based line of the instruction's first line. */
  line: number;
}

export interface Dockerfile {
  path: string;
  /** The final stage's instructions, FROM first. */
  final: Instruction[];
}

export function readDockerfile(path: string): Dockerfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw fsError(e, path);
  }
  return { path, final: finalStage(parseInstructions(text)) };
}

export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let current: Instruction | null = null;
  for (const [i, raw] of lines.entries()) {
    const directive = /^#\s*escape\s*=\s*(\S)/i.exec(raw);
    if (directive?.[1] && out.length === 0 && !current) escape = directive[1];
    if (/^\s*#/.test(raw) || (!current && !raw.trim())) continue;
    const continued = raw.trimEnd().endsWith(escape);
    const body = continued ? raw.trimEnd().slice(0, -1) : raw;
    if (current) current.args += ' ' + body.trim();
    else {
      const m = /^\s*(\S+)\s*(.*)$/.exec(body);
      if (!m?.[1]) continue; // a line of just the escape character starts nothing
      current = { keyword: m[1].toUpperCase(), args: (m[2] ?? '').trim(), line: i + 1 };
    }
    if (!continued) {
      out.push(current);
      current = null;
    }
  }
  if (current) out.push(current);
  return out;
}

function finalStage(all: Instruction[]): Instruction[] {
  let start = 0;
  all.forEach((ins, i) => {
    if (ins.keyword === 'FROM') start = i;
  });
  return all.slice(start);
}

/** A COPY/ADD's sources and destination, flags dropped, exec (JSON) form understood. */
function copyParts(args: string): string[] {
  const rest = args.replace(/^(--\S+\s+)*/, '').trim();
  if (rest.startsWith('[')) {
    try {
      const a: unknown = JSON.parse(rest);
      if (Array.isArray(a)) return a.map(String);
    } catch {
      /* shell form after all */
    }
  }
  return rest.split(/\s+/).filter(Boolean);
}

/** The COPY or ADD whose destination puts a file at `path` (the last one wins, as layers do). */
function copyOf(df: Dockerfile, path: string): Instruction | null {
  let workdir = '/';
  let hit: Instruction | null = null;
  for (const ins of df.final) {
    if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, ins.args.trim());
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
    const parts = copyParts(ins.args);
    const target = parts[parts.length - 1];
    if (parts.length < 2 || target === undefined) continue;
    const dest = posix.resolve(workdir, target);
    const asDir = target.endsWith('/') || parts.length > 2;
    const sources = parts.slice(0, -1);
    const lands = asDir
      ? sources.some((s) => path === posix.join(dest, posix.basename(s))) || path.startsWith(dest + '/')
      : path === dest || path.startsWith(dest + '/');
    if (lands) hit = ins;
  }
  return hit;
}

function last(df: Dockerfile, ...keywords: string[]): Instruction | null {
  for (const k of keywords) {
    const found = df.final.filter((i) => i.keyword === k);
    const latest = found[found.length - 1];
    if (latest) return latest;
  }
  return null;
}

const COMMAND_CODES = new Set([
  'no-command',
  'shell-missing',
  'exec-not-found',
  'exec-not-in-path',
  'shell-form-signals',
  'hidden-by-mount',
]);
const BASE_CODES = new Set(['ca-certificates-missing', 'tmp-missing', 'zoneinfo-missing', 'layer-problem', 'read-only-tmp']);

/** The instruction responsible for `d`, or the stage's FROM when none is more precise. */
export function responsible(df: Dockerfile, d: Diagnostic, launch: Launch): Instruction | null {
  const from = df.final[0] ?? null;
  if (d.code === 'user-missing') return last(df, 'USER') ?? from;
  if (COMMAND_CODES.has(d.code)) return last(df, 'ENTRYPOINT', 'CMD') ?? from;
  if (BASE_CODES.has(d.code)) return from;
  const file = d.path ?? launch.executable;
  return (file && copyOf(df, file)) || (launch.executable && copyOf(df, launch.executable)) || last(df, 'ENTRYPOINT', 'CMD') || from;
}

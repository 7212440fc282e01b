/** Image config JSON (OCI and Docker spell it the same) into our ImageConfig, defensively. */
import { ScopeError } from '../errors.js';
import type { HistoryEntry, ImageConfig } from './types.js';

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strList = (v: unknown): string[] | null => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null);
/** Entrypoint and Cmd: Docker reads a lone string as a one-word list (its strslice type), so configs written by hand have them. */
const command = (v: unknown): string[] | null => (typeof v === 'string' ? [v] : strList(v));

export interface ParsedConfig {
  config: ImageConfig;
  history: HistoryEntry[];
  diffIds: string[];
}

/**
 * The fields a runtime reads must have the types Docker decodes them into (Go's JSON refuses
 * anything else, and so does docker load): a config that only looks like one is refused,
 * not read as if the field were unset, which would give a verdict about another config.
 */
function checkTypes(top: Json, where: string): void {
  const bad = (field: string, want: string) => {
    throw new ScopeError('corrupt', `${where}: image config: ${field} must be ${want} (docker load refuses this config)`);
  };
  const c = top.config ?? top.Config;
  if (c !== undefined && c !== null && (typeof c !== 'object' || Array.isArray(c))) bad('config', 'an object');
  const cfg = obj(c);
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  for (const k of ['Entrypoint', 'Cmd'] as const) {
    const v = cfg[k];
    if (v !== undefined && v !== null && typeof v !== 'string' && !strings(v)) bad(`config.${k}`, 'a list of strings (or one string)');
  }
  if (cfg.Env !== undefined && cfg.Env !== null && !strings(cfg.Env)) bad('config.Env', 'a list of "KEY=VALUE" strings');
  for (const k of ['WorkingDir', 'User', 'StopSignal'] as const) {
    const v = cfg[k];
    if (v !== undefined && v !== null && typeof v !== 'string') bad(`config.${k}`, 'a string');
  }
  const rootfs = top.rootfs;
  if (rootfs !== undefined && rootfs !== null) {
    if (typeof rootfs !== 'object' || Array.isArray(rootfs)) bad('rootfs', 'an object');
    const ids = (rootfs as Json).diff_ids;
    if (ids !== undefined && ids !== null && !strings(ids)) bad('rootfs.diff_ids', 'a list of digests');
  }
}

export function parseConfig(raw: unknown, where: string): ParsedConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ScopeError('corrupt', `${where}: image config is not a JSON object`);
  const top = raw as Json;
  checkTypes(top, where);
  const c = obj(top.config ?? top.Config);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(c.Labels))) if (typeof v === 'string') labels[k] = v;
  const config: ImageConfig = {
    os: str(top.os),
    architecture: str(top.architecture),
    variant: str(top.variant),
    entrypoint: command(c.Entrypoint),
    cmd: command(c.Cmd),
    env: strList(c.Env) ?? [],
    workingDir: str(c.WorkingDir) ?? '',
    user: str(c.User) ?? '',
    exposedPorts: Object.keys(obj(c.ExposedPorts)),
    labels,
    stopSignal: str(c.StopSignal),
  };
  const history: HistoryEntry[] = (Array.isArray(top.history) ? top.history : []).map((h) => {
    const o = obj(h);
    return {
      created: str(o.created),
      createdBy: str(o.created_by) ?? '',
      comment: str(o.comment),
      emptyLayer: o.empty_layer === true,
    };
  });
  const diffIds = strList(obj(top.rootfs).diff_ids) ?? [];
  return { config, history, diffIds };
}

/** Matches non-empty history entries to layers in order; empty ones stay in the history only. */
export function historyForLayers(history: HistoryEntry[], layerCount: number): (HistoryEntry | null)[] {
  const out: (HistoryEntry | null)[] = [];
  for (const h of history) if (!h.emptyLayer) out.push(h);
  // Histories that do not match the layer count (hand-made images) are not guessed at.
  if (out.length !== layerCount) return Array.from({ length: layerCount }, () => null);
  return out;
}

/** A variable of an image's Env (KEY=VALUE list); the last definition wins, as in a process. */
/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The PATH a container of this Env searches. */
export function configPath(env: string[]): string {
  return envValue(env, 'PATH') ?? DEFAULT_PATH;
}

export function envValue(env: string[], key: string): string | null {
  let v: string | null = null;
  for (const e of env) if (e.startsWith(key + '=')) v = e.slice(key.length + 1);
  return v;
}

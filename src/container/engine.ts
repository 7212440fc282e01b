/**
 * What the engine recorded about one container (GET /containers/{id}/json and its logs),
 * reduced to the facts the launch depends on. docker and podman's Docker-compatible API
 * answer the same shape.
 */
import { ScopeError } from '../errors.js';
import { type EngineClient, pathPart } from '../source/engine/client.js';

export interface MountFacts {
  type: 'bind' | 'volume' | 'tmpfs' | 'other';
  /** The host folder (bind), the volume's folder on the engine's host (volume), or null. */
  source: string | null;
  /** The volume's name, for volumes. */
  name: string | null;
  destination: string;
  readWrite: boolean;
  /** A volume mounted with nocopy: Docker does not copy the image's content into it. */
  noCopy: boolean;
  /** How to name it when the type alone would mislead (a Kubernetes emptyDir or configMap). */
  label?: string;
}

import type { Capabilities } from '../diagnose/capabilities.js';

export interface ContainerFacts {
  id: string;
  name: string;
  /** The image as the user named it, and the exact image it was created from. */
  imageRef: string;
  imageId: string;
  /** The effective values: the image's, with what docker run / create changed. */
  entrypoint: string[];
  cmd: string[];
  user: string;
  workingDir: string;
  env: string[];
  readOnly: boolean;
  init: boolean;
  /** --cap-add and --cap-drop (--privileged: every capability), as docker run recorded them. */
  capabilities: Capabilities;
  /** --security-opt no-new-privileges (a pod's allowPrivilegeEscalation: false). */
  noNewPrivs: boolean;
  /** The environment is the container's whole one (docker's record; a pod's may come from elsewhere). */
  envComplete: boolean;
  platform: string | null;
  mounts: MountFacts[];
  state: {
    status: string;
    exitCode: number;
    /** The runtime's own message when the start failed (State.Error). */
    error: string;
    oomKilled: boolean;
    started: boolean;
    startedAt: string | null;
    finishedAt: string | null;
  };
  /** The last lines the container wrote (stdout and stderr). */
  logTail: string[];
  /** Where state.error was read (default State.Error; for a pod, kubelet's status field). */
  errorSource?: string;
}

interface RawMount {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  RW?: boolean;
  Mode?: string;
}

interface RawContainer {
  Id: string;
  Name?: string;
  Image?: string;
  Platform?: string;
  Config?: {
    Image?: string;
    Entrypoint?: string[] | string | null;
    Cmd?: string[] | string | null;
    User?: string;
    WorkingDir?: string;
    Env?: string[] | null;
    Tty?: boolean;
  };
  HostConfig?: {
    ReadonlyRootfs?: boolean;
    Init?: boolean | null;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    Privileged?: boolean;
    SecurityOpt?: string[] | null;
    Tmpfs?: Record<string, string> | null;
    Mounts?: { Target?: string; Type?: string; VolumeOptions?: { NoCopy?: boolean } }[] | null;
  };
  Mounts?: RawMount[] | null;
  State?: { Status?: string; ExitCode?: number; Error?: string; OOMKilled?: boolean; StartedAt?: string; FinishedAt?: string };
}

const LOG_LINES = 20;
const ZERO_TIME = /^0001-01-01/;

const list = (v: string[] | string | null | undefined): string[] => (Array.isArray(v) ? v : typeof v === 'string' && v ? [v] : []);

function mountsOf(c: RawContainer): MountFacts[] {
  const noCopy = new Set((c.HostConfig?.Mounts ?? []).filter((m) => m.VolumeOptions?.NoCopy).map((m) => m.Target));
  const out: MountFacts[] = (c.Mounts ?? []).map((m) => ({
    type: m.Type === 'bind' || m.Type === 'volume' || m.Type === 'tmpfs' ? m.Type : 'other',
    source: m.Type === 'tmpfs' ? null : (m.Source ?? null),
    name: m.Name ?? null,
    destination: m.Destination ?? '',
    readWrite: m.RW !== false,
    noCopy: noCopy.has(m.Destination) || /(^|,)nocopy(,|$)/.test(m.Mode ?? ''),
  }));
  // --tmpfs PATH is recorded in HostConfig.Tmpfs only, not in Mounts.
  for (const [dest, opts] of Object.entries(c.HostConfig?.Tmpfs ?? {})) {
    if (!out.some((m) => m.destination === dest))
      out.push({ type: 'tmpfs', source: null, name: null, destination: dest, readWrite: !/(^|,)ro(,|$)/.test(opts), noCopy: false });
  }
  return out;
}

/** A log stream without a TTY is framed: 8-byte headers (stream, 0, 0, 0, size). */
function demux(body: Buffer, tty: boolean): string {
  if (tty) return body.toString('utf8');
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= body.length) {
    const size = body.readUInt32BE(at + 4);
    if (body.readUInt8(at) > 2 || body[at + 1] || body[at + 2] || body[at + 3]) return body.toString('utf8');
    parts.push(body.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

export async function readContainer(client: EngineClient, ref: string): Promise<ContainerFacts> {
  const c = await client.json<RawContainer>(`/containers/${pathPart(ref)}/json`);
  if (!c) throw new ScopeError('not-found', `no container ${ref} in the engine at ${client.engine.address} (docker ps -a lists them)`);
  const cfg = c.Config ?? {};
  const s = c.State ?? {};
  const logs = await client.get(`/containers/${pathPart(c.Id)}/logs?stdout=1&stderr=1&tail=${LOG_LINES}`);
  const logTail =
    logs.status === 200
      ? demux(logs.body, !!cfg.Tty)
          .split('\n')
          .filter((l, i, a) => l !== '' || i < a.length - 1)
          .slice(-LOG_LINES)
      : [];
  return {
    id: c.Id,
    name: (c.Name ?? '').replace(/^\//, ''),
    imageRef: cfg.Image ?? c.Image ?? '',
    imageId: c.Image ?? '',
    entrypoint: list(cfg.Entrypoint),
    cmd: list(cfg.Cmd),
    user: cfg.User ?? '',
    workingDir: cfg.WorkingDir ?? '',
    env: cfg.Env ?? [],
    readOnly: !!c.HostConfig?.ReadonlyRootfs,
    init: !!c.HostConfig?.Init,
    capabilities: { add: c.HostConfig?.Privileged ? ['ALL'] : (c.HostConfig?.CapAdd ?? []), drop: c.HostConfig?.CapDrop ?? [] },
    noNewPrivs: (c.HostConfig?.SecurityOpt ?? []).some((o) => /^no-new-privileges(?:[:=]true)?$/.test(o)),
    envComplete: true,
    platform: c.Platform ?? null,
    mounts: mountsOf(c),
    state: {
      status: s.Status ?? 'unknown',
      exitCode: s.ExitCode ?? 0,
      error: s.Error ?? '',
      oomKilled: !!s.OOMKilled,
      started: !!s.StartedAt && !ZERO_TIME.test(s.StartedAt),
      startedAt: s.StartedAt && !ZERO_TIME.test(s.StartedAt) ? s.StartedAt : null,
      finishedAt: s.FinishedAt && !ZERO_TIME.test(s.FinishedAt) ? s.FinishedAt : null,
    },
    logTail,
  };
}

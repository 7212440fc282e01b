/**
 * Where the container engine is, found the way the docker CLI finds it: DOCKER_HOST, then
 * the current docker context, then the default socket, then podman's sockets. TLS follows
 * the docker CLI too: an https:// address or DOCKER_TLS_VERIFY turns it on, and the client
 * certificate comes from DOCKER_CERT_PATH (default ~/.docker).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ScopeError } from '../../errors.js';
import { nodeCrypto } from '../../builtins.js';

export interface EngineTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** DOCKER_TLS_VERIFY: check the engine's certificate against ca.pem. */
  verify: boolean;
}

export interface Engine {
  /** unix:///path or tcp://host:port, for messages. */
  address: string;
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: EngineTls;
}

function readIf(dir: string, name: string): Buffer | undefined {
  try {
    return readFileSync(join(dir, name));
  } catch {
    return undefined;
  }
}

function tlsFromEnv(forced: boolean): EngineTls | undefined {
  const verify = !!process.env.DOCKER_TLS_VERIFY;
  if (!forced && !verify) return undefined;
  const dir = process.env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  const tls: EngineTls = { ca: readIf(dir, 'ca.pem'), cert: readIf(dir, 'cert.pem'), key: readIf(dir, 'key.pem'), verify };
  if (verify && !tls.ca)
    throw new ScopeError('usage', `DOCKER_TLS_VERIFY is set but ${join(dir, 'ca.pem')} cannot be read (set DOCKER_CERT_PATH)`);
  return tls;
}

export function fromHost(host: string): Engine {
  if (host.startsWith('unix://')) return { address: host, socketPath: host.slice('unix://'.length) };
  const m = /^(tcp|http|https):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (m) {
    const tls = tlsFromEnv(m[1] === 'https');
    return { address: host, host: (m[2] ?? '').replace(/^\[|\]$/g, ''), port: Number(m[3] ?? (tls ? 2376 : 2375)), tls };
  }
  throw new ScopeError('usage', `unsupported engine address ${host} (use unix:// or tcp://)`);
}

interface ContextMeta {
  Endpoints?: { docker?: { Host?: unknown } };
}

function contextHost(): string | null {
  const dockerDir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  let name = process.env.DOCKER_CONTEXT;
  if (!name) {
    try {
      const config = JSON.parse(readFileSync(join(dockerDir, 'config.json'), 'utf8')) as { currentContext?: unknown } | null;
      const current = config?.currentContext;
      name = typeof current === 'string' ? current : undefined;
    } catch {
      return null;
    }
  }
  if (!name || name === 'default') return null;
  const id = nodeCrypto().createHash('sha256').update(name).digest('hex');
  try {
    // optional chaining reads any JSON value safely; only the leaf needs checking
    const meta = JSON.parse(readFileSync(join(dockerDir, 'contexts', 'meta', id, 'meta.json'), 'utf8')) as ContextMeta | null;
    const host = meta?.Endpoints?.docker?.Host;
    if (typeof host === 'string') return host;
  } catch {
    /* fall through */
  }
  throw new ScopeError('daemon-unavailable', `docker context "${name}" is selected but has no readable endpoint`);
}

/** The engine address, in the order the docker CLI picks it, then podman's sockets. */
export function findEngine(): Engine {
  if (process.env.DOCKER_HOST) return fromHost(process.env.DOCKER_HOST);
  const ctx = contextHost();
  if (ctx) return fromHost(ctx);
  const candidates = ['/var/run/docker.sock'];
  if (process.env.XDG_RUNTIME_DIR) candidates.push(join(process.env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  candidates.push('/run/podman/podman.sock');
  const found = candidates.find((p) => existsSync(p));
  return fromHost(`unix://${found ?? candidates[0]}`);
}

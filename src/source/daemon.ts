/**
 * A local image through the Docker Engine API (docker or podman): find the engine the way
 * the docker CLI does (DOCKER_HOST, then the current context, then the default socket,
 * then podman's), ping it, check the image exists, and stream `docker save` of it into a
 * temp file that is then read like any docker archive.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { ScopeError } from '../errors.js';

export interface Engine {
  /** unix:///path or tcp://host:port, for messages. */
  address: string;
  options: Docker.DockerOptions;
}

/** dockerode (and its ssh and grpc dependencies) load only when an engine is used. */
async function connect(engine: Engine): Promise<Docker> {
  const { default: DockerClient } = await import('dockerode');
  return new DockerClient(engine.options);
}

function fromHost(host: string): Engine {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    return { address: host, options: { socketPath } };
  }
  const m = /^(tcp|http|https):\/\/([^:/]+)(?::(\d+))?/.exec(host);
  if (m) {
    const https = m[1] === 'https';
    return { address: host, options: { host: m[2], port: Number(m[3] ?? (https ? 2376 : 2375)), protocol: https ? 'https' : 'http' } };
  }
  throw new ScopeError('usage', `unsupported engine address ${host} (use unix:// or tcp://)`);
}

function contextHost(): string | null {
  const dockerDir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  let name = process.env.DOCKER_CONTEXT;
  if (!name) {
    try {
      name = JSON.parse(readFileSync(join(dockerDir, 'config.json'), 'utf8')).currentContext;
    } catch {
      return null;
    }
  }
  if (!name || name === 'default') return null;
  const id = createHash('sha256').update(name).digest('hex');
  try {
    const meta = JSON.parse(readFileSync(join(dockerDir, 'contexts', 'meta', id, 'meta.json'), 'utf8'));
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

function engineError(e: unknown, engine: Engine): ScopeError {
  const err = e as NodeJS.ErrnoException & { statusCode?: number; json?: { message?: string } };
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new ScopeError('permission-denied', `permission denied on ${engine.address} (join the docker group, or use sudo)`);
  }
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || err.code === 'EHOSTUNREACH') {
    return new ScopeError('daemon-unavailable', `cannot reach a container engine at ${engine.address} (is it running?)`);
  }
  const detail = err.json?.message ?? err.message;
  return new ScopeError('daemon-unavailable', `engine at ${engine.address}: ${String(detail).trim()}`);
}

/** Saves the image into `file` and returns what the engine calls it. */
export async function saveImage(name: string, file: string, engine = findEngine()): Promise<{ engine: string; id: string }> {
  const client = await connect(engine);
  try {
    await client.ping();
  } catch (e) {
    throw engineError(e, engine);
  }
  let id: string;
  try {
    id = (await client.getImage(name).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) {
      throw new ScopeError('image-not-found', `image ${name} not found in the engine at ${engine.address}`);
    }
    throw engineError(e, engine);
  }
  try {
    const stream = await client.getImage(name).get();
    await pipeline(stream, createWriteStream(file));
  } catch (e) {
    throw engineError(e, engine);
  }
  return { engine: engine.address, id };
}

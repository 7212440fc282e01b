/**
 * A local image through the Docker Engine API (docker or podman): ping the engine, check
 * the image exists, and stream `docker save` of it into a temp file that is then read
 * like any docker archive.
 */
import { createWriteStream } from 'node:fs';
import { ScopeError } from '../errors.js';
import { EngineClient, pathPart } from './engine/client.js';
import { findEngine } from './engine/discover.js';

export { findEngine } from './engine/discover.js';
export type { Engine } from './engine/discover.js';

/** The engine answers /_ping with OK: anything else at that address is not an engine. */
export async function connectEngine(engine = findEngine()): Promise<EngineClient> {
  const client = new EngineClient(engine);
  const ping = await client.get('/_ping');
  if (ping.status !== 200) {
    throw new ScopeError(
      'daemon-unavailable',
      `the engine at ${engine.address} answered GET /_ping with HTTP ${ping.status} (is that an Engine API?)`,
    );
  }
  return client;
}

/** Saves the image into `file` and returns what the engine calls it. */
export async function saveImage(name: string, file: string, engine = findEngine()): Promise<{ engine: string; id: string }> {
  const client = await connectEngine(engine);
  const image = await client.json<{ Id?: string }>(`/images/${pathPart(name)}/json`);
  if (!image?.Id) throw new ScopeError('image-not-found', `image ${name} not found in the engine at ${engine.address}`);
  await client.download(`/images/${pathPart(name)}/get`, createWriteStream(file), `image ${name}`);
  return { engine: engine.address, id: image.Id };
}

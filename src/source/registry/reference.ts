/**
 * Image references as the distribution reference grammar reads them, parsed by
 * @swimlane/docker-reference (a port of distribution's regexps and normalisation):
 * "busybox" is docker.io/library/busybox:latest, a first component with a dot or a colon,
 * or "localhost", is a registry host, tags are at most 128 characters, digests are checked.
 */
import { parseFamiliarName } from '@swimlane/docker-reference';
import { ScopeError } from '../../errors.js';

export interface RegistryRef {
  /** host[:port] as written (docker.io for Docker Hub). */
  registry: string;
  /** e.g. library/busybox */
  repository: string;
  tag: string | null;
  digest: string | null;
}

export function parseRegistryRef(text: string): RegistryRef {
  let r;
  try {
    r = parseFamiliarName(text);
  } catch (e) {
    throw new ScopeError('usage', `${text}: not an image reference (${(e as Error).message})`);
  }
  const digest = r.digest ?? null;
  if (digest && !/^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/.test(digest)) {
    throw new ScopeError('usage', `${text}: unsupported digest ${digest} (sha256 or sha512 expected)`);
  }
  return { registry: r.domain ?? 'docker.io', repository: r.repository ?? '', tag: r.tag ?? (digest ? null : 'latest'), digest };
}

/** Where the API lives: Docker Hub's name is not its API host. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

/** The full name, for the report and messages: 127.0.0.1:5000/app:1.0, docker.io/library/busybox@sha256:… */
export function formatRef(r: RegistryRef): string {
  return `${r.registry}/${r.repository}${r.tag ? ':' + r.tag : ''}${r.digest ? '@' + r.digest : ''}`;
}

/** What a manifest request names: the digest when there is one (a tag beside it is ignored, as docker does). */
export function manifestRef(r: RegistryRef): string {
  return r.digest ?? r.tag ?? 'latest';
}

/** Loopback hosts, where plain http may be tried when https is refused. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '127.0.0.1' || name === '::1';
}

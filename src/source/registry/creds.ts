/**
 * Credentials for a registry, found as podman and the docker CLI find them: --creds first,
 * then REGISTRY_AUTH_FILE or ${XDG_RUNTIME_DIR}/containers/auth.json, then the docker
 * config (DOCKER_CONFIG or ~/.docker/config.json). In each file, credHelpers[host] wins
 * over credsStore, which wins over auths (base64 user:password, or an identitytoken).
 * Helpers are `docker-credential-NAME get`, the server on stdin, JSON on stdout.
 * A Credentials value never reaches a message: only its `source` does.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ScopeError } from '../../errors.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (docker's identitytoken), exchanged at the token server. */
  identityToken: string | null;
  /** Where they came from, for messages: "--creds", "/root/.docker/config.json", … */
  source: string;
}

type Json = Record<string, unknown>;

const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** user:password, as --creds takes it (the password may contain colons). */
export function parseCreds(text: string, source: string): Credentials {
  const t = text.replace(/\r?\n$/, '');
  const colon = t.indexOf(':');
  if (colon <= 0) throw new ScopeError('usage', `${source}: expected USER:PASSWORD`);
  return { username: t.slice(0, colon), password: t.slice(colon + 1), identityToken: null, source };
}

function authFiles(): string[] {
  const files: string[] = [];
  if (process.env.REGISTRY_AUTH_FILE) files.push(process.env.REGISTRY_AUTH_FILE);
  else if (process.env.XDG_RUNTIME_DIR) files.push(join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json'));
  return files;
}

/** The keys a file may use for this registry and repository, most specific first. */
function keysFor(registry: string, repository: string): string[] {
  if (registry === 'docker.io') {
    const parts = repository.split('/');
    const scoped = parts.map((_, i) => `docker.io/${parts.slice(0, parts.length - i).join('/')}`);
    return [...scoped, ...HUB_KEYS];
  }
  const parts = repository.split('/');
  return [...parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join('/')}`), registry];
}

/** "https://host:5000/v1/" and "host:5000" name the same registry. */
function normalizeKey(k: string): string {
  if (HUB_KEYS.includes(k)) return k;
  return k.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function readConfig(file: string): Json | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const j: unknown = JSON.parse(text);
    return j && typeof j === 'object' ? (j as Json) : null;
  } catch {
    throw new ScopeError('corrupt', `${file}: not valid JSON`);
  }
}

function runHelper(name: string, server: string): Credentials | null {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ScopeError('usage', `credential helper name ${JSON.stringify(name)} is not a plain name`);
  const bin = `docker-credential-${name}`;
  const r = spawnSync(bin, ['get'], { input: server, encoding: 'utf8', timeout: 60_000, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new ScopeError(
      'usage',
      code === 'ENOENT' ? `credential helper ${bin} is configured but not installed` : `credential helper ${bin}: ${code ?? 'failed'}`,
    );
  }
  if (r.status !== 0) {
    // The helpers' own words for "nothing stored": then the image may well be public.
    if (/credentials not found/i.test(r.stdout + r.stderr)) return null;
    throw new ScopeError('usage', `credential helper ${bin} failed (exit ${r.status})`);
  }
  let j: Json;
  try {
    j = JSON.parse(r.stdout) as Json;
  } catch {
    throw new ScopeError('corrupt', `credential helper ${bin} printed something that is not JSON`);
  }
  const user = typeof j.Username === 'string' ? j.Username : '';
  const secret = typeof j.Secret === 'string' ? j.Secret : '';
  if (!secret) return null;
  // docker stores identity tokens under the user name "<token>"
  if (user === '<token>') return { username: '', password: '', identityToken: secret, source: bin };
  return { username: user, password: secret, identityToken: null, source: bin };
}

function fromAuthEntry(entry: Json, source: string): Credentials | null {
  let username = typeof entry.username === 'string' ? entry.username : '';
  let password = typeof entry.password === 'string' ? entry.password : '';
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new ScopeError('corrupt', `${source}: an auths entry is not base64 of user:password`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const identityToken = typeof entry.identitytoken === 'string' && entry.identitytoken ? entry.identitytoken : null;
  if (!password && !identityToken) return null;
  return { username, password, identityToken, source };
}

export function findCredentials(registry: string, repository: string): Credentials | null {
  const keys = keysFor(registry, repository);
  const server = registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
  for (const file of authFiles()) {
    const cfg = readConfig(file);
    if (!cfg) continue;
    const helpers = (cfg.credHelpers ?? {}) as Json;
    const helper = keys.map((k) => helpers[k]).find((h) => typeof h === 'string');
    if (typeof helper === 'string') return runHelper(helper, server);
    if (typeof cfg.credsStore === 'string' && cfg.credsStore) {
      const c = runHelper(cfg.credsStore, server);
      if (c) return c;
    }
    const auths = (cfg.auths ?? {}) as Json;
    const byKey = new Map<string, Json>();
    for (const [k, v] of Object.entries(auths)) if (v && typeof v === 'object') byKey.set(normalizeKey(k), v as Json);
    for (const k of keys) {
      const entry = byKey.get(k);
      const c = entry ? fromAuthEntry(entry, file) : null;
      if (c) return c;
    }
  }
  return null;
}

/**
 * A real registry for the tests: Debian's docker-registry (distribution 2.8) on loopback,
 * configured in a temp folder, with optional htpasswd, token auth (a token server here)
 * and TLS (a CA and a server certificate made by openssl); images pushed by skopeo; a
 * programmable proxy in front of it for faults; the CLI run without blocking the servers.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { checkJsonOutput } from './schema.js';
import type { Report } from '../../src/report/index.js';
import { omit } from './json.js';

const exec = promisify(execFile);
const BIN = new URL('../../bin/scratchscope.js', import.meta.url).pathname;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process, the event loop left free for the servers of the test. */
export function run(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
  onSpawn?: (pid: number) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      try {
        checkJsonOutput(args, { status, stdout }); // every JSON output matches docs/report.schema.json
        resolve({ status, stdout, stderr });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    if (child.pid) onSpawn?.(child.pid);
    child.stdin.end(input ?? '');
  });
}

/** docker-registry is needed; only outside CI may its absence skip the suite. */
export const NO_REGISTRY =
  !existsSync('/usr/bin/docker-registry') && process.env.CI !== 'true'
    ? 'docker-registry is not installed (apt-get install docker-registry)'
    : false;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls until `probe` resolves true; a deadline only to turn a broken setup into a failure. */
export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    // a probe that throws, synchronously or not, is one that says no
    if (
      await Promise.resolve()
        .then(probe)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not come up`);
}

export interface Tls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A client certificate signed by the same CA, for registries that ask for one. */
  clientCertFile: string;
  clientKeyFile: string;
}

/** A CA and a server certificate for 127.0.0.1 and localhost, signed by it. */
export async function makeTls(dir: string): Promise<Tls> {
  mkdirSync(dir, { recursive: true });
  const o = (...a: string[]) => exec('openssl', a, { cwd: dir });
  await o(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=scratchscope test CA',
  );
  await o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(`${dir}/ext.cnf`, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await o(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  await o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=scratchscope test client');
  writeFileSync(`${dir}/client.cnf`, 'extendedKeyUsage=clientAuth\n');
  await o(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.cert',
    '-days',
    '2',
    '-extfile',
    'client.cnf',
  );
  return {
    caFile: `${dir}/ca.crt`,
    certFile: `${dir}/server.crt`,
    keyFile: `${dir}/server.key`,
    clientCertFile: `${dir}/client.cert`,
    clientKeyFile: `${dir}/client.key`,
  };
}

export interface RegistryOptions {
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; certFile: string };
  tls?: Tls;
  /** Ask every client for a certificate signed by the CA of `tls`. */
  clientCerts?: boolean;
}

export interface Registry {
  port: number;
  host: string;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string, o: RegistryOptions = {}): Promise<Registry> {
  mkdirSync(`${dir}/data`, { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dir}/data`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (o.tls) lines.push('  tls:', `    certificate: ${o.tls.certFile}`, `    key: ${o.tls.keyFile}`);
  if (o.tls && o.clientCerts) lines.push('    clientcas:', `      - ${o.tls.caFile}`);
  if (o.htpasswd) {
    writeFileSync(`${dir}/htpasswd`, `${o.htpasswd.user}:${bcrypt.hashSync(o.htpasswd.password, 5)}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: scratchscope-test', `    path: ${dir}/htpasswd`);
  }
  if (o.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${o.token.realm}`,
      `    service: ${o.token.service}`,
      `    issuer: ${o.token.issuer}`,
      `    rootcertbundle: ${o.token.certFile}`,
    );
  }
  writeFileSync(`${dir}/config.yml`, lines.join('\n') + '\n');
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', `${dir}/config.yml`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const scheme = o.tls ? 'https' : 'http';
  const tlsOpts = o.tls
    ? {
        ca: readFileSync(o.tls.caFile),
        ...(o.clientCerts ? { cert: readFileSync(o.tls.clientCertFile), key: readFileSync(o.tls.clientKeyFile) } : {}),
      }
    : {};
  try {
    await waitFor(`docker-registry on ${port}`, () => statusOf(`${scheme}://127.0.0.1:${port}/v2/`, tlsOpts).then((s) => s > 0));
  } catch (e) {
    child.kill();
    throw new Error(`${(e as Error).message}: ${log}`, { cause: e });
  }
  return {
    port,
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

function statusOf(url: string, tls: https.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, tls, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

/** skopeo copy into the registry; returns the manifest digest it wrote. */
export async function push(from: string, to: string, extra: string[] = []): Promise<string> {
  const digestFile = `/tmp/scratchscope-registry-digest-${randomBytes(6).toString('hex')}`;
  await exec('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile, ...extra, from, to], {
    maxBuffer: 16 << 20,
  });
  try {
    return readFileSync(digestFile, 'utf8').trim();
  } finally {
    rmSync(digestFile, { force: true });
  }
}

/** A base64url JSON Web Token signed RS256, the certificate in x5c as distribution's token auth reads it. */
function jwt(claims: object, keyPem: string, certPem: string): string {
  const der = new X509Certificate(certPem).raw.toString('base64');
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = enc({ alg: 'RS256', typ: 'JWT', x5c: [der] });
  const body = enc(claims);
  const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(keyPem).toString('base64url');
  return `${head}.${body}.${sig}`;
}

export interface TokenServer {
  port: number;
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Every token handed out, in order (to check none leaks into output). */
  issued: string[];
  stop(): Promise<void>;
}

/** The bearer token flow (docker's token spec): Basic credentials (or a refresh token) in, a signed JWT out. */
export async function startTokenServer(dir: string, user: string, password: string, refreshToken: string): Promise<TokenServer> {
  mkdirSync(dir, { recursive: true });
  await exec(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'token.key',
      '-out',
      'token.crt',
      '-days',
      '2',
      '-subj',
      '/CN=scratchscope token issuer',
    ],
    { cwd: dir },
  );
  const key = readFileSync(`${dir}/token.key`, 'utf8');
  const cert = readFileSync(`${dir}/token.crt`, 'utf8');
  const service = 'scratchscope-test';
  const issuer = 'scratchscope-token-issuer';
  const issued: string[] = [];
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    let params = url.searchParams;
    let ok = req.headers.authorization === 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
    if (req.method === 'POST') {
      // OAuth2 refresh-token grant: docker's identity tokens
      let body = '';
      for await (const c of req) body += c;
      params = new URLSearchParams(body);
      ok = params.get('grant_type') === 'refresh_token' && params.get('refresh_token') === refreshToken;
    }
    if (!ok) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const access = params.getAll('scope').map((s) => {
      const [type, name, actions = ''] = s.split(':');
      return { type, name, actions: actions.split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const token = jwt(
      { iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access },
      key,
      cert,
    );
    issued.push(token);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(req.method === 'POST' ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }));
  };
  const server = http.createServer((req, res) => void handle(req, res));
  const port = await listen(server);
  return {
    port,
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile: `${dir}/token.crt`,
    issued,
    stop: () => close(server),
  };
}

export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

export function close(server: net.Server): Promise<void> {
  (server as http.Server).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * A proxy in front of a plain-http registry. `hook` sees every request first and may
 * answer it itself (return true); the rest are forwarded, and `rewrite` may change a
 * forwarded answer's body.
 */
export async function startProxy(
  upstream: number,
  hook: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen[]) => boolean | Promise<boolean> = () => false,
): Promise<{ port: number; seen: Seen[]; stop(): Promise<void> }> {
  const seen: Seen[] = [];
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    if (await hook(req, res, seen)) return;
    forward(upstream, req, res);
  };
  const server = http.createServer((req, res) => void handle(req, res));
  const port = await listen(server);
  return { port, seen, stop: () => close(server) };
}

export function forward(
  upstream: number,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  headers: http.OutgoingHttpHeaders = req.headers,
): void {
  const up = http.request(
    { host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: { ...headers, host: `127.0.0.1:${upstream}` } },
    (ur) => {
      // the registry names its own address in Location and realms: point them back here
      const h = { ...ur.headers };
      res.writeHead(ur.statusCode ?? 502, h);
      ur.pipe(res);
    },
  );
  up.on('error', () => res.destroy());
  req.pipe(up);
}

/** Fetches an upstream answer whole, to serve it altered. */
export function fetchUpstream(
  upstream: number,
  req: http.IncomingMessage,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const up = http.request(
      { host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${upstream}` } },
      (ur) => {
        const parts: Buffer[] = [];
        ur.on('data', (c: Buffer) => parts.push(c));
        ur.on('end', () => resolve({ status: ur.statusCode ?? 502, headers: ur.headers, body: Buffer.concat(parts) }));
      },
    );
    up.on('error', reject);
    up.end();
  });
}

/** The parts of a report a transport cannot change (blob digests and compression may). */
export function portable(report: Report): unknown {
  const layers = report.layers.map((l) => omit(l, ['digest', 'mediaType', 'compression', 'storedSize', 'verified']));
  return { ...omit(report, ['source', 'schemaVersion']), layers };
}

/**
 * The Engine API client against engines that misbehave: fake ones made of node net
 * servers in this process (so the CLI runs as a child, asynchronously), each fault
 * answered by one line and an error exit (5: unreachable) in the time --timeout allows.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { tempDir } from './helpers/build.js';
import { type Run, oneLineError } from './helpers/cli.js';

const BIN = new URL('../bin/scratchscope.js', import.meta.url).pathname;
const tmp = tempDir();
const servers: Server[] = [];
const sockets = new Set<Socket>();
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  tmp.cleanup();
});

/** The CLI as a child process, without blocking this process's fake engines. */
function run(args: string[], env: Record<string, string | undefined>, asNobody = false): Promise<Run> {
  const base = [BIN, ...args];
  const [cmd, ...argv] = asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...base]
    : [process.execPath, ...base];
  const child = spawn(cmd, argv, { env: { ...process.env, ...env, HOME: '/nonexistent' }, cwd: '/' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

type Handler = (socket: Socket, request: string) => void;

/** A server that reads each request's head and hands it to `handler` (per connection). */
function fakeEngine(handler: Handler, listen: string | 0 = `${tmp.dir}/engine-${servers.length}.sock`): Promise<string> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (c) => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        const request = head.slice(0, head.indexOf('\r\n'));
        head = '';
        handler(socket, request);
      }
    });
  });
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(listen, () =>
      resolve(typeof listen === 'string' ? `unix://${listen}` : `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function answer(socket: Socket, status: number, body: string, type = 'application/json'): void {
  socket.write(`HTTP/1.1 ${status} X\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** An engine that pings, knows image x, and serves its save through `get`. */
function withImage(get: (socket: Socket) => void): Handler {
  return (socket, request) => {
    if (request.startsWith('GET /_ping ')) answer(socket, 200, 'OK', 'text/plain');
    else if (request.startsWith('GET /images/x/json ')) answer(socket, 200, JSON.stringify({ Id: 'sha256:' + '0'.repeat(64) }));
    else if (request.startsWith('GET /images/x/get ')) get(socket);
    else answer(socket, 404, '{"message":"no such thing"}');
  };
}

function every(ms: number, fn: () => boolean): void {
  const t = setInterval(() => fn() || clearInterval(t), ms);
}

const inspect = (host: string, extra: Record<string, string> = {}, asNobody = false) =>
  run(['inspect', '--timeout', '0.5', 'docker-daemon:x'], { DOCKER_HOST: host, ...extra }, asNobody);

describe('engine faults: one line, an error exit', () => {
  it('no socket at the address', async () => {
    const line = oneLineError(await inspect(`unix://${tmp.dir}/absent.sock`));
    assert.equal(line, `scratchscope: cannot reach a container engine at unix://${tmp.dir}/absent.sock (is it running?): no such socket`);
  });

  it('connection refused', async () => {
    const server = createServer();
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
    await new Promise((r) => server.close(r));
    const line = oneLineError(await inspect(`tcp://127.0.0.1:${port}`));
    assert.equal(line, `scratchscope: cannot reach a container engine at tcp://127.0.0.1:${port} (is it running?): connection refused`);
  });

  it('permission denied on the socket', { skip: process.getuid?.() !== 0 ? 'needs root to drop to nobody' : false }, async () => {
    mkdirSync(`${tmp.dir}/private`, { mode: 0o755 });
    const host = await fakeEngine(() => {}, `${tmp.dir}/private/engine.sock`);
    chmodSync(`${tmp.dir}/private/engine.sock`, 0o600);
    const line = oneLineError(await inspect(host, {}, true));
    assert.equal(line, `scratchscope: permission denied on ${host} (join the docker group, or use sudo)`);
  });

  it('accepts the connection and never answers', async () => {
    const host = await fakeEngine(() => {});
    const line = oneLineError(await inspect(host));
    assert.equal(
      line,
      `scratchscope: the engine at ${host} accepted the connection but did not answer GET /_ping within 0.5 s (is it hung? --timeout raises the limit)`,
    );
  });

  it('--timeout sets how long the engine may stay silent', async () => {
    const host = await fakeEngine(() => {});
    const r = await run(['inspect', '--timeout', '1.5', 'docker-daemon:x'], { DOCKER_HOST: host });
    assert.match(oneLineError(r), /did not answer GET \/_ping within 1\.5 s/);
  });

  it('answers /_ping, then stalls the image download', async () => {
    const host = await fakeEngine(
      withImage((s) =>
        s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n${'a'.repeat(100)}\r\n`),
      ),
    );
    const line = oneLineError(await inspect(host));
    assert.equal(
      line,
      `scratchscope: the engine at ${host} stopped sending image x (GET /images/x/get) after 100 bytes: nothing for 0.5 s (--timeout raises the limit)`,
    );
  });

  it('drips the image one byte at a time', async () => {
    const host = await fakeEngine(
      withImage((s) => {
        s.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n');
        every(50, () => !s.destroyed && s.write('1\r\na\r\n'));
      }),
    );
    const line = oneLineError(await inspect(host));
    assert.match(
      line,
      new RegExp(
        `^scratchscope: the engine at ${host} is sending image x \\(GET /images/x/get\\) too slowly: \\d+ bytes in 0\\.5 s, \\d+ in all \\(--timeout raises the limit\\)$`,
      ),
    );
  });

  it('drips the answer to /_ping', async () => {
    const host = await fakeEngine((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      every(50, () => !s.destroyed && s.write('.'));
    });
    const line = oneLineError(await inspect(host));
    assert.equal(
      line,
      `scratchscope: the engine at ${host} answered GET /_ping but did not finish it within 0.5 s (--timeout raises the limit)`,
    );
  });

  it('closes the connection without answering', async () => {
    const host = await fakeEngine((s) => s.destroy());
    assert.equal(oneLineError(await inspect(host)), `scratchscope: the engine at ${host} closed the connection during GET /_ping`);
  });

  it('speaks something that is not HTTP', async () => {
    const host = await fakeEngine((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n'));
    assert.equal(
      oneLineError(await inspect(host)),
      `scratchscope: the engine at ${host} answered GET /_ping with something that is not HTTP (is that an Engine API?)`,
    );
  });

  it('answers the image query with an error of its own, escaped for the terminal', async () => {
    const host = await fakeEngine((s, req) =>
      req.startsWith('GET /_ping ') ? answer(s, 200, 'OK') : answer(s, 500, JSON.stringify({ message: 'storage \x1b[31mbroken' })),
    );
    assert.equal(
      oneLineError(await inspect(host)),
      `scratchscope: the engine at ${host} refused GET /images/x/json: HTTP 500 storage \\x1b[31mbroken`,
    );
  });
});

describe('TLS as the docker CLI sets it up (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)', () => {
  const certs = `${tmp.dir}/certs`;
  mkdirSync(certs);
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      `${certs}/key.pem`,
      '-out',
      `${certs}/cert.pem`,
    ],
    { encoding: 'utf8' },
  );
  spawnSync('cp', [`${certs}/cert.pem`, `${certs}/ca.pem`]);

  it('talks to an engine over TLS and verifies it against ca.pem', async () => {
    assert.equal(made.status, 0, made.stderr);
    const { readFileSync } = await import('node:fs');
    const server = createHttps({ key: readFileSync(`${certs}/key.pem`), cert: readFileSync(`${certs}/cert.pem`) }, (req, res) => {
      res.writeHead(req.url === '/_ping' ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(req.url === '/_ping' ? 'OK' : '{"message":"No such image: x"}');
    });
    servers.push(server);
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
    const host = `tcp://127.0.0.1:${port}`;
    const tls = await inspect(host, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    assert.equal(oneLineError(tls), `scratchscope: image x not found in the engine at ${host}`);
    const plain = await inspect(host, { DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: certs });
    assert.match(
      oneLineError(plain),
      new RegExp(
        `^scratchscope: the engine at ${host} (closed the connection during GET /_ping|answered GET /_ping with something that is not HTTP)`,
      ),
    );
    const wrongCa = `${tmp.dir}/wrong-ca`;
    mkdirSync(wrongCa);
    spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=other',
      '-keyout',
      `${wrongCa}/key.pem`,
      '-out',
      `${wrongCa}/ca.pem`,
    ]);
    const untrusted = await inspect(host, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: wrongCa });
    assert.match(
      oneLineError(untrusted),
      new RegExp(`^scratchscope: TLS with the engine at ${host} failed: .* \\(check DOCKER_CERT_PATH\\)$`),
    );
  });
});

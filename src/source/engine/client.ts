/**
 * A small Engine API client on node:http (docker and podman speak the same API). Every
 * request is bounded in time: the connection must open within the connect timeout, a
 * small answer must arrive whole within the idle timeout, and a download must keep
 * bringing bytes (an engine that stalls or drips is a fault, not a wait forever).
 * Each fault becomes one ScopeError line that names the engine and what was asked.
 */
import http, { type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { ScopeError } from '../../errors.js';
import { printable } from '../../text.js';
import type { Engine } from './discover.js';

export interface EngineTimeouts {
  connectMs: number;
  idleMs: number;
}

/** Fewer bytes than this in a whole idle window is a drip, not a transfer. */
const MIN_BYTES_PER_WINDOW = 1024;
const DEFAULT_SECONDS = 30;
let defaults: EngineTimeouts = timeoutsFor(DEFAULT_SECONDS);

function timeoutsFor(seconds: number): EngineTimeouts {
  const idleMs = Math.round(seconds * 1000);
  return { idleMs, connectMs: Math.min(idleMs, 10_000) };
}

/** `--timeout SECONDS`: how long the engine may stay silent. */
export function setEngineTimeout(seconds: number): void {
  defaults = timeoutsFor(seconds);
}

function secs(ms: number): string {
  return `${+(ms / 1000).toFixed(1)} s`;
}

const RAISE = '--timeout raises the limit';

export interface Answer {
  status: number;
  body: Buffer;
}

/** Characters an image or container reference may hold stay; anything else is escaped. */
export function pathPart(s: string): string {
  return s.replace(/[^A-Za-z0-9._\-/:@]/g, (c) => encodeURIComponent(c));
}

export class EngineClient {
  constructor(
    readonly engine: Engine,
    private readonly timeouts: EngineTimeouts = defaults,
  ) {}

  /** GET a small answer (JSON, ping, a log tail): all of it within the idle timeout. */
  async get(path: string): Promise<Answer> {
    const { res, socket } = await this.open(path);
    const chunks: Buffer[] = [];
    await this.guard(
      socket,
      path,
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              this.fault(
                `the engine at ${this.engine.address} answered GET ${path} but did not finish it within ${secs(this.timeouts.idleMs)} (${RAISE})`,
              ),
            ),
          this.timeouts.idleMs,
        );
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (clearTimeout(timer), resolve()));
        res.on('error', (e) => (clearTimeout(timer), reject(this.mapError(e, path))));
        res.on('aborted', () => (clearTimeout(timer), reject(this.closed(path))));
      }),
    );
    return { status: res.statusCode ?? 0, body: Buffer.concat(chunks) };
  }

  /** GET JSON; a 404 is null (the caller names what is missing), other failures throw. */
  async json<T>(path: string): Promise<T | null> {
    const a = await this.get(path);
    if (a.status === 404) return null;
    if (a.status < 200 || a.status >= 300) throw this.httpError(path, a);
    try {
      return JSON.parse(a.body.toString('utf8')) as T;
    } catch {
      throw this.fault(
        `the engine at ${this.engine.address} answered GET ${path} with something that is not JSON (is that an Engine API?)`,
      );
    }
  }

  /** GET a stream into `dest`, as long as bytes keep coming; returns the byte count. */
  async download(path: string, dest: Writable, what: string): Promise<number> {
    const { res, socket } = await this.open(path);
    if (res.statusCode !== 200) {
      const body: Buffer[] = [];
      for await (const c of res) body.push(c as Buffer);
      throw this.httpError(path, { status: res.statusCode ?? 0, body: Buffer.concat(body) });
    }
    let total = 0;
    let window = 0;
    let lastByte = Date.now();
    let watchdog: NodeJS.Timeout | undefined;
    let stall: NodeJS.Timeout | undefined;
    const idle = this.timeouts.idleMs;
    const done = new Promise<void>((resolve, reject) => {
      // Silence: nothing at all for the idle timeout, counted from the last byte.
      stall = setTimeout(
        () =>
          reject(
            this.fault(
              `the engine at ${this.engine.address} stopped sending ${what} (GET ${path}) after ${total} bytes: nothing for ${secs(idle)} (${RAISE})`,
            ),
          ),
        idle,
      );
      // A drip: bytes still coming, but too few per window to ever finish.
      watchdog = setInterval(() => {
        if (window < MIN_BYTES_PER_WINDOW && Date.now() - lastByte < idle / 2) {
          reject(
            this.fault(
              `the engine at ${this.engine.address} is sending ${what} (GET ${path}) too slowly: ${window} bytes in ${secs(idle)}, ${total} in all (${RAISE})`,
            ),
          );
        }
        window = 0;
      }, idle);
      res.on('aborted', () => reject(this.closed(path)));
      res.on('error', (e) => reject(this.mapError(e, path)));
      dest.on('error', reject);
      res.on('data', (c: Buffer) => {
        total += c.length;
        window += c.length;
        lastByte = Date.now();
        stall!.refresh();
        if (!dest.write(c)) {
          res.pause();
          dest.once('drain', () => res.resume());
        }
      });
      res.on('end', () => dest.end(() => resolve()));
    });
    try {
      await this.guard(socket, path, done);
    } finally {
      clearInterval(watchdog);
      clearTimeout(stall);
    }
    return total;
  }

  /** Waits for `p`; on failure the connection is dropped so nothing keeps the process alive. */
  private async guard<T>(socket: Socket, path: string, p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      socket.destroy();
      throw e instanceof ScopeError ? e : this.mapError(e, path);
    }
  }

  /** Connects and waits for the status line and headers. */
  private open(path: string): Promise<{ res: IncomingMessage; socket: Socket }> {
    const e = this.engine;
    const opts: RequestOptions = { method: 'GET', path, agent: false, headers: { 'User-Agent': 'scratchscope' } };
    // A unix socket has no host name; the engine wants some Host header all the same.
    if (e.socketPath !== undefined) Object.assign(opts, { socketPath: e.socketPath, headers: { ...opts.headers, Host: 'docker' } });
    else Object.assign(opts, { host: e.host, port: e.port });
    if (e.tls) Object.assign(opts, { ca: e.tls.ca, cert: e.tls.cert, key: e.tls.key, rejectUnauthorized: e.tls.verify });
    return new Promise((resolve, reject) => {
      const req = (e.tls ? https : http).request(opts);
      let settled = false;
      let timer: NodeJS.Timeout;
      const fail = (err: ScopeError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      timer = setTimeout(
        () =>
          fail(
            this.fault(
              `cannot reach a container engine at ${e.address}: no connection within ${secs(this.timeouts.connectMs)} (is it running? ${RAISE})`,
            ),
          ),
        this.timeouts.connectMs,
      );
      req.on('socket', (s: Socket) => {
        const connected = () => {
          clearTimeout(timer);
          timer = setTimeout(
            () =>
              fail(
                this.fault(
                  `the engine at ${e.address} accepted the connection but did not answer GET ${path} within ${secs(this.timeouts.idleMs)} (is it hung? ${RAISE})`,
                ),
              ),
            this.timeouts.idleMs,
          );
        };
        if (s.connecting) s.once(e.tls ? 'secureConnect' : 'connect', connected);
        else connected();
      });
      req.on('error', (err) => fail(this.mapError(err, path)));
      req.on('response', (res) => {
        if (settled) return res.destroy();
        settled = true;
        clearTimeout(timer);
        resolve({ res, socket: res.socket });
      });
      req.end();
    });
  }

  private fault(message: string): ScopeError {
    return new ScopeError('daemon-unavailable', message);
  }

  private closed(path: string): ScopeError {
    return this.fault(`the engine at ${this.engine.address} closed the connection during GET ${path}`);
  }

  private mapError(e: unknown, path: string): ScopeError {
    const err = e as NodeJS.ErrnoException;
    const at = this.engine.address;
    switch (err.code) {
      case 'EACCES':
      case 'EPERM':
        return new ScopeError('permission-denied', `permission denied on ${at} (join the docker group, or use sudo)`);
      case 'ENOENT':
        return this.fault(`cannot reach a container engine at ${at} (is it running?): no such socket`);
      case 'ECONNREFUSED':
        return this.fault(`cannot reach a container engine at ${at} (is it running?): connection refused`);
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return this.fault(`cannot reach a container engine at ${at}: unknown host`);
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return this.fault(`cannot reach a container engine at ${at}: no route to the host`);
      case 'ECONNRESET':
      case 'EPIPE':
        return this.closed(path);
      default:
        if (err.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(err.message ?? '')) {
          return this.fault(`TLS with the engine at ${at} failed: ${err.message} (check DOCKER_CERT_PATH)`);
        }
        if (err.code === 'HPE_INVALID_CONSTANT' || err.code?.startsWith('HPE_')) {
          return this.fault(`the engine at ${at} answered GET ${path} with something that is not HTTP (is that an Engine API?)`);
        }
        return this.fault(`the engine at ${at}: ${printable(err.message ?? String(e))}`);
    }
  }

  private httpError(path: string, a: Answer): ScopeError {
    let detail = a.body.toString('utf8').trim();
    try {
      const parsed = JSON.parse(detail) as { message?: unknown } | null;
      if (typeof parsed?.message === 'string') detail = parsed.message;
    } catch {
      /* plain text */
    }
    return this.fault(
      `the engine at ${this.engine.address} refused GET ${path}: HTTP ${a.status}${detail ? ` ${printable((detail.split('\n')[0] ?? '').slice(0, 200))}` : ''}`,
    );
  }
}

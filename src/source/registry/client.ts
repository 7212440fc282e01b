/**
 * One registry's HTTP side, on undici: https (verified) or, for loopback hosts when https
 * is refused or with --tls-verify=false, plain http; bearer and basic auth negotiated from
 * WWW-Authenticate; redirects followed by hand so the registry's Authorization never goes
 * to another host; 429 (Retry-After), 5xx, resets and timeouts retried with backoff.
 */
import { Agent, type Dispatcher, request } from 'undici';
import { ScopeError } from '../../errors.js';
import { printable } from '../../text.js';
import type { Credentials } from './creds.js';
import { isLoopback } from './reference.js';
import { tlsFor } from './tls.js';

export interface ClientOptions {
  creds: Credentials | null;
  tlsVerify: boolean;
  timeoutMs: number;
}

export type Response = Dispatcher.ResponseData;

export const MAX_TRIES = 4;
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
/** Errors that mean "nothing speaks https there", after which loopback hosts get plain http. */
const NOT_HTTPS = new Set([
  'ECONNREFUSED',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ECONNRESET',
  'UND_ERR_SOCKET',
]);
const MAX_RETRY_AFTER_MS = 60_000;
const MAX_REDIRECTS = 5;

interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** `Bearer realm="…",service="…",scope="…"`; quoted values may hold commas. */
export function parseChallenge(header: string | string[] | undefined): Challenge | null {
  const h = Array.isArray(header) ? (header.find((x) => /^bearer/i.test(x)) ?? header[0]) : header;
  if (!h) return null;
  const m = /^\s*(\w+)\s*(.*)$/.exec(h);
  if (!m) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return null;
  const params: Record<string, string> = {};
  for (const [, key = '', quoted, bare] of (m[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[key.toLowerCase()] = (quoted ?? bare ?? '').replace(/\\(.)/g, '$1');
  return { scheme, params };
}

export function errorCode(e: unknown): string {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  const code = err?.cause?.code ?? err?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : '';
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff with jitter: 0.25 s, 0.5 s, 1 s, … */
export function backoff(attempt: number): number {
  return Math.round(250 * 2 ** attempt * (0.75 + Math.random() * 0.5));
}

function retryAfter(res: Response, attempt: number): number {
  const v = res.headers['retry-after'];
  const text = Array.isArray(v) ? v[0] : v;
  if (text) {
    const secs = Number(text);
    const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(text) - Date.now();
    if (Number.isFinite(ms)) return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
  }
  return backoff(attempt);
}

export function isRetryable(e: unknown): boolean {
  return RETRY_CODES.has(errorCode(e));
}

export class RegistryClient {
  /** host[:port] of the API. */
  readonly host: string;
  readonly repository: string;
  private readonly opts: ClientOptions;
  private base = '';
  private authorization: string | null = null;
  private readonly agents = new Map<string, Agent>();

  constructor(host: string, repository: string, opts: ClientOptions) {
    this.host = host;
    this.repository = repository;
    this.opts = opts;
  }

  /** The origin requests go to, once connect() chose https or http. */
  get origin(): string {
    return this.base;
  }

  private agent(url: URL): Agent {
    let a = this.agents.get(url.origin);
    if (!a) {
      const secure = url.protocol === 'https:';
      const tls = secure && this.opts.tlsVerify ? tlsFor(url.host) : null;
      a = new Agent({
        connect: {
          timeout: this.opts.timeoutMs,
          rejectUnauthorized: this.opts.tlsVerify,
          ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
        },
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      this.agents.set(url.origin, a);
    }
    return a;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.destroy().catch(() => {})));
    this.agents.clear();
  }

  /** A one-line reason for a network failure, naming the host and never a header. */
  describe(e: unknown, url: URL | string = this.base || `https://${this.host}`): ScopeError {
    if (e instanceof ScopeError) return e;
    const host = typeof url === 'string' ? new URL(url).host : url.host;
    const code = errorCode(e);
    const secs = this.opts.timeoutMs / 1000;
    if (TIMEOUT_CODES.has(code))
      return new ScopeError('registry-unavailable', `${host}: no answer within ${secs} s (--timeout), after ${MAX_TRIES} tries`);
    if (code === 'ECONNREFUSED')
      return new ScopeError('registry-unavailable', `${host}: connection refused (is the registry running there?)`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ScopeError('registry-unavailable', `${host}: host not found`);
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new ScopeError(
        'registry-unavailable',
        `${host}: its TLS certificate is not trusted (${code}); put the CA in /etc/docker/certs.d/${host}/ca.crt, or pass --tls-verify=false`,
      );
    }
    if (RETRY_CODES.has(code))
      return new ScopeError('registry-unavailable', `${host}: connection lost (${code}), after ${MAX_TRIES} tries`);
    return new ScopeError(
      'registry-unavailable',
      `${host}: ${code || 'request failed'}${(e as Error)?.message ? ` (${printable((e as Error).message)})` : ''}`,
    );
  }

  /** One request, retried on 429/5xx, resets and timeouts. The last answer is returned whatever it is. */
  private async send(url: URL, headers: Record<string, string>, method: 'GET' | 'POST' = 'GET', body?: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= MAX_TRIES;
      let res: Response;
      try {
        res = await request(url, {
          method,
          headers,
          body,
          dispatcher: this.agent(url),
          headersTimeout: this.opts.timeoutMs,
          bodyTimeout: this.opts.timeoutMs,
        });
      } catch (e) {
        if (last || !isRetryable(e)) throw e;
        await sleep(backoff(attempt));
        continue;
      }
      if (!last && RETRY_STATUS.has(res.statusCode)) {
        await res.body.dump().catch(() => {});
        await sleep(retryAfter(res, attempt));
        continue;
      }
      return res;
    }
  }

  /** Picks https, or plain http where allowed, and learns how the registry wants to be authenticated. */
  async connect(): Promise<void> {
    const secure = new URL(`https://${this.host}/v2/`);
    let res: Response;
    try {
      res = await this.send(secure, {});
      this.base = secure.origin;
    } catch (e) {
      const plainAllowed = !this.opts.tlsVerify || isLoopback(this.host);
      if (!plainAllowed || !NOT_HTTPS.has(errorCode(e))) throw this.describe(e, secure);
      const plain = new URL(`http://${this.host}/v2/`);
      try {
        res = await this.send(plain, {});
      } catch {
        throw this.describe(e, secure); // neither: the https failure says more
      }
      if (res.statusCode === 400) {
        // Go's "client sent an HTTP request to an HTTPS server": https is there but hung up on us
        await res.body.dump().catch(() => {});
        throw new ScopeError(
          'registry-unavailable',
          `${this.host}: the registry closed the TLS connection (${errorCode(e)}); if it asks for a client certificate, put client.cert and client.key in /etc/docker/certs.d/${this.host}/`,
        );
      }
      this.base = plain.origin;
    }
    const challenge = res.statusCode === 401 ? parseChallenge(res.headers['www-authenticate']) : null;
    await res.body.dump().catch(() => {});
    // Without credentials a Basic challenge on /v2/ may still allow anonymous pulls: the manifest answer decides.
    if (challenge && (challenge.scheme === 'bearer' || this.opts.creds)) await this.authenticate(challenge);
    else if (res.statusCode >= 400 && res.statusCode !== 404) throw await this.statusError(res, 'the registry API (/v2/)');
  }

  /**
   * GET a path of the registry API: auth renewed once on 401 (an expired token), redirects
   * followed with Authorization only for the registry's own origin.
   */
  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    for (let renewed = 0; ; renewed++) {
      let url = new URL(this.base + path);
      let res: Response;
      for (let hop = 0; ; hop++) {
        const h = { ...headers };
        if (url.origin === this.base && this.authorization) h.authorization = this.authorization;
        try {
          res = await this.send(url, h);
        } catch (e) {
          throw this.describe(e, url);
        }
        const location = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(res.statusCode) && typeof location === 'string') {
          await res.body.dump().catch(() => {});
          if (hop >= MAX_REDIRECTS) throw new ScopeError('io', `${this.host}: more than ${MAX_REDIRECTS} redirects for ${path}`);
          url = new URL(location, url);
          continue;
        }
        break;
      }
      if (res.statusCode === 401 && url.origin === this.base && renewed < 2) {
        const challenge = parseChallenge(res.headers['www-authenticate']);
        await res.body.dump().catch(() => {});
        if (!challenge) throw new ScopeError('permission-denied', `${this.host}: 401 unauthorized without a WWW-Authenticate challenge`);
        await this.authenticate(challenge);
        continue;
      }
      return res;
    }
  }

  private async authenticate(c: Challenge): Promise<void> {
    const creds = this.opts.creds;
    if (c.scheme === 'basic') {
      if (!creds || !creds.password) throw this.needCredentials();
      this.authorization = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      return;
    }
    const realm = c.params.realm;
    if (!realm) throw new ScopeError('io', `${this.host}: a Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new ScopeError('io', `${this.host}: the token realm is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ScopeError('io', `${this.host}: the token realm is not http(s)`);
    const scope = `repository:${this.repository}:pull`;
    let res: Response;
    try {
      if (creds?.identityToken) {
        // docker's identity tokens are OAuth2 refresh tokens
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: creds.identityToken,
          service: c.params.service ?? '',
          scope,
          client_id: 'scratchscope',
        });
        res = await this.send(url, { 'content-type': 'application/x-www-form-urlencoded' }, 'POST', form.toString());
      } else {
        if (c.params.service) url.searchParams.set('service', c.params.service);
        url.searchParams.set('scope', scope);
        const h: Record<string, string> = {};
        if (creds?.password) h.authorization = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
        res = await this.send(url, h);
      }
    } catch (e) {
      throw this.describe(e, url);
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump().catch(() => {});
      throw creds ? this.refused(creds, `the token server at ${url.host}`) : this.needCredentials();
    }
    if (res.statusCode !== 200) throw await this.statusError(res, `the token server at ${url.host}`);
    let body: Record<string, unknown>;
    try {
      body = (await res.body.json()) as Record<string, unknown>;
    } catch {
      throw new ScopeError('io', `${url.host}: the token server's answer is not JSON`);
    }
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : null;
    if (!token) throw new ScopeError('io', `${url.host}: the token server's answer holds no token`);
    this.authorization = `Bearer ${token}`;
  }

  needCredentials(): ScopeError {
    return new ScopeError(
      'permission-denied',
      `${this.host}: ${this.repository} needs credentials: pass --creds USER:PASSWORD or --creds-stdin, or log in with docker login / podman login`,
    );
  }

  refused(creds: Credentials, by: string): ScopeError {
    return new ScopeError('permission-denied', `${this.host}: ${by} refused the credentials from ${creds.source}`);
  }

  /** A registry error answer as one line: status, and the registry's own error code and message. */
  async statusError(res: Response, what: string): Promise<ScopeError> {
    let detail = '';
    try {
      const text = (await res.body.text()).slice(0, 4096);
      const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      const first = j.errors?.[0];
      if (first) detail = `: ${[first.code, first.message].filter(Boolean).join(' ')}`;
    } catch {
      /* not the registry's JSON error format */
    }
    detail = printable(detail.slice(0, 300));
    const s = res.statusCode;
    if (s === 401) return this.opts.creds ? this.refused(this.opts.creds, 'the registry') : this.needCredentials();
    if (s === 403) return new ScopeError('permission-denied', `${this.host}: access to ${what} denied (403)${detail}`);
    if (s === 404) return new ScopeError('not-found', `${this.host}: ${what} not found (404)${detail}`);
    if (s === 429)
      return new ScopeError('registry-unavailable', `${this.host}: too many requests (429) for ${what}, after ${MAX_TRIES} tries${detail}`);
    return new ScopeError(s >= 500 ? 'registry-unavailable' : 'io', `${this.host}: ${what}: HTTP ${s}${detail}`);
  }
}

/**
 * A registry that misbehaves, through a proxy in front of a real docker-registry: rate
 * limits, a connection cut mid-layer, a tampered manifest, a schema 1 manifest, a server
 * that never answers. Each ends in the right image or one clear line, in bounded time,
 * with no secret in the output or the process title.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import {
  NO_REGISTRY,
  type Registry,
  close,
  fetchUpstream,
  listen,
  portable,
  push,
  run,
  startProxy,
  startRegistry,
  waitFor,
} from './helpers/registry.js';
import { parseReport } from './helpers/json.js';

const FX = new URL('../fixtures/images/', import.meta.url).pathname;

let tmp: string;
let env: Record<string, string>;
let reg: Registry;
let want: unknown;

async function inspect(ref: string, args: string[] = []) {
  return run(['inspect', '--json', ref, ...args], env);
}

const isLayerGet = (req: { method?: string; url?: string }) => req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');

describe('registry faults', { skip: NO_REGISTRY }, () => {
  before(async () => {
    tmp = mkdtempSync(`${tmpdir()}/scratchscope-registry-faults-`);
    mkdirSync(`${tmp}/home`);
    env = { HOME: `${tmp}/home`, DOCKER_CONFIG: `${tmp}/home/.docker`, XDG_RUNTIME_DIR: `${tmp}/home/run` };
    delete process.env.REGISTRY_AUTH_FILE;
    reg = await startRegistry(`${tmp}/reg`);
    await push(`docker-archive:${FX}layers.docker.tar`, `docker://${reg.host}/layers:1`);
    const local = await run(['inspect', '--json', `${FX}layers.docker.tar`]);
    want = portable(parseReport(local.stdout));
  });
  after(async () => {
    await reg.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('429 with Retry-After is waited out and retried', async () => {
    let manifests = 0;
    const p = await startProxy(reg.port, (req, res) => {
      if (/\/manifests\//.test(req.url ?? '') && ++manifests === 1) {
        res
          .writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' })
          .end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
        return true;
      }
      return false;
    });
    try {
      const r = await inspect(`docker://127.0.0.1:${p.port}/layers:1`);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(portable(parseReport(r.stdout)), want);
      assert.equal(manifests, 2);
    } finally {
      await p.stop();
    }
  });

  it('a connection cut mid-layer resumes with a Range request', async () => {
    let cut = null as { path: string; sent: number } | null;
    let blobs = 0;
    const p = await startProxy(reg.port, async (req, res) => {
      // the second blob asked for is a layer (the config comes first)
      if (!isLayerGet(req) || ++blobs !== 2 || cut) return false;
      const up = await fetchUpstream(reg.port, req);
      const sent = Math.floor(up.body.length / 2);
      cut = { path: req.url!, sent };
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(up.body.length) });
      res.write(up.body.subarray(0, sent), () => res.socket?.destroy());
      return true;
    });
    try {
      const r = await inspect(`docker://127.0.0.1:${p.port}/layers:1`, ['--max-concurrent', '1']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(portable(parseReport(r.stdout)), want);
      assert.ok(cut, 'no layer was cut');
      const { path, sent } = cut;
      const resumed = p.seen.filter((s) => s.path === path && s.headers.range);
      assert.equal(resumed.length, 1);
      const from = Number(/^bytes=(\d+)-$/.exec(String(resumed[0]?.headers.range))?.[1]);
      assert.ok(from > 0 && from <= sent, `resumed from ${from} after ${sent} bytes`);
    } finally {
      await p.stop();
    }
  });

  it('a manifest that does not match its digest is refused', async () => {
    const good = parseReport((await inspect(`docker://${reg.host}/layers:1`)).stdout).source.manifestDigest;
    assert.ok(good);
    const p = await startProxy(reg.port, async (req, res) => {
      if (!/\/manifests\//.test(req.url ?? '')) return false;
      const up = await fetchUpstream(reg.port, req);
      const body = Buffer.concat([up.body, Buffer.from(' ')]);
      res.writeHead(up.status, { ...up.headers, 'content-length': String(body.length) }).end(body);
      return true;
    });
    try {
      const byDigest = await inspect(`docker://127.0.0.1:${p.port}/layers@${good}`);
      assert.equal(byDigest.status, 3);
      assert.match(
        byDigest.stderr,
        new RegExp(
          `^scratchscope: 127\\.0\\.0\\.1:\\d+: the manifest of 127\\.0\\.0\\.1:\\d+/layers@${good} does not match its digest ${good} \\(got sha256:[0-9a-f]{64}\\)\\n$`,
        ),
      );
      // by tag, the registry's Docker-Content-Digest is the one to match
      const byTag = await inspect(`docker://127.0.0.1:${p.port}/layers:1`);
      assert.match(byTag.stderr, /^scratchscope: .*: the manifest of .*layers:1 does not match its digest sha256:/);
    } finally {
      await p.stop();
    }
  });

  it('a schema 1 manifest is refused clearly', async () => {
    const p = await startProxy(reg.port, (req, res) => {
      if (!/\/manifests\//.test(req.url ?? '')) return false;
      res
        .writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' })
        .end(JSON.stringify({ schemaVersion: 1, name: 'layers', tag: '1', fsLayers: [], history: [] }));
      return true;
    });
    try {
      const r = await inspect(`docker://127.0.0.1:${p.port}/layers:1`);
      assert.match(
        r.stderr,
        /^scratchscope: 127\.0\.0\.1:\d+: 127\.0\.0\.1:\d+\/layers:1 has only a Docker schema 1 manifest, which is deprecated and not read; push it again with a current docker, podman or skopeo\n$/,
      );
    } finally {
      await p.stop();
    }
  });

  it('a registry that never answers: one line after --timeout, credentials out of the process title', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    const port = await listen(silent);
    const secret = 'hush-5e1b2c-password';
    let cmdline = '';
    try {
      const r = await run(
        ['inspect', `docker://127.0.0.1:${port}/x:1`, '--timeout', '0.5', '--creds', `u:${secret}`],
        env,
        undefined,
        (pid) => {
          void waitFor('the process title', () => {
            cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            return cmdline.startsWith('scratchscope');
          });
        },
      );
      assert.equal(r.status, 5);
      assert.match(r.stderr, /^scratchscope: 127\.0\.0\.1:\d+: no answer within 0\.5 s \(--timeout\), after 4 tries\n$/);
      assert.ok(cmdline.startsWith('scratchscope'), `process title: ${cmdline}`);
      assert.ok(!cmdline.includes(secret) && !r.stderr.includes(secret));
    } finally {
      for (const s of sockets) s.destroy();
      await close(silent);
    }
  });

  it('a layer that stalls mid-body: resumed, then given up after --timeout', async () => {
    const manifest = await fetch(`http://${reg.host}/v2/layers/manifests/1`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    }).then((r) => r.json() as Promise<{ layers: { digest: string }[] }>);
    const layers = manifest.layers.map((l) => l.digest);
    const p = await startProxy(reg.port, async (req, res) => {
      if (!isLayerGet(req) || !layers.some((d) => req.url!.endsWith(d))) return false;
      const up = await fetchUpstream(reg.port, req);
      res.writeHead(req.headers.range ? 206 : 200, { 'content-length': String(up.body.length) });
      res.write(up.body.subarray(0, 1024)); // then silence
      return true;
    });
    try {
      const r = await inspect(`docker://127.0.0.1:${p.port}/layers:1`, ['--timeout', '0.5']);
      assert.equal(r.status, 5);
      assert.match(
        r.stderr,
        /^scratchscope: layer \d \(sha256:[0-9a-f]{12}\): 127\.0\.0\.1:\d+: no answer within 0\.5 s \(--timeout\), after 4 tries\n$/,
      );
      assert.ok(
        p.seen.some((s) => s.headers.range),
        'never tried to resume',
      );
    } finally {
      await p.stop();
    }
  });
});

/**
 * Images read straight from a real registry (Debian's docker-registry, distribution 2.8,
 * on loopback): anonymous, htpasswd, token auth, TLS through certs.d, multi-platform
 * indexes, a redirecting blob store. Each report must equal the one of the `docker save`
 * the image was pushed from, in everything that does not depend on the transport.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, cpSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { parseRegistryRef } from '../src/source/registry/reference.js';
import {
  NO_REGISTRY,
  type Registry,
  type TokenServer,
  type Tls,
  forward,
  makeTls,
  portable,
  push,
  run,
  startProxy,
  startRegistry,
  startTokenServer,
} from './helpers/registry.js';
import { parseReport, readJson } from './helpers/json.js';
import type { Report } from '../src/report/index.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}
interface OciIndex {
  manifests: Descriptor[];
}
interface OciManifest {
  config: Descriptor;
  layers: Descriptor[];
}

const FX = new URL('../fixtures/images/', import.meta.url).pathname;
const IMAGES = ['hello', 'broken', 'layers'];
const USER = 'scratch';
const PASSWORD = 'pw-7f3a9c1e-secret';
const REFRESH = 'refresh-0d9e2b7a-identity';

async function inspect(ref: string, args: string[] = [], env: Record<string, string> = {}, input?: string): Promise<Report> {
  const r = await run(['inspect', '--json', ref, ...args], env, input);
  assert.equal(r.status, 0, `inspect ${ref} failed: ${r.stderr}`);
  return parseReport(r.stdout);
}

async function files(ref: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const r = await run(['files', '--json', ref, ...args], env);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const expected = new Map<string, { report: unknown; files: string }>();
async function local(name: string) {
  if (!expected.has(name)) {
    const ref = `docker-archive:${FX}${name}.docker.tar`;
    expected.set(name, { report: portable(await inspect(ref)), files: await files(ref) });
  }
  return expected.get(name)!;
}

/** Same verdict, diagnostics, layers (diff ids), files and binaries as the docker save. */
async function assertSame(name: string, ref: string, args: string[] = [], env: Record<string, string> = {}, input?: string) {
  const report = await inspect(ref, args, env, input);
  assert.equal(report.source.kind, 'registry');
  assert.deepEqual(portable(report), (await local(name)).report);
  return report;
}

describe('references, as the distribution reference grammar reads them', () => {
  const ok: [string, string, string, string | null, string | null][] = [
    ['busybox', 'docker.io', 'library/busybox', 'latest', null],
    ['library/busybox:1.36', 'docker.io', 'library/busybox', '1.36', null],
    ['index.docker.io/user/app', 'docker.io', 'user/app', 'latest', null],
    ['localhost/app:v1', 'localhost', 'app', 'v1', null],
    ['localhost:5000/a/b/c', 'localhost:5000', 'a/b/c', 'latest', null],
    ['registry.example.com:8443/team/app_x.y-z', 'registry.example.com:8443', 'team/app_x.y-z', 'latest', null],
    [`app:${'t'.repeat(128)}`, 'docker.io', 'library/app', 't'.repeat(128), null],
    [`127.0.0.1:5000/a@sha256:${'a'.repeat(64)}`, '127.0.0.1:5000', 'a', null, `sha256:${'a'.repeat(64)}`],
    [`ghcr.io/o/r:v1@sha256:${'b'.repeat(64)}`, 'ghcr.io', 'o/r', 'v1', `sha256:${'b'.repeat(64)}`],
  ];
  for (const [text, registry, repository, tag, digest] of ok) {
    it(`${text.slice(0, 50)} is ${registry}/${repository}`, () =>
      assert.deepEqual(parseRegistryRef(text), { registry, repository, tag, digest }));
  }
  for (const bad of ['Busybox', 'user/App', `app:${'t'.repeat(129)}`, 'app@sha256:abc', 'a..b', '-a', 'app:', 'host:/app', '']) {
    it(`${JSON.stringify(bad.slice(0, 40))} is refused`, () => assert.throws(() => parseRegistryRef(bad), /not an image reference/));
  }
});

let tmp: string;
/** A clean HOME and DOCKER_CONFIG for every run: no credentials or certificates of the machine. */
let cleanEnv: Record<string, string>;

before(() => {
  tmp = mkdtempSync(`${tmpdir()}/scratchscope-registry-`);
  mkdirSync(`${tmp}/home`);
  cleanEnv = { HOME: `${tmp}/home`, DOCKER_CONFIG: `${tmp}/home/.docker`, XDG_RUNTIME_DIR: `${tmp}/home/run`, REGISTRY_AUTH_FILE: '' };
  delete process.env.REGISTRY_AUTH_FILE;
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('anonymous registry', { skip: NO_REGISTRY }, () => {
  let reg: Registry;
  before(async () => {
    reg = await startRegistry(`${tmp}/anon`);
    for (const n of IMAGES) await push(`docker-archive:${FX}${n}.docker.tar`, `docker://${reg.host}/${n}:1`);
  });
  after(() => reg.stop());

  for (const n of IMAGES) {
    it(`${n}: docker://, registry: and a bare name read the same image as its docker save`, async () => {
      const r = await assertSame(n, `docker://${reg.host}/${n}:1`, [], cleanEnv);
      assert.equal(r.source.location, `http://${reg.host}/v2/${n}`);
      await assertSame(n, `registry:${reg.host}/${n}:1`, [], cleanEnv);
      // not a path, not in the local engine: the registry
      await assertSame(n, `${reg.host}/${n}:1`, [], cleanEnv);
      assert.equal(await files(`docker://${reg.host}/${n}:1`, [], cleanEnv), (await local(n)).files);
    });
  }

  it('by digest, and cat streams a file out of a registry layer', async () => {
    const r = await inspect(`docker://${reg.host}/layers:1`, [], cleanEnv);
    const digest = r.source.manifestDigest;
    assert.ok(digest);
    await assertSame('layers', `docker://${reg.host}/layers@${digest}`, ['--max-concurrent', '1'], cleanEnv);
    const fromRegistry = await run(['cat', `docker://${reg.host}/hello:1`, '/hello'], cleanEnv);
    const fromArchive = await run(['cat', `${FX}hello.docker.tar`, '/hello'], cleanEnv);
    assert.equal(fromRegistry.status, 0, fromRegistry.stderr);
    assert.equal(fromRegistry.stdout, fromArchive.stdout);
  });

  it('a missing tag and a malformed reference are one clear line', async () => {
    const missing = await run(['inspect', `docker://${reg.host}/hello:nope`], cleanEnv);
    assert.equal(missing.status, 4);
    assert.match(
      missing.stderr,
      /^scratchscope: 127\.0\.0\.1:\d+: manifest 127\.0\.0\.1:\d+\/hello:nope not found \(404\): MANIFEST_UNKNOWN/,
    );
    const bad = await run(['inspect', `docker://${reg.host}/Hello:1`], cleanEnv);
    assert.match(
      bad.stderr,
      /^scratchscope: 127\.0\.0\.1:\d+\/Hello:1: not an image reference \(invalid reference format: repository name must be lowercase\)\n$/,
    );
    const longTag = await run(['inspect', `docker://${reg.host}/hello:${'t'.repeat(129)}`], cleanEnv);
    assert.match(longTag.stderr, /not an image reference \(invalid reference format\)/);
  });
});

describe('multi-platform: OCI index and Docker manifest list', { skip: NO_REGISTRY }, () => {
  let reg: Registry;
  const digests: Record<'oci' | 'v2s2', Record<string, string>> = { oci: {}, v2s2: {} };
  const layouts: Record<string, string> = {};
  before(async () => {
    reg = await startRegistry(`${tmp}/multi`);
    // two platforms of one image: the amd64 docker save, and the same layers with an arm64 config
    const amd = `${tmp}/layout-amd64`;
    await push(`docker-archive:${FX}layers.docker.tar`, `oci:${amd}:img`);
    const arm = `${tmp}/layout-arm64`;
    cpSync(amd, arm, { recursive: true });
    const index = readJson<OciIndex>(`${arm}/index.json`);
    const [first] = index.manifests;
    assert.ok(first);
    const mPath = `${arm}/blobs/sha256/${first.digest.slice(7)}`;
    const manifest = readJson<OciManifest>(mPath);
    const config = readJson<Record<string, unknown>>(`${arm}/blobs/sha256/${manifest.config.digest.slice(7)}`);
    Object.assign(config, { architecture: 'arm64', variant: 'v8' });
    const cBytes = Buffer.from(JSON.stringify(config));
    const cDigest = createHash('sha256').update(cBytes).digest('hex');
    writeFileSync(`${arm}/blobs/sha256/${cDigest}`, cBytes);
    manifest.config = { ...manifest.config, digest: `sha256:${cDigest}`, size: cBytes.length };
    const mBytes = Buffer.from(JSON.stringify(manifest));
    const mDigest = createHash('sha256').update(mBytes).digest('hex');
    writeFileSync(`${arm}/blobs/sha256/${mDigest}`, mBytes);
    index.manifests[0] = { ...first, digest: `sha256:${mDigest}`, size: mBytes.length };
    writeFileSync(`${arm}/index.json`, JSON.stringify(index));
    Object.assign(layouts, { amd64: amd, arm64: arm });
    for (const format of ['oci', 'v2s2'] as const) {
      for (const arch of ['amd64', 'arm64'])
        digests[format][arch] = await push(`oci:${layouts[arch]}:img`, `docker://${reg.host}/multi:${format}-${arch}`, [
          '--format',
          format,
        ]);
      const list = {
        schemaVersion: 2,
        mediaType:
          format === 'oci' ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [
          ...(['amd64', 'arm64'] as const).map((arch) => {
            const digest = digests[format][arch];
            assert.ok(digest);
            const raw = readFileSync(`${tmp}/multi/data/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`);
            return {
              mediaType:
                format === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
              digest,
              size: raw.length,
              platform: arch === 'arm64' ? { architecture: 'arm64', os: 'linux', variant: 'v8' } : { architecture: 'amd64', os: 'linux' },
            };
          }),
          // an attestation, as buildx adds: never a candidate
          ...(format === 'oci'
            ? [
                {
                  mediaType: 'application/vnd.oci.image.manifest.v1+json',
                  digest: digests.oci.amd64,
                  size: 1,
                  platform: { architecture: 'unknown', os: 'unknown' },
                  annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
                },
              ]
            : []),
        ],
      };
      const res = await fetch(`http://${reg.host}/v2/multi/manifests/${format}`, {
        method: 'PUT',
        headers: { 'content-type': list.mediaType },
        body: JSON.stringify(list),
      });
      assert.equal(res.status, 201, await res.text());
    }
  });
  after(() => reg.stop());

  for (const format of ['oci', 'v2s2'] as const) {
    it(`${format === 'oci' ? 'OCI index' : 'Docker manifest list'}: --platform picks, the host's is the default, an absent one is listed`, async () => {
      const ref = `docker://${reg.host}/multi:${format}`;
      for (const arch of ['amd64', 'arm64']) {
        const want = portable(await inspect(`oci:${layouts[arch]}:img`, arch === 'arm64' ? ['--platform', 'linux/arm64'] : []));
        const got = await inspect(ref, ['--platform', arch === 'arm64' ? 'linux/arm64' : 'linux/amd64'], cleanEnv);
        assert.deepEqual(portable(got), want);
        const src = got.source;
        assert.equal(src.platform, arch === 'arm64' ? 'linux/arm64/v8' : 'linux/amd64');
        assert.equal(src.manifestDigest, digests[format][arch]);
      }
      const host = await inspect(ref, [], cleanEnv);
      assert.equal(host.source.platform, 'linux/amd64');
      const absent = await run(['inspect', ref, '--platform', 'linux/s390x'], cleanEnv);
      assert.match(
        absent.stderr,
        /^scratchscope: 127\.0\.0\.1:\d+\/multi:\w+: no image for linux\/s390x; available: linux\/amd64, linux\/arm64\/v8\n$/,
      );
    });
  }
});

describe('htpasswd (basic auth), and a blob store it redirects to', { skip: NO_REGISTRY }, () => {
  let reg: Registry;
  before(async () => {
    reg = await startRegistry(`${tmp}/basic`, { htpasswd: { user: USER, password: PASSWORD } });
    await push(`docker-archive:${FX}layers.docker.tar`, `docker://${reg.host}/layers:1`, ['--dest-creds', `${USER}:${PASSWORD}`]);
  });
  after(() => reg.stop());

  it('--creds, --creds-stdin, config.json auths and a credential helper', async () => {
    const ref = `docker://${reg.host}/layers:1`;
    await assertSame('layers', ref, ['--creds', `${USER}:${PASSWORD}`], cleanEnv);
    await assertSame('layers', ref, ['--creds-stdin'], cleanEnv, `${USER}:${PASSWORD}\n`);
    const cfg = `${tmp}/dockercfg`;
    mkdirSync(cfg, { recursive: true });
    writeFileSync(
      `${cfg}/config.json`,
      JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
    await assertSame('layers', ref, [], { ...cleanEnv, DOCKER_CONFIG: cfg });
    // podman's auth file comes first
    writeFileSync(
      `${tmp}/auth.json`,
      JSON.stringify({ auths: { [`${reg.host}/layers`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
    await assertSame('layers', ref, [], { ...cleanEnv, REGISTRY_AUTH_FILE: `${tmp}/auth.json` });
    // docker-credential-NAME get: the server on stdin, JSON out
    const bin = `${tmp}/bin`;
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      `${bin}/docker-credential-scratchtest`,
      `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "${reg.host}" ] || exit 1\necho '{"ServerURL":"${reg.host}","Username":"${USER}","Secret":"${PASSWORD}"}'\n`,
      { mode: 0o755 },
    );
    const helperCfg = `${tmp}/helpercfg`;
    mkdirSync(helperCfg, { recursive: true });
    writeFileSync(`${helperCfg}/config.json`, JSON.stringify({ credHelpers: { [reg.host]: 'scratchtest' } }));
    await assertSame('layers', ref, [], { ...cleanEnv, DOCKER_CONFIG: helperCfg, PATH: `${bin}:${process.env.PATH}` });
    writeFileSync(`${helperCfg}/config.json`, JSON.stringify({ credsStore: 'scratchtest', auths: { [reg.host]: {} } }));
    await assertSame('layers', ref, [], { ...cleanEnv, DOCKER_CONFIG: helperCfg, PATH: `${bin}:${process.env.PATH}` });
    // podman's default place when REGISTRY_AUTH_FILE is unset
    mkdirSync(`${tmp}/xdg/containers`, { recursive: true });
    copyFileSync(`${tmp}/auth.json`, `${tmp}/xdg/containers/auth.json`);
    await assertSame('layers', ref, [], { ...cleanEnv, XDG_RUNTIME_DIR: `${tmp}/xdg` });
  });

  it('no credentials, and a wrong password: one line, no secret', async () => {
    const ref = `docker://${reg.host}/layers:1`;
    const none = await run(['inspect', ref], cleanEnv);
    assert.match(
      none.stderr,
      /^scratchscope: 127\.0\.0\.1:\d+: layers needs credentials: pass --creds USER:PASSWORD or --creds-stdin, or log in with docker login \/ podman login\n$/,
    );
    const wrong = await run(['inspect', ref, '--creds', `${USER}:wrong-${PASSWORD}`], cleanEnv);
    assert.equal(wrong.status, 3);
    assert.match(wrong.stderr, /^scratchscope: 127\.0\.0\.1:\d+: the registry refused the credentials from --creds\n$/);
    assert.ok(!(wrong.stdout + wrong.stderr).includes(PASSWORD));
    const stdin = await run(['inspect', ref, '--creds-stdin'], cleanEnv, `${USER}:wrong-${PASSWORD}\n`);
    assert.match(stdin.stderr, /refused the credentials from --creds-stdin\n$/);
  });

  it('follows a redirect to blob storage without sending the registry credentials there', async () => {
    // the "storage" serves blobs on another origin; it holds its own access to the registry
    const storageAuth = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    const storage = await startProxy(reg.port, (req, res) => {
      forward(reg.port, req, res, { ...req.headers, authorization: storageAuth });
      return true;
    });
    const front = await startProxy(reg.port, (req, res) => {
      if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) {
        res.writeHead(307, { location: `http://127.0.0.1:${storage.port}${req.url}` }).end();
        return true;
      }
      return false;
    });
    try {
      await assertSame('layers', `docker://127.0.0.1:${front.port}/layers:1`, ['--creds', `${USER}:${PASSWORD}`], cleanEnv);
      const blobGets = front.seen.filter((s) => s.path.includes('/blobs/'));
      assert.ok(
        blobGets.length >= 2 && blobGets.every((s) => s.headers.authorization?.startsWith('Basic ')),
        'the registry itself got the credentials',
      );
      assert.ok(storage.seen.length >= blobGets.length);
      assert.deepEqual(
        storage.seen.filter((s) => s.headers.authorization),
        [],
        'Authorization forwarded to the blob store',
      );
    } finally {
      await front.stop();
      await storage.stop();
    }
  });
});

describe('token auth (bearer), with a token server of the test', { skip: NO_REGISTRY }, () => {
  let tokens: TokenServer;
  let reg: Registry;
  before(async () => {
    tokens = await startTokenServer(`${tmp}/tokens`, USER, PASSWORD, REFRESH);
    reg = await startRegistry(`${tmp}/token`, { token: tokens });
    await push(`docker-archive:${FX}layers.docker.tar`, `docker://${reg.host}/team/layers:1`, ['--dest-creds', `${USER}:${PASSWORD}`]);
  });
  after(async () => {
    await reg.stop();
    await tokens.stop();
  });

  it('gets a token with the credentials, and none is printed', async () => {
    const before = tokens.issued.length;
    const r = await run(['inspect', '--json', `docker://${reg.host}/team/layers:1`, '--creds', `${USER}:${PASSWORD}`], cleanEnv);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(portable(parseReport(r.stdout)), (await local('layers')).report);
    const mine = tokens.issued.slice(before);
    assert.ok(mine.length >= 1);
    for (const t of mine) {
      const signature = t.split('.')[2];
      assert.ok(signature);
      assert.ok(!(r.stdout + r.stderr).includes(signature));
    }
  });

  it('an identitytoken from config.json is exchanged for a token (OAuth2 refresh grant)', async () => {
    const cfg = `${tmp}/identitycfg`;
    mkdirSync(cfg, { recursive: true });
    writeFileSync(
      `${cfg}/config.json`,
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('<token>:').toString('base64'), identitytoken: REFRESH } } }),
    );
    const r = await run(['inspect', '--json', `docker://${reg.host}/team/layers:1`], { ...cleanEnv, DOCKER_CONFIG: cfg });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(portable(parseReport(r.stdout)), (await local('layers')).report);
    assert.ok(!(r.stdout + r.stderr).includes(REFRESH));
  });

  it('wrong password at the token server', async () => {
    const r = await run(['inspect', `docker://${reg.host}/team/layers:1`, '--creds', `${USER}:nope-${PASSWORD}`], cleanEnv);
    assert.match(r.stderr, /^scratchscope: 127\.0\.0\.1:\d+: the token server at 127\.0\.0\.1:\d+ refused the credentials from --creds\n$/);
    assert.ok(!r.stderr.includes(PASSWORD));
  });

  it('a token that expires mid-pull (401 on a blob) is renewed once', async () => {
    let blobs = 0;
    const front = await startProxy(reg.port, (req, res) => {
      if (req.method === 'GET' && (req.url ?? '').includes('/blobs/') && ++blobs === 2) {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${tokens.realm}",service="${tokens.service}",scope="repository:team/layers:pull",error="invalid_token"`,
          'content-type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}');
        return true;
      }
      return false;
    });
    try {
      const before = tokens.issued.length;
      await assertSame(
        'layers',
        `docker://127.0.0.1:${front.port}/team/layers:1`,
        ['--creds', `${USER}:${PASSWORD}`, '--max-concurrent', '1'],
        cleanEnv,
      );
      assert.equal(tokens.issued.length - before, 2, 'one token, then one renewal');
    } finally {
      await front.stop();
    }
  });
});

describe('TLS with a CA found through certs.d', { skip: NO_REGISTRY }, () => {
  let tls: Tls;
  let reg: Registry;
  before(async () => {
    tls = await makeTls(`${tmp}/tls`);
    reg = await startRegistry(`${tmp}/tlsreg`, { tls });
    await push(`docker-archive:${FX}layers.docker.tar`, `docker://${reg.host}/layers:1`);
  });
  after(() => reg.stop());

  it('is refused until the CA is in certs.d; --tls-verify=false reads it without', async () => {
    const ref = `docker://${reg.host}/layers:1`;
    const refused = await run(['inspect', ref], cleanEnv);
    assert.match(
      refused.stderr,
      /^scratchscope: 127\.0\.0\.1:\d+: its TLS certificate is not trusted \(\w+\); put the CA in \/etc\/docker\/certs\.d\/127\.0\.0\.1:\d+\/ca\.crt, or pass --tls-verify=false\n$/,
    );
    const r = await assertSame('layers', ref, ['--tls-verify=false'], cleanEnv);
    assert.equal(r.source.location, `https://${reg.host}/v2/layers`);
    // containers-certs.d(5): $HOME/.config/containers/certs.d/HOST:PORT/ca.crt
    const home = `${tmp}/tlshome`;
    mkdirSync(`${home}/.config/containers/certs.d/${reg.host}`, { recursive: true });
    copyFileSync(tls.caFile, `${home}/.config/containers/certs.d/${reg.host}/ca.crt`);
    await assertSame('layers', ref, [], { ...cleanEnv, HOME: home });
  });

  it('a registry that asks for a client certificate gets the one in certs.d', async () => {
    const mtls = await startRegistry(`${tmp}/mtlsreg`, { tls, clientCerts: true });
    try {
      const certDir = `${tmp}/pushcerts`;
      mkdirSync(certDir, { recursive: true });
      copyFileSync(tls.clientCertFile, `${certDir}/client.cert`);
      copyFileSync(tls.clientKeyFile, `${certDir}/client.key`);
      await push(`docker-archive:${FX}layers.docker.tar`, `docker://${mtls.host}/layers:1`, ['--dest-cert-dir', certDir]);
      const ref = `docker://${mtls.host}/layers:1`;
      const home = `${tmp}/mtlshome`;
      const dir = `${home}/.config/containers/certs.d/${mtls.host}`;
      mkdirSync(dir, { recursive: true });
      copyFileSync(tls.caFile, `${dir}/ca.crt`);
      const without = await run(['inspect', ref, '--timeout', '5'], { ...cleanEnv, HOME: home });
      assert.equal(without.status, 5);
      assert.match(
        without.stderr,
        /^scratchscope: 127\.0\.0\.1:\d+: the registry closed the TLS connection \(\w+\); if it asks for a client certificate, put client\.cert and client\.key in \/etc\/docker\/certs\.d\/127\.0\.0\.1:\d+\/\n$/,
      );
      copyFileSync(tls.clientCertFile, `${dir}/client.cert`);
      copyFileSync(tls.clientKeyFile, `${dir}/client.key`);
      await assertSame('layers', ref, [], { ...cleanEnv, HOME: home });
    } finally {
      await mtls.stop();
    }
  });
});

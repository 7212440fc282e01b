/**
 * scratchscope as an image (the Dockerfile at the root): built by the engine CI starts on
 * a Node base made here (no Docker Hub: fixtures/image/node-base.sh), then run the two
 * documented ways, with the engine's socket mounted and with a folder mounted at /data.
 * The build stage installs from the npm registry, so the build uses the host's network.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { docker, engineAvailable } from './helpers/engine.js';
import { assertSchema } from './helpers/schema.js';
import { parseReport } from './helpers/json.js';

const REPO = new URL('..', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;
const BASE = 'container-scratchscope/node-base';
const IMAGE = 'container-scratchscope/scratchscope';

/** `docker run --rm --network none`, with these options before the image and these arguments after it. */
function runImage(options: string[], args: string[]) {
  return docker(['run', '--rm', '--network', 'none', ...options, IMAGE, ...args]);
}

describe('the scratchscope image', { skip, timeout: 1_800_000 }, () => {
  before(() => {
    const base = spawnSync('bash', [`${REPO}fixtures/image/node-base.sh`, BASE], { encoding: 'utf8', timeout: 900_000 });
    assert.equal(base.status, 0, base.stderr);
    const args = ['build', '-q', '--network', 'host', '--build-arg', `BASE=${BASE}`, '-t', IMAGE, REPO];
    // a TLS-inspecting proxy's CA, where the machine has one: the base carries the same bundle
    if (process.env.NODE_EXTRA_CA_CERTS) args.splice(2, 0, '--build-arg', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
    if (process.env.npm_config_registry) args.splice(2, 0, '--build-arg', `npm_config_registry=${process.env.npm_config_registry}`);
    const built = docker(args);
    assert.equal(built.status, 0, built.stderr);
  });
  after(() => {
    docker(['rmi', IMAGE]);
  });

  it('with the engine socket mounted, inspects an image by name', () => {
    const socket = (process.env.DOCKER_HOST ?? '').replace(/^unix:\/\//, '');
    const r = runImage(['-v', `${socket}:/var/run/docker.sock`], ['inspect', '--json', `${BASE}:latest`]);
    assert.equal(r.status, 0, r.stderr);
    const report = parseReport(r.stdout);
    assertSchema(report, 'Report');
    assert.equal(report.source.kind, 'docker-daemon');
    assert.ok(report.files.entries > 100);
  });

  it('with a folder mounted at /data, inspects an archive in it, and check exits 1 on a failing one', () => {
    const data = ['-v', `${REPO}fixtures/images:/data:ro`];
    const ok = runImage(data, ['check', '/data/hello.docker.tar']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /✔ will start: \["\/hello"\]/);
    const broken = runImage(data, ['check', '/data/broken.docker.tar']);
    assert.equal(broken.status, 1, broken.stderr);
    assert.match(broken.stdout, /the runtime says: exec \/hello: no such file or directory/);
  });

  it('holds the built CLI and its production dependencies only', () => {
    const ls = runImage(
      ['--entrypoint', 'node'],
      [
        '-e',
        "const fs=require('fs');console.log(JSON.stringify(fs.readdirSync('/opt/scratchscope').sort()), fs.existsSync('/opt/scratchscope/node_modules/typescript'), fs.existsSync('/opt/scratchscope/src'))",
      ],
    );
    assert.equal(ls.status, 0, ls.stderr);
    assert.equal(ls.stdout.trim(), '["bin","dist","node_modules","package.json"] false false');
  });
});

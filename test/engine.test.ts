import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { listFiles } from '../src/fs/index.js';
import { loadImage } from '../src/load.js';
import { tempDir } from './helpers/build.js';
import { cli, oneLineError } from './helpers/cli.js';
import { comparable } from './helpers/compare.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { parseReport } from './helpers/json.js';

const available = engineAvailable();
const skip = available === true ? false : available;
const REPO = new URL('..', import.meta.url).pathname;

describe('against a real engine', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);

  before(() => {
    const r = spawnSync('bash', [REPO + 'fixtures/build.sh', tmp.dir], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, r.stderr);
  });

  async function files(ref: string) {
    const m = await loadImage(ref);
    try {
      return listFiles(m.tree);
    } finally {
      await m.close();
    }
  }

  it('fresh images in every format give the tree of docker export', async () => {
    const cid = docker(['create', 'scratchscope-fixture/layers']).stdout.trim();
    const exp = docker(['export', cid, '-o', `${tmp.dir}/fresh.export.tar`]);
    docker(['rm', cid]);
    assert.equal(exp.status, 0, exp.stderr);
    const truth = comparable(await files(`${tmp.dir}/fresh.export.tar`), true);
    assert.ok(truth.length > 10);
    for (const f of [
      'layers.docker.tar',
      'layers.oci-gzip.tar',
      'layers.oci-zstd.tar',
      'layers.podman.tar',
      'layers.docker25.tar',
      'layers.containerd.tar',
    ]) {
      assert.deepEqual(comparable(await files(`${tmp.dir}/${f}`)), truth, f);
    }
  });

  it('the engine loads the Docker 25+ and containerd-store layouts the fixture script assembles', async () => {
    for (const f of ['layers.docker25.tar', 'layers.containerd.tar']) {
      const loaded = docker(['load', '-i', `${tmp.dir}/${f}`]);
      assert.equal(loaded.status, 0, `${f}: ${loaded.stderr}`);
      const saved = docker(['save', 'scratchscope-fixture/layers:latest', '-o', `${tmp.dir}/reloaded.tar`]);
      assert.equal(saved.status, 0, saved.stderr);
      assert.deepEqual(await files(`${tmp.dir}/reloaded.tar`), await files(`${tmp.dir}/${f}`), f);
    }
  });

  it('reads a local image through the Engine API', async () => {
    const viaApi = await files('docker-daemon:scratchscope-fixture/layers:latest');
    assert.deepEqual(viaApi, await files(`${tmp.dir}/layers.docker.tar`));
    const bare = cli(['inspect', 'scratchscope-fixture/hello', '--json']);
    assert.equal(bare.status, 0, bare.stderr);
    assert.equal(parseReport(bare.stdout).source.kind, 'docker-daemon');
  });

  it('an image the engine does not have', () => {
    assert.match(
      oneLineError(cli(['inspect', 'docker-daemon:scratchscope-fixture/absent:1'])),
      /image scratchscope-fixture\/absent:1 not found in the engine at unix:\/\//,
    );
  });

  it('permission denied on the engine socket', { skip: process.getuid?.() !== 0 ? 'needs root to drop to nobody' : false }, () => {
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        REPO + 'bin/scratchscope.js',
        'inspect',
        'docker-daemon:scratchscope-fixture/hello',
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, HOME: '/nonexistent' },
        cwd: '/',
      },
    );
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /^scratchscope: permission denied on unix:\/\/.* \(join the docker group, or use sudo\)\n$/);
  });
});

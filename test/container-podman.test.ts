/**
 * `container` against podman: containers created and failed by podman 4.3 with crun 1.8
 * (Debian's packages, as root on the vfs driver), read back through podman's own service
 * socket (its Docker-compatible API, and /libpod/info for the runtime's version). The
 * prediction must name the cause podman's runtime met, in crun 1.8's words, and quote
 * what podman recorded.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ContainerReport } from '../src/container/index.js';
import { at } from './helpers/assert.js';
import { tempDir } from './helpers/build.js';
import { cli } from './helpers/cli.js';
import { parseJson } from './helpers/json.js';

const FX = new URL('../fixtures/images/', import.meta.url).pathname;
const why =
  process.getuid?.() !== 0 ? 'needs root' : spawnSync('podman', ['--version']).status !== 0 ? 'needs podman (Debian package podman)' : null;
if (why && process.env.CI === 'true') throw new Error(`podman tests cannot run under CI: ${why}`);

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => (req.destroy(), resolve(false)));
    req.end();
  });
}

describe('container, with podman and crun', { skip: why ?? false, timeout: 600_000 }, () => {
  const tmp = tempDir();
  const store = `${tmp.dir}/store`;
  const socket = `${store}/podman.sock`;
  const P = [
    '--root',
    `${store}/root`,
    '--runroot',
    `${store}/runroot`,
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
  ];
  let service: ChildProcess | null = null;
  /** What `podman run` printed for each container. */
  const said: Record<string, { status: number | null; stderr: string }> = {};

  /**
   * `podman run -d` as the runtime tests run it: crun 1.8 refuses this machine's hybrid
   * cgroup mounts, so it runs in a private mount namespace without the cgroup2 mount.
   */
  function run(name: string, image: string, args: string[] = []): void {
    const r = spawnSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'bash',
        '-c',
        'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi; exec "$@"',
        'bash',
        'podman',
        ...P,
        'run',
        '-d',
        '--name',
        name,
        '--cgroups',
        'disabled',
        '--network',
        'none',
        '--ulimit',
        'nofile=1024:1024',
        '--ulimit',
        'nproc=1024:1024',
        ...args,
        image,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    said[name] = { status: r.status, stderr: r.stderr };
    if (r.status === 0) spawnSync('podman', [...P, 'wait', name], { encoding: 'utf8', timeout: 60_000 });
  }

  before(async () => {
    for (const tar of ['broken.docker.tar', 'hello.docker.tar']) {
      const l = spawnSync('podman', [...P, 'load', '-q', '-i', FX + tar], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(l.status, 0, l.stderr);
    }
    run('p-no-loader', 'scratchscope-fixture/broken:latest');
    run('p-not-found', 'scratchscope-fixture/broken:latest', ['--entrypoint', '/nope']);
    run('p-started', 'scratchscope-fixture/hello:latest');
    service = spawn('podman', [...P, 'system', 'service', '--time=0', `unix://${socket}`], { stdio: 'ignore' });
    // wait for the service to answer, not for a time
    for (let i = 0; i < 600 && !(existsSync(socket) && (await ping(socket))); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await ping(socket), 'podman system service did not answer');
  });

  after(() => {
    service?.kill();
    spawnSync('podman', [...P, 'rm', '-af'], { encoding: 'utf8', timeout: 60_000 });
    tmp.cleanup();
  });

  const inspect = (name: string) => {
    const r = cli(['container', name, '--json'], { DOCKER_HOST: `unix://${socket}` });
    assert.equal(r.status, 0, r.stderr);
    return parseJson<ContainerReport>(r.stdout);
  };

  it('a missing loader: crun 1.8 logged it, and the prediction is that line', () => {
    const r = inspect('p-no-loader');
    assert.equal(r.verdict, 'fails');
    assert.equal(at(r.diagnostics).code, 'interpreter-missing');
    assert.equal(r.predicted, 'exec container process (missing dynamic library?) `/hello`: No such file or directory');
    assert.equal(r.recorded?.where, 'logs');
    assert.ok(r.recorded && r.predicted !== null && r.recorded.message.includes(r.predicted), `recorded: ${r.recorded?.message}`);
    assert.equal(r.agreement, 'same');
  });

  it('a command that does not exist: what podman run printed holds the prediction, in crun 1.8 words', () => {
    assert.notEqual(said['p-not-found']!.status, 0);
    const r = inspect('p-not-found');
    assert.equal(r.verdict, 'fails');
    assert.equal(at(r.diagnostics).code, 'exec-not-found');
    assert.equal(r.predicted, 'executable file `/nope` not found in $PATH: No such file or directory');
    assert.ok(r.predicted !== null && said['p-not-found']!.stderr.includes(r.predicted), `podman said: ${said['p-not-found']!.stderr}`);
  });

  it('a container that started and exited is not a start failure', () => {
    const r = inspect('p-started');
    assert.equal(r.verdict, 'started');
    assert.equal(r.exit?.code, 0);
  });
});

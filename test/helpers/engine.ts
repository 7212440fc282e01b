/**
 * The real engine the tests compare against. .ci/run starts one and sets DOCKER_HOST.
 * Under CI=true a missing engine fails the suite; locally the engine tests skip with one
 * line that says how to run them.
 */
import { spawnSync } from 'node:child_process';

export function engineAvailable(): boolean | string {
  const host = process.env.DOCKER_HOST;
  const ok = host
    ? spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 20_000 }).status === 0
    : false;
  if (ok) return true;
  const why = host ? `no engine answers at ${host}` : 'DOCKER_HOST is not set';
  if (process.env.CI === 'true') throw new Error(`engine tests need a Docker engine under CI, but ${why} (see .ci/run)`);
  return `skipped: ${why}; start one with scripts/engine.sh start /tmp/engine and export DOCKER_HOST`;
}

export function docker(args: string[], opts: { input?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, {
    encoding: 'utf8',
    timeout: 300_000,
    input: opts.input,
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

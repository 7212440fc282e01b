/**
 * `scratchscope pod` on pod JSON of the shape kubelet writes (fixtures/pod: the status
 * fields and reasons kubelet sets for each failure, messages worded as the cited sources
 * word them), with the images built by the engine. The cause must be the one the status
 * records, quoted exactly from the field kubelet wrote it in.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/build.js';
import { cli, oneLineError } from './helpers/cli.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { assertSchema } from './helpers/schema.js';

const REPO = new URL('..', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;
const fixture = (name: string) => `${REPO}fixtures/pod/${name}.json`;
const doc = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8'));

function pod(name: string, extra: string[] = []) {
  const r = cli(['pod', fixture(name), '--json', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('pod: kubelet-shaped pod JSON against images the engine built', { skip, timeout: 1_200_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  before(() => {
    const b = spawnSync(
      'bash',
      [REPO + 'fixtures/diagnose/build.sh', `${tmp.dir}/suite`, 'exec-not-found', 'library-missing-glibc', 'user-missing', 'static'],
      { encoding: 'utf8', timeout: 900_000 },
    );
    assert.equal(b.status, 0, b.stderr.slice(-2000));
    const c = spawnSync('bash', [REPO + 'fixtures/container/build.sh', `${tmp.dir}/container`], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(c.status, 0, c.stderr.slice(-2000));
  });

  it("RunContainerError with lastState StartError (exit 128): the cause, quoted from the status, in containerd's words", () => {
    const c = pod('start-error-containerd').containers[0];
    const status = doc('start-error-containerd').status.containerStatuses[0];
    assert.equal(c.verdict, 'fails');
    assert.equal(c.diagnostics[0].code, 'exec-not-found');
    assert.deepEqual(c.recorded, { message: status.lastState.terminated.message, where: 'lastState.terminated.message' });
    assert.equal(c.runtime, 'containerd@1.7');
    assert.equal(c.predicted, status.lastState.terminated.message);
    assert.equal(c.agreement, 'same');
  });

  it('CrashLoopBackOff after a StartError: the cause is in lastState, not in the back-off message', () => {
    const c = pod('crashloop-start-error').containers[0];
    assert.equal(c.verdict, 'fails');
    assert.equal(c.recorded.where, 'lastState.terminated.message');
    assert.equal(c.agreement, 'same');
    assert.equal(c.restartCount, 4);
  });

  it("a missing library: the process started, the loader's line is the termination message (FallbackToLogsOnError)", () => {
    const c = pod('crashloop-library').containers[0];
    assert.equal(c.diagnostics[0].code, 'library-missing');
    assert.equal(c.verdict, 'fails');
    assert.equal(c.recorded.where, 'logs');
    assert.equal(c.exit.code, 127);
  });

  it('runAsNonRoot and a named USER: non-numeric-user, as kubelet words it', () => {
    const c = pod('nonroot-named-user').containers[0];
    const status = doc('nonroot-named-user').status.containerStatuses[0];
    assert.equal(c.diagnostics[0].code, 'non-numeric-user');
    assert.deepEqual(c.recorded, { message: status.state.waiting.message, where: 'state.waiting.message' });
    assert.ok(status.state.waiting.message.startsWith(c.predicted));
    assert.equal(c.agreement, 'same');
    assert.equal(c.failedStep, 'user');
  });

  it('runAsNonRoot and an image that runs as root: runs-as-root', () => {
    const c = pod('nonroot-root').containers[0];
    assert.equal(c.diagnostics[0].code, 'runs-as-root');
    assert.equal(c.agreement, 'same');
  });

  it('runAsUser: a number needs no passwd lookup, so the named USER no longer matters', () => {
    const c = pod('nonroot-fixed').containers[0];
    assert.equal(c.verdict, 'started');
    assert.deepEqual(
      c.diagnostics.filter((d: { severity: string }) => d.severity === 'error'),
      [],
    );
    assert.deepEqual(
      c.overrides.find((o: { field: string }) => o.field === 'user'),
      { field: 'user', container: '65532:65532', image: 'nobody' },
    );
  });

  it("an emptyDir over the program's folder, under CRI-O: hidden-by-mount in crun's words", () => {
    const c = pod('emptydir-over-program-crio').containers[0];
    assert.equal(c.diagnostics[0].code, 'hidden-by-mount');
    assert.equal(c.runtime, 'cri-o@1.36');
    assert.equal(c.recorded.message, doc('emptydir-over-program-crio').status.containerStatuses[0].state.waiting.message);
    assert.equal(c.agreement, 'same');
  });

  it('readOnlyRootFilesystem and a program that writes /tmp: started, then exited, with the warning', () => {
    const c = pod('readonly-tmp').containers[0];
    assert.equal(c.verdict, 'started');
    assert.ok(c.diagnostics.some((d: { code: string }) => d.code === 'read-only-tmp'));
    assert.equal(c.exit.code, 1);
  });

  it("a Deployment's template: command replaces Entrypoint and drops Cmd, args replaces Cmd", () => {
    const r = pod('deployment-command');
    assert.equal(r.kind, 'Deployment');
    const [migrate, app] = r.containers;
    assert.equal(migrate.role, 'init');
    assert.deepEqual(migrate.launch.argv, ['/app', 'migrate']);
    assert.equal(migrate.verdict, 'starts');
    assert.deepEqual(app.launch.argv, ['/server', '--port', '8080']);
    assert.equal(app.diagnostics[0].code, 'exec-not-found');
    assert.equal(app.diagnostics[0].runtimeError, app.diagnostics[0].runtimeErrors.containerd);
  });

  it('--image-source reads an image from a file; - reads the pod from stdin', () => {
    const tar = `${tmp.dir}/static.tar`;
    assert.equal(docker(['save', 'scratchscope-case/static', '-o', tar]).status, 0);
    const r = spawnSync(
      process.execPath,
      [`${REPO}bin/scratchscope.js`, 'pod', '-', '--json', '--image-source', `scratchscope-case/static:latest=${tar}`],
      { input: readFileSync(fixture('nonroot-root')), encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assertSchema(j, 'PodJson');
    const c = j.containers[0];
    assert.equal(c.imageSource, tar);
    assert.equal(c.diagnostics[0].code, 'runs-as-root');
  });

  it('an image nowhere to be found: one line that says how to map it', () => {
    const d = doc('nonroot-root');
    d.spec.containers[0].image = 'registry.example/absent:1';
    const r = spawnSync(process.execPath, [`${REPO}bin/scratchscope.js`, 'pod', '-'], { input: JSON.stringify(d), encoding: 'utf8' });
    assert.match(
      oneLineError({ status: r.status, stdout: r.stdout, stderr: r.stderr }),
      /container app, image registry\.example\/absent:1: .* \(map it to a file with --image-source registry\.example\/absent:1=PATH\)$/,
    );
  });
});

describe('pod: bad input', () => {
  it('not JSON, or not a pod: one line, an error exit', () => {
    const notJson = spawnSync(process.execPath, [`${REPO}bin/scratchscope.js`, 'pod', '-'], {
      input: 'apiVersion: v1\nkind: Pod\n',
      encoding: 'utf8',
    });
    assert.equal(
      oneLineError({ status: notJson.status, stdout: notJson.stdout, stderr: notJson.stderr }),
      'scratchscope: stdin: not JSON (kubectl get pod NAME -o json)',
    );
    const svc = spawnSync(process.execPath, [`${REPO}bin/scratchscope.js`, 'pod', '-'], {
      input: JSON.stringify({ kind: 'Service', spec: { ports: [] } }),
      encoding: 'utf8',
    });
    assert.match(
      oneLineError({ status: svc.status, stdout: svc.stdout, stderr: svc.stderr }),
      /not a pod or a workload with a pod template \(kind Service\)/,
    );
    assert.match(oneLineError(cli(['pod', '/nonexistent.json'])), /\/nonexistent\.json: no such file or directory/);
  });
});

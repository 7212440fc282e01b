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
import { at } from './helpers/assert.js';
import { cli, oneLineError } from './helpers/cli.js';
import { parseJson, readJson } from './helpers/json.js';
import { type PodReport, kubeExpand } from '../src/container/pod.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { assertSchema } from './helpers/schema.js';

const REPO = new URL('..', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;
const fixture = (name: string) => `${REPO}fixtures/pod/${name}.json`;
/** The parts of a fixture's pod JSON the tests read. */
interface PodDoc {
  spec: { containers: { image: string }[] };
  status: {
    containerStatuses: { state: { waiting: { message: string } }; lastState: { terminated: { message: string } } }[];
  };
}
const doc = (name: string) => readJson<PodDoc>(fixture(name));
const firstStatus = (name: string) => at(doc(name).status.containerStatuses);

function pod(name: string, extra: string[] = []): PodReport {
  const r = cli(['pod', fixture(name), '--json', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return parseJson<PodReport>(r.stdout);
}
const firstContainer = (name: string) => at(pod(name).containers);

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
    const c = firstContainer('start-error-containerd');
    const status = firstStatus('start-error-containerd');
    assert.equal(c.verdict, 'fails');
    assert.equal(at(c.diagnostics).code, 'exec-not-found');
    assert.deepEqual(c.recorded, { message: status.lastState.terminated.message, where: 'lastState.terminated.message' });
    assert.equal(c.runtime, 'containerd@1.7');
    assert.equal(c.predicted, status.lastState.terminated.message);
    assert.equal(c.agreement, 'same');
  });

  it('CrashLoopBackOff after a StartError: the cause is in lastState, not in the back-off message', () => {
    const c = firstContainer('crashloop-start-error');
    assert.equal(c.verdict, 'fails');
    assert.equal(c.recorded?.where, 'lastState.terminated.message');
    assert.equal(c.agreement, 'same');
    assert.equal(c.restartCount, 4);
  });

  it("a missing library: the process started, the loader's line is the termination message (FallbackToLogsOnError)", () => {
    const c = firstContainer('crashloop-library');
    assert.equal(at(c.diagnostics).code, 'library-missing');
    assert.equal(c.verdict, 'fails');
    assert.equal(c.recorded?.where, 'logs');
    assert.equal(c.exit?.code, 127);
  });

  it('runAsNonRoot and a named USER: non-numeric-user, as kubelet words it', () => {
    const c = firstContainer('nonroot-named-user');
    const status = firstStatus('nonroot-named-user');
    assert.equal(at(c.diagnostics).code, 'non-numeric-user');
    assert.deepEqual(c.recorded, { message: status.state.waiting.message, where: 'state.waiting.message' });
    assert.ok(c.predicted !== null && status.state.waiting.message.startsWith(c.predicted));
    assert.equal(c.agreement, 'same');
    assert.equal(c.failedStep, 'user');
  });

  it('runAsNonRoot and an image that runs as root: runs-as-root', () => {
    const c = firstContainer('nonroot-root');
    assert.equal(at(c.diagnostics).code, 'runs-as-root');
    assert.equal(c.agreement, 'same');
  });

  it('runAsUser: a number needs no passwd lookup, so the named USER no longer matters', () => {
    const c = firstContainer('nonroot-fixed');
    assert.equal(c.verdict, 'started');
    assert.deepEqual(
      c.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    assert.deepEqual(
      c.overrides.find((o) => o.field === 'user'),
      { field: 'user', container: '65532:65532', image: 'nobody' },
    );
  });

  it("an emptyDir over the program's folder, under CRI-O: hidden-by-mount in crun's words", () => {
    const c = firstContainer('emptydir-over-program-crio');
    assert.equal(at(c.diagnostics).code, 'hidden-by-mount');
    assert.equal(c.runtime, 'cri-o@1.36');
    assert.equal(c.recorded?.message, firstStatus('emptydir-over-program-crio').state.waiting.message);
    assert.equal(c.agreement, 'same');
  });

  it('readOnlyRootFilesystem and a program that writes /tmp: started, then exited, with the warning', () => {
    const c = firstContainer('readonly-tmp');
    assert.equal(c.verdict, 'started');
    assert.ok(c.diagnostics.some((d) => d.code === 'read-only-tmp'));
    assert.equal(c.exit?.code, 1);
  });

  it("a Deployment's template: command replaces Entrypoint and drops Cmd, args replaces Cmd", () => {
    const r = pod('deployment-command');
    assert.equal(r.kind, 'Deployment');
    const [migrate, app] = r.containers;
    assert.ok(migrate && app);
    assert.equal(migrate.role, 'init');
    assert.deepEqual(migrate.launch.argv, ['/app', 'migrate']);
    assert.equal(migrate.verdict, 'starts');
    assert.deepEqual(app.launch.argv, ['/server', '--port', '8080']);
    const appError = at(app.diagnostics);
    assert.equal(appError.code, 'exec-not-found');
    assert.equal(appError.runtimeError, appError.runtimeErrors?.containerd);
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
    const j = parseJson<PodReport>(r.stdout);
    assertSchema(j, 'PodJson');
    const c = at(j.containers);
    assert.equal(c.imageSource, tar);
    assert.equal(at(c.diagnostics).code, 'runs-as-root');
  });

  it('an image nowhere to be found: one line that says how to map it', () => {
    const d = doc('nonroot-root');
    at(d.spec.containers).image = 'registry.example/absent:1';
    const r = spawnSync(process.execPath, [`${REPO}bin/scratchscope.js`, 'pod', '-'], { input: JSON.stringify(d), encoding: 'utf8' });
    assert.match(
      oneLineError({ status: r.status, stdout: r.stdout, stderr: r.stderr }),
      /container app, image registry\.example\/absent:1: .* \(map it to a file with --image-source registry\.example\/absent:1=PATH\)$/,
    );
  });
});

describe("pod: kubelet's $(NAME) expansion", () => {
  it('expands the names the container defines, keeps the rest as written, $$ is a $', () => {
    const vars = new Map<string, string | undefined>([
      ['PROG', '/hello'],
      ['SECRET', undefined],
    ]);
    assert.equal(kubeExpand('$(PROG)', vars), '/hello');
    assert.equal(kubeExpand('--at=$(PROG)/x', vars), '--at=/hello/x');
    assert.equal(kubeExpand('$(NOPE) $(SECRET)', vars), '$(NOPE) $(SECRET)');
    assert.equal(kubeExpand('$$(PROG) $$ $x $', vars), '$(PROG) $ $x $');
    assert.equal(kubeExpand('$(PROG', vars), '$(PROG');
    assert.equal(kubeExpand('$($(PROG))', vars), '$($(PROG))'); // the name is "$(PROG": not defined
    const many = '$('.repeat(200_000);
    assert.equal(kubeExpand(many, vars), many);
  });

  it('a command of $(PROG) runs what the env says, as kubelet runs it', () => {
    const pod = (env: { name: string; value: string }[]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'app', image: 'hello:1', command: ['$(PROG)'], env }] },
    });
    const run = (env: { name: string; value: string }[]) => {
      const r = spawnSync(
        process.execPath,
        [`${REPO}bin/scratchscope.js`, 'pod', '-', '--json', '--image-source', `hello:1=${REPO}fixtures/images/hello.docker.tar`],
        { input: JSON.stringify(pod(env)), encoding: 'utf8', maxBuffer: 1 << 30 },
      );
      assert.equal(r.status, 0, r.stderr);
      return at(parseJson<PodReport>(r.stdout).containers);
    };
    const ok = run([
      { name: 'DIR', value: '/' },
      { name: 'PROG', value: '$(DIR)hello' },
    ]);
    assert.equal(ok.verdict, 'starts', JSON.stringify(ok.diagnostics));
    const missing = run([]);
    assert.equal(missing.verdict, 'fails');
    assert.match(JSON.stringify(missing.diagnostics), /\$\(PROG\)/);
    // 100k variables, each redefined: linear, not a scan of the list per entry
    const many = Array.from({ length: 100_000 }, (_, i) => ({ name: `V${i}`, value: 'x' }));
    assert.equal(run([...many, ...many, { name: 'PROG', value: '/hello' }]).verdict, 'starts');
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

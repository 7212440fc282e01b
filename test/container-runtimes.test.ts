/**
 * Every runtime's words, tested per code: podman 4.3 with crun 1.8 run live (Debian's
 * packages, as root, vfs, no network), containerd's wrapping against what Docker (itself on
 * containerd and runc) records, and the wordings that cannot run here (crun >= 1.21,
 * containerd under kubelet, CRI-O) against the format strings of the source they cite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type RuntimeFacts, allRuntimeLines, parseRuntime } from '../src/diagnose/runtimes.js';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { at } from './helpers/assert.js';
import { cli } from './helpers/cli.js';
import { parseReport } from './helpers/json.js';
import { docker, engineAvailable } from './helpers/engine.js';

const REPO = new URL('..', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;
const RECORDED = `${REPO}fixtures/runtimes/podman-4.3.1-crun-1.8.1.txt`;

const CASES = [
  'user-missing',
  'shell-missing',
  'exec-not-found',
  'exec-not-in-path',
  'not-executable',
  'exec-directory',
  'exec-format-text',
  'exec-format-arch',
  'interpreter-missing-glibc',
  'interpreter-missing-musl',
  'shebang-missing',
  'shebang-crlf',
  'shebang-env-missing',
  'library-missing-glibc',
  'library-missing-musl',
  'symbol-version-missing',
  'no-command',
  'static',
];

/** "=== CASE", the status, then stderr: what fixtures/runtimes/record.sh writes. */
function parseRecording(text: string): Map<string, { status: string; stderr: string }> {
  const out = new Map<string, { status: string; stderr: string }>();
  for (const block of text.split(/^=== /m).filter(Boolean)) {
    const [name, status, ...rest] = block.split('\n');
    assert.ok(name !== undefined && status !== undefined, `a recording block without a status: ${block}`);
    out.set(name, { status, stderr: rest.join('\n') });
  }
  return out;
}

async function reportOf(c: string) {
  const m = await loadImage(`docker-daemon:scratchscope-case/${c}:latest`, { analysis: true });
  try {
    return buildReport(m);
  } finally {
    await m.close();
  }
}

describe('podman 4.3 with crun 1.8 (Debian bookworm), per code', { skip, timeout: 1_500_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  let outcomes = new Map<string, { status: string; stderr: string }>();
  let live = false;

  before((t) => {
    const b = spawnSync('bash', [REPO + 'fixtures/diagnose/build.sh', `${tmp.dir}/suite`, ...CASES], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    assert.equal(b.status, 0, `building the suite failed: ${b.stderr.slice(-2000)}`);
    // Can podman run a container on this machine at all? The image that starts tells.
    const probe = podmanRun('static');
    live = probe.status === '0';
    if (live) {
      for (const c of CASES) outcomes.set(c, podmanRun(c));
    } else {
      // Not a skip: the recording made on a machine where it ran (fixtures/runtimes/record.sh) stands in.
      (t as unknown as { diagnostic?: (s: string) => void }).diagnostic?.(
        `podman cannot run containers here (${probe.stderr.trim().split('\n')[0]}); comparing with ${RECORDED}`,
      );
      outcomes = parseRecording(readFileSync(RECORDED, 'utf8'));
    }
  });

  function podmanRun(c: string): { status: string; stderr: string } {
    const save = docker(['save', `scratchscope-case/${c}`, '-o', `${tmp.dir}/${c}.tar`]);
    assert.equal(save.status, 0, save.stderr);
    const r = spawnSync(
      'bash',
      [REPO + 'fixtures/runtimes/podman-run.sh', `${tmp.dir}/podman`, `${tmp.dir}/${c}.tar`, `scratchscope-case/${c}`],
      { encoding: 'utf8', timeout: 300_000 },
    );
    const [status = '', ...rest] = r.stdout.split('\n');
    return { status, stderr: rest.join('\n') };
  }

  it('the recording is what podman prints today (when it can run here)', { skip: false }, () => {
    if (!live) return;
    const recorded = parseRecording(readFileSync(RECORDED, 'utf8'));
    for (const c of CASES) {
      const now = outcomes.get(c)!;
      const then = recorded.get(c)!;
      assert.equal(now.status, then.status, c);
      assert.equal(now.stderr.replace(/"time":"[^"]*"/g, '"time":"…"'), then.stderr, c);
    }
  });

  for (const c of CASES) {
    it(c, async () => {
      const real = outcomes.get(c)!;
      const report = await reportOf(c);
      const first = report.diagnostics.find((d) => d.severity === 'error');
      if (c === 'static') {
        assert.equal(first, undefined);
        assert.equal(real.status, '0', real.stderr);
        return;
      }
      assert.ok(first?.runtimeErrors, c);
      const podman = first.runtimeErrors.podman!;
      const crun18 = first.runtimeErrors['crun@1.8'];
      assert.ok(crun18 !== undefined, c);
      assert.ok(real.stderr.includes(podman), `${c}: podman printed ${JSON.stringify(real.stderr)}, predicted ${JSON.stringify(podman)}`);
      if (crun18 !== null) assert.ok(real.stderr.includes(crun18), `${c}: crun 1.8 line ${crun18}`);
      // podman's exit status: 127 not found, 126 cannot invoke, 125 its own errors (getOCIRuntimeError)
      if (podman.endsWith('OCI runtime attempted to invoke a command that was not found')) assert.equal(real.status, '127', c);
      if (podman.endsWith('OCI permission denied')) assert.equal(real.status, '126', c);
    });
  }
});

describe('containerd wraps what Docker records (Docker itself runs on containerd and runc)', { skip, timeout: 900_000 }, () => {
  const tmp = tempDir();
  const names: string[] = [];
  after(() => {
    for (const n of names) docker(['rm', '-f', n]);
    tmp.cleanup();
  });
  const CREATE_TIME = ['shell-missing', 'exec-not-found', 'exec-not-in-path', 'not-executable'];
  before(() => {
    const b = spawnSync('bash', [REPO + 'fixtures/diagnose/build.sh', `${tmp.dir}/suite`, ...CREATE_TIME], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    assert.equal(b.status, 0, b.stderr.slice(-2000));
  });
  for (const c of CREATE_TIME) {
    it(c, async () => {
      const name = `container-rt-${c}`;
      docker(['rm', '-f', name]);
      names.push(name);
      docker(['run', '--network', 'none', '--name', name, `scratchscope-case/${c}`]);
      const recorded = docker(['inspect', '--format', '{{.State.Error}}', name]).stdout.trim();
      const first = at((await reportOf(c)).diagnostics);
      assert.equal(first.runtimeErrors?.containerd, `failed to create containerd task: ${recorded}`);
    });
  }
});

describe('wordings that cannot run here, against their cited source', () => {
  // crun_make_error (err, errno, fmt, …) prints the formatted message, ": ", strerror(errno).
  const crunError = (fmt: string, args: string[], errno: string) => `${args.reduce((s, a) => s.replace(/%s/, a), fmt)}: ${errno}`;
  const facts = (code: RuntimeFacts['code'], runc: string, over: Partial<RuntimeFacts> = {}): RuntimeFacts => ({
    code,
    runc,
    argv0: '/app',
    executable: '/app',
    directory: false,
    noPasswd: false,
    ...over,
  });

  it('crun 1.21 (src/libcrun/utils.c find_executable, src/libcrun/container.c)', () => {
    const crun = (f: RuntimeFacts) => allRuntimeLines(f).crun;
    assert.equal(
      crun(facts('exec-not-found', 'x')),
      crunError('executable file `%s` not found%s', ['/app', ''], 'No such file or directory'),
    );
    assert.equal(
      crun(facts('exec-not-in-path', 'x', { argv0: 'app' })),
      crunError('executable file `%s` not found%s', ['app', ' in $PATH'], 'No such file or directory'),
    );
    assert.equal(
      crun(facts('not-executable', 'x')),
      crunError('the path `%s` exists but it is not executable', ['/app'], 'Operation not permitted'),
    );
    assert.equal(
      crun(facts('not-executable', 'x', { directory: true })),
      crunError('the path `%s` is not a regular file', ['/app'], 'Operation not permitted'),
    );
    assert.equal(crun(facts('exec-format', 'x')), crunError('exec container process `%s`', ['/app'], 'Exec format error'));
    assert.equal(
      crun(facts('interpreter-missing', 'x')),
      crunError('exec container process (missing dynamic library?) `%s`', ['/app'], 'No such file or directory'),
    );
    assert.equal(crun(facts('user-missing', 'x')), null, 'the engine resolves USER before crun runs');
  });

  it('containerd 1.7 under kubelet (pkg/cri/server/container_start.go, pkg/cri/opts/spec_opts.go, oci/spec_opts.go)', () => {
    const lines = (f: RuntimeFacts) => allRuntimeLines(f).containerd;
    assert.equal(lines(facts('no-command', 'No command specified')), 'failed to generate spec: no command specified');
    assert.equal(lines(facts('user-missing', 'unable to find user nobody: no matching entries in passwd file')), 'no users found');
    assert.equal(
      lines(facts('exec-format', 'exec /app: exec format error')),
      'exec /app: exec format error',
      'runc reports it from the started process: the container log',
    );
  });

  it('CRI-O 1.36 with crun (internal/oci/runtime_oci.go, internal/factory/container/container.go, utils/utils.go)', () => {
    const lines = (f: RuntimeFacts) => allRuntimeLines(f)['cri-o'];
    assert.equal(
      lines(facts('exec-not-found', 'x')),
      `container create failed: ${crunError('executable file `%s` not found%s', ['/app', ''], 'No such file or directory')}`,
    );
    assert.equal(lines(facts('no-command', 'No command specified')), 'no command specified');
    assert.equal(
      lines(facts('user-missing', 'unable to find user nobody: no matching entries in passwd file')),
      'get exec user: unable to find user nobody: no matching entries in passwd file',
    );
  });

  it('the loader speaks for itself under every runtime', () => {
    const line = '/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory';
    for (const v of Object.values(allRuntimeLines(facts('library-missing', line)))) assert.equal(v, line);
  });

  it('--runtime NAME@VERSION picks the newest wording at or below it', () => {
    assert.deepEqual(parseRuntime('crun@1.15'), { runtime: 'crun', version: '1.8' });
    assert.deepEqual(parseRuntime('crun@1.21.2'), { runtime: 'crun', version: '1.21' });
    assert.deepEqual(parseRuntime('crun'), { runtime: 'crun', version: '1.21' });
    assert.throws(() => parseRuntime('crun@1.2'));
    assert.throws(() => parseRuntime('youki'));
  });
});

describe('inspect --runtime', () => {
  const fixture = `${REPO}fixtures/images/broken.docker.tar`;
  it("puts that runtime's line in runtimeError and every line in runtimeErrors", () => {
    const r = cli(['inspect', fixture, '--json', '--runtime', 'crun@1.8']);
    assert.equal(r.status, 0, r.stderr);
    const d = at(parseReport(r.stdout).diagnostics);
    assert.ok(d.runtimeErrors);
    assert.equal(d.runtimeError, d.runtimeErrors['crun@1.8']);
    assert.deepEqual(Object.keys(d.runtimeErrors).sort(), ['containerd', 'cri-o', 'crun', 'crun@1.8', 'podman', 'runc']);
    const text = cli(['inspect', fixture, '--runtime', 'podman']);
    assert.ok(text.stdout.includes(`the runtime says: ${d.runtimeErrors.podman}`), text.stdout);
  });
  it('an unknown runtime is one line, exit 2', () => {
    const r = cli(['inspect', fixture, '--runtime', 'youki']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--runtime/);
  });
});

/**
 * `scratchscope container` against real containers: each one created and started by the
 * engine CI runs (docker, runc), for every start-failure class the image checks know and
 * for what docker run overrides (--entrypoint, --user, mounts over the program's folder,
 * --read-only). The cause must be the one the image checks name, and the message quoted
 * must be the container's recorded State.Error (or runc's log line), byte for byte.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { mountEffect } from '../src/container/mounts.js';
import type { ContainerReport } from '../src/container/index.js';
import { at } from './helpers/assert.js';
import { tempDir } from './helpers/build.js';
import { cli, oneLineError } from './helpers/cli.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { parseJson } from './helpers/json.js';

const REPO = new URL('..', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;

/** Image check cases and the first error their containers must be explained by. */
const CLASSES: Record<string, string> = {
  'user-missing': 'user-missing',
  'shell-missing': 'shell-missing',
  'exec-not-found': 'exec-not-found',
  'exec-dangling-symlink': 'exec-not-found',
  'exec-deleted': 'exec-not-found',
  'exec-not-in-path': 'exec-not-in-path',
  'not-executable': 'not-executable',
  'exec-directory': 'not-executable',
  'exec-format-text': 'exec-format',
  'exec-format-arch': 'exec-format',
  'interpreter-missing-glibc': 'interpreter-missing',
  'interpreter-missing-musl': 'interpreter-missing',
  'shebang-missing': 'shebang-interpreter-missing',
  'library-missing-glibc': 'library-missing',
  'library-missing-musl': 'library-missing',
  'symbol-version-missing': 'symbol-version-missing',
};

const created: string[] = [];
const volumes: string[] = [];

/** docker run without --rm, so the container and what it recorded stay to be read. */
function runContainer(name: string, args: string[]): void {
  docker(['rm', '-f', name]);
  created.push(name);
  docker(['run', '--network', 'none', '--name', name, ...args]);
  assert.equal(docker(['inspect', name]).status, 0, `${name} was not created`);
}

function inspectState(name: string): { Error: string; ExitCode: number; Status: string } {
  return parseJson(docker(['inspect', '--format', '{{json .State}}', name]).stdout);
}

function report(name: string): ContainerReport {
  const r = cli(['container', name, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return parseJson<ContainerReport>(r.stdout);
}

/** The container's own recorded message must be quoted exactly, in JSON and in the text. */
function assertQuotesRecorded(name: string, rep: { recorded: { message: string; where: string } | null }): void {
  const state = inspectState(name);
  const logs = docker(['logs', name]);
  if (state.Error) {
    assert.deepEqual(rep.recorded, { message: state.Error, where: 'State.Error' }, name);
  } else {
    assert.equal(rep.recorded?.where, 'logs', `${name}: ${JSON.stringify(state)}`);
    const message = rep.recorded?.message;
    assert.ok(
      message !== undefined && (logs.stdout + logs.stderr).split('\n').includes(message),
      `${name}: ${message} is not a line of docker logs`,
    );
  }
  const text = cli(['container', name]);
  assert.equal(text.status, 0, text.stderr);
  assert.ok(rep.recorded, name);
  assert.ok(text.stdout.includes(`  recorded (${rep.recorded.where}): ${rep.recorded.message}\n`), text.stdout);
}

describe('container: real containers, docker with runc', { skip, timeout: 1_500_000 }, () => {
  const tmp = tempDir();
  after(() => {
    for (const c of created) docker(['rm', '-f', c]);
    for (const v of volumes) docker(['volume', 'rm', '-f', v]);
    tmp.cleanup();
  });

  before(() => {
    const cases = [...Object.keys(CLASSES), 'static', 'shell-form', 'no-command'];
    const b = spawnSync('bash', [REPO + 'fixtures/diagnose/build.sh', `${tmp.dir}/suite`, ...cases], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    assert.equal(b.status, 0, `building the suite failed: ${b.stderr.slice(-2000)}`);
    const c = spawnSync('bash', [REPO + 'fixtures/container/build.sh', `${tmp.dir}/container`], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(c.status, 0, `building the container images failed: ${c.stderr.slice(-2000)}`);
  });

  for (const [c, code] of Object.entries(CLASSES)) {
    it(`${c}: names ${code} and quotes what the container recorded`, () => {
      const name = `container-t-${c}`;
      runContainer(name, [`scratchscope-case/${c}`]);
      const rep = report(name);
      assert.equal(rep.verdict, 'fails', name);
      assert.equal(rep.diagnostics.find((d) => d.severity === 'error')?.code, code, name);
      assert.equal(rep.agreement, 'same', `${name}: ${rep.finding}`);
      assert.ok(rep.recorded && rep.predicted !== null && rep.recorded.message.includes(rep.predicted), name);
      assertQuotesRecorded(name, rep);
    });
  }

  it('no-command: the engine refuses to create such a container, so there is none to read', () => {
    const r = docker(['create', '--name', 'container-t-no-command', 'scratchscope-case/no-command']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /No command specified/);
  });

  it('a container that started and exited is not a start failure', () => {
    runContainer('container-t-static', ['scratchscope-case/static']);
    const rep = report('container-t-static');
    assert.equal(rep.verdict, 'started');
    assert.deepEqual(
      rep.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    assert.equal(rep.exit?.code, 0);
    assert.deepEqual(rep.exit?.logTail, ['scratchscope-started']);
    assert.equal(rep.recorded, null);
  });

  it('an exit code of 128+signal gets its usual meaning', () => {
    // PID 1 ignores a signal it has no handler for, so a child shell takes the SIGSEGV.
    runContainer('container-t-segv', [
      '--entrypoint',
      '/bin/sh',
      'scratchscope-case/shell-form',
      '-c',
      "echo dying; /bin/sh -c 'kill -SEGV $$'; exit $?",
    ]);
    const rep = report('container-t-segv');
    assert.equal(rep.verdict, 'started');
    assert.ok(rep.exit);
    assert.equal(rep.exit.code, inspectState('container-t-segv').ExitCode);
    assert.equal(rep.exit.code, 139);
    assert.match(rep.exit.meaning, /SIGSEGV/);
  });

  it('created, never started: the prediction, nothing recorded', () => {
    docker(['rm', '-f', 'container-t-created']);
    created.push('container-t-created');
    assert.equal(docker(['create', '--name', 'container-t-created', 'scratchscope-case/static']).status, 0);
    const rep = report('container-t-created');
    assert.equal(rep.verdict, 'starts');
    assert.equal(rep.agreement, 'nothing-recorded');
    assert.equal(rep.exit, null);
  });

  it('--entrypoint that the image does not have', () => {
    runContainer('container-t-entrypoint', ['--entrypoint', '/nope', 'scratchscope-case/static']);
    const rep = report('container-t-entrypoint');
    assert.equal(at(rep.diagnostics).code, 'exec-not-found');
    assert.deepEqual(
      rep.overrides.find((o) => o.field === 'entrypoint'),
      { field: 'entrypoint', container: ['/nope'], image: ['/app'] },
    );
    assert.equal(rep.agreement, 'same');
    assertQuotesRecorded('container-t-entrypoint', rep);
  });

  it('--user that the image cannot look up', () => {
    runContainer('container-t-user', ['--user', 'daemon', 'scratchscope-case/static']);
    const rep = report('container-t-user');
    assert.equal(at(rep.diagnostics).code, 'user-missing');
    assert.equal(rep.failedStep, 'user');
    assertQuotesRecorded('container-t-user', rep);
  });

  it("a bind mount of an empty folder over the program's folder hides it", () => {
    mkdirSync(`${tmp.dir}/empty`);
    runContainer('container-t-bind', ['-v', `${tmp.dir}/empty:/srv/bin`, 'scratchscope-container/nested']);
    const rep = report('container-t-bind');
    assert.equal(at(rep.diagnostics).code, 'hidden-by-mount');
    assert.equal(at(rep.mountFindings).effect, 'hides');
    assert.equal(rep.agreement, 'same');
    assertQuotesRecorded('container-t-bind', rep);
  });

  it("a tmpfs over the program's folder hides it", () => {
    runContainer('container-t-tmpfs', ['--tmpfs', '/srv/bin', 'scratchscope-container/nested']);
    const rep = report('container-t-tmpfs');
    assert.equal(at(rep.diagnostics).code, 'hidden-by-mount');
    assertQuotesRecorded('container-t-tmpfs', rep);
  });

  it("a new named volume gets the image's folder copied in; with nocopy it stays empty", () => {
    for (const v of ['container-t-vol', 'container-t-vol-nocopy']) {
      docker(['volume', 'rm', '-f', v]);
      volumes.push(v);
    }
    runContainer('container-t-volume', ['-v', 'container-t-vol:/srv/bin', 'scratchscope-container/nested']);
    const copied = report('container-t-volume');
    assert.equal(copied.verdict, 'started');
    assert.equal(at(copied.mountFindings).effect, 'copied');
    runContainer('container-t-nocopy', [
      '--mount',
      'type=volume,src=container-t-vol-nocopy,dst=/srv/bin,volume-nocopy',
      'scratchscope-container/nested',
    ]);
    const hidden = report('container-t-nocopy');
    assert.equal(at(hidden.diagnostics).code, 'hidden-by-mount');
    assert.equal(at(hidden.container.mounts).noCopy, true);
    assertQuotesRecorded('container-t-nocopy', hidden);
  });

  it('--read-only with a program that writes /tmp: started, with a warning', () => {
    runContainer('container-t-readonly', ['--read-only', 'scratchscope-container/tmpwriter']);
    const rep = report('container-t-readonly');
    assert.equal(rep.verdict, 'started');
    assert.ok(rep.diagnostics.some((d) => d.code === 'read-only-tmp'));
    assert.ok(rep.exit);
    assert.equal(rep.exit.code, 1);
    assert.ok(
      rep.exit.logTail.some((l) => l.endsWith('Read-only file system')),
      rep.exit.logTail.join('\n'),
    );
    runContainer('container-t-readonly-tmpfs', ['--read-only', '--tmpfs', '/tmp', 'scratchscope-container/tmpwriter']);
    const fixed = report('container-t-readonly-tmpfs');
    assert.equal(fixed.exit?.code, 0);
    assert.ok(!fixed.diagnostics.some((d) => d.code === 'read-only-tmp'));
  });

  it('an image changed after the container was created: the difference is said plainly', () => {
    assert.equal(docker(['tag', 'scratchscope-case/static', 'scratchscope-container/moving']).status, 0);
    docker(['rm', '-f', 'container-t-moved']);
    created.push('container-t-moved');
    assert.equal(docker(['create', '--name', 'container-t-moved', 'scratchscope-container/moving']).status, 0);
    assert.equal(docker(['tag', 'scratchscope-case/exec-not-found', 'scratchscope-container/moving']).status, 0);
    const rep = report('container-t-moved');
    assert.equal(rep.verdict, 'starts', 'read from the image it was created from');
    assert.equal(rep.container.imageMoved, true);
    assert.match(rep.finding, /now names another image/);
  });

  it('a container the engine does not have: one line, exit 4 (not found)', () => {
    assert.match(
      oneLineError(cli(['container', 'container-t-absent']), 4),
      /^scratchscope: no container container-t-absent in the engine at unix:\/\//,
    );
  });
});

describe('mount content that cannot be seen from here', () => {
  it('is unknown, not guessed', () => {
    const bind = {
      type: 'bind' as const,
      source: '/nonexistent/host/folder',
      name: null,
      destination: '/srv',
      readWrite: true,
      noCopy: false,
    };
    assert.equal(mountEffect([bind], '/srv/app')?.effect, 'unknown');
    const vol = { ...bind, type: 'volume' as const, name: 'data' };
    assert.match(mountEffect([vol], '/srv/app')!.detail, /if the volume was empty when first mounted, Docker copied/);
    assert.equal(mountEffect([bind], '/other/app'), null);
  });
});

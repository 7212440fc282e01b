import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { listFiles } from '../src/fs/index.js';
import { loadImage } from '../src/load.js';
import { makeDockerArchive, saveWithRenamedConfig, tempDir } from './helpers/build.js';
import { rawTar } from './helpers/rawtar.js';
import { cli, oneLineError } from './helpers/cli.js';
import { comparable, exportComparable } from './helpers/compare.js';
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

  it('layers the engine refuses to unpack are refused in its words; the ones it loads are read', async () => {
    // a sparse file as GNU tar stores it: old GNU ('S') in its own format, pax 1.0 in posix
    writeFileSync(`${tmp.dir}/sparse`, 'start');
    execFileSync('truncate', ['-s', String(1 << 20), `${tmp.dir}/sparse`]);
    appendFileSync(`${tmp.dir}/sparse`, 'end');
    const gnuTar = (format: string) => {
      execFileSync('tar', ['--sparse', `--format=${format}`, '-cf', `${tmp.dir}/sparse.tar`, '-C', tmp.dir, 'sparse']);
      return readFileSync(`${tmp.dir}/sparse.tar`);
    };
    const a = rawTar([{ name: 'a.txt', body: Buffer.from('a') }], false);
    const b = rawTar([{ name: 'b.txt', body: Buffer.from('b') }]);
    const zero = Buffer.alloc(512);
    const cases: [string, Buffer, RegExp | null][] = [
      ["old GNU sparse ('S')", gnuTar('gnu'), /unhandled tar header type 83/],
      [
        "a contiguous file ('7')",
        Buffer.concat([a, rawTar([{ name: 'c.bin', type: '7', body: Buffer.from('abcd') }])]),
        /unhandled tar header type 55/,
      ],
      [
        "a GNU dumpdir ('D')",
        Buffer.concat([a, rawTar([{ name: 'd/', type: 'D', body: Buffer.from('Ya.txt\0\0') }])]),
        /unhandled tar header type 68/,
      ],
      ['a lone zero block before more headers', Buffer.concat([a, zero, b]), /archive\/tar: invalid tar header/],
      [
        'a pax mtime that is no number',
        rawTar([{ name: 'f', pax: { mtime: '1e3' }, body: Buffer.from('f') }]),
        /archive\/tar: invalid tar header/,
      ],
      ['pax sparse 1.0', gnuTar('posix'), null],
      ['one zero block at the end', Buffer.concat([a, zero]), null],
    ];
    for (const [what, layer, refusal] of cases) {
      const file = `${tmp.dir}/refused.tar`;
      writeFileSync(file, await makeDockerArchive({ layers: [layer], config: { Cmd: ['/a.txt'] } }, 'scratchscope-test/refused:latest'));
      const loaded = docker(['load', '-i', file]);
      const ours = cli(['files', file]);
      if (refusal === null) {
        assert.equal(loaded.status, 0, `${what}: the engine loads it: ${loaded.stderr}`);
        assert.equal(ours.status, 0, `${what}: ${ours.stderr}`);
      } else {
        assert.notEqual(loaded.status, 0, `${what}: the engine refuses it`);
        assert.match(loaded.stderr, refusal, what);
        assert.match(oneLineError(ours, 3), refusal, what);
      }
    }
    docker(['rmi', 'scratchscope-test/refused:latest']);
  });

  it("a whiteout after its layer's own file removes that file, as the engine unpacks the layer in tar order", async () => {
    const layers = [
      rawTar([
        { name: 'f', body: Buffer.from('old') },
        { name: 'keep', body: Buffer.from('k') },
      ]),
      rawTar([
        { name: 'f', body: Buffer.from('new!') },
        { name: 'g', body: Buffer.from('gg') },
        { name: 'd/x', body: Buffer.from('xxx') },
        { name: '.wh.f', body: Buffer.alloc(0) },
        { name: '.wh.g', body: Buffer.alloc(0) },
        { name: '.wh.d', body: Buffer.alloc(0) },
        { name: '.wh.h', body: Buffer.alloc(0) },
        { name: 'h', body: Buffer.from('h') }, // after its whiteout: stays
      ]),
    ];
    const file = `${tmp.dir}/erased.tar`;
    writeFileSync(file, await makeDockerArchive({ layers, config: { Cmd: ['/keep'] } }, 'scratchscope-test/erased:latest'));
    assert.equal(docker(['load', '-i', file]).status, 0);
    const cid = docker(['create', 'scratchscope-test/erased:latest']).stdout.trim();
    assert.equal(docker(['export', cid, '-o', `${tmp.dir}/erased.export.tar`]).status, 0);
    docker(['rm', cid]);
    docker(['rmi', 'scratchscope-test/erased:latest']);
    const img = await loadImage(file);
    const exp = await loadImage(`${tmp.dir}/erased.export.tar`);
    try {
      assert.deepEqual(comparable(listFiles(img.tree)), exportComparable(listFiles(exp.tree), listFiles(img.tree)));
      assert.deepEqual(
        listFiles(img.tree).map((f) => f.path),
        ['/h', '/keep'],
      );
    } finally {
      await img.close();
      await exp.close();
    }
  });

  it('a path through a link its own layer made is written through it; a hard link gives the inode its mode and owner', async () => {
    const body = Buffer.from('#!/nonexistent\n');
    const layers = [
      rawTar([
        // folders given: the engine makes an implied one 0600 before moby 23 (0755 since), this 0755
        { name: 'usr/', type: '5', mode: 0o755 },
        { name: 'etc/', type: '5', mode: 0o755 },
        { name: 'usr/bin/', type: '5', mode: 0o755 },
        { name: 'bin', type: '2', linkname: 'usr/bin' },
        { name: 'bin/tool', body, mode: 0o755 },
        { name: 'up', type: '2', linkname: '..' },
        { name: 'up/etc/myfile', body: Buffer.from('x') },
        { name: 'usr/run', body, mode: 0o755 },
        { name: 'app', type: '1', linkname: 'usr/run', mode: 0o644 },
      ]),
    ];
    const file = `${tmp.dir}/through.tar`;
    writeFileSync(file, await makeDockerArchive({ layers, config: { Cmd: ['/usr/bin/tool'] } }, 'scratchscope-test/through:latest'));
    const loaded = docker(['load', '-i', file]);
    assert.equal(loaded.status, 0, loaded.stderr);
    const cid = docker(['create', 'scratchscope-test/through:latest']).stdout.trim();
    assert.equal(docker(['export', cid, '-o', `${tmp.dir}/through.export.tar`]).status, 0);
    docker(['rm', cid]);
    docker(['rmi', 'scratchscope-test/through:latest']);
    const img = await loadImage(file);
    const exp = await loadImage(`${tmp.dir}/through.export.tar`);
    try {
      assert.deepEqual(comparable(listFiles(img.tree)), exportComparable(listFiles(exp.tree), listFiles(img.tree)));
      const paths = listFiles(img.tree).map((f) => f.path);
      assert.ok(paths.includes('/usr/bin/tool') && paths.includes('/etc/myfile'), paths.join(' '));
      assert.equal(img.tree.get('/usr/run')?.mode, 0o644);
    } finally {
      await img.close();
      await exp.close();
    }
  });

  it("a name twice in one layer, or a file inside a file: the engine's refusal is a layer-problem in its words", async () => {
    const f = (name: string) => ({ name, body: Buffer.from('f') });
    const cases: [string, Buffer, RegExp][] = [
      ['a file twice', rawTar([f('app'), f('app')]), /duplicates of file paths not supported/],
      [
        'a folder twice, spelled two ways',
        rawTar([{ name: './etc', type: '5' }, { name: 'etc/', type: '5' }, f('app')]),
        /duplicates of file paths not supported/,
      ],
      ['a file inside a file', rawTar([f('app'), f('app/x')]), /open \/app\/x: not a directory/],
    ];
    for (const [what, layer, words] of cases) {
      const file = `${tmp.dir}/twice.tar`;
      writeFileSync(file, await makeDockerArchive({ layers: [layer], config: { Cmd: ['/app'] } }, 'scratchscope-test/twice:latest'));
      const loaded = docker(['load', '-i', file]);
      assert.notEqual(loaded.status, 0, `${what}: the engine refuses it`);
      assert.match(loaded.stderr, words, what);
      const r = parseReport(cli(['inspect', '--json', file]).stdout);
      const problem = r.diagnostics.find((d) => d.code === 'layer-problem');
      assert.match(problem?.message ?? '', words, what);
    }
  });

  it('a WORKDIR that is a file, or under one: the engine cannot make it, and says so before anything runs', async () => {
    const layer = rawTar([
      { name: 'app', body: Buffer.from('not a folder') },
      { name: 'run', mode: 0o755, body: Buffer.from('#!/nonexistent\n') },
    ]);
    for (const [workdir, words] of [
      ['/app', /Cannot mkdir: \/app is not a directory/],
      ['/app/sub', /app\/sub: not a directory/],
      ['/srv', null],
    ] as const) {
      const file = `${tmp.dir}/workdir.tar`;
      writeFileSync(
        file,
        await makeDockerArchive(
          { layers: [layer], config: { Entrypoint: ['/run'], WorkingDir: workdir } },
          'scratchscope-test/workdir:latest',
        ),
      );
      assert.equal(docker(['load', '-i', file]).status, 0);
      const run = docker(['run', '--rm', '--network', 'none', 'scratchscope-test/workdir:latest']);
      const first = parseReport(cli(['inspect', '--json', file]).stdout).diagnostics.find((d) => d.severity === 'error');
      if (words === null) {
        assert.notEqual(first?.code, 'workdir-not-dir', 'a missing WORKDIR is made');
        assert.doesNotMatch(run.stderr, /not a directory/);
      } else {
        assert.equal(run.status, 125, run.stderr);
        assert.match(run.stderr, words, workdir);
        assert.equal(first?.code, 'workdir-not-dir', workdir);
        if (first?.runtimeError) assert.ok(run.stderr.includes(first.runtimeError), run.stderr);
      }
    }
    docker(['rmi', 'scratchscope-test/workdir:latest']);
  });

  it("loads a save whose config file name is not its digest, as the engine does, with the engine's image id", async () => {
    const { archive } = await saveWithRenamedConfig(rawTar([{ name: 'a', body: Buffer.from('a') }]), 'scratchscope-test/renamed:latest');
    const file = `${tmp.dir}/renamed-config.tar`;
    writeFileSync(file, archive);
    const loaded = docker(['load', '-i', file]);
    assert.equal(loaded.status, 0, loaded.stderr);
    const id = docker(['image', 'inspect', '--format', '{{.Id}}', 'scratchscope-test/renamed:latest']).stdout.trim();
    const ours = cli(['inspect', '--json', file]);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(parseReport(ours.stdout).source.configDigest, id);
    docker(['rmi', 'scratchscope-test/renamed:latest']);
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

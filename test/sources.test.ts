import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { listFiles } from '../src/fs/index.js';
import { loadImage } from '../src/load.js';
import { comparable } from './helpers/compare.js';
import { makeDockerArchive, makeTar, saveWithRenamedConfig, sha256, tempDir, writeOciLayout } from './helpers/build.js';
import { at, rejects } from './helpers/assert.js';
import { parseJson } from './helpers/json.js';
import { cli, oneLineError } from './helpers/cli.js';

const FX = new URL('../fixtures/images/', import.meta.url).pathname;
const tmp = tempDir();
after(tmp.cleanup);

async function tree(ref: string, opts = {}) {
  const m = await loadImage(ref, opts);
  try {
    return { files: listFiles(m.tree), source: m.source, config: m.config, layers: m.layers };
  } finally {
    await m.close();
  }
}

describe('every format of the same image gives the same merged tree', async () => {
  const reference = await tree(FX + 'layers.docker.tar');

  it('docker save (pre-25) is read with verified layers and its config', () => {
    assert.equal(reference.source.kind, 'docker-archive');
    assert.equal(reference.source.image, 'scratchscope-fixture/layers:latest');
    assert.deepEqual(reference.config?.entrypoint, ['/usr/bin/hello']);
    assert.equal(reference.config?.user, '1000:1000');
    assert.equal(reference.config?.workingDir, '/data');
    assert.equal(reference.layers.length, 8);
    assert.ok(reference.layers.every((l) => l.verified && l.compression === 'none'));
    assert.match(at(reference.layers, 3).history?.createdBy ?? '', /fsop rm \/data\/b.bin/);
  });

  const variants: [string, string, string][] = [
    ['Docker 25+ (OCI layout inside)', 'layers.docker25.tar', 'none'],
    ['containerd store (gzip + zstd, nested index, attestation, absent arm64)', 'layers.containerd.tar', 'gzip'],
    ['podman docker-archive (layer symlinks)', 'layers.podman.tar', 'none'],
    ['OCI archive, gzip', 'oci-archive:' + FX + 'layers.oci-gzip.tar', 'gzip'],
    ['OCI archive, zstd', FX + 'layers.oci-zstd.tar', 'zstd'],
    ['OCI layout folder', 'oci:' + FX + 'layers.oci:latest', 'gzip'],
    ['a multi-image docker save, by tag', 'multi.docker.tar', 'none'],
  ];
  for (const [label, file, compression] of variants) {
    it(label, async () => {
      const ref = file.includes(':') || file.startsWith('/') ? file : FX + file;
      const t = await tree(ref, { tag: file.startsWith('multi') ? 'scratchscope-fixture/layers' : undefined });
      assert.deepEqual(t.files, reference.files);
      assert.deepEqual(t.config, reference.config);
      assert.equal(at(t.layers).compression, compression);
      assert.ok(
        t.layers.every((l) => l.verified),
        'every layer digest checked',
      );
    });
  }

  it('the containerd variant mixes compressions per layer', async () => {
    const t = await tree(FX + 'layers.containerd.tar');
    assert.deepEqual(
      t.layers.map((l) => l.compression),
      ['gzip', 'zstd', 'gzip', 'gzip', 'gzip', 'gzip', 'gzip', 'gzip'],
    );
    assert.equal(t.source.platform, 'linux/amd64');
  });

  it('equals, path by path, what docker export of a container gives (runtime paths aside)', async () => {
    const exported = await tree(FX + 'layers.export.tar');
    assert.equal(exported.source.kind, 'rootfs-tar');
    assert.deepEqual(comparable(reference.files), comparable(exported.files, true));
  });

  it('a root filesystem folder reads like the same tar', async () => {
    const dir = `${tmp.dir}/rootfs`;
    mkdirSync(dir);
    execFileSync('tar', ['-xf', FX + 'layers.export.tar', '-C', dir, '--no-same-owner']);
    const t = await tree(dir);
    assert.equal(t.source.kind, 'rootfs-dir');
    const names = (fs: typeof t.files) =>
      fs.map((f) => `${f.path} ${f.type === 'hardlink' ? 'file' : f.type} ${f.type === 'symlink' ? f.linkTarget : ''}`);
    assert.deepEqual(
      names(t.files).filter((s) => !s.startsWith('/dev/')),
      names((await tree(FX + 'layers.export.tar')).files).filter((s) => !s.startsWith('/dev/')),
    );
  });
});

describe('picking an image', () => {
  it('an archive of several images without --tag lists them', async () => {
    await rejects(
      loadImage(FX + 'multi.docker.tar'),
      'ambiguous-image',
      /pick one with --tag: .*scratchscope-fixture\/layers:latest.*scratchscope-fixture\/hello:latest|hello.*layers/,
    );
  });

  it('an unknown tag names what is there', async () => {
    await rejects(loadImage(FX + 'multi.docker.tar', { tag: 'nope' }), 'not-found', /no image tagged nope; it holds/);
  });

  it('a platform whose blobs were never pulled is a clear error, an unknown one lists the choices', async () => {
    await rejects(
      loadImage(FX + 'layers.containerd.tar', { platform: 'linux/arm64' }),
      'missing-blob',
      /linux\/arm64 is listed but its blobs are not in the archive/,
    );
    await rejects(
      loadImage(FX + 'layers.containerd.tar', { platform: 'linux/s390x' }),
      'unknown-platform',
      /available: linux\/amd64, linux\/arm64\/v8 \(blobs absent\)/,
    );
    const t = await tree(FX + 'layers.containerd.tar', { platform: 'linux/amd64' });
    assert.equal(t.source.platform, 'linux/amd64');
  });

  it("a multi-platform layout picks the only present one, else the host's, else asks", async () => {
    const layer = await makeTar([{ name: 'x', body: 'x' }]);
    const dir = writeOciLayout(`${tmp.dir}/mp`, { layers: [layer], architecture: 'arm64' });
    // a second manifest for another platform
    const idx = parseJson<{ manifests: Record<string, unknown>[] }>(execFileSync('cat', [`${dir}/index.json`]).toString());
    const arm = at(idx.manifests);
    idx.manifests.push({ ...arm, platform: { os: 'linux', architecture: 's390x' } });
    writeFileSync(`${dir}/index.json`, JSON.stringify(idx));
    await rejects(loadImage(dir), 'unknown-platform', /several platforms, pick one with --platform: linux\/arm64, linux\/s390x/);
    assert.equal((await tree(dir, { platform: 'linux/s390x' })).source.platform, 'linux/s390x');
  });

  it('an index without platforms (skopeo writes none) is matched through the config', async () => {
    const t = await tree(FX + 'layers.oci-gzip.tar', { platform: 'linux/amd64' });
    assert.equal(t.source.platform, 'linux/amd64');
    await rejects(
      loadImage(FX + 'layers.oci-gzip.tar', { platform: 'linux/arm64' }),
      'unknown-platform',
      /no image for linux\/arm64; available: linux\/amd64/,
    );
  });

  it('a docker archive of another platform refuses --platform', async () => {
    await rejects(loadImage(FX + 'hello.docker.tar', { platform: 'linux/arm64' }), 'unknown-platform', /is linux\/amd64, not linux\/arm64/);
  });
});

describe('finding the engine', () => {
  it('DOCKER_HOST first, then the current docker context, then the default socket', async () => {
    const { findEngine } = await import('../src/source/daemon.js');
    const { createHash } = await import('node:crypto');
    const saved = { host: process.env.DOCKER_HOST, config: process.env.DOCKER_CONFIG, ctx: process.env.DOCKER_CONTEXT };
    try {
      const cfg = `${tmp.dir}/docker-config`;
      const id = createHash('sha256').update('remote').digest('hex');
      mkdirSync(`${cfg}/contexts/meta/${id}`, { recursive: true });
      writeFileSync(`${cfg}/config.json`, JSON.stringify({ currentContext: 'remote' }));
      writeFileSync(
        `${cfg}/contexts/meta/${id}/meta.json`,
        JSON.stringify({ Name: 'remote', Endpoints: { docker: { Host: 'unix:///run/remote.sock' } } }),
      );
      process.env.DOCKER_CONFIG = cfg;
      delete process.env.DOCKER_CONTEXT;
      process.env.DOCKER_HOST = 'tcp://10.9.8.7:2375';
      assert.equal(findEngine().address, 'tcp://10.9.8.7:2375');
      delete process.env.DOCKER_HOST;
      assert.equal(findEngine().address, 'unix:///run/remote.sock');
      process.env.DOCKER_CONTEXT = 'default';
      assert.match(findEngine().address, /^unix:\/\/.*(docker|podman)\.sock$/);
    } finally {
      for (const [k, v] of [
        ['DOCKER_HOST', saved.host],
        ['DOCKER_CONFIG', saved.config],
        ['DOCKER_CONTEXT', saved.ctx],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('archives made by hand', () => {
  it("a pre-25 docker archive with a layer symlinked to another layer's tar", async () => {
    const l0 = await makeTar([{ name: 'a', body: 'a' }]);
    const buf = await makeDockerArchive({ layers: [l0] });
    writeFileSync(`${tmp.dir}/one.tar`, buf);
    const t = await tree(`${tmp.dir}/one.tar`);
    assert.deepEqual(
      t.files.map((f) => f.path),
      ['/a'],
    );
  });

  it("a config whose file name is not its digest is read as Docker reads it (by path), and the image's id is its bytes' digest", async () => {
    // go-containerregistry's testdata has such a save; docker load takes it (test/engine.test.ts)
    const { archive, config } = await saveWithRenamedConfig(await makeTar([{ name: 'a', body: 'a' }]), 'renamed:latest');
    const file = `${tmp.dir}/renamed-config.tar`;
    writeFileSync(file, archive);
    const t = await tree(file);
    assert.deepEqual(
      t.files.map((f) => f.path),
      ['/a'],
    );
    assert.equal(t.source.configDigest, sha256(config));
  });

  // a running system's root given as one (repair --from /, closure --from-image /): the kernel's
  // own file systems mounted in it are left empty, as docker export leaves /proc
  it(
    'a root folder with proc mounted in it: /proc is there, empty',
    { skip: process.getuid?.() !== 0 ? 'needs root to mount' : false },
    async () => {
      const root = `${tmp.dir}/live-root`;
      mkdirSync(`${root}/proc`, { recursive: true });
      writeFileSync(`${root}/app`, 'x');
      execFileSync('mount', ['-t', 'proc', 'proc', `${root}/proc`]);
      try {
        const t = await tree(root);
        assert.deepEqual(
          t.files.map((f) => f.path),
          ['/app', '/proc'],
        );
      } finally {
        execFileSync('umount', [`${root}/proc`]);
      }
    },
  );

  it('docker save | gzip is read too', async () => {
    execFileSync('sh', ['-c', `gzip -c '${FX}hello.docker.tar' > '${tmp.dir}/hello.tar.gz'`]);
    const t = await tree(`${tmp.dir}/hello.tar.gz`);
    assert.deepEqual(
      t.files.map((f) => f.path),
      ['/hello'],
    );
  });

  it("skopeo's dir: folders (Docker's manifest and OCI's) read like the archive they were copied from", async () => {
    const want = (await tree(`${FX}hello.docker.tar`)).files.map((f) => f.path);
    for (const format of ['v2s2', 'oci']) {
      const dir = `${tmp.dir}/skopeo-dir-${format}`;
      execFileSync('skopeo', ['copy', '-q', '--format', format, `docker-archive:${FX}hello.docker.tar`, `dir:${dir}`]);
      for (const ref of [dir, `dir:${dir}`]) {
        const t = await tree(ref);
        assert.deepEqual(
          t.files.map((f) => f.path),
          want,
          ref,
        );
        assert.equal(t.source.kind, 'skopeo-dir');
      }
    }
    mkdirSync(`${tmp.dir}/not-skopeo`, { recursive: true });
    assert.match(oneLineError(cli(['files', `dir:${tmp.dir}/not-skopeo`]), 3), /not a skopeo dir: folder/);
  });

  // the other compressions docker load takes: inflated by their programs, as moby inflates xz
  it('docker save | xz or bzip2, and layers stored so, are read too; cut short, one line that says so', async () => {
    const layer = await makeTar([{ name: 'app', body: 'x', mode: 0o755 }]);
    for (const [program, ext] of [
      ['xz', 'xz'],
      ['bzip2', 'bz2'],
    ] as const) {
      execFileSync('sh', ['-c', `${program} -c '${FX}hello.docker.tar' > '${tmp.dir}/hello.tar.${ext}'`]);
      const t = await tree(`${tmp.dir}/hello.tar.${ext}`);
      assert.deepEqual(
        t.files.map((f) => f.path),
        ['/hello'],
        program,
      );
      const packed = execFileSync(program, ['-c'], { input: layer });
      const file = `${tmp.dir}/layer-${ext}.tar`;
      writeFileSync(file, await makeDockerArchive({ layers: [packed], config: { Cmd: ['/app'] } }, `x/${ext}:1`, [sha256(layer)]));
      const l = await tree(file);
      assert.deepEqual(
        l.files.map((f) => f.path),
        ['/app'],
        `${program} layer`,
      );
      writeFileSync(`${tmp.dir}/cut.tar.${ext}`, execFileSync(program, ['-c', `${FX}hello.docker.tar`]).subarray(0, 2000));
      const cut = cli(['files', `${tmp.dir}/cut.tar.${ext}`]);
      assert.match(oneLineError(cut, 3), new RegExp(`${program} stream ends early|corrupt ${program} data`), program);
    }
    // without the program: one line that names it
    const noXz = cli(['files', `${tmp.dir}/hello.tar.xz`], { PATH: '/nonexistent' });
    assert.match(oneLineError(noXz, 3), /xz-compressed data: it is inflated with the xz program, which is not installed/);
  });
});

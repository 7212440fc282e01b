/**
 * Archives as real tools write them (fixtures/archives.sh makes each with the tool, or lays
 * it out the way that tool's source says): every one reads as the same image as the
 * Docker 20.10 save it came from, or fails with the one sentence that says why.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { listChanges, listFiles } from '../src/fs/index.js';
import { loadImage } from '../src/load.js';
import { formatMode } from '../src/render/format.js';
import { makeDockerArchive, makeTar, sha256, tempDir } from './helpers/build.js';
import { cli, oneLineError } from './helpers/cli.js';
import { at, rejects } from './helpers/assert.js';
import { parseReport, readJson } from './helpers/json.js';

/** Pre-1.10 `repositories`: name -> tag -> top layer id. */
type Repositories = Record<string, Record<string, string>>;
interface OciIndex {
  manifests: { digest: string }[];
}
/** One image of a docker save's manifest.json. */
interface ManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}
/** An image config file, as far as these tests edit it. */
interface ConfigFile {
  config?: Record<string, unknown>;
}

const A = new URL('../fixtures/images/archives/', import.meta.url).pathname;
const tmp = tempDir();
after(tmp.cleanup);

async function read(ref: string, opts: { tag?: string; verify?: boolean; platform?: string } = {}) {
  const m = await loadImage(ref, opts);
  try {
    return {
      files: listFiles(m.tree),
      source: m.source,
      config: m.config,
      layers: m.layers,
      history: m.history,
      changes: m.layers.map((_, i) => listChanges(m.tree, i)),
    };
  } finally {
    await m.close();
  }
}

/** A tar's members into a folder, for the folder forms and for editing an archive. */
function untar(file: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xf', file, '-C', dir]);
  return dir;
}

function retar(dir: string, file: string): string {
  execFileSync('tar', ['--owner=0', '--group=0', '--sort=name', '-cf', file, '-C', dir, '.']);
  return file;
}

const reference = await read(A + 'small.docker.tar');

describe('Docker 25.0.0 and pre-1.10 saves read like the save they came from', () => {
  it('the reference (Docker 20.10 docker save) has what the Dockerfile made', () => {
    assert.deepEqual(reference.config?.entrypoint, ['/hello']);
    assert.deepEqual(reference.config?.env, ['PATH=/bin', 'GREETING=hi']);
    assert.deepEqual(
      reference.files.map((f) => f.path),
      ['/bin', '/bin/hello', '/etc', '/etc/passwd', '/hello'],
    );
  });

  it('Docker 25.0.0 saved by id: index.json "manifests": null, read through manifest.json as Docker loads it', async () => {
    const raw = execFileSync('tar', ['-xOf', A + 'small.docker25.0.0-by-id.tar', 'index.json']).toString();
    assert.match(raw, /"manifests":null/);
    const t = await read(A + 'small.docker25.0.0-by-id.tar');
    assert.equal(t.source.kind, 'docker-archive');
    assert.equal(t.source.image, null, 'saved by id: no name');
    assert.deepEqual(t.files, reference.files);
    assert.deepEqual(t.config, reference.config);
    assert.ok(
      t.layers.every((l) => l.verified),
      'blob names are digests: every layer checked',
    );
  });

  it('pre-1.10: repositories + <id>/json + <id>/layer.tar, layers in parent order, config from the top json', async () => {
    const t = await read(A + 'small.pre110.tar');
    assert.equal(t.source.kind, 'docker-archive');
    assert.equal(t.source.image, 'archives-fixture/legacy:latest');
    assert.equal(t.source.platform, 'linux/amd64');
    assert.deepEqual(t.files, reference.files);
    assert.deepEqual(t.config, reference.config);
    // one layer per Dockerfile step, metadata steps included (their tars are empty)
    assert.equal(t.layers.length, 5);
    assert.deepEqual(
      t.layers.map((l) => l.changes.entryCount),
      [1, 4, 0, 0, 0],
    );
    assert.deepEqual(
      t.history.map((h) => h.createdBy),
      reference.history.map((h) => h.createdBy),
    );
    assert.ok(
      t.layers.every((l) => !l.verified),
      'the format names no digests',
    );
  });

  it('pre-1.10, unpacked into a folder, by tag and by the id of its top layer', async () => {
    const dir = untar(A + 'small.pre110.tar', `${tmp.dir}/pre110`);
    assert.deepEqual((await read(dir, { tag: 'docker.io/archives-fixture/legacy' })).files, reference.files);
    const top = readJson<Repositories>(`${dir}/repositories`)['archives-fixture/legacy']?.latest;
    assert.ok(top);
    rmSync(`${dir}/repositories`);
    // saved by id: no repositories, the image is the layer no other names as parent
    const t = await read(dir);
    assert.equal(t.source.image, null);
    assert.deepEqual(t.files, reference.files);
    assert.deepEqual((await read(dir, { tag: top.slice(0, 12) })).files, reference.files);
  });

  it('pre-1.10 with a layer missing from the chain names it, never a root filesystem', async () => {
    const dir = untar(A + 'small.pre110.tar', `${tmp.dir}/pre110-broken`);
    const top = readJson<Repositories>(`${dir}/repositories`)['archives-fixture/legacy']?.latest;
    assert.ok(top);
    const parent = readJson<{ parent: string }>(`${dir}/${top}/json`).parent;
    rmSync(`${dir}/${parent}`, { recursive: true });
    const file = retar(dir, `${tmp.dir}/pre110-broken.tar`);
    await rejects(
      loadImage(file),
      'missing-blob',
      new RegExp(`layer ${parent.slice(0, 12)} is missing .*named as parent by ${top.slice(0, 12)}`),
    );
    await rejects(
      loadImage(A + 'small.pre110.tar', { tag: 'nope' }),
      'not-found',
      /no image tagged nope; it holds archives-fixture\/legacy:latest/,
    );
    await rejects(loadImage(A + 'small.pre110.tar', { platform: 'linux/arm64' }), 'unknown-platform', /is linux\/amd64, not linux\/arm64/);
  });
});

describe("docker save's platform keeps its variant, as the OCI path does", () => {
  const save = async (name: string, architecture: string, variant?: string) => {
    const file = `${tmp.dir}/${name}.docker.tar`;
    writeFileSync(file, await makeDockerArchive({ layers: [await makeTar([{ name: 'app', body: 'x' }])], architecture, variant }));
    return file;
  };

  it('arm/v7 is linux/arm/v7: --platform linux/arm/v7 and linux/arm read it, linux/arm/v6 is refused naming v7', async () => {
    const file = await save('armv7', 'arm', 'v7');
    assert.equal((await read(file)).source.platform, 'linux/arm/v7');
    assert.equal((await read(file, { platform: 'linux/arm/v7' })).source.platform, 'linux/arm/v7');
    assert.equal((await read(file, { platform: 'linux/arm' })).source.platform, 'linux/arm/v7');
    await rejects(loadImage(file, { platform: 'linux/arm/v6' }), 'unknown-platform', /the image is linux\/arm\/v7, not linux\/arm\/v6/);
  });

  it('arm64/v8 is linux/arm64/v8; an arm64 config without a variant is v8', async () => {
    assert.equal((await read(await save('arm64v8', 'arm64', 'v8'))).source.platform, 'linux/arm64/v8');
    const bare = await save('arm64', 'arm64');
    assert.equal((await read(bare)).source.platform, 'linux/arm64');
    assert.equal((await read(bare, { platform: 'linux/arm64/v8' })).source.platform, 'linux/arm64');
  });
});

describe('OCI layouts as skopeo reads them', () => {
  it('a folder with index.json and blobs but no oci-layout is read as OCI (skopeo reads it too)', async () => {
    const dir = `${tmp.dir}/no-layout`;
    cpSync(A + 'small.oci-two-refs', dir, { recursive: true });
    rmSync(`${dir}/oci-layout`);
    const t = await read(dir, { tag: 'one' });
    assert.equal(t.source.kind, 'oci-layout');
    assert.deepEqual(t.files, reference.files);
    // the same as an archive
    const t2 = await read(retar(dir, `${tmp.dir}/no-layout.tar`), { tag: 'two' });
    assert.equal(t2.source.kind, 'oci-archive');
    assert.deepEqual(t2.files, reference.files);
  });

  it('an index whose blobs are absent is a clear error, not a root filesystem', async () => {
    const dir = `${tmp.dir}/index-only`;
    mkdirSync(dir);
    cpSync(A + 'small.oci-two-refs/index.json', `${dir}/index.json`);
    await rejects(loadImage(dir), 'missing-blob', /no manifest it lists is in the archive \(.*sha256:.*\): never pulled, or removed/);
  });

  it('two index entries with the same digest are one image (skopeo copy to :one and :two)', async () => {
    const index = readJson<OciIndex>(A + 'small.oci-two-refs/index.json');
    assert.equal(index.manifests.length, 2);
    assert.equal(at(index.manifests, 0).digest, at(index.manifests, 1).digest);
    const t = await read(A + 'small.oci-two-refs');
    assert.equal(t.source.image, 'one');
    assert.deepEqual(t.files, reference.files);
    assert.equal((await read('oci:' + A + 'small.oci-two-refs:two')).source.image, 'two');
  });

  it('Docker 25 saving two tags of one image writes two index entries: one image, either name picks it', async () => {
    const t = await read(A + 'small.docker25-two-tags.tar');
    assert.equal(t.source.image, 'archives-fixture/small:one');
    assert.deepEqual(t.files, reference.files);
    assert.equal(
      (await read(A + 'small.docker25-two-tags.tar', { tag: 'docker.io/archives-fixture/small:two' })).source.image,
      'archives-fixture/small:two',
    );
  });
});

describe('OCI artifacts are not images', () => {
  it('a Helm chart (config media type) says so', async () => {
    await rejects(
      loadImage(A + 'artifact-helm.oci'),
      'not-an-image',
      /this is an OCI artifact \(application\/vnd\.cncf\.helm\.config\.v1\+json\), not a container image$/,
    );
  });

  it('an OCI 1.1 artifact (artifactType, empty config) says so, on the command line too', async () => {
    await rejects(
      loadImage(A + 'artifact-empty-config.oci'),
      'not-an-image',
      /this is an OCI artifact \(application\/vnd\.example\+type\), not a container image$/,
    );
    const line = oneLineError(cli(['inspect', A + 'artifact-empty-config.oci']));
    assert.match(line, /OCI artifact \(application\/vnd\.example\+type\)/);
  });

  it('an SBOM kept beside the image is skipped: the image is read', async () => {
    const t = await read(A + 'image-with-sbom.oci');
    assert.deepEqual(t.files, reference.files);
    assert.equal(t.source.image, 'latest');
  });
});

describe("skopeo's reference forms and Docker's name normalisation", () => {
  it('docker-archive:PATH:@N picks the Nth entry of manifest.json (podman save -m)', async () => {
    assert.deepEqual((await read(`docker-archive:${A}multi.podman.tar:@0`)).files, reference.files);
    assert.deepEqual(
      (await read(`docker-archive:${A}multi.podman.tar:@1`)).files.map((f) => f.path),
      ['/hello'],
    );
    await rejects(loadImage(`docker-archive:${A}multi.podman.tar:@2`), 'not-found', /no image @2; manifest.json lists 2 \(@0 to @1\)/);
    await rejects(loadImage(`docker-archive:${A}multi.podman.tar:@x`), 'usage', /@x: a source index/);
  });

  it('docker-archive:PATH:REF picks by name, as --tag does; a REF and a different --tag conflict', async () => {
    const t = await read(`docker-archive:${A}multi.podman.tar:localhost/archives-fixture/small:latest`);
    assert.deepEqual(t.files, reference.files);
    assert.equal(t.source.image, 'localhost/archives-fixture/small:latest');
    await rejects(
      loadImage(`docker-archive:${A}multi.podman.tar:localhost/archives-fixture/small`, { tag: 'other' }),
      'usage',
      /names localhost\/archives-fixture\/small but --tag other/,
    );
  });

  it('--tag takes x, x:latest, docker.io/library/x and index.docker.io/library/x for the same image', async () => {
    // two images in one archive, so the tag must pick: busybox:latest and example.com/busybox:latest
    const dir = `${tmp.dir}/two-names`;
    const entries: ManifestEntry[] = [];
    for (const [name, tag] of [
      ['one', 'busybox:latest'],
      ['two', 'example.com/busybox:latest'],
    ] as const) {
      writeFileSync(`${dir}-${name}.tar`, await makeDockerArchive({ layers: [await makeTar([{ name, body: name }])] }, tag));
      untar(`${dir}-${name}.tar`, dir);
      entries.push(...readJson<ManifestEntry[]>(`${dir}/manifest.json`));
    }
    writeFileSync(`${dir}/manifest.json`, JSON.stringify(entries));
    const file = retar(dir, `${dir}.tar`);
    for (const tag of [
      'busybox',
      'busybox:latest',
      'docker.io/library/busybox',
      'docker.io/busybox:latest',
      'index.docker.io/library/busybox',
      'index.docker.io/library/busybox:latest',
    ]) {
      assert.deepEqual(
        (await read(file, { tag })).files.map((f) => f.path),
        ['/one'],
        tag,
      );
    }
    assert.deepEqual(
      (await read(file, { tag: 'example.com/busybox' })).files.map((f) => f.path),
      ['/two'],
    );
    await rejects(loadImage(file, { tag: 'docker.io/library/example.com/busybox' }), 'not-found', /no image tagged/);
  });
});

describe('a save is read as docker load reads it', () => {
  it('a config edited after the save (its file name no longer its digest) is read as docker load reads it: by its path, its id the digest of its bytes', async () => {
    const dir = untar(A + 'small.docker.tar', `${tmp.dir}/edited`);
    const [entry] = readJson<ManifestEntry[]>(`${dir}/manifest.json`);
    assert.ok(entry);
    const config = readJson<ConfigFile>(`${dir}/${entry.Config}`);
    assert.ok(config.config);
    config.config.Entrypoint = ['/bin/hello'];
    writeFileSync(`${dir}/${entry.Config}`, JSON.stringify(config));
    assert.notEqual(sha256(readFileSync(`${dir}/${entry.Config}`)).slice(7) + '.json', entry.Config);
    const file = retar(dir, `${tmp.dir}/edited.tar`);
    for (const verify of [true, false]) {
      const t = await read(file, { verify });
      assert.deepEqual(t.config?.entrypoint, ['/bin/hello']);
      assert.deepEqual(t.files, reference.files);
    }
    const m = await loadImage(file);
    try {
      assert.equal(m.source.configDigest, sha256(readFileSync(`${dir}/${entry.Config}`)));
    } finally {
      await m.close();
    }
  });
});

describe('layer tars written by GNU tar, as containerd unpacks them', () => {
  // fixtures/archives.sh: `tar -cf` then `tar -rf` of the same file, a symlink stored as 0755
  const expected = readFileSync(A + 'dup-layer.containerd.txt', 'utf8')
    .trim()
    .split('\n');

  it('a path written twice: the last entry wins and is listed once; the symlink is lrwxrwxrwx', async () => {
    const dir = untar(A + 'dup-layer.oci.tar', `${tmp.dir}/dup`);
    const blob = (d: string) => `${dir}/blobs/sha256/${d.slice(7)}`;
    const index = readJson<OciIndex>(`${dir}/index.json`);
    const manifest = readJson<{ layers: { digest: string }[] }>(blob(at(index.manifests).digest));
    const listing = execFileSync('tar', ['-tvf', blob(at(manifest.layers).digest)]).toString();
    assert.equal(listing.split('\n').filter((l) => /^-.* app\.conf$/.test(l)).length, 2, 'the layer holds app.conf twice');
    assert.match(listing, /^lrwxr-xr-x .* conf-link -> app\.conf$/m, 'the header says 0755');
    const t = await read(A + 'dup-layer.oci.tar');
    const ours = t.files.map(
      (f) => `${f.path} ${formatMode(f.type, f.mode)} ${f.type === 'symlink' ? f.linkTarget!.length : f.size} ${f.linkTarget ?? ''}`,
    );
    assert.deepEqual(ours, expected);
    assert.deepEqual(
      at(t.changes, 0).map((c) => [c.change, c.path]),
      [
        ['added', '/app.conf'],
        ['added', '/conf-link'],
      ],
    );
    assert.equal(t.changes[0]?.[0]?.size, 23);
  });

  it('rewritten in a later layer it is modified, once', async () => {
    const lower = await makeTar([{ name: 'app.conf', body: 'v0' }]);
    const upper = await makeTar([
      { name: 'app.conf', body: 'v1' },
      { name: 'app.conf', body: 'v2!' },
      { name: 'l', type: 'symlink', linkname: 'app.conf', mode: 0o644 },
    ]);
    const file = `${tmp.dir}/dup2.tar`;
    writeFileSync(file, await makeDockerArchive({ layers: [lower, upper] }));
    const t = await read(file);
    assert.deepEqual(
      at(t.changes, 1).map((c) => [c.change, c.path, c.size]),
      [
        ['modified', '/app.conf', 3],
        ['added', '/l', 0],
      ],
    );
    assert.equal(t.changes[1]?.[1]?.mode, 0o777);
  });
});

describe('an image config that sets nothing', () => {
  it('docker import without --change: one sentence in text, valid JSON with empty fields', () => {
    const r = cli(['inspect', A + 'imported.docker.tar']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Config {5}empty: the image sets no command, user, environment or working directory/m);
    assert.doesNotMatch(r.stdout, /^Entrypoint /m);
    const j = parseReport(cli(['inspect', '--json', A + 'imported.docker.tar']).stdout);
    assert.deepEqual([j.image?.entrypoint, j.image?.cmd, j.image?.env, j.image?.user], [null, null, [], '']);
  });

  it('a config with no "config" at all, or Entrypoint as a lone string (Docker reads both)', async () => {
    for (const [cfg, entrypoint] of [
      [undefined, null],
      [{ Entrypoint: '/one' }, ['/one']],
    ] as const) {
      const dir = `${tmp.dir}/cfg-${entrypoint ? 'string' : 'none'}`;
      const layer = await makeTar([{ name: 'one', body: '1' }]);
      writeFileSync(`${dir}.tar`, await makeDockerArchive({ layers: [layer], config: cfg }));
      untar(`${dir}.tar`, dir);
      const [entry] = readJson<ManifestEntry[]>(`${dir}/manifest.json`);
      assert.ok(entry);
      const config = readJson<ConfigFile>(`${dir}/${entry.Config}`);
      if (!cfg) delete config.config;
      writeFileSync(`${dir}/${entry.Config}`, JSON.stringify(config));
      const r = cli(['inspect', '--no-verify', retar(dir, `${dir}-edited.tar`)]);
      assert.equal(r.status, 0, r.stderr);
      if (entrypoint) assert.match(r.stdout, /^Entrypoint \["\/one"\]$/m);
      else assert.match(r.stdout, /^Config {5}empty/m);
    }
  });
});

describe('image metadata is bounded before it is followed', () => {
  function layout(dir: string, index: unknown, blobs: Buffer[] = []): string {
    mkdirSync(`${dir}/blobs/sha256`, { recursive: true });
    for (const b of blobs) writeFileSync(`${dir}/blobs/sha256/${sha256(b).slice(7)}`, b);
    writeFileSync(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(`${dir}/index.json`, typeof index === 'string' ? index : JSON.stringify(index));
    return dir;
  }
  const desc = (b: Buffer, mediaType = 'application/vnd.oci.image.index.v1+json') => ({ mediaType, digest: sha256(b), size: b.length });
  /** The blobs of one image holding /x: its layer, config and manifest. */
  async function oneImage(): Promise<{ image: Buffer; config: Buffer; manifest: Buffer }> {
    const image = await makeTar([{ name: 'x', body: 'x' }]);
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(image)] } }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { ...desc(config, 'application/vnd.oci.image.config.v1+json') },
        layers: [desc(image, 'application/vnd.oci.image.layer.v1.tar')],
      }),
    );
    return { image, config, manifest };
  }

  it('indexes that fan out to more manifests than any image has are refused before they are followed', async () => {
    // 12 nested indexes of 1000 distinct (absent) manifests each
    const children = Array.from({ length: 12 }, (_, i) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          manifests: Array.from({ length: 1000 }, (_, j) => ({
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: sha256(`${i}-${j}`),
            size: 1,
          })),
        }),
      ),
    );
    const dir = layout(`${tmp.dir}/fanout`, { schemaVersion: 2, manifests: children.map((c) => desc(c)) }, children);
    await rejects(loadImage(dir), 'too-large', /more than 10000 manifests \(nested indexes that fan out\)/);
  });

  it('the same index listed again and again is followed once, its image listed once (12 x 50 x 50 x 50 references)', async () => {
    const { image, config, manifest } = await oneImage();
    let level = Buffer.from(
      JSON.stringify({ schemaVersion: 2, manifests: [desc(manifest, 'application/vnd.oci.image.manifest.v1+json')] }),
    );
    const blobs = [image, config, manifest, level];
    for (const fan of [50, 50, 50]) {
      level = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: Array.from({ length: fan }, () => desc(level)) }));
      blobs.push(level);
    }
    const dir = layout(`${tmp.dir}/fan-same`, { schemaVersion: 2, manifests: Array.from({ length: 12 }, () => desc(level)) }, blobs);
    assert.deepEqual(
      (await read(dir)).files.map((f) => f.path),
      ['/x'],
    );
  });

  it('a tag on an index names every image under it, beside the tags those images carry themselves', async () => {
    // go-containerregistry's testdata/test_index: "3" tags an index whose image is tagged "1" (skopeo takes oci:.:3)
    const { image, config, manifest } = await oneImage();
    const tagged = (b: Buffer, name: string, mediaType?: string) => ({
      ...desc(b, mediaType),
      annotations: { 'org.opencontainers.image.ref.name': name },
    });
    const inner = Buffer.from(
      JSON.stringify({ schemaVersion: 2, manifests: [tagged(manifest, 'inner', 'application/vnd.oci.image.manifest.v1+json')] }),
    );
    const dir = layout(
      `${tmp.dir}/tagged-index`,
      { schemaVersion: 2, manifests: [tagged(manifest, 'direct', 'application/vnd.oci.image.manifest.v1+json'), tagged(inner, 'outer')] },
      [image, config, manifest, inner],
    );
    for (const tag of [undefined, 'outer', 'inner', 'direct']) {
      assert.deepEqual(
        (await read(dir, { tag })).files.map((f) => f.path),
        ['/x'],
        String(tag),
      );
    }
    // one image's names apart from the next image's: "a / b, c"
    await rejects(loadImage(dir, { tag: 'nope' }), 'not-found', /no image tagged nope; it holds direct \/ inner \/ outer$/);
  });

  it('blobs named by sha512 are read and checked with sha512; an algorithm images never use is refused', async () => {
    const sha512 = (b: Buffer) => 'sha512:' + createHash('sha512').update(b).digest('hex');
    const build = (dir: string, opts: { gzip: boolean; spoilConfig?: boolean; layerDigest?: string }) => {
      const tar = gzipOr(opts.gzip);
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Entrypoint: ['/x'] },
          rootfs: { type: 'layers', diff_ids: [sha512(layer)] },
        }),
      );
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha512(config), size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: opts.layerDigest ?? sha512(tar), size: tar.length }],
        }),
      );
      mkdirSync(`${dir}/blobs/sha512`, { recursive: true });
      for (const b of [tar, config, manifest]) writeFileSync(`${dir}/blobs/sha512/${sha512(b).slice(7)}`, b);
      // the config's bytes changed under its name
      if (opts.spoilConfig)
        writeFileSync(`${dir}/blobs/sha512/${sha512(config).slice(7)}`, Buffer.from(config.toString().replace('/x', '/y')));
      writeFileSync(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
      writeFileSync(
        `${dir}/index.json`,
        JSON.stringify({
          schemaVersion: 2,
          manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha512(manifest), size: manifest.length }],
        }),
      );
      return dir;
    };
    const layer = await makeTar([{ name: 'x', body: 'x', mode: 0o755 }]);
    const gzipOr = (gzip: boolean) => (gzip ? gzipSync(layer) : layer);
    for (const gzip of [false, true]) {
      const m = await loadImage(build(`${tmp.dir}/sha512-${gzip}`, { gzip }));
      try {
        assert.deepEqual([m.layers.map((l) => l.verified), listFiles(m.tree).map((f) => f.path)], [[true], ['/x']], `gzip ${gzip}`);
      } finally {
        await m.close();
      }
      await rejects(
        loadImage(build(`${tmp.dir}/sha512-spoilt-${gzip}`, { gzip, spoilConfig: true })),
        'digest-mismatch',
        /does not match its digest sha512:/,
      );
    }
    const md5 = `md5:${createHash('md5').update(layer).digest('hex')}`;
    await rejects(
      loadImage(build(`${tmp.dir}/md5`, { gzip: false, layerDigest: md5 })),
      'unsupported',
      /md5 algorithm is not one images use \(sha256, sha512\)/,
    );
  });

  it('JSON nested deeper than any metadata, or larger than 4 MiB, is refused with one line', async () => {
    const deep = layout(`${tmp.dir}/deep`, '['.repeat(1 << 20) + ']'.repeat(1 << 20));
    await rejects(loadImage(deep), 'too-large', /index\.json nests more than 64 levels deep/);
    const big = layout(`${tmp.dir}/big`, JSON.stringify({ schemaVersion: 2, manifests: [], pad: 'x'.repeat(5 << 20) }));
    await rejects(loadImage(big), 'too-large', /index\.json is \d+ bytes, more than the 4 MiB image metadata may have/);
    assert.match(oneLineError(cli(['files', deep])), /nests more than 64 levels/);
  });
});

describe('the path given', () => {
  it('image.tar that is a symlink to the archive is read', async () => {
    const link = `${tmp.dir}/image.tar`;
    symlinkSync(A + 'small.docker.tar', link);
    assert.deepEqual((await read(link)).files, reference.files);
    assert.deepEqual((await read('docker-archive:' + link)).files, reference.files);
  });
});

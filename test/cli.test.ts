import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { ChangeRecord, FileRecord } from '../src/fs/index.js';
import { at } from './helpers/assert.js';
import { cli, oneLineError } from './helpers/cli.js';
import { jsonOutputOf, validateAs } from './helpers/schema.js';
import { parseJson, parseReport, readJson as readJsonFile } from './helpers/json.js';
import { makeTar, tempDir, writeOciLayout } from './helpers/build.js';
import { TarBundle, readJson } from '../src/source/bundle.js';
import { blobPath } from '../src/source/oci.js';

const FX = new URL('../fixtures/images/', import.meta.url).pathname;
const BIN = new URL('../bin/scratchscope.js', import.meta.url).pathname;
const tmp = tempDir();
after(tmp.cleanup);

describe('files', () => {
  it('--json prints the merged tree with the documented fields', () => {
    const r = cli(['files', FX + 'layers.docker.tar', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const files = parseJson<FileRecord[]>(r.stdout);
    const hello = files.find((f) => f.path === '/usr/bin/hello');
    assert.deepEqual(hello, {
      path: '/usr/bin/hello',
      type: 'file',
      mode: 0o4755,
      uid: 0,
      gid: 0,
      size: 17808,
      linkTarget: null,
      layer: 6,
    });
    const link = files.find((f) => f.path === '/etc/alink');
    assert.deepEqual([link?.type, link?.linkTarget], ['symlink', '../data/a.txt']);
    assert.ok(!files.some((f) => f.path.startsWith('/gone') || f.path === '/data/b.bin'));
    for (const f of files) assert.deepEqual(Object.keys(f), ['path', 'type', 'mode', 'uid', 'gid', 'size', 'linkTarget', 'layer']);
  });

  it("--layer N lists that layer's changes with a letter each", () => {
    const r = cli(['files', FX + 'layers.docker.tar', '--layer', '4']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^D .*\/keep\/old\.txt$/m);
    assert.match(r.stdout, /^A .*\/keep\/new\.txt$/m);
    const j = parseJson<ChangeRecord[]>(cli(['files', FX + 'layers.docker.tar', '--layer', '3', '--json']).stdout);
    assert.deepEqual(
      j.map((c) => [c.change, c.path]),
      [['removed', '/data/b.bin']],
    );
  });

  it('a layer that does not exist is a usage error', () => {
    assert.match(oneLineError(cli(['files', FX + 'hello.docker.tar', '--layer', '9'])), /has 1 layers .* no layer 9/);
  });
});

describe('cat', () => {
  it('writes a file, following symlinks inside the image, from plain and compressed layers', () => {
    for (const img of ['layers.docker.tar', 'layers.oci-zstd.tar', 'layers.containerd.tar']) {
      const r = cli(['cat', FX + img, '/etc/alink']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'second version, longer than the first');
    }
    const bin = cli(['cat', FX + 'layers.oci-gzip.tar', '/usr/bin/hello']);
    assert.equal(bin.stdout.length > 0 && bin.stdout.startsWith('\x7fELF'), true);
  });

  it('a symlink loop, a missing path and a directory are one-line errors', () => {
    assert.match(oneLineError(cli(['cat', FX + 'layers.docker.tar', '/etc/loop1'])), /too many levels of symbolic links/);
    assert.match(oneLineError(cli(['cat', FX + 'layers.docker.tar', '/gone/deep/d.txt'])), /not in the image/);
    assert.match(oneLineError(cli(['cat', FX + 'layers.docker.tar', '/data'])), /is a directory/);
  });
});

describe('inspect', () => {
  it('prints config, layers, sizes and waste', () => {
    const r = cli(['inspect', FX + 'layers.docker.tar']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Entrypoint \["\/usr\/bin\/hello"\]/);
    assert.match(r.stdout, /Wasted +118 kB/);
    assert.match(r.stdout, /100 kB +\/data\/b\.bin/);
  });

  it('--json is one object with the schema version', () => {
    const j = parseReport(cli(['inspect', FX + 'layers.oci-gzip.tar', '--json']).stdout);
    assert.equal(j.schemaVersion, 1);
    assert.equal(j.layers.length, 8);
    assert.equal(j.wasted.bytes, 100000 + 17808 + 14 + 5 + 4 + 4);
  });
});

describe('an image of another architecture than this machine', () => {
  it("is named a foreign-platform warning, unless --platform asked for it; the verdict stays its own platform's", async () => {
    const other = process.arch === 'arm64' ? 'amd64' : 'arm64';
    const dir = writeOciLayout(`${tmp.dir}/foreign`, {
      architecture: other,
      layers: [await makeTar([{ name: 'app', body: '#!/app\n', mode: 0o755 }])],
      config: { Entrypoint: ['/app'] },
    });
    const codes = (args: string[]) => parseReport(cli(['inspect', '--json', ...args, dir]).stdout).diagnostics.map((d) => d.code);
    assert.ok(codes([]).includes('foreign-platform'));
    assert.ok(!codes(['--platform', `linux/${other}`]).includes('foreign-platform'));
    const quick = cli(['inspect', '--verdict-only', dir]);
    assert.match(quick.stdout, new RegExp(`the image is for linux/${other}, and this machine is linux/`));
  });
});

describe('scratchscope IMAGE', () => {
  it('without a terminal prints the report (the explorer needs one), and --json the JSON', () => {
    const r = cli([FX + 'broken.docker.tar']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0] ?? '', /^✘ will fail: \/hello is dynamically linked/);
    assert.match(r.stdout, /the runtime says: exec \/hello: no such file or directory/);
    const j = parseReport(cli([FX + 'broken.docker.tar', '--json']).stdout);
    assert.equal(j.verdict, 'fails');
    assert.equal(at(j.diagnostics).code, 'interpreter-missing');
  });

  it('subcommands keep their own --json', () => {
    assert.ok(Array.isArray(parseJson<unknown>(cli(['files', FX + 'hello.docker.tar', '--json']).stdout)));
  });
});

describe('bad input ends in one line and the exit code of its class', () => {
  it('a file that is not an image', () => {
    writeFileSync(`${tmp.dir}/notes.txt`, 'hello\n'.repeat(200));
    assert.match(oneLineError(cli(['inspect', `${tmp.dir}/notes.txt`])), /not an image/);
    writeFileSync(`${tmp.dir}/empty`, '');
    assert.match(oneLineError(cli(['inspect', `${tmp.dir}/empty`])), /not an image/);
  });

  it('a path that does not exist', () => {
    assert.match(oneLineError(cli(['inspect', './nope/image.tar'])), /nope\/image\.tar: no such file/);
    assert.match(oneLineError(cli(['inspect', 'typo.tar'])), /typo\.tar: no such file or directory/);
  });

  it('a truncated docker save', () => {
    const full = readFileSync(FX + 'layers.docker.tar');
    for (const cut of [100, 3000, Math.floor(full.length / 2), full.length - 3000]) {
      writeFileSync(`${tmp.dir}/cut.tar`, full.subarray(0, cut));
      oneLineError(cli(['files', `${tmp.dir}/cut.tar`]));
    }
  });

  it('a layer whose bytes changed is named, unless verification is off', () => {
    const buf = Buffer.from(readFileSync(FX + 'layers.docker.tar'));
    const where = buf.indexOf('second version');
    buf[where] = 'S'.charCodeAt(0);
    writeFileSync(`${tmp.dir}/tampered.tar`, buf);
    const line = oneLineError(cli(['files', `${tmp.dir}/tampered.tar`]));
    const m = /layer (\d): content digest sha256:[0-9a-f]+ does not match sha256:/.exec(line);
    assert.ok(m, line);
    // layer 5 wrote /data/a.txt, layer 6 copied it to /data/a-hard
    const path = m[1] === '5' ? '/data/a.txt' : '/data/a-hard';
    const r = cli(['cat', `${tmp.dir}/tampered.tar`, path, '--no-verify']);
    assert.equal(r.stdout, 'Second version, longer than the first');
  });

  it('corrupt gzip and zstd layers', async () => {
    for (const name of ['layers.oci-gzip.tar', 'layers.oci-zstd.tar']) {
      const bundle = await TarBundle.open(FX + name);
      const index = readJson(bundle, 'index.json') as { manifests: { digest: string }[] };
      const manifest = readJson(bundle, blobPath(at(index.manifests).digest)) as { layers: { digest: string }[] };
      const blob = bundle.blob(blobPath(at(manifest.layers).digest));
      const buf = Buffer.from(readFileSync(FX + name));
      for (let i = blob.offset + 200; i < blob.offset + 400; i++) buf.writeUInt8(buf.readUInt8(i) ^ 0x5a, i);
      writeFileSync(`${tmp.dir}/${name}`, buf);
      assert.match(
        oneLineError(cli(['files', `${tmp.dir}/${name}`])),
        /layer 0 \(sha256:[0-9a-f]+\): (corrupt|content digest|unexpected end|.*truncated)/,
      );
      // cut inside the same blob
      writeFileSync(`${tmp.dir}/${name}`, Buffer.from(readFileSync(FX + name)).subarray(0, blob.offset + 1000));
      oneLineError(cli(['files', `${tmp.dir}/${name}`]));
    }
  });

  it('a missing blob in an OCI layout', () => {
    const dir = `${tmp.dir}/oci-missing`;
    copyDir(FX + 'layers.oci', dir);
    const manifest = at(readJsonFile<{ manifests: { digest: string }[] }>(`${dir}/index.json`).manifests).digest.slice(7);
    const layer = at(readJsonFile<{ layers: { digest: string }[] }>(`${dir}/blobs/sha256/${manifest}`).layers, 2).digest.slice(7);
    rmSync(`${dir}/blobs/sha256/${layer}`);
    assert.match(oneLineError(cli(['inspect', dir])), /layer 2 blob sha256:[0-9a-f]+ is missing/);
  });

  it('no engine to talk to', () => {
    const line = oneLineError(cli(['inspect', 'docker-daemon:some/image:1'], { DOCKER_HOST: `unix://${tmp.dir}/no.sock` }), 5);
    assert.match(line, /cannot reach a container engine at unix:\/\/.*no\.sock \(is it running\?\)/);
  });

  it('a registry reference and an unknown option', () => {
    assert.match(
      oneLineError(cli(['inspect', 'docker://Alpine'])),
      /Alpine: not an image reference \(invalid reference format: repository name must be lowercase\)/,
    );
    const r = cli(['inspect', '--bogus', 'x']);
    assert.equal(r.status, 2);
  });
});

describe('every JSON output matches its definition in docs/report.schema.json', () => {
  // cli() validates what a --json run prints; these runs make each command print it once.
  const cases: string[][] = [
    ['inspect', '--json', FX + 'broken.docker.tar'],
    [FX + 'hello.docker.tar', '--json'],
    ['check', '--format', 'json', FX + 'broken.docker.tar', FX + 'hello.docker.tar'],
    ['ldd', '--json', FX + 'layers.docker.tar', '/usr/bin/hello'],
    ['ldd', '--json', FX + 'broken.docker.tar', '/hello'],
    ['closure', '--json', FX + 'broken.docker.tar'],
    ['closure', '--dockerfile', '--json', FX + 'broken.docker.tar'],
    ['closure', '--dockerfile', '--all', '--json', FX + 'layers.docker.tar'],
    ['files', '--json', FX + 'layers.docker.tar'],
    ['files', '--json', '--layer', '1', FX + 'layers.docker.tar'],
    ['slim', '--json', FX + 'layers.docker.tar', '-o', `${tmp.dir}/slim.tar`],
  ];
  for (const args of cases) {
    it(`${args.map((a) => (a.startsWith(FX) ? a.slice(FX.length) : a.replace(tmp.dir, 'TMP'))).join(' ')}: ${jsonOutputOf(args)}`, () => {
      const r = cli(args);
      assert.ok(r.status === 0 || r.status === 1, r.stderr);
      const definition = jsonOutputOf(args);
      assert.ok(definition);
      const v = validateAs(JSON.parse(r.stdout), definition);
      assert.ok(v.ok, v.errors);
    });
  }

  it('a drifted output fails (the definitions are strict)', () => {
    const j = JSON.parse(cli(['ldd', '--json', FX + 'layers.docker.tar', '/usr/bin/hello']).stdout) as Record<string, unknown>;
    assert.equal(validateAs({ ...j, extra: 1 }, 'LddJson').ok, false);
    assert.equal(validateAs(j, 'ClosureJson').ok, false);
  });
});

function copyDir(from: string, to: string) {
  cpSync(from, to, { recursive: true });
}

describe('exit codes: one case of each class (README, "Exit codes")', () => {
  it('0: analysed; 1: a finding at or above --fail-on', () => {
    assert.equal(cli(['inspect', FX + 'hello.docker.tar']).status, 0);
    assert.equal(cli(['inspect', FX + 'broken.docker.tar', '--fail-on', 'error']).status, 1);
  });

  it('2: usage (an unknown option; several images and no --tag)', () => {
    assert.match(oneLineError(cli(['inspect', '--bogus', FX + 'hello.docker.tar']), 2), /unknown option '--bogus'/);
    assert.match(oneLineError(cli(['inspect', FX + 'multi.docker.tar']), 2), /holds several images; pick one with --tag/);
  });

  it('3: unreadable or invalid input', () => {
    writeFileSync(`${tmp.dir}/notes-exit.txt`, 'hello\n'.repeat(200));
    assert.match(oneLineError(cli(['inspect', `${tmp.dir}/notes-exit.txt`]), 3), /not an image/);
  });

  it('4: not found (the image file, a tag, a path in the image)', () => {
    assert.match(oneLineError(cli(['inspect', './nope/image.tar']), 4), /no such file or directory/);
    assert.match(oneLineError(cli(['inspect', FX + 'multi.docker.tar', '--tag', 'nope']), 4), /no image tagged nope/);
    assert.match(oneLineError(cli(['cat', FX + 'hello.docker.tar', '/missing']), 4), /\/missing: not in the image/);
  });

  it('5: the engine cannot be reached', () => {
    const r = cli(['inspect', 'docker-daemon:some/image:1'], { DOCKER_HOST: `unix://${tmp.dir}/exit-no.sock` });
    assert.match(oneLineError(r, 5), /cannot reach a container engine/);
  });

  it('70: a bug (anything that is not a ScopeError) is one line too', () => {
    // JSON.stringify broken under the program: a plain Error reaches the top
    const preload = `${tmp.dir}/break-json.mjs`;
    writeFileSync(preload, "JSON.stringify = () => { throw new Error('boom'); };\n");
    const r = spawnSync(process.execPath, ['--import', preload, BIN, 'files', '--json', FX + 'hello.docker.tar'], { encoding: 'utf8' });
    assert.equal(r.status, 70, r.stderr);
    assert.match(r.stderr, /^scratchscope: internal error: boom \(please report it; SCRATCHSCOPE_DEBUG=1 shows details\)\n$/);
  });
});

describe('repair: its text', () => {
  it('says each error it answers on a line of its own', async () => {
    const { renderRepair } = await import('../src/render/repair.js');
    const finding = (message: string) => ({
      code: 'library-missing' as const,
      severity: 'error' as const,
      message,
      path: '/app',
      layer: 0,
      runtimeError: null,
      fix: '',
      evidence: [],
    });
    const text = renderRepair(
      {
        fixed: [finding('/app needs liba.so.1'), finding('/app needs libb.so.1')],
        added: [],
        out: '/tmp/x.tar',
        format: 'docker-archive',
      },
      'app:repaired',
      '/donor',
    );
    assert.deepEqual(text.split('\n').slice(1, 3), [
      'fixed: [library-missing] /app needs liba.so.1',
      '       [library-missing] /app needs libb.so.1',
    ]);
  });
});

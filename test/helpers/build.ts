/**
 * Builds small images by hand for tests that need exact layer contents (opaque whiteouts,
 * hostile names) that no engine writes on demand: tars with tar-stream, OCI layouts and
 * docker-archive tars around them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  body?: string | Buffer;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  size?: number;
}

export async function makeTar(entries: Entry[]): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith('/') ? 'directory' : 'file');
    const body = e.body === undefined ? undefined : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body);
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      linkname: e.linkname,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: new Date(0),
      size: e.size,
    };
    if (type === 'file') p.entry(header, body ?? Buffer.alloc(0));
    else p.entry(header);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'scratchscope-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ImageSpec {
  layers: Buffer[];
  config?: Record<string, unknown>;
  gzip?: boolean;
  architecture?: string;
  /** The config's variant (arm's v6/v7, arm64's v8); docker-archive only. */
  variant?: string;
}

/** Writes an OCI image layout folder; returns its path. */
export function writeOciLayout(dir: string, spec: ImageSpec): string {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer) => {
    const d = sha256(b);
    writeFileSync(join(dir, 'blobs/sha256', d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const layers = spec.layers.map((l) => ({
    mediaType: spec.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
    ...put(spec.gzip ? gzipSync(l) : l),
  }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: spec.config ?? {},
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => sha256(l)) },
      history: spec.layers.map((_, i) => ({ created_by: `step ${i}` })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
      layers,
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...m,
          platform: { os: 'linux', architecture: spec.architecture ?? 'amd64' },
          annotations: { 'org.opencontainers.image.ref.name': 'test' },
        },
      ],
    }),
  );
  return dir;
}

/** A pre-25 `docker save` tar around the given layer tars (`diffIds`: of compressed ones, their tars' digests). */
export async function makeDockerArchive(spec: ImageSpec, tag = 'test:latest', diffIds?: string[]): Promise<Buffer> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      ...(spec.variant ? { variant: spec.variant } : {}),
      os: 'linux',
      config: spec.config ?? {},
      rootfs: { type: 'layers', diff_ids: diffIds ?? spec.layers.map((l) => sha256(l)) },
      history: [],
    }),
  );
  const configName = sha256(config).slice(7) + '.json';
  const entries: Entry[] = [{ name: configName, body: config }];
  const names = spec.layers.map((l, i) => {
    const id = sha256(`layer${i}` + sha256(l)).slice(7);
    entries.push({ name: `${id}/`, type: 'directory' }, { name: `${id}/layer.tar`, body: l });
    return `${id}/layer.tar`;
  });
  entries.push({ name: 'manifest.json', body: JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: names }]) });
  return makeTar(entries);
}

/**
 * A pre-25 `docker save` of one layer whose config file is named by another digest than its
 * bytes' (go-containerregistry's test data has one; docker load takes it). Returns the
 * archive and the config's bytes.
 */
export async function saveWithRenamedConfig(layer: Buffer, tag: string): Promise<{ archive: Buffer; config: string }> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(layer)] } });
  const named = `${'6e0b'.padEnd(64, '0')}.json`;
  const manifest = JSON.stringify([{ Config: named, RepoTags: [tag], Layers: ['l/layer.tar'] }]);
  const archive = await makeTar([
    { name: named, body: config },
    { name: 'l/layer.tar', body: layer },
    { name: 'manifest.json', body: manifest },
  ]);
  return { archive, config };
}

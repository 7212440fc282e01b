/**
 * The hostile-input corpus: one crafted image per class of attack or fault, built by this
 * script into a cache folder keyed by the script's own hash (nothing large is committed).
 * Each case says how to run it and what a correct run ends in.
 *
 *   node --import tsx test/hostile/gen.ts      # builds the corpus and prints its folder
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { header, rawTar } from '../helpers/rawtar.js';

const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export interface HostileCase {
  name: string;
  /** The class of issue #13 it stands for. */
  covers: string;
  /** CLI arguments; IMAGE is replaced by the case's image path. */
  args: string[];
  status: number;
  /** The line that must be on stderr (an error exit, README "Exit codes") or stdout (exit 0/1). */
  line: RegExp;
  /** Environment on top of the test's own (a private TMPDIR is always set). */
  env?: Record<string, string>;
  /** Long enough to interrupt: the suite sends SIGTERM mid-run. */
  slow?: boolean;
}

interface Layer {
  blob: Buffer;
  mediaType: string;
  /** sha256 of the uncompressed tar (for layers that are not valid, any string). */
  diffId: string;
}

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const plain = (tar: Buffer): Layer => ({ blob: tar, mediaType: TAR, diffId: sha256(tar) });
const gzipped = (tar: Buffer): Layer => ({ blob: gzipSync(tar, { level: 9 }), mediaType: TAR + '+gzip', diffId: sha256(tar) });

function ociLayout(dir: string, layers: Layer[], config: Record<string, unknown> = { Entrypoint: ['/app'] }): void {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const written = new Set<string>();
  const put = (b: Buffer) => {
    const d = sha256(b);
    if (!written.has(d)) writeFileSync(join(dir, 'blobs/sha256', d.slice(7)), b);
    written.add(d);
    return { digest: d, size: b.length };
  };
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: [],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(cfg) },
      layers: layers.map((l) => ({ mediaType: l.mediaType, ...put(l.blob) })),
    }),
  );
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(manifest) }] }),
  );
}

/** A header block with its checksum recomputed after `edit`. */
function edited(name: string, edit: (h: Buffer) => void, type = '0', size = 0): Buffer {
  const h = header({ name, type, size });
  edit(h);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const END = Buffer.alloc(1024);

/** A minimal ELF header: enough to be sniffed as a program and spooled. */
function elfHead(): Buffer {
  const b = Buffer.alloc(64);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2;
  b[5] = 1;
  b[6] = 1;
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(62, 18);
  return b;
}

/** zstd frames made of raw blocks: valid zstd any decoder must read, written without an encoder. */
function zstdRawFrames(data: Buffer, frameSize: number): Buffer {
  if (frameSize > 255) throw new Error('frames of at most 255 bytes');
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += frameSize) {
    const chunk = data.subarray(off, Math.min(data.length, off + frameSize));
    const fh = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, chunk.length]); // single segment, 1-byte content size
    const bh = (chunk.length << 3) | 1; // last block, raw
    parts.push(fh, Buffer.from([bh & 0xff, (bh >> 8) & 0xff, (bh >> 16) & 0xff]), chunk);
  }
  return Buffer.concat(parts);
}

function zstdFrameHeader(fhd: number, rest: number[]): Buffer {
  return Buffer.from([0x28, 0xb5, 0x2f, 0xfd, fhd, ...rest, 0x01, 0x00, 0x00]); // + one empty last raw block
}

const ESC = '\x1b]0;pwned\x07\x1b[2J\x1b[31mEVIL\u202e\x9b1m\nfake line';

/** Builds every case's image under `dir`; returns the cases. */
function build(dir: string): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (c: HostileCase, make: (path: string) => void) => {
    if (!dryRun) make(join(dir, c.name));
    cases.push({ ...c, args: c.args.map((a) => (a === 'IMAGE' ? join(dir, c.name) : a)) });
  };

  // -- tar ---------------------------------------------------------------------------
  add(
    {
      name: 'pax-global-150k-keys',
      covers: 'tar: pax global header with 150k keys',
      args: ['files', 'IMAGE'],
      status: 0,
      line: /^-rw-r--r-- .* \/after$/m,
    },
    (p) => {
      // 150,000 distinct keys in under 1 MiB (Go's and our limit for one pax header): "6 ab=\n", "7 abc=\n"
      const sym = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
      const keys: string[] = [];
      for (const a of sym) for (const b of sym) keys.push(a + b);
      for (const a of sym) for (const b of sym) for (const c of sym) if (keys.length < 150_000) keys.push(a + b + c);
      const body = Buffer.from(keys.map((k) => `${k.length + 4} ${k}=\n`).join(''));
      const layer = Buffer.concat([
        header({ name: 'g', type: 'g', size: body.length }),
        pad(body),
        ...Array.from({ length: 2000 }, (_, i) => rawTar([{ name: `f${i}`, body: Buffer.from('x') }], false)),
        rawTar([{ name: 'after', body: Buffer.from('y') }]),
      ]);
      ociLayout(p, [plain(layer)]);
    },
  );
  add(
    {
      name: 'gnu-longname-1mib',
      covers: 'tar: GNU long name of 1 MiB',
      args: ['files', 'IMAGE'],
      status: 3,
      line: /entry name of 1048575 bytes is longer than Linux allows \(PATH_MAX, 4096 bytes/,
    },
    (p) => {
      const long = Buffer.alloc((1 << 20) - 1, 'a');
      ociLayout(p, [
        plain(
          Buffer.concat([
            header({ name: '././@LongLink', type: 'L', size: long.length + 1 }),
            pad(Buffer.concat([long, Buffer.alloc(1)])),
            rawTar([{ name: 'short', body: Buffer.from('x') }]),
          ]),
        ),
      ]);
    },
  );
  add(
    {
      name: 'gnu-longlink-1mib',
      covers: 'tar: GNU long link of 1 MiB',
      args: ['files', 'IMAGE'],
      status: 3,
      line: /link target of 1048575 bytes is longer than Linux allows/,
    },
    (p) => {
      const long = Buffer.from('a/'.repeat(1 << 19)).subarray(0, (1 << 20) - 1);
      ociLayout(p, [
        plain(
          Buffer.concat([
            header({ name: '././@LongLink', type: 'K', size: long.length + 1 }),
            pad(Buffer.concat([long, Buffer.alloc(1)])),
            rawTar([{ name: 'link', type: '2', linkname: 'x' }]),
          ]),
        ),
      ]);
    },
  );
  add(
    {
      name: 'deep-path-1mib',
      covers: 'tar: a 1 MiB deep path',
      args: ['inspect', 'IMAGE'],
      status: 3,
      line: /entry name of 1048545 bytes is longer than Linux allows/,
    },
    (p) => {
      ociLayout(p, [plain(rawTar([{ name: 'x', pax: { path: 'd/'.repeat((1 << 19) - 16) + 'f' }, body: Buffer.from('leaf') }]))]);
    },
  );
  add(
    {
      name: 'sparse-map-lies',
      covers: 'tar: a sparse map that lies',
      args: ['files', 'IMAGE'],
      status: 3,
      line: /sparse map of sparse is invalid .*pass the file's size of 4096/,
    },
    (p) => {
      // pax sparse 0.1: one run at offset 1 GB of a file whose real size is 4096
      const map = { 'GNU.sparse.major': '0', 'GNU.sparse.minor': '1', 'GNU.sparse.name': 'sparse', 'GNU.sparse.realsize': '4096' };
      ociLayout(p, [plain(rawTar([{ name: 'x', pax: { ...map, 'GNU.sparse.map': '1073741823,512' }, body: Buffer.alloc(512, 1) }]))]);
    },
  );
  add(
    {
      name: 'base256-negative-mtime',
      covers: 'tar: base-256 numbers, negative ones (dates before 1970)',
      args: ['files', '--json', 'IMAGE'],
      status: 0,
      line: /"path":"\/old".*"size":4/,
    },
    (p) => {
      const h = edited('old', (b) => {
        b.fill(0xff, 136, 148); // -1 in 12 bytes of two's complement base-256
        b.fill(0, 124, 136);
        b[124] = 0x80;
        b[135] = 4; // size 4, in base-256 too
      });
      ociLayout(p, [plain(Buffer.concat([h, pad(Buffer.from('1969')), END]))]);
    },
  );

  // -- zstd --------------------------------------------------------------------------
  const zstd = (blob: Buffer): Layer => ({ blob, mediaType: TAR + '+zstd', diffId: sha256('unused') });
  add(
    {
      name: 'zstd-window-2gb',
      covers: 'zstd: a frame declaring a 2 GB window',
      args: ['inspect', 'IMAGE'],
      status: 3,
      line: /zstd frame needs a 2048 MiB window; .* up to 128 MiB \(windowLog 27\)/,
    },
    (p) => {
      ociLayout(p, [zstd(zstdFrameHeader(0x00, [21 << 3]))]);
    },
  );
  add(
    {
      name: 'zstd-content-2gb',
      covers: 'zstd: a frame declaring a 2 GB content size',
      args: ['inspect', 'IMAGE'],
      status: 3,
      line: /zstd frame needs a 2048 MiB window/,
    },
    (p) => {
      const fcs = Buffer.alloc(8);
      fcs.writeBigUInt64LE(2n ** 31n);
      ociLayout(p, [zstd(zstdFrameHeader(0xe0, [...fcs]))]); // single segment: the window is the content size
    },
  );
  add(
    { name: 'zstd-300k-frames', covers: 'zstd: 300k frames', args: ['files', 'IMAGE'], status: 0, line: /\/payload$/m, slow: true },
    (p) => {
      const tar = rawTar([{ name: 'payload', body: Buffer.alloc(300_000 * 2, 0x61) }]);
      ociLayout(p, [{ blob: zstdRawFrames(tar, Math.ceil(tar.length / 300_000)), mediaType: TAR + '+zstd', diffId: sha256(tar) }]);
    },
  );

  // -- disk --------------------------------------------------------------------------
  add(
    {
      name: 'spool-bomb',
      covers: 'disk and memory: 800 MB of programs in a few hundred KB, nothing spooled, bodies held in bounds',
      args: ['inspect', 'IMAGE'],
      status: 0,
      env: { SCRATCHSCOPE_TMP_BUDGET: '64M' },
      line: /^Layers$/m,
    },
    (p) => {
      // eight layers, each a 100 MB "program" of zeros: a few hundred KB stored
      const layers = Array.from({ length: 8 }, (_, i) =>
        gzipped(rawTar([{ name: `bin/app${i}`, mode: 0o755, body: Buffer.concat([elfHead(), Buffer.alloc(100e6)]) }])),
      );
      ociLayout(p, layers, { Entrypoint: ['/bin/app0'] });
    },
  );
  add(
    {
      name: 'one-file-many-layers',
      covers: 'disk: never many copies of one file',
      args: ['inspect', 'IMAGE'],
      status: 0,
      env: { SCRATCHSCOPE_TMP_BUDGET: '64M' },
      line: /^Layers$/m,
    },
    (p) => {
      // the same 8 MB program in 40 layers: 320 MB if each copy were kept
      const layer = gzipped(rawTar([{ name: 'app', mode: 0o755, body: Buffer.concat([elfHead(), Buffer.alloc(8e6, 7)]) }]));
      ociLayout(
        p,
        Array.from({ length: 40 }, () => layer),
      );
    },
  );

  // -- valid input ------------------------------------------------------------------------
  add(
    {
      name: 'rootfs-tar-gzip',
      covers: 'valid: a compressed root filesystem tar, inflated once into TMPDIR',
      args: ['inspect', 'IMAGE'],
      status: 0,
      line: /^Layers$/m,
    },
    (p) => {
      writeFileSync(
        p,
        gzipSync(
          rawTar([
            { name: 'app', mode: 0o755, body: Buffer.concat([elfHead(), Buffer.alloc(100)]) },
            { name: 'data/blob', body: Buffer.alloc(1 << 20, 1) },
          ]),
        ),
      );
    },
  );
  add(
    {
      name: 'passwd-100mb',
      covers: 'valid: a 100 MB /etc/passwd',
      args: ['inspect', 'IMAGE'],
      status: 0,
      line: /USER app: runs as 4242:4242/,
      slow: true,
    },
    (p) => {
      const line = 'user000000:x:1000:1000::/home/u:/bin/false\n';
      const filler = Buffer.alloc(100e6 - (100e6 % line.length));
      for (let o = 0; o < filler.length; o += line.length) filler.write(line, o, 'latin1');
      const passwd = Buffer.concat([filler, Buffer.from('app:x:4242:4242::/:/app\n')]);
      ociLayout(
        p,
        [
          plain(
            rawTar([
              { name: 'etc/passwd', body: passwd },
              { name: 'app', mode: 0o755, body: Buffer.from('#!/app\n') },
            ]),
          ),
        ],
        { User: 'app', Entrypoint: ['/app'] },
      );
    },
  );
  add(
    {
      name: 'fifo-entrypoint',
      covers: 'valid: a FIFO as the entrypoint',
      args: ['inspect', 'IMAGE'],
      status: 0,
      line: /the runtime says: exec \/app: permission denied/,
    },
    (p) => {
      ociLayout(p, [plain(rawTar([{ name: 'app', type: '6', mode: 0o755 }]))]);
    },
  );
  add(
    {
      name: 'shebang-past-binprm-buf',
      covers: 'valid: a #! line longer than BINPRM_BUF_SIZE',
      args: ['inspect', 'IMAGE'],
      status: 0,
      line: /the runtime says: exec \/app: exec format error/,
    },
    (p) => {
      ociLayout(p, [plain(rawTar([{ name: 'app', mode: 0o755, body: Buffer.from('#!/bin/' + 'x'.repeat(400) + '\n') }]))]);
    },
  );

  // -- escaping --------------------------------------------------------------------------
  add(
    {
      name: 'escape-names',
      covers: 'escaping: names, link targets, config fields',
      args: ['inspect', 'IMAGE'],
      status: 0,
      line: /Env +X=\\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[31mEVIL\\u202e\\x9b1m\\x0afake line$/m,
    },
    (p) => {
      ociLayout(
        p,
        [
          plain(
            rawTar([
              { name: Buffer.from('f' + ESC), body: Buffer.from('x') },
              { name: 'l', type: '2', linkname: 'x\x1b[2J' },
              { name: 'app', mode: 0o755, body: Buffer.from('#!/nope' + ESC + '\n') },
            ]),
          ),
        ],
        {
          Entrypoint: ['/app' + ESC],
          Env: ['X=' + ESC],
          Labels: { ['k' + ESC]: ESC },
        },
      );
    },
  );
  return cases;
}

/** The cases whose image is the same archive but the machine misbehaves. */
function faults(dir: string): HostileCase[] {
  const small = join(dir, 'fifo-entrypoint');
  const gz = join(dir, 'rootfs-tar-gzip');
  return [
    {
      name: 'tmpdir-missing',
      covers: 'environment: TMPDIR missing',
      args: ['inspect', gz],
      status: 3,
      env: { TMPDIR: '/nonexistent/scratchscope' },
      line: /^scratchscope: temporary folder \/nonexistent\/scratchscope does not exist; set TMPDIR/,
    },
    {
      name: 'stdout-full',
      covers: 'environment: stdout on a full device',
      args: ['inspect', small],
      status: 3,
      line: /^scratchscope: cannot write to standard output: .*ENOSPC/,
    },
    {
      name: 'bad-archive-escaped-error',
      covers: 'escaping: error messages built from image text',
      args: ['cat', small, '/x' + ESC],
      status: 4,
      line: /^scratchscope: \/x\\x1b\]0;pwned\\x07.*\\x0afake line: not in the image/,
    },
  ];
}

export function scriptHash(): string {
  const self = readFileSync(new URL(import.meta.url));
  const raw = readFileSync(new URL('../helpers/rawtar.ts', import.meta.url));
  return createHash('sha256').update(self).update(raw).digest('hex').slice(0, 12);
}

let dryRun = false;

/** Builds the corpus once per version of this script; returns its folder and cases. */
export function corpus(): { dir: string; cases: HostileCase[]; faults: HostileCase[] } {
  const root = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scratchscope');
  const dir = join(root, `hostile-${scriptHash()}`);
  if (!existsSync(join(dir, 'done'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    build(tmp);
    writeFileSync(join(tmp, 'done'), '');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  dryRun = true;
  try {
    return { dir, cases: build(dir), faults: faults(dir) };
  } finally {
    dryRun = false;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { dir, cases } = corpus();
  console.log(`${dir}: ${cases.length} cases`);
}

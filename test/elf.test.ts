/**
 * ELF decoding of real gcc / musl-gcc output, each field checked against readelf.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeElf } from '../src/elf/decode.js';
import { ElfDamage } from '../src/elf/reader.js';
import { BufferBytes, FileBytes } from '../src/fs/index.js';
import { ReadArena } from '../src/fs/bytes.js';
import { tempDir } from './helpers/build.js';
import { available, sh } from './helpers/roots.js';
import { at } from './helpers/assert.js';

const SRC = new URL('../fixtures/src/', import.meta.url).pathname;
const FOREIGN = new URL('../fixtures/foreign/', import.meta.url).pathname;
const needs = ['gcc', 'musl-gcc', 'readelf'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : false;
if (skip && process.env.CI === 'true') throw new Error(`ELF tests cannot run under CI: ${skip}`);

function decode(path: string) {
  const b = new FileBytes(path, 0, statSync(path).size);
  try {
    return decodeElf(b);
  } finally {
    b.release();
  }
}

/** What readelf prints for the fields scratchscope decodes. */
function readelf(path: string) {
  const dl = sh('readelf', ['-W', '-d', '-l', path]);
  const notes = sh('readelf', ['-W', '-n', path]);
  const versions = sh('readelf', ['-W', '-V', path]);
  const needs: Record<string, string[]> = {};
  let file = '';
  for (const line of versions.split('\n')) {
    const f = /Version: \d+\s+File: (\S+)\s+Cnt: \d+/.exec(line);
    if (f) {
      file = f[1]!; // not an optional group
      needs[file] = [];
    }
    const v = /Name: (\S+)\s+Flags: \S+\s+Version: \d+/.exec(line);
    if (v && file && /Version needs section/.test(versions)) needs[file]?.push(v[1]!);
  }
  return {
    interpreter: /Requesting program interpreter: (.*)\]/.exec(dl)?.[1] ?? null,
    needed: [...dl.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]),
    soname: /\(SONAME\)\s+Library soname: \[(.*)\]/.exec(dl)?.[1] ?? null,
    rpath: /\(RPATH\)\s+Library rpath: \[(.*)\]/.exec(dl)?.[1] ?? null,
    runpath: /\(RUNPATH\)\s+Library runpath: \[(.*)\]/.exec(dl)?.[1] ?? null,
    buildId: /Build ID: ([0-9a-f]+)/.exec(notes)?.[1] ?? null,
    abiTag: /OS: (\S+), ABI: (\S+)/.exec(notes)?.slice(1).join(' ') ?? null,
    versionNeeds: needs,
    relro: /GNU_RELRO/.test(dl),
    bindNow: /\(BIND_NOW\)|\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW/.test(dl),
    execStack: /GNU_STACK.*RWE/.test(dl),
  };
}

describe('decoding real binaries', { skip }, () => {
  const tmp = tempDir();
  const b = tmp.dir;
  after(tmp.cleanup);
  const builds: Record<string, [string, ...string[]]> = {
    'pie-default': ['gcc', '-O1'],
    'no-pie': ['gcc', '-O1', '-no-pie', '-fno-pie'],
    'full-relro-canary': ['gcc', '-O1', '-Wl,-z,relro,-z,now', '-fstack-protector-all'],
    'no-canary-execstack': ['gcc', '-O1', '-fno-stack-protector', '-Wl,-z,execstack', '-Wl,-z,norelro'],
    rpath: ['gcc', '-O1', '-Wl,--disable-new-dtags,-rpath,/opt/a:$ORIGIN/../lib'],
    runpath: ['gcc', '-O1', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib'],
    'static-glibc-nss': ['gcc', '-O1', '-static', '-DUSE_NSS'],
    'static-pie': ['gcc', '-O1', '-static-pie'],
    'musl-dynamic': ['musl-gcc', '-O1'],
    'musl-static': ['musl-gcc', '-O1', '-static'],
    i386: ['gcc', '-O1', '-m32'],
    shared: ['gcc', '-O1', '-shared', '-fPIC', '-Wl,-soname,libhello.so.3'],
  };
  before(() => {
    for (const [name, cmd] of Object.entries(builds)) {
      const [cc, ...args] = cmd;
      sh(cc, [...args, '-o', `${b}/${name}`, SRC + 'elf/hello.c'], { cwd: b });
    }
  });

  it('interpreter, needed, soname, rpath, runpath, build-id, ABI tag and version needs equal readelf', () => {
    for (const name of Object.keys(builds)) {
      const path = `${b}/${name}`;
      const info = decode(path);
      const want = readelf(path);
      assert.deepEqual(info.problems, [], name);
      assert.deepEqual(
        {
          interpreter: info.interpreter,
          needed: info.needed,
          soname: info.soname,
          rpath: info.rpath,
          runpath: info.runpath,
          buildId: info.buildId,
        },
        {
          interpreter: want.interpreter,
          needed: want.needed,
          soname: want.soname,
          rpath: want.rpath,
          runpath: want.runpath,
          buildId: want.buildId,
        },
        name,
      );
      assert.equal(info.abiTag?.replace(/^Linux /, 'Linux ') ?? null, want.abiTag, name);
      assert.deepEqual(Object.fromEntries(info.versionNeeds.map((v) => [v.file, v.versions])), want.versionNeeds, name);
      assert.equal(info.hardening.relro !== 'none', want.relro, `${name} relro`);
      assert.equal(info.hardening.relro === 'full', want.relro && want.bindNow, `${name} full relro`);
      assert.equal(info.hardening.nx, !want.execStack, `${name} nx`);
    }
  });

  it('type, linkage, libc, machine and class', () => {
    const t = (name: string) => {
      const i = decode(`${b}/${name}`);
      return [i.type, i.static, i.libc, i.machine, i.class];
    };
    assert.deepEqual(t('pie-default'), ['pie-executable', false, 'glibc', 'x86_64', 64]);
    assert.deepEqual(t('no-pie'), ['executable', false, 'glibc', 'x86_64', 64]);
    assert.deepEqual(t('static-glibc-nss'), ['executable', true, 'glibc', 'x86_64', 64]);
    assert.deepEqual(t('static-pie'), ['static-pie', true, 'glibc', 'x86_64', 64]);
    assert.deepEqual(t('musl-dynamic'), ['pie-executable', false, 'musl', 'x86_64', 64]);
    assert.deepEqual(t('musl-static').slice(0, 2), ['executable', true]);
    assert.notEqual(decode(`${b}/musl-static`).libc, 'glibc');
    assert.deepEqual(t('i386'), ['pie-executable', false, 'glibc', 'i386', 32]);
    assert.deepEqual(t('shared'), ['shared-object', false, 'glibc', 'x86_64', 64]);
    assert.equal(decode(`${b}/i386`).architecture, '386');
  });

  it("foreign machines and byte orders (Debian's hello for arm64, armhf, ppc64el, s390x) equal readelf", () => {
    const expect: Record<string, [string, string | null, 32 | 64, 'little' | 'big']> = {
      arm64: ['aarch64', 'arm64', 64, 'little'],
      armhf: ['arm', 'arm', 32, 'little'],
      ppc64el: ['ppc64le', 'ppc64le', 64, 'little'],
      s390x: ['s390x', 's390x', 64, 'big'],
    };
    for (const [arch, [machine, architecture, cls, endian]] of Object.entries(expect)) {
      const path = `${FOREIGN}hello-${arch}`;
      const info = decode(path);
      const want = readelf(path);
      assert.deepEqual(
        [info.machine, info.architecture, info.class, info.endian, info.type, info.libc],
        [machine, architecture, cls, endian, 'pie-executable', 'glibc'],
        arch,
      );
      assert.deepEqual(
        {
          interpreter: info.interpreter,
          needed: info.needed,
          buildId: info.buildId,
          versionNeeds: Object.fromEntries(info.versionNeeds.map((v) => [v.file, v.versions])),
        },
        { interpreter: want.interpreter, needed: want.needed, buildId: want.buildId, versionNeeds: want.versionNeeds },
        arch,
      );
      assert.deepEqual(info.problems, [], arch);
    }
  });

  it('a static glibc program that resolves names still needs NSS modules', () => {
    assert.equal(decode(`${b}/static-glibc-nss`).staticNss, true);
    assert.equal(decode(`${b}/static-pie`).staticNss, false);
    assert.equal(decode(`${b}/pie-default`).staticNss, null);
  });

  it('hardening like checksec', () => {
    assert.deepEqual(decode(`${b}/full-relro-canary`).hardening, { pie: true, relro: 'full', nx: true, canary: true });
    assert.deepEqual(decode(`${b}/no-canary-execstack`).hardening, { pie: true, relro: 'none', nx: false, canary: false });
    assert.equal(decode(`${b}/no-pie`).hardening.pie, false);
  });

  it('damage is reported for that file, and what can be read still is', () => {
    const full = readFileSync(`${b}/pie-default`);
    // cut inside the section headers: interpreter and dynamic section still decode
    const cut = decodeElf(new BufferBytes(full.subarray(0, full.length - 200)));
    assert.equal(cut.interpreter, '/lib64/ld-linux-x86-64.so.2');
    assert.deepEqual(cut.needed, ['libc.so.6']);
    assert.match(cut.problems.join('\n'), /truncated: the section header table lies outside the file/);
    // an ELF header only
    assert.throws(() => decodeElf(new BufferBytes(full.subarray(0, 40))), ElfDamage);
    // program headers pointing past the end
    const bad = Buffer.from(full);
    bad.writeBigUInt64LE(BigInt(full.length + 10_000), 32); // e_phoff
    const r = decodeElf(new BufferBytes(bad));
    assert.match(r.problems[0] ?? '', /program header table lies outside the file/);
    // a dynamic string table entry without a terminator
    const noNul = Buffer.from(full);
    const at = noNul.indexOf('libc.so.6\0');
    noNul.fill(0x41, at, at + 600);
    const u = decodeElf(new BufferBytes(noNul));
    assert.match(u.problems.join('\n'), /needed entry 0: .*(not terminated|outside its string table)/);
  });

  it('decoded one after another in reused memory (as a decoding thread does), each equals its decoding alone', () => {
    const arena = new ReadArena(64 * 1024);
    const names = Object.keys(builds);
    const kept = names.map((name) => {
      arena.reset(); // the next binary's reads overwrite this one's
      const path = `${b}/${name}`;
      return decodeElf(new FileBytes(path, 0, statSync(path).size, null, arena));
    });
    // after all of them: an info that kept a view of what was read would show the last binary's bytes
    names.forEach((name, i) => assert.deepEqual(kept[i], decode(`${b}/${name}`), name));
  });

  it('reads only the pieces it needs of a large binary', () => {
    const big = `${b}/big`;
    copyFileSync(`${b}/pie-default`, big);
    writeFileSync(big, Buffer.alloc(200 << 20), { flag: 'a' }); // 200 MB of padding after the ELF
    let read = 0;
    const inner = new FileBytes(big, 0, statSync(big).size);
    const counting = {
      size: inner.size,
      read: (o: number, l: number) => {
        const x = inner.read(o, l);
        read += x.length;
        return x;
      },
      release: () => inner.release(),
    };
    const info = decodeElf(counting);
    assert.deepEqual(info.needed, ['libc.so.6']);
    assert.ok(read < 1 << 20, `read ${read} bytes`);
  });
});

describe("the system search path compiled into glibc's loader", () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  // This machine's loaders: Debian's multiarch x86-64, and the lib32 / libx32 builds of gcc-multilib.
  const loaders = ['/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '/usr/lib32/ld-linux.so.2', '/libx32/ld-linux-x32.so.2'].filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });

  /** What the loader itself says its system search path is. */
  const own = (ld: string) => [...sh(ld, ['--help']).matchAll(/^\s+(\S+) \(system search path\)$/gm)].map((m) => `${m[1]}/`);

  it('is read as the loader prints it with --help', { skip: loaders.length ? false : 'no glibc loader here' }, () => {
    for (const ld of loaders) {
      let want: string[];
      try {
        want = own(ld);
      } catch {
        continue; // an x32 loader on a kernel without x32 cannot run: nothing to compare with
      }
      assert.deepEqual(decode(ld).systemDirs, want, ld);
    }
  });

  it(
    'is found without section headers too (a stripped loader), and is null for other files',
    { skip: loaders.length ? false : 'no glibc loader here' },
    () => {
      const ld = at(loaders);
      const copy = `${tmp.dir}/ld-nosections.so`;
      const b = readFileSync(ld);
      b.writeBigUInt64LE(0n, 40); // e_shoff
      b.writeUInt16LE(0, 60); // e_shnum
      b.writeUInt16LE(0, 62); // e_shstrndx
      writeFileSync(copy, b);
      assert.deepEqual(decode(copy).systemDirs, own(ld));
      assert.equal(decode('/lib/x86_64-linux-gnu/libc.so.6').systemDirs, null);
    },
  );
});

describe(
  "the system search path of Debian's loaders for other machines",
  { skip: process.getuid?.() === 0 ? false : 'needs root for dpkg --add-architecture', timeout: 600_000 },
  () => {
    it("is /lib/TRIPLET, /usr/lib/TRIPLET, /lib, /usr/lib with dpkg-architecture's triplet, in either byte order", () => {
      const r = spawnSync('bash', [new URL('../fixtures/foreign-loaders.sh', import.meta.url).pathname], {
        encoding: 'utf8',
        timeout: 540_000,
      });
      assert.equal(r.status, 0, r.stderr);
      const dir = r.stdout.trim();
      for (const arch of ['arm64', 'armhf', 's390x', 'ppc64el', 'i386']) {
        const triplet = readFileSync(`${dir}/${arch}.multiarch`, 'utf8').trim();
        assert.deepEqual(
          decode(`${dir}/ld-${arch}.so`).systemDirs,
          [`/lib/${triplet}/`, `/usr/lib/${triplet}/`, '/lib/', '/usr/lib/'],
          arch,
        );
      }
    });
  },
);

/**
 * Symbol binding, tested on real things: the dynamic symbol tables we decode equal what
 * readelf prints (both classes, both byte orders, glibc and musl, versioned and not); for
 * every image of fixtures/src/symbols/build.sh, built and run by a real engine, our
 * verdict and codes equal what `docker run` did and our runtime lines are exactly what it
 * printed; and for every dynamic ELF of a real Debian root, the symbols we find unbound
 * are exactly those glibc's own loader lists (`ldd -r`: LD_BIND_NOW, LD_WARN) in a chroot.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readDynamicSymbols, readRelocations, symbolKey } from '../src/elf/dynsym.js';
import { BinaryCatalog } from '../src/elf/catalog.js';
import { BufferBytes, FileBytes } from '../src/fs/bytes.js';
import { ElfDamage } from '../src/elf/reader.js';
import { loadImage } from '../src/load.js';
import { resolveProgram } from '../src/loader/index.js';
import { type SymbolTable, checkSymbols } from '../src/loader/symbols.js';
import { loaderContext } from '../src/diagnose/context.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { at } from './helpers/assert.js';

const REPO = new URL('..', import.meta.url).pathname;
const SRC = REPO + 'fixtures/src/symbols/';

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** readelf's view of .dynsym, filtered by the rules both loaders use for references and definitions. */
function readelfSymbols(file: string): { undefined: string[]; defined: string[] } {
  const undef: string[] = [];
  const defined: string[] = [];
  let inDynsym = false;
  for (const line of sh('readelf', ['--dyn-syms', '-W', file]).split('\n')) {
    if (line.startsWith("Symbol table '.dynsym'")) inDynsym = true;
    else if (line.startsWith('Symbol table')) inDynsym = false;
    // (ppc64 adds "[<localentry>: 8]" after the visibility)
    const m = /^\s*\d+:\s+([0-9a-f]+)\s+\S+\s+(\w+)\s+(\w+)\s+\w+(?:\s+\[[^\]]*\])?\s+(\S+)\s+(\S+)/.exec(line);
    if (!inDynsym || !m) continue;
    const [, value = '', type = '', bind = '', ndx = '', name = ''] = m; // no group is optional
    if (bind === 'LOCAL' || name === '') continue;
    const zero = /^0+$/.test(value);
    if (ndx === 'UND') undef.push(name);
    if (ndx === 'UND' && (zero || type === 'TLS')) continue;
    if (
      ['GLOBAL', 'WEAK', 'UNIQUE'].includes(bind) &&
      ['NOTYPE', 'OBJECT', 'FUNC', 'COMMON', 'TLS', 'IFUNC'].includes(type) &&
      (!zero || ndx === 'ABS' || type === 'TLS')
    ) {
      defined.push(name);
    }
  }
  return { undefined: undef.sort(), defined: defined.sort() };
}

function ours(file: string) {
  const bytes = new FileBytes(file, 0, statSync(file).size);
  try {
    const d = readDynamicSymbols(bytes)!;
    assert.ok(d, `${file}: no dynamic symbols`);
    // a library is scanned only up to its hashed symbols: that must find every reference
    assert.deepEqual(d.undefined, readDynamicSymbols(bytes, { program: true })!.undefined, `${file}: references past the hashed part`);
    const undef = d.undefined.map((u) => (u.version ? `${u.name}@${u.version}` : u.name)).sort();
    // readelf leaves the version off a version's own name symbol (VER_1@@VER_1 shows as VER_1)
    const defined = [...d.definitions()]
      .flatMap(([name, defs]) =>
        defs
          .filter((x) => !x.pltOnly)
          .map((x) => (x.version && x.version !== name ? `${name}${x.hidden || x.copied ? '@' : '@@'}${x.version}` : name)),
      )
      .sort();
    return { sym: { undefined: undef, defined }, d, relocs: readRelocations(bytes, d.relocTables) };
  } finally {
    bytes.release();
  }
}

describe('dynamic symbols decoded as readelf shows them', () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const files: string[] = [];

  before(() => {
    // Versioned and hidden definitions, BIND_NOW, a copy relocation: built now, with the host's compilers.
    sh('gcc', [
      '-O1',
      '-shared',
      '-fPIC',
      '-Wl,-soname,libsym.so.1',
      `-Wl,--version-script=${SRC}libsym-newer.map`,
      '-DNEWER',
      '-o',
      `${tmp.dir}/libsymv.so`,
      `${SRC}libsym.c`,
    ]);
    sh('gcc', [
      '-O1',
      '-no-pie',
      '-DUSE_DATA',
      '-DUSE_WEAK',
      '-Wl,-z,now',
      '-o',
      `${tmp.dir}/app-copy`,
      `${SRC}app.c`,
      `${tmp.dir}/libsymv.so`,
    ]);
    sh('musl-gcc', ['-O1', '-shared', '-fPIC', '-o', `${tmp.dir}/libsym-musl.so`, `${SRC}libsym.c`]);
    sh('gcc', [
      '-m32',
      '-O1',
      '-shared',
      '-fPIC',
      `-Wl,--version-script=${SRC}libsym.map`,
      '-o',
      `${tmp.dir}/libsym32.so`,
      `${SRC}libsym.c`,
    ]);
    files.push(
      `${tmp.dir}/libsymv.so`,
      `${tmp.dir}/app-copy`,
      `${tmp.dir}/libsym-musl.so`,
      `${tmp.dir}/libsym32.so`,
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib/x86_64-linux-musl/libc.so',
      '/lib32/libc.so.6',
    );
    for (const a of ['arm64', 'armhf', 's390x', 'ppc64el']) files.push(`${REPO}fixtures/foreign/hello-${a}`);
  });

  it('every reference and every definition, with its version', () => {
    for (const f of files) {
      assert.ok(existsSync(f), f);
      assert.deepEqual(ours(f).sym, readelfSymbols(f), f);
    }
  });

  it('lookups through the hash table find what a walk of the whole table finds', () => {
    for (const f of files) {
      const { d } = ours(f);
      const all = d.definitions();
      assert.ok(all.size > 0 || f.includes('hello-'), f);
      for (const [name, defs] of all) assert.deepEqual(d.lookup(symbolKey(name)), defs, `${f}: ${name}`);
      for (const u of d.undefined) assert.deepEqual(d.lookup(symbolKey(u.name)), all.get(u.name) ?? [], `${f}: ${u.name}`);
      assert.deepEqual(d.lookup(symbolKey('scratchscope_no_such_symbol')), [], f);
    }
  });

  it('damaged tables are reported as damage, never a crash (seeded mutations)', () => {
    let seed = 20261130;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let damaged = 0;
    for (const f of files.slice(0, 5)) {
      const orig = readFileSync(f);
      for (let i = 0; i < 300; i++) {
        const b = Buffer.from(orig);
        // most hits where the headers and tables live
        for (let k = 1 + Math.floor(rnd() * 8); k > 0; k--)
          b[Math.floor(rnd() * Math.min(b.length, rnd() < 0.7 ? 8192 : b.length))] = Math.floor(rnd() * 256);
        const bytes = new BufferBytes(rnd() < 0.1 ? b.subarray(0, Math.floor(rnd() * b.length)) : b);
        try {
          for (const program of [false, true]) {
            const d = readDynamicSymbols(bytes, { program });
            if (!d) continue;
            for (const u of d.undefined.slice(0, 50)) d.lookup(symbolKey(u.name));
            d.definitions();
            readRelocations(bytes, d.relocTables);
          }
        } catch (e) {
          if (!(e instanceof ElfDamage)) throw e;
          damaged++;
        }
      }
    }
    assert.ok(damaged > 0, 'some mutations must damage the tables');
  });

  it('BIND_NOW from DT_FLAGS / DF_1_NOW, as readelf -d shows it', () => {
    for (const f of files) {
      const dyn = sh('readelf', ['-d', '-W', f]);
      const now = /\(BIND_NOW\)|\(FLAGS\)\s+.*\bBIND_NOW\b|\(FLAGS_1\)\s+.*\bNOW\b/.test(dyn);
      assert.equal(ours(f).d.bindNow, now, f);
    }
  });

  it('relocations that name symbols, with the PLT apart and copy relocations marked', () => {
    for (const f of files) {
      const { relocs, d } = ours(f);
      const rel = sh('readelf', ['-r', '-W', f]);
      // readelf prints one row per relocation; those with a symbol have a name column
      const rows = rel.split('\n').filter((l) => /^\s*[0-9a-f]{8,16}\s+[0-9a-f]{8,16}\s+R_\S+\s+[0-9a-f]+\s+\S/.test(l));
      assert.equal(relocs.length, rows.length, `${f}: ${relocs.length} symbol relocations, readelf lists ${rows.length}`);
      assert.equal(relocs.filter((r) => r.copy).length, rows.filter((l) => /_COPY\s/.test(l)).length, f);
      assert.ok(
        relocs.every((r) => r.symbol > 0 && r.symbol <= d.undefined.length + [...d.definitions().values()].flat().length + 64),
        f,
      );
    }
    const copy = ours(`${tmp.dir}/app-copy`);
    assert.ok(
      copy.relocs.some((r) => r.copy),
      'a -no-pie program reading a library variable has a copy relocation',
    );
    assert.equal(copy.d.bindNow, true);
  });
});

/** What each image is for: the first error's code (none: it starts), and warnings it must get. */
const CASES: Record<string, { error?: string; warnings?: string[]; quiet?: boolean }> = {
  'glibc-now': { error: 'symbol-missing' },
  'glibc-lazy': { warnings: ['symbol-missing-lazy'] },
  'glibc-lazy-env-bind-now': { error: 'symbol-missing' },
  'glibc-data': { error: 'symbol-missing', warnings: ['symbol-missing-lazy'] },
  'glibc-copy-nopie': { error: 'symbol-missing' },
  'glibc-weak': { quiet: true },
  'glibc-versioned': { error: 'symbol-missing' },
  'glibc-versions-missing': { error: 'symbol-version-missing' },
  'glibc-library-needs': { error: 'symbol-missing' },
  'glibc-library-and-program': { error: 'symbol-missing' },
  'glibc-path-argv0': { error: 'symbol-missing' },
  'glibc-fine': { quiet: true },
  'i386-now': { error: 'symbol-missing' },
  'musl-missing': { error: 'symbol-missing' },
  'musl-data': { error: 'symbol-missing' },
  'musl-weak': { quiet: true },
  'musl-library-needs': { error: 'symbol-missing' },
  'musl-path': { error: 'symbol-missing' },
  'musl-library-and-symbols-missing': { error: 'library-missing' },
  'glibc-library-in-musl': { error: 'symbol-missing' },
  'musl-library-in-glibc': { error: 'symbol-missing' },
};

const available = engineAvailable();
const skip = available === true ? false : available;

describe('symbol verdicts against docker run', { skip, timeout: 1_500_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const real = new Map<string, { started: boolean; stderr: string }>();

  before(() => {
    const b = spawnSync('bash', [SRC + 'build.sh', `${tmp.dir}/build`], { encoding: 'utf8', timeout: 1_200_000 });
    assert.equal(b.status, 0, `building the symbol cases failed: ${b.stderr.slice(-2000)}`);
    for (const c of Object.keys(CASES)) {
      const r = docker(['run', '--rm', '--network', 'none', `scratchscope-symbols/${c}`]);
      real.set(c, { started: r.stdout.includes('scratchscope-started'), stderr: r.stderr });
      const saved = docker(['save', `scratchscope-symbols/${c}`, '-o', `${tmp.dir}/${c}.tar`]);
      assert.equal(saved.status, 0, `${c}: ${saved.stderr}`);
    }
  });

  it('every case the script builds is checked', () => {
    const listed = sh('bash', ['-c', `grep -o '^  "[a-z0-9-]*|' ${SRC}build.sh | tr -d ' "|'`])
      .split('\n')
      .filter(Boolean)
      .sort();
    assert.deepEqual(listed, Object.keys(CASES).sort());
  });

  for (const [c, want] of Object.entries(CASES)) {
    it(c, async () => {
      let truth = real.get(c)!;
      if (c.startsWith('i386-') && truth.stderr === 'exec /app: exec format error\n') {
        // A kernel built without IA32 emulation refuses every 32-bit x86 program (ENOEXEC), so
        // this engine cannot say what glibc does. glibc's words are those of the same program
        // and library change built 64-bit: its twin's run is the expected answer here.
        truth = real.get(c.replace(/^i386-/, 'glibc-'))!;
      }
      const m = await loadImage(`${tmp.dir}/${c}.tar`, { analysis: true });
      let report;
      try {
        report = buildReport(m);
      } finally {
        await m.close();
      }
      assert.equal(
        report.verdict,
        truth.started ? 'starts' : 'fails',
        `${c}: docker run ${truth.started ? 'started it' : `failed: ${truth.stderr}`}`,
      );
      const errors = report.diagnostics.filter((d) => d.severity === 'error');
      assert.equal(errors[0]?.code, want.error, `${c}: first error (${errors.map((e) => e.message).join('; ')})`);
      for (const w of want.warnings ?? [])
        assert.ok(
          report.diagnostics.some((d) => d.code === w),
          `${c}: expected ${w}, got ${report.diagnostics.map((d) => d.code).join(', ')}`,
        );
      if (want.quiet)
        assert.deepEqual(
          report.diagnostics.filter((d) => /^symbol-/.test(d.code)),
          [],
          c,
        );
      if (!want.error) return;
      const lines = truth.stderr.split('\n').filter(Boolean);
      const musl = errors.some((e) => e.runtimeError?.startsWith('Error relocating'));
      if (musl) {
        // musl names every reference it cannot bind, then exits: every line is one of ours and back
        const predicted = errors.flatMap((e) => e.runtimeError!.split('\n'));
        assert.deepEqual(new Set(lines), new Set(predicted), `${c}: musl printed ${JSON.stringify(truth.stderr)}`);
      } else {
        // glibc stops at the first failure (every missing version of it, for versions)
        assert.equal(truth.stderr, at(errors).runtimeError + '\n', `${c}: glibc printed ${JSON.stringify(truth.stderr)}`);
      }
    });
  }
});

const isRoot = process.getuid?.() === 0;
const rootSkip = !isRoot ? 'needs root for debootstrap and chroot' : false;
if (rootSkip && process.env.CI === 'true') throw new Error(`the Debian root test cannot run under CI: ${rootSkip}`);

describe('every dynamic ELF of a real Debian root, against its own ld.so', { skip: rootSkip, timeout: 900_000 }, () => {
  it('the unbound symbols are those `ldd -r` lists, object by object', async () => {
    const r = spawnSync('bash', [REPO + 'fixtures/debian-root.sh'], { encoding: 'utf8', timeout: 840_000 });
    assert.equal(r.status, 0, `debootstrap failed: ${r.stderr}`);
    const root = r.stdout.trim();
    const model = await loadImage(root, { analysis: true });
    try {
      const catalog = new BinaryCatalog(model.tree, model.decoded);
      const ctx = loaderContext(model, catalog);
      const elfs: [string, NonNullable<ReturnType<BinaryCatalog['at']>>][] = [];
      for (const [p, d] of catalog.all())
        if (d.ok && d.info.machine === 'x86_64' && !d.info.static && (d.info.interpreter || d.info.needed.length)) elfs.push([p, d]);
      assert.ok(elfs.length > 300, `${elfs.length} dynamic ELF files`);
      // One shell in the chroot runs the loader in trace mode on each: it binds everything and names each miss.
      const script = elfs
        .map(([p]) => `echo '== ${p}'; LD_TRACE_LOADED_OBJECTS=1 LD_WARN=yes LD_BIND_NOW=yes /lib64/ld-linux-x86-64.so.2 '${p}' 2>&1`)
        .join('\n');
      const out = spawnSync('chroot', [root, '/bin/sh', '-c', script], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(out.status, 0, out.stderr);
      const real = new Map<string, Set<string>>();
      let cur = new Set<string>();
      for (const line of out.stdout.split('\n')) {
        if (line.startsWith('== ')) real.set(line.slice(3), (cur = new Set()));
        const m = /^undefined symbol: (.*)\t\((.*)\)$/.exec(line);
        if (m) cur.add(`${m[1]} (${m[2]})`);
      }
      const cache = new Map<string, SymbolTable>();
      let misses = 0;
      for (const [p, d] of elfs) {
        if (!d.ok) continue;
        const load = resolveProgram(ctx, p, d.info);
        assert.deepEqual(
          load.dependencies.filter((x) => x.error),
          [],
          p,
        );
        const check = checkSymbols({ tree: model.tree, env: [], cache }, load, { argv0: p, execPath: p })!;
        assert.deepEqual(check.unreadable, [], p);
        const ours = new Set(check.problems.map((x) => `${x.symbol}${x.version ? `, version ${x.version}` : ''} (${x.requiredBy})`));
        assert.deepEqual(ours, real.get(p), p);
        misses += ours.size;
        // a program of a consistent distribution binds everything it needs at load
        if (d.info.type !== 'shared-object')
          assert.deepEqual(
            check.problems.filter((x) => x.when === 'load'),
            [],
            p,
          );
      }
      assert.ok(misses > 50, `plugins (perl's, say) name symbols only their host program defines: ${misses} found`);
    } finally {
      await model.close();
    }
  });
});

/**
 * An interpreter given its script as the command: Debian's python3.11 (its minimal package)
 * and this machine's Node run for real in a chroot, each with its libraries; the verdict, and
 * the line that says why (python's last line, node's "Error: …" line), must be what they did.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { analyseClosure, closureCopies } from '../src/closure/index.js';
import { tempDir } from './helpers/build.js';
import { available, debianPackage, link, put, write } from './helpers/roots.js';

const isRoot = process.getuid?.() === 0;
const needs = ['chroot', 'ldd', 'apt-get', 'dpkg-deb'].filter((c) => !available(c));
const skip = needs.length ? `needs ${needs.join(', ')}` : !isRoot ? 'needs root for chroot' : false;
if (skip && process.env.CI === 'true') throw new Error(`interpreter tests cannot run under CI: ${skip}`);

/** A program's libraries as ldd lists them, copied to where they are, and the loader. */
function withLibraries(root: string, program: string): void {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  for (const m of out.matchAll(/=> (\/\S+)/g)) put(root, m[1]!, m[1]!);
  put(root, '/lib64/ld-linux-x86-64.so.2', '/lib64/ld-linux-x86-64.so.2');
}

describe('interpreters given their script: the script opened, in their words', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  const py = `${tmp.dir}/py`;
  const nd = `${tmp.dir}/node`;

  before(() => {
    for (const pkg of ['python3.11-minimal', 'libpython3.11-minimal']) {
      const dir = debianPackage(tmp.dir, pkg);
      execFileSync('cp', ['-a', `${dir}/.`, py]);
    }
    link(py, '/usr/bin/python3', 'python3.11');
    withLibraries(py, `${py}/usr/bin/python3.11`);
    write(py, '/ok.py', 'print("started")\n');
    mkdirSync(`${py}/pkg`);
    write(py, '/main/__main__.py', 'print("started")\n');
    const node = realpathSync(process.execPath);
    put(nd, '/usr/bin/node', node);
    withLibraries(nd, node);
    write(nd, '/x.js', 'console.log("started")\n');
    mkdirSync(`${nd}/d`);
    write(nd, '/pkgdir/index.js', 'console.log("started")\n');
  });

  const cases: { root: 'py' | 'node'; argv: string[] }[] = [
    { root: 'py', argv: ['python3', '/app.py'] },
    { root: 'py', argv: ['python3', 'app.py'] },
    { root: 'py', argv: ['/usr/bin/python3', '-u', '-B', '/app.py'] },
    { root: 'py', argv: ['python3', '/pkg'] },
    { root: 'py', argv: ['python3', '/main'] },
    { root: 'py', argv: ['python3', '/ok.py'] },
    { root: 'py', argv: ['python3', '-c', 'print(1)'] },
    { root: 'node', argv: ['node', '/app.js'] },
    { root: 'node', argv: ['node', 'app'] },
    { root: 'node', argv: ['node', '/d'] },
    { root: 'node', argv: ['node', '/x'] },
    { root: 'node', argv: ['node', '--max-old-space-size=64', 'pkgdir'] },
    { root: 'node', argv: ['node', '-e', '1'] },
  ];
  for (const c of cases) {
    it(JSON.stringify(c.argv), async () => {
      const root = c.root === 'py' ? py : nd;
      const real = spawnSync('chroot', [root, ...c.argv], {
        encoding: 'utf8',
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      const m = await loadImage(root, { analysis: true });
      try {
        const r = buildReport(m, { entrypoint: c.argv });
        const stderr = real.stderr.trim();
        assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', stderr);
        if (real.status === 0) return;
        const first = r.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, 'script-missing');
        const line = c.root === 'py' ? stderr.split('\n').at(-1) : stderr.split('\n').find((l) => l.startsWith('Error: '));
        assert.equal(first.runtimeError, line);
      } finally {
        await m.close();
      }
    });
  }
  after(() => {
    rmSync(py, { recursive: true, force: true });
    rmSync(nd, { recursive: true, force: true });
  });
});

describe('python without its standard library: it starts, then cannot import encodings', { skip }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  let bin = '';
  let lib = '';

  before(() => {
    bin = debianPackage(tmp.dir, 'python3.11-minimal');
    lib = debianPackage(tmp.dir, 'libpython3.11-minimal');
  });

  /** python3.11 and its libraries at `at` (a symlink python3 beside it, or `copied`: the binary itself under that name, as COPY leaves it), and what `setup` adds. */
  function root(at: string, setup: (root: string) => void = () => {}, copied = false): string {
    const r = `${tmp.dir}/root-${Math.random().toString(36).slice(2)}`;
    if (copied) put(r, `${at}/python3`, `${bin}/usr/bin/python3.11`);
    else {
      put(r, `${at}/python3.11`, `${bin}/usr/bin/python3.11`);
      link(r, `${at}/python3`, 'python3.11');
    }
    withLibraries(r, `${bin}/usr/bin/python3.11`);
    write(r, '/ok.py', 'print("started")\n');
    setup(r);
    return r;
  }
  const stdlibAt = (dir: string) => (r: string) => execFileSync('cp', ['-a', `${lib}/usr/lib/python3.11`, `${r}${dir}`]);
  const zipped = (r: string) => {
    mkdirSync(`${r}/usr/lib`, { recursive: true });
    execFileSync('sh', ['-c', `cd ${lib}/usr/lib/python3.11 && python3 -m zipfile -c ${r}/usr/lib/python311.zip encodings codecs.py`]);
  };

  const cases: { name: string; at: string; setup?: (r: string) => void; argv: string[]; copied?: boolean }[] = [
    { name: 'the binary and its libraries only', at: '/usr/bin', argv: ['python3', '/ok.py'] },
    // COPY --from=build /usr/bin/python3 follows the link: python3.11's bytes named python3
    { name: 'the binary copied as python3, its libraries only', at: '/usr/bin', argv: ['python3', '/ok.py'], copied: true },
    {
      name: 'the binary copied as python3, its library beside it',
      at: '/usr/bin',
      setup: stdlibAt('/usr/lib/python3.11'),
      argv: ['python3', '/ok.py'],
      copied: true,
    },
    { name: 'the binary and its libraries only, -c', at: '/usr/bin', argv: ['/usr/bin/python3.11', '-c', 'print(1)'] },
    { name: 'in /usr/local/bin, no standard library', at: '/usr/local/bin', argv: ['python3', '/ok.py'] },
    { name: 'its standard library beside it', at: '/usr/bin', setup: stdlibAt('/usr/lib/python3.11'), argv: ['python3', '/ok.py'] },
    // from /usr/local/bin it searches up: /usr/local/lib, then /usr/lib
    {
      name: 'in /usr/local/bin, the library in /usr/lib',
      at: '/usr/local/bin',
      setup: stdlibAt('/usr/lib/python3.11'),
      argv: ['python3', '/ok.py'],
    },
    { name: 'the library as a zip', at: '/usr/bin', setup: zipped, argv: ['python3', '-c', 'print(1)'] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = root(
        c.at,
        (x) => {
          if (c.setup) {
            mkdirSync(`${x}/usr/lib`, { recursive: true });
            c.setup(x);
          }
        },
        c.copied,
      );
      const real = spawnSync('chroot', [r, ...c.argv], {
        encoding: 'utf8',
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      const m = await loadImage(r, { analysis: true });
      try {
        const rep = buildReport(m, { entrypoint: c.argv });
        assert.equal(rep.verdict, real.status === 0 ? 'starts' : 'fails', real.stderr);
        if (real.status === 0) return;
        const first = rep.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, 'stdlib-missing');
        assert.ok(first.runtimeError && real.stderr.includes(first.runtimeError), `${real.stderr} lacks ${first.runtimeError}`);
        // the cure copies the standard library where this python looks for it (the case that has it there starts)
        const want = `${c.at.slice(0, c.at.lastIndexOf('/'))}/lib/python3.11`;
        const copies = closureCopies(analyseClosure(m, { entrypoint: c.argv }).closure, false);
        assert.ok(
          copies.some((x) => x.to === want && x.dir),
          `${want} in ${copies.map((x) => x.to).join(' ')}`,
        );
        assert.ok(
          first.dockerfile?.some((l) => l.includes(want)),
          JSON.stringify(first.dockerfile),
        );
      } finally {
        await m.close();
        rmSync(r, { recursive: true, force: true });
      }
    });
  }
});

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

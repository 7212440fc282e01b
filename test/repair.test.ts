/**
 * The cure, tested against a real engine: images that fail the way the tutorials' readers
 * meet them (no loader, a missing library, no user database) are repaired with a real
 * Debian root as the donor, and the repaired image must run in `docker run` with the
 * program's own output; the COPY lines `closure --dockerfile` prints, pasted into a real
 * `docker build`, must do the same. What files cannot fix is refused, and nothing written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Closure } from '../src/closure/index.js';
import { tempDir } from './helpers/build.js';
import { cli, oneLineError } from './helpers/cli.js';
import { docker, engineAvailable } from './helpers/engine.js';
import { parseJson, parseReport } from './helpers/json.js';
import { debianBusybox } from './helpers/roots.js';

const REPO = new URL('..', import.meta.url).pathname;
const available = process.getuid?.() === 0 ? engineAvailable() : 'needs root for debootstrap';
if (available !== true && process.env.CI === 'true') throw new Error(`repair tests cannot run under CI: ${available}`);
const skip = available === true ? false : available;

function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, input: opts.input, maxBuffer: 64 << 20, timeout: 600_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

const HELLO = '#include <stdio.h>\nint main(void){puts("hello from a repaired image");return 0;}\n';
const ZLIB = '#include <stdio.h>\n#include <zlib.h>\nint main(void){printf("zlib %s\\n", zlibVersion());return 0;}\n';

describe('closure and repair, run by a real engine', { skip, timeout: 1_800_000 }, () => {
  const tmp = tempDir();
  let debian = '';
  const images: Record<string, string> = {}; // case -> docker save tar
  const prefix = `scratchscope-repair-${process.pid}`;

  /** Builds a case image from a folder holding its Dockerfile and files; saves it. */
  function image(name: string, files: Record<string, string>, dockerfile: string): void {
    const ctx = `${tmp.dir}/${name}`;
    mkdirSync(ctx, { recursive: true });
    for (const [to, from] of Object.entries(files)) {
      mkdirSync(`${ctx}/${to.slice(0, to.lastIndexOf('/'))}`.replace(/\/$/, ''), { recursive: true });
      copyFileSync(from, `${ctx}/${to}`);
    }
    writeFileSync(`${ctx}/Dockerfile`, dockerfile);
    ok(docker(['build', '-q', '-t', `${prefix}/${name}`, ctx]), `build ${name}`);
    ok(docker(['save', '-o', `${tmp.dir}/${name}.tar`, `${prefix}/${name}`]), `save ${name}`);
    images[name] = `${tmp.dir}/${name}.tar`;
  }
  function tarOf(name: string): string {
    const tar = images[name];
    assert.ok(tar, `no image built for ${name}`);
    return tar;
  }

  function run(ref: string): { status: number | null; stdout: string; stderr: string } {
    return docker(['run', '--rm', '--network', 'none', ref]);
  }

  before(() => {
    const r = spawnSync('bash', [REPO + 'fixtures/debian-root.sh'], { encoding: 'utf8', timeout: 900_000 });
    assert.equal(r.status, 0, `debootstrap failed: ${r.stderr}`);
    debian = r.stdout.trim();
    writeFileSync(`${tmp.dir}/hello.c`, HELLO);
    writeFileSync(`${tmp.dir}/zlib.c`, ZLIB);
    sh('gcc', ['-O1', '-o', `${tmp.dir}/hello`, `${tmp.dir}/hello.c`]);
    sh('gcc', ['-O1', '-o', `${tmp.dir}/zlibver`, `${tmp.dir}/zlib.c`, '-lz']);
    sh('gcc', ['-O1', '-static', '-o', `${tmp.dir}/hello-static`, `${tmp.dir}/hello.c`]);
    sh('musl-gcc', ['-O1', '-o', `${tmp.dir}/hello-musl`, `${tmp.dir}/hello.c`]);
    // The tutorial's trap: a dynamic program alone in an empty image.
    image('no-loader', { app: `${tmp.dir}/hello` }, 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n');
    // The Alpine classic: a static shell runs a shell-form CMD, and the program has no loader.
    const busybox = debianBusybox(tmp.dir);
    image('shell-no-loader', { app: `${tmp.dir}/hello`, 'bin/sh': busybox }, 'FROM scratch\nCOPY bin /bin\nCOPY app /app\nCMD /app\n');
    // The loader and libc copied as `cp -L` of the ldd list, but not the program's libz.
    image(
      'no-libz',
      {
        app: `${tmp.dir}/zlibver`,
        'lib64/ld-linux-x86-64.so.2': '/lib64/ld-linux-x86-64.so.2',
        'lib/x86_64-linux-gnu/libc.so.6': '/lib/x86_64-linux-gnu/libc.so.6',
      },
      'FROM scratch\nCOPY lib64 /lib64\nCOPY lib /lib\nCOPY app /app\nENTRYPOINT ["/app"]\n',
    );
    // A named USER and no /etc/passwd.
    image('no-passwd', { app: `${tmp.dir}/hello-static` }, 'FROM scratch\nCOPY app /app\nUSER nobody\nENTRYPOINT ["/app"]\n');
    // A musl program in an empty image.
    image('musl-no-loader', { app: `${tmp.dir}/hello-musl` }, 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n');
    // A program for another machine: no file fixes that.
    image('arm64', { app: `${REPO}fixtures/foreign/hello-arm64` }, 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n');
  });

  after(() => {
    spawnSync('sh', ['-c', `docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${prefix}' | xargs -r docker rmi -f`], {
      encoding: 'utf8',
    });
    tmp.cleanup();
  });

  for (const [name, expected] of [
    ['no-loader', 'hello from a repaired image'],
    ['no-libz', 'zlib 1.2.13'],
    ['no-passwd', 'hello from a repaired image'],
    ['shell-no-loader', 'hello from a repaired image'],
  ] as const) {
    it(`${name}: the real engine fails it, and the repaired image runs`, () => {
      const before = run(`${prefix}/${name}`);
      assert.notEqual(before.status, 0, `${name} should fail before the repair`);
      const out = `${tmp.dir}/${name}-repaired.tar`;
      const r = cli(['repair', tarOf(name), '--from', debian, '-o', out, '--name', `${prefix}/${name}:repaired`]);
      ok(r, `repair ${name}`);
      assert.match(r.stdout, /^repaired: wrote /);
      assert.match(r.stdout, /^fixed: \[[a-z-]+\] /m);
      assert.doesNotMatch(r.stdout, /\\x0a/, 'each fixed finding on a line of its own');
      assert.equal(parseReport(ok(cli(['inspect', out, '--json']), 'inspect')).verdict, 'starts');
      ok(docker(['load', '-i', out]), 'docker load');
      const after = run(`${prefix}/${name}:repaired`);
      assert.equal(after.status, 0, `the repaired ${name} failed: ${after.stderr}`);
      assert.equal(after.stdout.trim(), expected);
    });
  }

  it('an OCI archive written by repair is read by skopeo and runs', () => {
    const out = `${tmp.dir}/oci-repaired.tar`;
    ok(cli(['repair', tarOf('no-loader'), '--from', debian, '-o', out, '--format', 'oci-archive']), 'repair');
    // skopeo reads it (and converts it for docker load; its docker-daemon transport does not reach this engine)
    sh('skopeo', ['copy', '-q', `oci-archive:${out}`, `docker-archive:${tmp.dir}/oci-converted.tar:${prefix}/oci:repaired`]);
    ok(docker(['load', '-i', `${tmp.dir}/oci-converted.tar`]), 'docker load');
    const r = run(`${prefix}/oci:repaired`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hello from a repaired image');
  });

  it('a musl program is repaired from a musl root', () => {
    // A musl root as Debian's musl package lays it out: the loader is musl's libc.so.
    const root = `${tmp.dir}/musl-root`;
    mkdirSync(`${root}/lib`, { recursive: true });
    copyFileSync('/usr/lib/x86_64-linux-musl/libc.so', `${root}/lib/ld-musl-x86_64.so.1`);
    const out = `${tmp.dir}/musl-repaired.tar`;
    ok(cli(['repair', tarOf('musl-no-loader'), '--from', root, '-o', out, '--name', `${prefix}/musl:repaired`]), 'repair');
    ok(docker(['load', '-i', out]), 'docker load');
    const r = run(`${prefix}/musl:repaired`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hello from a repaired image');
  });

  it("a loader at a path of its own (--dynamic-linker=/app/lib/…): the donor's loader is copied there", () => {
    sh('gcc', ['-O1', '-Wl,--dynamic-linker=/app/lib/ld-linux-x86-64.so.2', '-o', `${tmp.dir}/hello-customld`, `${tmp.dir}/hello.c`]);
    image(
      'custom-loader',
      { app: `${tmp.dir}/hello-customld`, 'lib/x86_64-linux-gnu/libc.so.6': '/lib/x86_64-linux-gnu/libc.so.6' },
      'FROM scratch\nCOPY lib /lib\nCOPY app /app/hello\nENTRYPOINT ["/app/hello"]\n',
    );
    const out = `${tmp.dir}/custom-loader-repaired.tar`;
    ok(cli(['repair', tarOf('custom-loader'), '--from', debian, '-o', out, '--name', `${prefix}/custom-loader:repaired`]), 'repair');
    ok(docker(['load', '-i', out]), 'docker load');
    const r = run(`${prefix}/custom-loader:repaired`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hello from a repaired image');
  });

  it('refuses what files cannot fix, and writes nothing', () => {
    const out = `${tmp.dir}/arm64-repaired.tar`;
    const line = oneLineError(cli(['repair', tarOf('arm64'), '--from', debian, '-o', out]));
    assert.match(line, /exec-format/);
    assert.equal(existsSync(out), false);
    // A glibc donor cannot give a musl program its loader.
    const out2 = `${tmp.dir}/musl-from-debian.tar`;
    const line2 = oneLineError(cli(['repair', tarOf('musl-no-loader'), '--from', debian, '-o', out2]));
    assert.match(line2, /cannot supply the loader \/lib\/ld-musl-x86_64\.so\.1/);
    assert.equal(existsSync(out2), false);
    // An image that starts has nothing to repair.
    oneLineError(cli(['repair', `${tmp.dir}/no-loader-repaired.tar`, '--from', debian, '-o', `${tmp.dir}/again.tar`]));
  });

  it('the COPY lines of closure --dockerfile, pasted into a real docker build, make it start', () => {
    sh('sh', [
      '-c',
      `tar -C '${debian}' --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -c . | docker import - ${prefix}/donor:latest`,
    ]);
    for (const [name, expected] of [
      ['no-loader', 'hello from a repaired image'],
      ['no-libz', 'zlib 1.2.13'],
    ] as const) {
      const r = cli(['closure', tarOf(name), '--dockerfile', '--from', 'donor', '--from-image', debian]);
      const lines = ok(r, `closure ${name}`);
      assert.match(lines, /^COPY --from=donor /m);
      assert.doesNotMatch(lines, /^# /m, 'the donor has every file');
      const ctx = `${tmp.dir}/${name}-dockerfile`;
      mkdirSync(ctx, { recursive: true });
      writeFileSync(`${ctx}/Dockerfile`, `FROM ${prefix}/donor:latest AS donor\nFROM ${prefix}/${name}\n${lines}`);
      ok(docker(['build', '-q', '-t', `${prefix}/${name}:copied`, ctx]), `build with the COPY lines:\n${lines}`);
      const after = run(`${prefix}/${name}:copied`);
      assert.equal(after.status, 0, `${name} with the COPY lines failed: ${after.stderr}\n${lines}`);
      assert.equal(after.stdout.trim(), expected);
    }
  });

  it("closure --dockerfile with a donor copies what the missing libraries need in turn (libbar's libfoo)", () => {
    const src = `${REPO}fixtures/src/loader/`;
    const lib = `${tmp.dir}/chain/lib/x86_64-linux-gnu`;
    mkdirSync(lib, { recursive: true });
    sh('gcc', ['-O1', '-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-o', `${lib}/libfoo.so.1`, `${src}foo.c`]);
    sh('gcc', ['-O1', '-shared', '-fPIC', '-Wl,-soname,libbar.so.1', '-o', `${lib}/libbar.so.1`, `${src}bar.c`, `${lib}/libfoo.so.1`]);
    sh('gcc', ['-O1', '-DUSE_BAR', '-o', `${tmp.dir}/chain/app`, `${src}app.c`, `${lib}/libbar.so.1`, `-Wl,-rpath-link,${lib}`]);
    // the donor: the build stage, with both libraries beside its C library
    const donor = `${tmp.dir}/chain-donor`;
    mkdirSync(`${donor}/lib/x86_64-linux-gnu`, { recursive: true });
    mkdirSync(`${donor}/lib64`, { recursive: true });
    for (const f of ['libfoo.so.1', 'libbar.so.1']) copyFileSync(`${lib}/${f}`, `${donor}/lib/x86_64-linux-gnu/${f}`);
    copyFileSync('/lib/x86_64-linux-gnu/libc.so.6', `${donor}/lib/x86_64-linux-gnu/libc.so.6`);
    copyFileSync('/lib64/ld-linux-x86-64.so.2', `${donor}/lib64/ld-linux-x86-64.so.2`);
    sh('sh', ['-c', `tar -C '${donor}' -c . | docker import - ${prefix}/chain-donor:latest`]);
    image(
      'no-bar',
      {
        app: `${tmp.dir}/chain/app`,
        'lib64/ld-linux-x86-64.so.2': '/lib64/ld-linux-x86-64.so.2',
        'lib/x86_64-linux-gnu/libc.so.6': '/lib/x86_64-linux-gnu/libc.so.6',
      },
      'FROM scratch\nCOPY lib64 /lib64\nCOPY lib /lib\nCOPY app /app\nENTRYPOINT ["/app"]\n',
    );
    const lines = ok(cli(['closure', tarOf('no-bar'), '--dockerfile', '--from', 'donor', '--from-image', donor]), 'closure no-bar');
    assert.match(lines, /libbar\.so\.1/);
    assert.match(lines, /libfoo\.so\.1/, 'what libbar needs in turn');
    const ctx = `${tmp.dir}/no-bar-dockerfile`;
    mkdirSync(ctx, { recursive: true });
    writeFileSync(`${ctx}/Dockerfile`, `FROM ${prefix}/chain-donor:latest AS donor\nFROM ${prefix}/no-bar\n${lines}`);
    ok(docker(['build', '-q', '-t', `${prefix}/no-bar:copied`, ctx]), `build with the COPY lines:\n${lines}`);
    const after = run(`${prefix}/no-bar:copied`);
    assert.equal(after.status, 0, `no-bar with the COPY lines failed: ${after.stderr}\n${lines}`);
  });

  it('slim keeps only the closure of native programs, and they run with the same output', () => {
    // Programs on a full Debian base, as users ship them: C with zlib, Go with cgo, Rust.
    writeFileSync(
      `${tmp.dir}/cgo.go`,
      'package main\n\nimport (\n\t"fmt"\n\t"net"\n\t"os/user"\n)\n\nfunc main() {\n\tu, err := user.Current()\n\t_, _, perr := net.ParseCIDR("10.0.0.0/8")\n\tfmt.Println("go", u != nil, err == nil, perr == nil)\n}\n',
    );
    sh('go', ['build', '-o', `${tmp.dir}/cgoapp`, `${tmp.dir}/cgo.go`], { cwd: tmp.dir, input: '' });
    writeFileSync(`${tmp.dir}/hello.rs`, 'fn main() { println!("rust {}", std::env::args().count()); }\n');
    sh('rustc', ['-O', '-o', `${tmp.dir}/rustapp`, `${tmp.dir}/hello.rs`]);
    sh('sh', [
      '-c',
      `docker image inspect ${prefix}/donor:latest >/dev/null 2>&1 || tar -C '${debian}' --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -c . | docker import - ${prefix}/donor:latest`,
    ]);
    const cases = [
      ['slim-c', `${tmp.dir}/zlibver`, 'zlib 1.2.13'],
      ['slim-go', `${tmp.dir}/cgoapp`, 'go true true true'],
      ['slim-rust', `${tmp.dir}/rustapp`, 'rust 1'],
    ] as const;
    for (const [name, program, expected] of cases) {
      image(name, { app: program }, `FROM ${prefix}/donor:latest\nCOPY app /usr/local/bin/app\nENTRYPOINT ["/usr/local/bin/app"]\n`);
      const out = `${tmp.dir}/${name}-slim.tar`;
      const r = ok(cli(['slim', tarOf(name), '-o', out, '--name', `${prefix}/${name}:slim`]), `slim ${name}`);
      const m = /: (\d+) files, .* saved \((\d+\.\d)%\)/.exec(r);
      assert.ok(m && Number(m[2]) > 90, `${name}: expected a large saving: ${r}`);
      ok(docker(['load', '-i', out]), 'docker load');
      const orig = run(`${prefix}/${name}`);
      const slim = run(`${prefix}/${name}:slim`);
      assert.equal(orig.stdout.trim(), expected, orig.stderr);
      assert.equal(slim.status, 0, `${name} slim failed: ${slim.stderr}`);
      assert.equal(slim.stdout, orig.stdout);
    }
    // A musl program on a musl root.
    image(
      'slim-musl',
      { app: `${tmp.dir}/hello-musl`, 'lib/ld-musl-x86_64.so.1': '/usr/lib/x86_64-linux-musl/libc.so', 'bin/filler': `${tmp.dir}/zlibver` },
      'FROM scratch\nCOPY lib /lib\nCOPY bin /bin\nCOPY app /app\nENTRYPOINT ["/app"]\n',
    );
    const out = `${tmp.dir}/musl-slim.tar`;
    ok(cli(['slim', tarOf('slim-musl'), '-o', out, '--name', `${prefix}/slim-musl:slim`]), 'slim musl');
    ok(docker(['load', '-i', out]), 'docker load');
    const r = run(`${prefix}/slim-musl:slim`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hello from a repaired image');
    // An interpreter's needs are not in its files: refused without --keep.
    image('slim-shell', {}, `FROM ${prefix}/donor:latest\nENTRYPOINT ["/bin/sh", "-c", "echo hi"]\n`);
    assert.match(oneLineError(cli(['slim', tarOf('slim-shell'), '-o', `${tmp.dir}/shell-slim.tar`])), /interpreter/);
    assert.equal(existsSync(`${tmp.dir}/shell-slim.tar`), false);
  });

  it("musl's loader at glibc's PT_INTERP path loads with musl's rules, in musl's words", () => {
    // musl serves libc.so.6 itself (lib + c + .): a glibc hello starts; a program needing libz does not
    for (const [name, program] of [
      ['musl-as-glibc', `${tmp.dir}/hello`],
      ['musl-as-glibc-libz', `${tmp.dir}/zlibver`],
    ] as const) {
      image(
        name,
        { app: program, 'lib64/ld-linux-x86-64.so.2': '/usr/lib/x86_64-linux-musl/libc.so' },
        'FROM scratch\nCOPY lib64 /lib64\nCOPY app /app\nENTRYPOINT ["/app"]\n',
      );
      const real = run(`${prefix}/${name}`);
      if (name === 'musl-as-glibc-libz') assert.notEqual(real.status, 0, 'libz is in no folder musl searches');
      const r = parseReport(ok(cli(['inspect', tarOf(name), '--json']), 'inspect'));
      assert.equal(r.verdict, real.status === 0 ? 'starts' : 'fails', `${name}: docker run ${real.status}: ${real.stderr}`);
      if (real.status !== 0) {
        const first = r.diagnostics.find((d) => d.severity === 'error');
        assert.ok(first);
        assert.equal(first.runtimeError, 'Error loading shared library libz.so.1: No such file or directory (needed by /app)');
        assert.ok(
          first.runtimeError !== null && real.stderr.includes(first.runtimeError),
          `real stderr ${JSON.stringify(real.stderr)} lacks ${JSON.stringify(first.runtimeError)}`,
        );
      }
    }
  });

  it('closure lists the loader and every library under the names the loader opens', () => {
    const c = parseJson<Closure>(ok(cli(['closure', tarOf('no-libz'), '--json']), 'closure'));
    assert.equal(c.program, '/app');
    const byRole = (role: string) => c.files.filter((f) => f.role === role);
    assert.deepEqual(
      byRole('executable').map((f) => f.path),
      ['/app'],
    );
    assert.deepEqual(
      byRole('loader').map((f) => [f.path, f.present]),
      [['/lib64/ld-linux-x86-64.so.2', true]],
    );
    assert.deepEqual(
      c.missingLibraries.map((m) => m.name),
      ['libz.so.1'],
    );
    // The whole closure for a scratch stage, from an image where it all exists.
    const all = ok(cli(['closure', `${tmp.dir}/no-libz-repaired.tar`, '--dockerfile', '--all', '--from', 'build']), 'closure --all');
    assert.match(all, /^COPY --from=build \/app \/$/m);
    assert.match(all, /ld-linux-x86-64\.so\.2/);
    assert.match(all, /libz\.so\.1/);
    // a musl donor for a glibc program is named as such, and lacks the library
    const musl = cli(['closure', tarOf('no-libz'), '--dockerfile', '--from', 'build', '--from-image', `${tmp.dir}/musl-root`]);
    assert.equal(musl.status, 1);
    assert.match(
      musl.stdout,
      /^# warning: the donor has no \/lib64\/ld-linux-x86-64\.so\.2, .* it has \/lib\/ld-musl-x86_64\.so\.1: it is musl-based/m,
    );
    assert.match(musl.stdout, /has no \/lib\/x86_64-linux-gnu\/libz\.so\.1$/m);
  });
});

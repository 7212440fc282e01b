/**
 * Diagnosis on hand-made images (no engine needed): the schema of the JSON report,
 * overrides, exit codes, and the cases the engine suite cannot vary cheaply.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { execForm } from '../src/diagnose/shellwords.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { loadImage } from '../src/load.js';
import { mustResolve, readContent } from '../src/fs/index.js';
import { buildReport } from '../src/report/index.js';
import { EXPLAIN } from '../src/diagnose/explain.js';
import { ERROR_CODES, WARNING_CODES } from '../src/diagnose/index.js';
import { type Entry, makeTar, tempDir, writeOciLayout } from './helpers/build.js';
import { at } from './helpers/assert.js';
import { cli } from './helpers/cli.js';
import { parseJson } from './helpers/json.js';
import { tinyElf } from './helpers/tinyelf.js';
import { SCHEMA, validateAs } from './helpers/schema.js';

const FX = new URL('../fixtures/images/', import.meta.url).pathname;
const tmp = tempDir();
after(tmp.cleanup);
const HELLO = readFileSync(new URL('../fixtures/foreign/hello-arm64', import.meta.url)); // any ELF will do where only headers matter
let n = 0;

/** The static x86_64 hello of the fixture image, read out with scratchscope itself. */
async function staticHello(): Promise<Buffer> {
  const m = await loadImage(FX + 'layers.docker.tar');
  try {
    return await readContent(m.opened.layers, mustResolve(m.tree, '/usr/bin/hello').node.content!);
  } finally {
    await m.close();
  }
}

async function image(entries: Entry[], config: Record<string, unknown>, arch = 'arm64') {
  const dir = writeOciLayout(`${tmp.dir}/i${n++}`, { layers: [await makeTar(entries)], config, architecture: arch, gzip: n % 2 === 0 });
  return dir;
}

async function report(dir: string, opts = {}) {
  const m = await loadImage(dir, { analysis: true });
  try {
    return buildReport(m, opts);
  } finally {
    await m.close();
  }
}

describe('the JSON report', () => {
  it('validates against docs/report.schema.json, for images that start and that fail', () => {
    for (const img of ['layers.docker.tar', 'layers.containerd.tar', 'hello.docker.tar', 'layers.export.tar']) {
      const r = cli(['inspect', '--json', FX + img]);
      assert.equal(r.status, 0, r.stderr);
      const v = validateAs(parseJson<unknown>(r.stdout), 'Report');
      assert.ok(v.ok, `${img}: ${v.errors}`);
    }
  });

  it('fails validation when a field drifts (the schema is strict)', () => {
    const j = parseJson<Record<string, unknown>>(cli(['inspect', '--json', FX + 'hello.docker.tar']).stdout);
    j.verdict = 'maybe';
    assert.equal(validateAs(j, 'Report').ok, false);
    j.verdict = 'fails';
    j.surprise = true;
    assert.equal(validateAs(j, 'Report').ok, false);
  });

  it('every code has a story, and the schema lists every code', () => {
    const codes = [...ERROR_CODES, ...WARNING_CODES];
    assert.deepEqual(Object.keys(EXPLAIN).sort(), [...codes].sort());
    assert.deepEqual((SCHEMA.definitions.Code as { enum: string[] }).enum.sort(), [...codes].sort());
    const r = cli(['explain', 'interpreter-missing']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /PT_INTERP/);
    assert.equal(cli(['explain', 'nope']).status, 2);
    assert.equal(cli(['--explain', 'shell-missing']).stdout, cli(['explain', 'shell-missing']).stdout);
  });
});

describe('launch steps', () => {
  it('a plain root filesystem has no command', async () => {
    const r = await report(FX + 'layers.export.tar');
    assert.equal(r.verdict, 'fails');
    assert.equal(at(r.diagnostics).code, 'no-command');
  });

  it('a named group missing from /etc/group', async () => {
    const dir = await image(
      [
        { name: 'etc/passwd', body: 'app:x:10:10::/:/app\n' },
        { name: 'app', body: HELLO, mode: 0o755 },
      ],
      { User: 'app:staff', Entrypoint: ['/app'] },
    );
    const r = await report(dir);
    assert.equal(at(r.diagnostics).code, 'user-missing');
    assert.equal(at(r.diagnostics).runtimeError, 'unable to find group staff: no matching entries in group file');
    const ok = await image(
      [
        { name: 'etc/passwd', body: 'app:x:10:10::/:/app\n' },
        { name: 'app', body: HELLO, mode: 0o755 },
      ],
      { User: 'app', Entrypoint: ['/app'] },
    );
    assert.match(at((await report(ok)).launch.steps).detail, /runs as 10:10/);
  });

  it("--entrypoint and --cmd replace the image's command as docker run does", async () => {
    const dir = await image([{ name: 'bin/tool', body: HELLO, mode: 0o755 }], { Entrypoint: ['/nope'], Cmd: ['--flag'] });
    assert.equal(at((await report(dir)).diagnostics).code, 'exec-not-found');
    const r = await report(dir, { entrypoint: ['/bin/tool'] });
    assert.deepEqual(r.launch.argv, ['/bin/tool']);
    assert.equal(r.diagnostics.filter((d) => d.severity === 'error')[0]?.code, 'interpreter-missing');
    assert.deepEqual((await report(dir, { entrypoint: ['/bin/tool'], cmd: ['a', 'b'] })).launch.argv, ['/bin/tool', 'a', 'b']);
  });

  it('ENTRYPOINT [""] is no entrypoint, as the engine merges it: CMD runs alone, or nothing does', async () => {
    const dir = await image([{ name: 'bin/tool', body: HELLO, mode: 0o755 }], { Entrypoint: [''], Cmd: ['/bin/tool', 'x'] });
    const r = await report(dir);
    assert.deepEqual(r.launch.argv, ['/bin/tool', 'x']);
    assert.equal(r.diagnostics.filter((d) => d.severity === 'error')[0]?.code, 'interpreter-missing'); // /bin/tool, not ""
    const none = await image([{ name: 'bin/tool', body: HELLO, mode: 0o755 }], { Entrypoint: [''] });
    const n = await report(none);
    assert.equal(at(n.diagnostics).code, 'no-command');
    assert.equal(at(n.diagnostics).runtimeError, 'No command specified');
    // docker run --entrypoint "" drops the image's Cmd as any --entrypoint does
    assert.equal(at((await report(dir, { entrypoint: [''] })).diagnostics).code, 'no-command');
    assert.deepEqual((await report(dir, { entrypoint: [''], cmd: ['/bin/tool'] })).launch.argv, ['/bin/tool']);
  });

  it('a command path that goes on past a file ("/app/", "/app/../app") is not a directory', async () => {
    for (const path of ['/app/', '/app/../app', '/app/.', '/link/']) {
      const dir = await image(
        [
          { name: 'app', body: HELLO, mode: 0o755 },
          { name: 'link', type: 'symlink', linkname: 'app' },
        ],
        { Entrypoint: [path] },
      );
      const d = at((await report(dir)).diagnostics);
      assert.equal(d.code, 'exec-not-found', path);
      assert.equal(d.runtimeError, `exec: "${path}": stat ${path}: not a directory`);
      assert.match(d.message, /as if it were a folder, but \/app is a file/);
    }
  });

  it('a shell-form script is offered in exec form only as sh itself splits it, and not when sh does more', async () => {
    const dir = await image([{ name: 'app', body: HELLO, mode: 0o755 }], { Entrypoint: ['/bin/sh', '-c', `FOO='a b' /app "x y"`] });
    const d = at((await report(dir)).diagnostics);
    assert.equal(d.code, 'shell-missing');
    assert.equal(d.fix, 'Use the exec form, which needs no shell: ENV FOO="a b", then ENTRYPOINT ["/app","x y"]');
    const plain = [
      `/app "a b" 'c'`,
      `FOO=bar /app "x y"`,
      `/app a\\ b "q\\"uote" 'it''s'`,
      `"/app" --flag=1 -v`,
      `/app "a\\b" x=1`,
      `"X=1" /app`,
      // brackets that close in no part of the path are plain: sh's split (here, with no file to match) says the same
      `['/app','--version']`,
      `[/app x]`,
    ];
    for (const script of plain) {
      const form = execForm(script);
      assert.ok(form, script);
      // sh's own split: the same words, printed one by one after a command of ours
      const real = spawnSync('sh', ['-c', `printf '%s\\0' ${script}`], { encoding: 'utf8' })
        .stdout.split('\0')
        .slice(0, -1);
      assert.deepEqual([...form.env, ...form.words], real, script);
    }
    assert.deepEqual(execForm(`FOO=bar /app "x y"`), { env: ['FOO=bar'], words: ['/app', 'x y'] });
    assert.deepEqual(execForm(`"X=1" /app`), { env: [], words: ['X=1', '/app'] }); // a quoted name is no assignment
    for (const script of [
      '/app "$HOME"',
      '/app | cat',
      '/app *.txt',
      '/app [ab]',
      '/[a/[b]',
      '~/app',
      '# x',
      "/app 'open",
      'FOO=1',
      '/app; /b',
      'a\\\n b',
      '/app `x`',
    ])
      assert.equal(execForm(script), null, script);
  });

  it("an ELF of another machine is exec format error, and the config's architecture is compared", async () => {
    const dir = await image([{ name: 'app', body: HELLO, mode: 0o755 }], { Entrypoint: ['/app'] }, 'amd64');
    const r = await report(dir);
    assert.deepEqual(
      r.diagnostics.map((d) => d.code),
      ['exec-format', 'arch-mismatch'],
    );
    assert.equal(at(r.diagnostics).runtimeError, 'exec /app: exec format error');
  });

  it('a PT_INTERP the kernel refuses (over PATH_MAX, under 2 bytes, no NUL at its end) is exec format error, as execve says', async () => {
    const built = `${tmp.dir}/interp-app`;
    execFileSync('gcc', ['-O1', '-o', built, new URL('../fixtures/src/diagnose/hello.c', import.meta.url).pathname]);
    // execve itself: a spawn goes through execvp, which hands a file the kernel refuses to /bin/sh
    writeFileSync(
      `${tmp.dir}/execve.c`,
      '#include <errno.h>\n#include <stdio.h>\n#include <unistd.h>\nint main(int c, char **v) { execve(v[1], v + 1, 0); printf("%d", errno); return 0; }\n',
    );
    execFileSync('gcc', ['-o', `${tmp.dir}/execve`, `${tmp.dir}/execve.c`]);
    const ENOEXEC = '8';
    const good = readFileSync(built);
    // PT_INTERP's program header (64-bit, little-endian): p_type 3; p_filesz at +32
    const phoff = Number(good.readBigUInt64LE(32));
    let ph = phoff;
    while (good.readUInt32LE(ph) !== 3) ph += good.readUInt16LE(54);
    const filesz = Number(good.readBigUInt64LE(ph + 32));
    for (const [what, size] of [
      ['over PATH_MAX', 1n << 40n],
      ['one byte', 1n],
      ['without its NUL', BigInt(filesz - 1)],
    ] as const) {
      const bad = Buffer.from(good);
      bad.writeBigUInt64LE(size, ph + 32);
      const file = `${tmp.dir}/interp-${n}`;
      writeFileSync(file, bad, { mode: 0o755 });
      // the host's kernel is the expected answer
      assert.equal(execFileSync(`${tmp.dir}/execve`, [file], { encoding: 'utf8' }), ENOEXEC, what);
      const r = await report(await image([{ name: 'app', body: bad, mode: 0o755 }], { Entrypoint: ['/app'] }, 'amd64'));
      const first = r.diagnostics.find((d) => d.severity === 'error');
      assert.deepEqual([first?.code, first?.runtimeError], ['exec-format', 'exec /app: exec format error'], what);
    }
  });

  it('the kernel walks to the #! interpreter and the loader as the container user: a loop, a locked folder, a folder as loader', async () => {
    // each as Docker 20.10 (runc 1.1) answered
    const LD = '/lib64/ld-linux-x86-64.so.2';
    const sh = await staticHello();
    const first = async (entries: Entry[], user?: string) => {
      const r = await report(await image(entries, { Entrypoint: ['/app'], ...(user ? { User: user } : {}) }, 'amd64'));
      const d = r.diagnostics.find((x) => x.severity === 'error');
      return [r.verdict, d?.code, d?.runtimeError, d?.runtimeErrors?.crun];
    };
    const script = { name: 'app', body: '#!/opt/sh\necho\n', mode: 0o755 };
    const loop = [
      { name: 'opt/' },
      { name: 'opt/sh', type: 'symlink' as const, linkname: '/opt/b' },
      { name: 'opt/b', type: 'symlink' as const, linkname: '/opt/sh' },
    ];
    assert.deepEqual(await first([script, ...loop]), [
      'fails',
      'shebang-interpreter-missing',
      'exec /app: too many levels of symbolic links',
      'exec container process `/app`: Too many levels of symbolic links',
    ]);
    const locked = [
      { name: 'opt/', mode: 0o700 },
      { name: 'opt/sh', body: sh, mode: 0o755 },
    ];
    assert.deepEqual((await first([script, ...locked], '1000')).slice(0, 3), ['fails', 'not-executable', 'exec /app: permission denied']);
    assert.equal((await first([script, ...locked]))[0], 'starts', 'root searches any folder');
    const app = { name: 'app', body: tinyElf({ interpreter: LD }), mode: 0o755 };
    const lockedLoader = [
      { name: 'lib64/', mode: 0o700 },
      { name: LD.slice(1), body: sh, mode: 0o755 },
    ];
    assert.deepEqual((await first([app, ...lockedLoader], '1000')).slice(0, 3), [
      'fails',
      'not-executable',
      'exec /app: permission denied',
    ]);
    const dirLoader = [{ name: 'lib64/' }, { name: `${LD.slice(1)}/` }];
    assert.deepEqual((await first([app, ...dirLoader])).slice(0, 3), ['fails', 'not-executable', 'exec /app: permission denied']);
    // the kernel reads the loader's ELF header: too short is EIO, no ELF (or another machine's) ELIBBAD
    const arm64 = readFileSync(new URL('../fixtures/foreign/hello-arm64', import.meta.url));
    for (const [body, errno] of [
      ['#!/bin/sh\n', 'input/output error'],
      ['#!/bin/sh\n'.padEnd(300, '#'), 'accessing a corrupted shared library'],
      [arm64, 'accessing a corrupted shared library'],
    ] as const) {
      const bad = [{ name: 'lib64/' }, { name: LD.slice(1), body, mode: 0o755 }];
      assert.deepEqual((await first([app, ...bad])).slice(0, 3), ['fails', 'interpreter-missing', `exec /app: ${errno}`], errno);
    }
    // the loader opens a library as the user too: a locked folder is passed over (EACCES), then ENOENT on the next
    const needs = { name: 'app', body: tinyElf({ interpreter: LD, needed: ['libfoo.so.1'] }), mode: 0o755 };
    const lib = [
      { name: 'lib64/' },
      { name: LD.slice(1), body: sh, mode: 0o755 },
      { name: 'opt/', mode: 0o700 },
      { name: 'opt/lib/' },
      { name: 'opt/lib/libfoo.so.1', body: tinyElf({ soname: 'libfoo.so.1' }) },
    ];
    const withLib = async (user?: string) =>
      report(
        await image([needs, ...lib], { Entrypoint: ['/app'], Env: ['LD_LIBRARY_PATH=/opt/lib'], ...(user ? { User: user } : {}) }, 'amd64'),
      );
    const locked1000 = await withLib('1000');
    assert.deepEqual(
      [locked1000.verdict, locked1000.diagnostics[0]?.runtimeError],
      ['fails', '/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory'],
    );
    assert.equal((await withLib()).verdict, 'starts');
  });

  it("links that never reach the loader or the program: ELOOP in the runtime's words, a cycle told from a chain too deep", async () => {
    const LD = '/lib64/ld-linux-x86-64.so.2';
    const app = { name: 'app', body: tinyElf({ interpreter: LD }), mode: 0o755 };
    const chain = (from: string, n: number, end: string) =>
      Array.from({ length: n }, (_, i) => ({
        name: `${from}${i}`,
        type: 'symlink' as const,
        linkname: i === n - 1 ? end : `/${from}${i + 1}`,
      }));
    const cycle = [
      { name: 'lib64/' },
      { name: 'lib64/ld-linux-x86-64.so.2', type: 'symlink' as const, linkname: '/lib64/ld-linux-x86-64.so.2' },
    ];
    const deep = [
      { name: 'lib64/' },
      { name: 'lib64/ld-linux-x86-64.so.2', type: 'symlink' as const, linkname: '/l0' },
      ...chain('l', 40, '/ld'),
    ];
    for (const [what, entries] of [
      ['a cycle', cycle],
      ['41 links', deep],
    ] as const) {
      const r = await report(await image([app, ...entries], { Entrypoint: ['/app'] }, 'amd64'));
      const first = r.diagnostics.find((d) => d.severity === 'error')!;
      assert.deepEqual([first.code, first.runtimeError], ['interpreter-missing', 'exec /app: too many levels of symbolic links'], what);
      assert.equal(first.runtimeErrors?.crun, 'exec container process `/app`: Too many levels of symbolic links', what);
      assert.match(first.message, /which the kernel cannot reach \(.*too many levels of symbolic links\)/, what);
    }
    // the program itself behind 41 links, and behind a cycle: both ELOOP, each told for what it is
    const far = await report(await image([...chain('p', 41, '/app'), app], { Entrypoint: ['/p0'] }, 'amd64'));
    assert.equal(far.diagnostics[0]?.runtimeError, 'exec: "/p0": stat /p0: too many levels of symbolic links');
    assert.match(at(far.diagnostics).message, /run more than 40 deep/);
    const round = await report(await image([...chain('q', 3, '/q0'), app], { Entrypoint: ['/q0'] }, 'amd64'));
    assert.match(at(round.diagnostics).message, /lead round in a loop/);
  });

  it("USER as runc reads it: Atoi's ids, a range, trimmed lines, and a passwd line too long for its reader", async () => {
    // each as Docker 20.10 answered (the engine suite builds user-range, user-numeric-signed, user-trimmed)
    const app = { name: 'app', body: await staticHello(), mode: 0o755 };
    const run = async (user: string | undefined, files: Entry[] = []) =>
      report(await image([app, ...files], { Entrypoint: ['/app'], ...(user ? { User: user } : {}) }, 'amd64'));
    for (const user of ['-1', '2147483648', '1000:4294967295']) {
      const r = await run(user);
      assert.deepEqual([r.verdict, r.diagnostics[0]?.runtimeError], ['fails', 'uids and gids must be in range 0-2147483647'], user);
    }
    assert.equal((await run('-0')).verdict, 'starts');
    // an entry whose uid is no number runs as 0, as Atoi's error leaves it
    const odd = await run('app', [{ name: 'etc/passwd', body: 'app:x:abc:7::/:/bin/sh\n' }]);
    assert.match(odd.launch.steps.find((s) => s.step === 'user')?.detail ?? '', /runs as 0:7/);
    // the line may come after the entry: runc's scanner reads every line
    const long = { name: 'etc/passwd', body: `root:x:0:0::/root:/bin/sh\napp:x:1:1:${'x'.repeat(70_000)}:/:/bin/sh\n` };
    const r = await run(undefined, [long]);
    assert.deepEqual([r.verdict, r.diagnostics[0]?.runtimeError], ['fails', 'unable to find user 0: bufio.Scanner: token too long']);
    // /etc/group's reader takes a line of any length
    const group = { name: 'etc/group', body: `big:x:9:${'y'.repeat(70_000)}\nstaff:x:50:\n` };
    assert.equal((await run('0:staff', [group])).verdict, 'starts');
  });

  it('#!/usr/bin/env -S splits its string as coreutils env does: quotes, ${VAR}, and NAME=VALUE before its own lookup', async () => {
    // each as Docker 20.10 with coreutils 9.1's env answered
    const bin = await staticHello();
    const base = [
      { name: 'usr/bin/env', body: bin, mode: 0o755 },
      { name: 'bin/sh', body: bin, mode: 0o755 },
    ];
    const run = async (line: string) => {
      const r = await report(
        await image([...base, { name: 'app', body: `${line}\necho\n`, mode: 0o755 }], { Entrypoint: ['/app'] }, 'amd64'),
      );
      return [r.verdict, r.diagnostics.find((d) => d.severity === 'error')?.runtimeError ?? null];
    };
    assert.deepEqual(await run('#!/usr/bin/env -S "sh" -e # a comment'), ['starts', null]);
    assert.deepEqual(await run("#!/usr/bin/env -S 'sh'\\_-e"), ['starts', null]);
    assert.deepEqual(await run('#!/usr/bin/env -S PATH=/nowhere sh'), ['fails', "/usr/bin/env: 'sh': No such file or directory"]);
    assert.deepEqual(await run('#!/usr/bin/env -S ${HOME}/nope'), ['fails', "/usr/bin/env: '//nope': No such file or directory"]);
  });

  it('scripts: CRLF, env through busybox, and chains of scripts', async () => {
    const sh = { name: 'bin/sh', body: '#!/bin/real-sh\n', mode: 0o755 };
    const crlf = await image([sh, { name: 'app', body: '#!/bin/sh\r\necho\r\n', mode: 0o755 }], { Entrypoint: ['/app'] });
    const r1 = await report(crlf);
    assert.equal(at(r1.diagnostics).code, 'shebang-interpreter-missing');
    assert.match(at(r1.diagnostics).message, /Windows line ends/);
    assert.match(at(r1.diagnostics).fix, /dos2unix/);
    const env = await image(
      [
        { name: 'bin/busybox', body: await staticHello(), mode: 0o755 },
        { name: 'usr/bin/env', type: 'symlink', linkname: '/bin/busybox' },
        { name: 'app', body: '#!/usr/bin/env python3\n', mode: 0o755 },
      ],
      { Entrypoint: ['/app'] },
      'amd64',
    );
    const r2 = await report(env);
    assert.equal(at(r2.diagnostics).runtimeError, "env: can't execute 'python3': No such file or directory");
    // a Windows line end after an argument: env is asked for "sh\r" (Docker: busybox env's "can't execute 'sh\r'")
    const crlfArg = await image(
      [
        { name: 'bin/busybox', body: await staticHello(), mode: 0o755 },
        { name: 'bin/env', type: 'symlink', linkname: '/bin/busybox' },
        { name: 'app', body: '#!/bin/env sh\r\necho\r\n', mode: 0o755 },
      ],
      { Entrypoint: ['/app'] },
      'amd64',
    );
    const r4 = await report(crlfArg);
    assert.equal(at(r4.diagnostics).runtimeError, "env: can't execute 'sh\r': No such file or directory");
    const chain = await image([sh, { name: 'app', body: '#!/bin/sh\n', mode: 0o755 }], { Entrypoint: ['/app'] });
    const r3 = await report(chain);
    assert.equal(at(r3.diagnostics).code, 'shebang-interpreter-missing');
    assert.match(at(r3.diagnostics).message, /\/bin\/real-sh is not in the image/);
  });

  it("scripts as the kernel reads them: 5 deep, a NUL ends the interpreter's name, an empty #! is no script", async () => {
    const hello = { name: 'bin/hello', body: await staticHello(), mode: 0o755 };
    // s1 runs hello; s2 runs s1; … an entrypoint /sN makes N scripts before the ELF
    const scripts = Array.from({ length: 6 }, (_, i) => ({
      name: `s${i + 1}`,
      body: i === 0 ? '#!/bin/hello\n' : `#!/s${i}\n`,
      mode: 0o755,
    }));
    const verdict = async (entries: Entry[], ep: string) => report(await image(entries, { Entrypoint: [ep] }, 'amd64'));
    assert.equal((await verdict([hello, ...scripts], '/s5')).verdict, 'starts'); // Linux >= 5.8 runs five
    const six = await verdict([hello, ...scripts], '/s6');
    assert.equal(at(six.diagnostics).runtimeError, 'exec /s6: too many levels of symbolic links');
    const nul = await verdict([hello, { name: 'app', body: '#!/bin/hello\0junk\n', mode: 0o755 }], '/app');
    assert.equal(nul.verdict, 'starts', JSON.stringify(nul.diagnostics[0]));
    for (const body of ['#!\n', '#!  \t\n']) {
      const empty = await verdict([hello, { name: 'app', body, mode: 0o755 }], '/app');
      assert.deepEqual([at(empty.diagnostics).code, at(empty.diagnostics).runtimeError], ['exec-format', 'exec /app: exec format error']);
    }
  });

  it('env as it runs: no ErrDot rule, an assignment runs nothing, a NUL ends the interpreter', async () => {
    const hello = await staticHello();
    const env = { name: 'usr/bin/env', body: hello, mode: 0o755 };
    const run = async (entries: Entry[], config: Record<string, unknown>) => report(await image([env, ...entries], config, 'amd64'));
    // found by env's execvp through a relative PATH entry (node_modules/.bin): it runs
    const rel = await run(
      [
        { name: 'app/node_modules/.bin/ts-node', body: hello, mode: 0o755 },
        { name: 'app/start', body: '#!/usr/bin/env ts-node\n', mode: 0o755 },
      ],
      { Entrypoint: ['/app/start'], WorkingDir: '/app', Env: ['PATH=node_modules/.bin:/usr/bin:/bin'] },
    );
    assert.equal(rel.verdict, 'starts', JSON.stringify(rel.diagnostics[0]));
    const assign = await run([{ name: 'app', body: '#!/usr/bin/env NODE_ENV=production node\n', mode: 0o755 }], { Entrypoint: ['/app'] });
    assert.equal(assign.verdict, 'starts', JSON.stringify(assign.diagnostics[0]));
    // "#!" then a NUL: the kernel's interpreter name is "" (ENOENT)
    const nul = await run([{ name: 'app', body: '#!\0/usr/bin/env\n', mode: 0o755 }], { Entrypoint: ['/app'] });
    assert.equal(at(nul.diagnostics).runtimeError, 'exec /app: no such file or directory');
  });

  it('the working folder: made under a linked parent; a user searches only from it', async () => {
    const hello = await staticHello();
    const linked = await report(
      await image(
        [
          { name: 'srv/bin/x', body: hello, mode: 0o755 },
          { name: 'app', type: 'symlink', linkname: '/srv' },
        ],
        { Entrypoint: ['../bin/x'], WorkingDir: '/app/sub' },
        'amd64',
      ),
    );
    assert.equal(linked.verdict, 'starts', JSON.stringify(linked.diagnostics[0]));
    const shut = await report(
      await image(
        [
          { name: 'srv', type: 'directory', mode: 0o700 },
          { name: 'srv/app', type: 'directory', mode: 0o755 },
          { name: 'srv/app/run', body: hello, mode: 0o755 },
        ],
        { Entrypoint: ['./run'], WorkingDir: '/srv/app', User: '1000' },
        'amd64',
      ),
    );
    assert.equal(shut.verdict, 'starts', JSON.stringify(shut.diagnostics[0]));
  });

  it('an entrypoint with a trailing "/" that is a file: stat says not a directory', async () => {
    const r = await report(await image([{ name: 'app', body: await staticHello(), mode: 0o755 }], { Entrypoint: ['/app/'] }, 'amd64'));
    assert.equal(at(r.diagnostics).runtimeError, 'exec: "/app/": stat /app/: not a directory');
  });

  it('a looping or dangling entrypoint link is called what it is, and its fix does not point at itself', async () => {
    const loop = await report(
      await image(
        [
          { name: 'a', type: 'symlink', linkname: 'b' },
          { name: 'b', type: 'symlink', linkname: 'a' },
        ],
        { Entrypoint: ['/a'] },
      ),
    );
    const d = at(loop.diagnostics);
    assert.equal(d.code, 'exec-not-found');
    assert.match(d.message, /links lead round in a loop \(\/a -> b, \/b -> a\)/);
    assert.equal(d.runtimeError, 'exec: "/a": stat /a: too many levels of symbolic links');
    assert.doesNotMatch(d.fix, /The image has \/a/);
    const dangling = await report(await image([{ name: 'app', type: 'symlink', linkname: 'gone' }], { Entrypoint: ['/app'] }));
    assert.match(at(dangling.diagnostics).message, /it is a symlink to gone, which does not exist/);
    assert.match(at(dangling.diagnostics).fix, /^Point the link \/app at the program's real path/);
  });

  it('a glibc program in a musl image is named as such', async () => {
    const dir = await image(
      [
        { name: 'app', body: HELLO, mode: 0o755 },
        { name: 'lib/ld-musl-aarch64.so.1', body: HELLO, mode: 0o755 },
      ],
      { Entrypoint: ['/app'] },
    );
    const d = at((await report(dir)).diagnostics);
    assert.equal(d.code, 'interpreter-missing');
    assert.match(
      d.message,
      /The image has \/lib\/ld-musl-aarch64\.so\.1, the loader of musl: the program was built against glibc, the image is musl-based/,
    );
    assert.match(d.fix, /alpine \(musl\) stage/);
  });

  it('a library that is in the image but where the loader does not look', async () => {
    const dir = await image(
      [
        { name: 'app', body: HELLO, mode: 0o755 },
        { name: 'lib/ld-linux-aarch64.so.1', body: HELLO, mode: 0o755 },
        { name: 'opt/libs/libc.so.6', body: HELLO },
      ],
      { Entrypoint: ['/app'] },
    );
    const d = at((await report(dir)).diagnostics);
    assert.equal(d.code, 'library-missing');
    assert.equal(
      d.runtimeError,
      '/app: error while loading shared libraries: libc.so.6: cannot open shared object file: No such file or directory',
    );
    assert.match(
      d.fix,
      /The image has \/opt\/libs\/libc\.so\.6, in a folder the loader does not search: add ENV LD_LIBRARY_PATH=\/opt\/libs/,
    );
  });

  it('a library the loader met but passed over, or a link to nothing, gets a fix for that, not "a folder the loader does not search"', async () => {
    const base = [
      { name: 'app', body: HELLO, mode: 0o755 },
      { name: 'lib/ld-linux-aarch64.so.1', body: HELLO, mode: 0o755 },
    ];
    const fixOf = async (extra: Entry[], config: Record<string, unknown> = {}) => {
      const d = at((await report(await image([...base, ...extra], { Entrypoint: ['/app'], ...config }))).diagnostics);
      assert.equal(d.code, 'library-missing');
      return d.fix;
    };
    assert.equal(
      await fixOf([{ name: 'lib/libc.so.6', type: 'symlink', linkname: 'libc-2.36.so' }]),
      '/lib/libc.so.6 is a symlink to libc-2.36.so, which is not in the image: COPY the file it points to (or the library itself to /lib/libc.so.6).',
    );
    assert.match(
      await fixOf([{ name: 'lib/libc.so.6', body: tinyElf({}) }]),
      /^\/lib\/libc\.so\.6 is there, but the loader passes it over \(wrong machine: x86_64\): put the build of it/,
    );
    assert.match(
      await fixOf([{ name: 'lib/libc.so.6', body: HELLO, mode: 0o600 }], { User: '1000' }),
      /is there, but the container's user may not read it: make it readable/,
    );
  });

  it('/etc/ld.so.preload is read from uncompressed and compressed layers alike', async () => {
    for (let i = 0; i < 2; i++) {
      // image() writes every other image gzip-compressed
      const dir = await image(
        [
          { name: 'app', body: HELLO, mode: 0o755 },
          { name: 'lib/ld-linux-aarch64.so.1', body: HELLO, mode: 0o755 },
          { name: 'lib/libc.so.6', body: HELLO },
          { name: 'etc/ld.so.preload', body: '/nope.so\n' },
        ],
        { Entrypoint: ['/app'] },
      );
      const r = await report(dir); // (HELLO stands in for the libraries: their symbols are missing, which is not the point)
      assert.deepEqual(
        r.diagnostics.filter((d) => d.code === 'preload-missing').map((d) => d.path),
        ['/etc/ld.so.preload'],
      );
    }
  });

  it('a byte order mark before #! is named, with its fix (from uncompressed and compressed layers)', async () => {
    for (let i = 0; i < 2; i++) {
      const dir = await image([{ name: 'app', body: Buffer.from('\ufeff#!/bin/sh\necho hi\n'), mode: 0o755 }], { Entrypoint: ['/app'] });
      const d = at((await report(dir)).diagnostics);
      assert.deepEqual([d.code, d.runtimeError], ['exec-format', 'exec /app: exec format error']);
      assert.match(d.message, /starts with a UTF-8 byte order mark/);
      assert.match(d.fix, /without a byte order mark/);
    }
  });

  it('--fail-on sets the exit code for pipelines', async () => {
    const bad = await image([{ name: 'app', body: 'plain text', mode: 0o755 }], { Entrypoint: ['/app'] });
    assert.equal(cli(['inspect', bad]).status, 0);
    assert.equal(cli(['inspect', '--fail-on', 'error', bad]).status, 1);
    assert.equal(cli(['inspect', '--fail-on', 'error', FX + 'hello.docker.tar']).status, 0);
    assert.equal(cli(['inspect', '--fail-on', 'bogus', FX + 'hello.docker.tar']).status, 2);
    const out = cli(['inspect', bad]).stdout;
    assert.match(out.split('\n')[0] ?? '', /^✘ will fail: \/app is neither an ELF program nor a script/);
    assert.match(out, /the runtime says: exec \/app: exec format error/);
  });
});

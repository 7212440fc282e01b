/**
 * execve as the kernel does it: an ELF must be of a machine the host runs and its
 * PT_INTERP must exist; a "#!" script names an interpreter that is checked the same way
 * (up to 4 levels, as binfmt_script allows); anything else is ENOEXEC. runc reports a
 * failure as "exec PATH: <errno text>".
 */
import { type Credentials, mayExecute } from '../loader/access.js';
import type { BinaryCatalog } from '../elf/catalog.js';
import type { ElfInfo } from '../elf/types.js';
import { type MergedTree, type Node, contentHead, resolvePath } from '../fs/index.js';
import { isScript } from '../archive/magic.js';
import type { Code } from './types.js';
import { containerPath, lookPath } from './lookup.js';

/** Machines a kernel of one architecture runs besides its own (compat modes). */
const ALSO_RUNS: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'], s390x: ['s390'], ppc64le: [] };

export function hostRuns(host: string, binary: string | null): boolean {
  if (!binary) return false;
  return binary === host || (ALSO_RUNS[host] ?? []).includes(binary);
}

export interface ExecFailure {
  code: Code;
  runtimeError: string;
  message: string;
  /** The file at fault (the script's interpreter, say), and the layer that wrote it. */
  path: string;
  node: Node | null;
  fix: string;
  evidence: string[];
}

export interface ExecResult {
  /** The ELF program the loader then runs, with the argv[0] it sees. */
  program: { path: string; argv0: string; info: ElfInfo; node: Node } | null;
  failure: ExecFailure | null;
  /** One line per hop: "/app: #!/bin/sh", "/bin/sh -> /bin/busybox: ELF …". */
  trace: string[];
  /** Scripts met on the way (for CRLF and env checks). */
  scripts: string[];
}

export interface ExecContext {
  tree: MergedTree;
  catalog: BinaryCatalog;
  env: string[];
  cwd: string;
  /** The architecture of the machine the container runs on (the image's, normally). */
  hostArch: string;
  /** Who the process runs as (USER); root when absent. */
  user?: Credentials;
}

interface Shebang {
  interpreter: string;
  arg: string | null;
  raw: string;
  /** The line did not end within BINPRM_BUF_SIZE bytes: the kernel read only its first 255. */
  truncated: boolean;
  /** ...and the interpreter path did not end within them either: the kernel refuses (ENOEXEC). */
  cutInterpreter: boolean;
}

/** What the kernel reads of a script to find its #! line (include/uapi/linux/binfmts.h, 256 since Linux 5.1). */
const BINPRM_BUF_SIZE = 256;
const spaceTab = (c: number | undefined) => c === 0x20 || c === 0x09;

/**
 * The #! line as fs/binfmt_script.c (Linux >= 5.1) reads it: the first line of the first
 * 256 bytes; the interpreter ends at a space or tab. Without a newline in those bytes the
 * line is cut at byte 255, which the kernel accepts only if the interpreter path ended
 * before (a space, tab or NUL follows it): else exec fails with ENOEXEC.
 */
export function parseShebang(head: Buffer): Shebang | null {
  if (!isScript(head)) return null;
  const buf = head.subarray(0, BINPRM_BUF_SIZE);
  let end = buf.indexOf(0x0a);
  let truncated = false;
  let cutInterpreter = false;
  if (end === -1) {
    end = Math.min(buf.length, BINPRM_BUF_SIZE - 1);
    if (buf.length === BINPRM_BUF_SIZE) {
      // a shorter file is NUL-padded, so only a full buffer can cut the line
      truncated = true;
      let i = 2;
      while (i < buf.length && spaceTab(buf[i])) i++;
      while (i < buf.length && !spaceTab(buf[i]) && buf[i] !== 0) i++;
      cutInterpreter = i >= buf.length;
    }
  }
  const line = head.toString('latin1', 2, end);
  const trimmed = line.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  const m = /^([^ \t]*)(?:[ \t]+(.*))?$/.exec(trimmed)!;
  return { interpreter: m[1] ?? '', arg: m[2] ?? null, raw: line, truncated, cutInterpreter };
}

const shown = (s: string) => JSON.stringify(s).slice(1, -1); // makes a stray \r visible

export function emulateExec(ctx: ExecContext, execPath: string, argv0: string, startDepth = 0): ExecResult {
  const result: ExecResult = { program: null, failure: null, trace: [], scripts: [] };
  const fail = (f: ExecFailure) => {
    result.failure = f;
    return result;
  };
  let path = execPath;
  let curArgv0 = argv0;
  for (let depth = startDepth; ; depth++) {
    const r = resolvePath(ctx.tree, path, { cwd: ctx.cwd });
    if (!r.ok) throw new Error(`internal: ${path} vanished between lookup and exec`);
    const node = r.node;
    if (node.type === 'fifo' || node.type === 'char' || node.type === 'block') {
      // execve opens only regular files (EACCES otherwise); runc reports it as is
      const what = node.type === 'fifo' ? 'a FIFO (named pipe)' : `a ${node.type === 'char' ? 'character' : 'block'} device`;
      return fail({
        code: 'not-executable',
        runtimeError: `exec ${execPath}: permission denied`,
        message: `${r.path} is ${what}, not a regular file: the kernel executes only regular files`,
        path: r.path,
        node,
        fix: `Point ENTRYPOINT at the program itself; ${r.path} is ${what}.`,
        evidence: [`${r.path} is ${what}`],
      });
    }
    const head = contentHead(node.content, BINPRM_BUF_SIZE);
    const decoded = ctx.catalog.of(node);
    if (decoded) {
      if (!decoded.ok) {
        return fail({
          code: 'exec-format',
          runtimeError: `exec ${execPath}: exec format error`,
          message: `${r.path} looks like an ELF file but cannot be decoded: ${decoded.error}`,
          path: r.path,
          node,
          fix: `Copy an intact build of ${r.path} into the image (the file is damaged or truncated).`,
          evidence: [decoded.error],
        });
      }
      const info = decoded.info;
      const lang = info.go
        ? `, Go ${info.go.version}${info.go.cgo ? ' with cgo' : ''}`
        : info.libc === 'glibc' || info.libc === 'musl'
          ? `, ${info.libc}`
          : '';
      result.trace.push(
        `${path}${r.path !== path ? ` -> ${r.path}` : ''}: ELF ${info.class}-bit ${info.machine} ${info.type}${info.interpreter ? `, interpreter ${info.interpreter}` : ', static'}${lang}`,
      );
      // Without readable program headers the kernel has nothing to map (ENOEXEC).
      const phdrs = info.problems.find((p) => p.startsWith('program headers'));
      if (phdrs) {
        return fail({
          code: 'exec-format',
          runtimeError: `exec ${execPath}: exec format error`,
          message: `${r.path} is a damaged ELF file: ${phdrs}`,
          path: r.path,
          node,
          fix: `Copy an intact build of ${r.path} into the image (the file is damaged or truncated).`,
          evidence: info.problems,
        });
      }
      // The kernel runs ET_EXEC and ET_DYN files (a libc, or ld.so itself, can be run);
      // object files and core dumps it refuses.
      if (info.type === 'relocatable' || info.type === 'core' || info.type === 'unknown') {
        return fail({
          code: 'exec-format',
          runtimeError: `exec ${execPath}: exec format error`,
          message: `${r.path} is ${info.type === 'relocatable' ? 'an object file (.o)' : `a ${info.type} ELF file`}, not a program`,
          path: r.path,
          node,
          fix: 'Link the object files into a program, and point ENTRYPOINT at that.',
          evidence: [`ELF type ${info.type}`],
        });
      }
      if (!hostRuns(ctx.hostArch, info.architecture)) {
        return fail({
          code: 'exec-format',
          runtimeError: `exec ${execPath}: exec format error`,
          message: `${r.path} is built for ${info.machine} (${info.class}-bit) but the container runs on ${ctx.hostArch}`,
          path: r.path,
          node,
          fix: `Build it for ${ctx.hostArch} (e.g. GOARCH=${ctx.hostArch} for Go, or a ${ctx.hostArch} cross compiler), or build the image for ${info.architecture ?? info.machine} with --platform linux/${info.architecture ?? info.machine}.`,
          evidence: [`ELF machine ${info.machine}, class ${info.class}`, `container architecture ${ctx.hostArch}`],
        });
      }
      if (info.interpreter) {
        const ir = resolvePath(ctx.tree, info.interpreter);
        if (!ir.ok || ir.node.type === 'dir') {
          const musl = /ld-musl-/.test(info.interpreter);
          // The other C library's loader in the image: built on Debian, run on Alpine (or back).
          const other = otherLoader(ctx.tree, musl);
          return fail({
            code: 'interpreter-missing',
            runtimeError: `exec ${execPath}: no such file or directory`,
            message:
              `${r.path} is dynamically linked and needs the loader ${info.interpreter}, which is not in the image${ir.ok ? '' : ` (${ir.at} does not exist)`}. The file is there; its loader is not.` +
              (other
                ? ` The image has ${other}, the loader of ${musl ? 'glibc' : 'musl'}: the program was built against ${musl ? 'musl' : 'glibc'}, the image is ${musl ? 'glibc' : 'musl'}-based.`
                : ''),
            path: r.path,
            node,
            fix: other
              ? musl
                ? 'Build the program where it will run (a glibc stage, e.g. FROM golang:*-bookworm or debian), link it statically, or run it FROM alpine.'
                : 'Build the program in an alpine (musl) stage, link it statically (CGO_ENABLED=0 for Go, gcc -static), or run it FROM a glibc image (debian:bookworm-slim, distroless/base).'
              : musl
                ? `Link it statically (musl-gcc -static, or CGO_ENABLED=0 for Go), or start FROM alpine so ${info.interpreter} exists.`
                : `Link it statically (gcc -static, or CGO_ENABLED=0 for Go), or copy the loader and libraries from the build stage: COPY --from=build ${info.interpreter} ${info.interpreter} (and the libraries ldd lists), or start FROM a distroless/base or debian-slim image.`,
            evidence: [
              `PT_INTERP ${info.interpreter}`,
              ...(ir.ok ? [] : [`${ir.at} does not exist`]),
              ...(other ? [`${other} exists`] : []),
            ],
          });
        }
        // The kernel opens the interpreter for execution too: it needs an x bit the process may use.
        if (!mayExecute(ir.node, ctx.user)) {
          return fail({
            code: 'not-executable',
            runtimeError: `exec ${execPath}: permission denied`,
            message: `${r.path} needs the loader ${info.interpreter}${ir.path !== info.interpreter ? ` (${ir.path})` : ''}, and the kernel may not execute it: mode ${ir.node.mode.toString(8).padStart(4, '0')}${ctx.user && ctx.user.uid !== 0 ? ` for uid ${ctx.user.uid}` : ''}`,
            path: ir.path,
            node: ir.node,
            fix: `Give the loader its execute bits: COPY --chmod=755 … ${info.interpreter} (a loader copied as data keeps mode 0644).`,
            evidence: [`PT_INTERP ${info.interpreter}`, `${ir.path} mode ${ir.node.mode.toString(8).padStart(4, '0')}`],
          });
        }
      }
      result.program = { path: r.path, argv0: curArgv0, info, node };
      return result;
    }
    const sb = parseShebang(head);
    if (!sb) {
      result.trace.push(`${path}: neither ELF nor a #! script`);
      return fail({
        code: 'exec-format',
        runtimeError: `exec ${execPath}: exec format error`,
        message: node.size === 0 ? `${r.path} is empty` : `${r.path} is neither an ELF program nor a script starting with #!`,
        path: r.path,
        node,
        fix:
          node.size === 0
            ? `Copy the real program into the image; ${r.path} is an empty file.`
            : `Add a #! line naming its interpreter (e.g. #!/bin/sh) as the first line, or run it through one: ENTRYPOINT ["/bin/sh", "${r.path}"].`,
        evidence: head.length ? [`first bytes: ${shown(head.subarray(0, 16).toString('latin1'))}`] : ['no ELF header and no #! line'],
      });
    }
    result.scripts.push(r.path);
    result.trace.push(
      `${path}: #!${shown(sb.raw)}${sb.truncated ? ` (cut at ${BINPRM_BUF_SIZE - 1} bytes: the line is longer than the kernel reads)` : ''}`,
    );
    if (sb.cutInterpreter) {
      return fail({
        code: 'exec-format',
        runtimeError: `exec ${execPath}: exec format error`,
        message: `the #! line of ${r.path} is longer than the ${BINPRM_BUF_SIZE} bytes the kernel reads, and its interpreter path does not end within them: the kernel refuses to run a cut interpreter path`,
        path: r.path,
        node,
        fix: `Shorten the #! line of ${r.path}: the interpreter path and a space must fit in its first ${BINPRM_BUF_SIZE - 1} bytes.`,
        evidence: [`#!${shown(sb.raw.slice(0, 60))}… (no newline and no space in the first ${BINPRM_BUF_SIZE} bytes)`],
      });
    }
    if (depth >= 4) {
      return fail({
        code: 'exec-format',
        runtimeError: `exec ${execPath}: too many levels of symbolic links`,
        message: `scripts name scripts as their interpreters more than 4 times, which the kernel refuses`,
        path: r.path,
        node,
        fix: 'Point the #! line at a real program.',
        evidence: result.trace.slice(),
      });
    }
    const interp = sb.interpreter;
    const crlf = interp.endsWith('\r') || (sb.arg ?? '').endsWith('\r');
    const ir = resolvePath(ctx.tree, interp, { cwd: ctx.cwd });
    if (!ir.ok || interp === '') {
      return fail({
        code: 'shebang-interpreter-missing',
        runtimeError: `exec ${execPath}: no such file or directory`,
        message: crlf
          ? `${r.path} has Windows line ends: its first line asks for the interpreter "${shown(interp)}" (with a carriage return), which cannot exist`
          : `${r.path} starts with #!${sb.raw.trim()}, but ${interp || '(nothing)'} is not in the image`,
        path: r.path,
        node,
        fix: crlf
          ? `Convert ${r.path} to Unix line ends (dos2unix, or git config core.autocrlf input) before COPY.`
          : interpreterFix(interp),
        evidence: [`#!${shown(sb.raw)}`, ...(ir.ok ? [] : [`${ir.at} does not exist`])],
      });
    }
    if (ir.node.type === 'dir' || (ir.node.mode & 0o111) === 0) {
      return fail({
        code: 'not-executable',
        runtimeError: `exec ${execPath}: permission denied`,
        message: `the interpreter ${interp} of ${r.path} ${ir.node.type === 'dir' ? 'is a directory' : 'has no execute bit'}`,
        path: ir.path,
        node: ir.node,
        fix: ir.node.type === 'dir' ? `Fix the #! line of ${r.path}.` : `RUN chmod +x ${ir.path} (or COPY --chmod=755).`,
        evidence: [`#!${shown(sb.raw)}`, `${ir.path} mode ${ir.node.mode.toString(8)}`],
      });
    }
    // /usr/bin/env NAME: env then looks NAME up in PATH itself.
    const base = interp.slice(interp.lastIndexOf('/') + 1);
    if (base === 'env' && sb.arg) {
      const words = sb.arg.split(/[ \t]+/).filter((w) => w && w !== '-S' && !/^-/.test(w) && !w.includes('='));
      const prog = words[0];
      if (prog) {
        // Follow env first, so a broken env itself is reported before what it would run.
        const envResult = emulateExec(ctx, ir.path, interp, depth + 1);
        if (envResult.failure)
          return { ...envResult, trace: [...result.trace, ...envResult.trace], scripts: [...result.scripts, ...envResult.scripts] };
        const found = lookPath(ctx.tree, prog, ctx.env, ctx.cwd);
        if (!found.ok) {
          const busybox = /busybox/.test(ir.path) || /busybox/.test(envResult.program?.path ?? '');
          return fail({
            code: 'shebang-interpreter-missing',
            runtimeError: busybox
              ? `env: can't execute '${prog}': No such file or directory`
              : `${interp}: '${prog}': No such file or directory`,
            message: `${r.path} runs "${prog}" through ${interp}, and ${prog} is in none of PATH=${containerPath(ctx.env)}`,
            path: r.path,
            node,
            fix: interpreterFix(prog),
            evidence: [`#!${shown(sb.raw)}`, found.detail],
          });
        }
        result.trace.push(`${interp} runs ${prog}: found ${found.real}`);
        path = found.real;
        curArgv0 = prog;
        continue;
      }
    }
    path = ir.path;
    curArgv0 = interp;
  }
}

/** A loader of the other C library, if the image has one. */
function otherLoader(tree: MergedTree, wantedMusl: boolean): string | null {
  for (const dir of ['/lib', '/lib64', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu']) {
    const r = resolvePath(tree, dir);
    if (!r.ok || !r.node.children) continue;
    for (const name of r.node.children.keys()) {
      if (wantedMusl ? /^ld-linux.*\.so\.\d$|^ld64\.so\.\d$/.test(name) : /^ld-musl-.*\.so\.1$/.test(name)) return `${r.path}/${name}`;
    }
  }
  return null;
}

function interpreterFix(interp: string): string {
  const base = interp.slice(interp.lastIndexOf('/') + 1);
  if (/^(sh|bash|ash|dash)$/.test(base))
    return `A FROM scratch image has no shell: rewrite the script as a program, or COPY a static shell (e.g. busybox) into the image, or start FROM alpine / debian-slim.`;
  if (/^python/.test(base)) return `Install ${base} in the image (FROM python:*-slim), or ship the program as a single static binary.`;
  return `Install ${interp} in the image, or change the #! line to an interpreter the image has.`;
}

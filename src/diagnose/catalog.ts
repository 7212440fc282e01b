/**
 * The wording catalogue: for every finding code, what `explain` tells (story), the
 * example line `explain` shows for a program /app, the runtimes' words, and the
 * message, runtime line and fix that the launch steps give a finding. Nothing a user
 * reads about a finding is written anywhere else.
 *
 * Where each runtime's wording comes from:
 *
 * - runc 1.1 (Docker 20.10, Debian bookworm): recorded, test/container.test.ts and
 *   test/diagnose-engine.test.ts run them.
 * - crun 1.8.1 and podman 4.3.1 (Debian bookworm): recorded by
 *   fixtures/runtimes/podman-run.sh, test/runtimes.test.ts runs them live.
 * - crun >= 1.21: containers/crun 1.21 src/libcrun/utils.c (find_executable: "executable
 *   file `%s` not found%s", "the path `%s` exists but it is not executable", "the path `%s`
 *   is not a regular file") and src/libcrun/container.c ("exec container process
 *   (missing dynamic library?) `%s`", "exec container process `%s`"); crun_make_error
 *   appends ": " and strerror(errno). 1.20 still said "not found in $PATH" for every path.
 * - podman: containers/podman v4.3.1 libpod/oci_util.go getOCIRuntimeError ("NAME: MSG:
 *   OCI permission denied" / "…: OCI runtime attempted to invoke a command that was not
 *   found" / "…: OCI runtime error") and pkg/specgen/generate/oci.go (no command).
 * - containerd under kubelet (with runc): containerd v1.7.34 pkg/cri/server/
 *   container_start.go ("failed to create containerd task: %w") around the shim's error
 *   that Docker records too; pkg/cri/opts/spec_opts.go ("no command specified");
 *   oci/spec_opts.go WithUsername/UserFromPath ("no users found", or the failed open of
 *   /etc/passwd under a temporary mount: only the fixed tail is given).
 * - CRI-O under kubelet (default runtime crun): cri-o v1.36.3 internal/oci/runtime_oci.go
 *   ("container create failed: %s"), internal/factory/container/container.go ("no command
 *   specified"), utils/utils.go GetUserInfo ("get exec user: %w").
 * - kubelet's runAsNonRoot refusals: kubernetes pkg/kubelet/kuberuntime/
 *   security_context_others.go verifyRunAsNonRoot (the same under every runtime).
 *
 * Adding a code is one entry here (`runtimes` for an error the runtime reports).
 */
import { type ExecForm, execFormLines } from './shellwords.js';
import type { Code } from './types.js';
import { atLeast } from './versions.js';

const C_ESCAPES: Record<string, string> = {
  '\x07': 'a',
  '\b': 'b',
  '\f': 'f',
  '\n': 'n',
  '\r': 'r',
  '\t': 't',
  '\v': 'v',
  '\\': '\\',
  "'": "'",
};

/** A name (bytes as latin1) as coreutils' quote() prints it in the C locale: in '…', C escapes, other bytes in octal. */
export function cQuote(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'latin1')) {
    const c = String.fromCharCode(byte);
    const esc = C_ESCAPES[c];
    if (esc !== undefined) out += `\\${esc}`;
    else if (byte >= 0x20 && byte < 0x7f) out += c;
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `'${out}'`;
}

/** The facts a runtime's line is made of. */
export interface RuntimeFacts {
  code: Code;
  /** runc's line, as diagnose() words it (for the loader's lines: the loader's). */
  runc: string | null;
  /** argv[0] as given, and the file execve ran (after the PATH lookup), if found. */
  argv0: string;
  executable: string | null;
  /** not-executable: the path is a folder, not a file without an x bit. */
  directory: boolean;
  /** user-missing: the image has no /etc/passwd at all. */
  noPasswd: boolean;
}

/** crun's own line for a failure it reports. */
export type CrunLine = (f: RuntimeFacts, version: string) => string | null;
type EngineLine = (f: RuntimeFacts) => string | null;

/** How the runtimes word an error; a code without them (a warning) has no runtime line. */
export interface RuntimeWords {
  /** Refused by kubelet before any runtime runs: its words (the `runc` fact), whatever the runtime. */
  kubelet?: true;
  /** Reported while creating the container (not from the started process). */
  createTime?: true;
  /** crun's line; 'loader' when the dynamic loader prints it, the same under every runtime. */
  crun?: CrunLine | 'loader';
  /** Decided by the engine before any OCI runtime runs: each engine's words (crun has none). */
  engine?: { podman: EngineLine; containerd: EngineLine; 'cri-o': EngineLine };
}

export interface Entry {
  /** The story behind the code, for `scratchscope explain CODE`. */
  story: string;
  /** runc's line for a program /app, as docker run printed it (explain shows every runtime's). */
  example?: string;
  runtimes?: RuntimeWords;
  /** The words the launch steps build the finding from: message, runc's line, fix, and their variants. */
  [word: string]: unknown;
}

const notFound: CrunLine = (f, v) =>
  `executable file \`${f.argv0}\` not found${atLeast(v, '1.21') && f.argv0.startsWith('/') ? '' : ' in $PATH'}: No such file or directory`;
/** strerror's words (glibc's, which crun prints) from Go's lowercase ones. */
const capitalized = (why: string) => why.charAt(0).toUpperCase() + why.slice(1);

const execFailed = (f: RuntimeFacts, why: string) =>
  `exec container process${why === 'No such file or directory' ? ' (missing dynamic library?)' : ''} \`${f.executable ?? f.argv0}\`: ${why}`;

/** How each engine wraps its OCI runtime's line for a failure at create time. */
export const WRAP = {
  /** podman's getOCIRuntimeError. */
  podman(name: string, msg: string): string {
    if (/permission denied|operation not permitted/i.test(msg)) return `Error: ${name}: ${msg}: OCI permission denied`;
    if (/executable file not found in|no such file or directory/i.test(msg))
      return `Error: ${name}: ${msg}: OCI runtime attempted to invoke a command that was not found`;
    return `Error: ${name}: ${msg}: OCI runtime error`;
  },
  containerd: (runc: string) =>
    `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${runc}: unknown`,
  'cri-o': (line: string) => `container create failed: ${line}`,
};

export const CATALOG = {
  'user-missing': {
    story: `USER names a user (or group) that the image's /etc/passwd (or /etc/group) does not define.
Before anything runs, the runtime looks the name up in the image, not on the host. A FROM scratch
image usually has no /etc/passwd at all, so USER nobody fails with "unable to find user nobody:
no matching entries in passwd file". Numeric ids need no lookup: USER 65532:65532 always works.`,
    example: 'unable to find user nobody: no matching entries in passwd file',
    runtimes: {
      engine: {
        podman: (f) => f.runc && `Error: ${f.runc}`,
        containerd: (f) => (f.noPasswd ? '/etc/passwd: no such file or directory' : 'no users found'),
        'cri-o': (f) => f.runc && `get exec user: ${f.runc}`,
      },
    },
    runcUser: (name: string) => `unable to find user ${name}: no matching entries in passwd file`,
    runcGroup: (group: string) => `unable to find group ${group}: no matching entries in group file`,
    message: (detail: string) => `${detail}: the runtime cannot switch to a user it cannot look up`,
    fix: (file: string, name: string | null) =>
      `Use numeric ids, which need no ${file}: USER 65532:65532; or COPY an ${file} that defines ${name} from the build stage.`,
    /** With the Dockerfile lines that copy the build stage's user database (closure --dockerfile). */
    fixWithLines: (fix: string, lines: string) => `${fix} Or copy the build stage's user database: ${lines}.`,
  },
  'workdir-not-dir': {
    story: `WORKDIR names a path that is a file in the image (or lies under one). The engine makes the
working folder when it creates the container, and cannot make it there: docker run answers "Cannot
mkdir: /app is not a directory" before anything runs. docker build never leaves an image so (its
WORKDIR makes the folder), but a layer written by another tool, or a later COPY of a file over the
folder, does. Point WORKDIR at a folder, or move the file.`,
    example: 'Cannot mkdir: /app is not a directory',
    runtimes: {
      engine: {
        podman: () => null,
        containerd: () => null,
        'cri-o': () => null,
      },
    },
    runc: (workdir: string) => `Cannot mkdir: ${workdir} is not a directory`,
    message: (workdir: string, what: string) => `WORKDIR ${workdir} cannot be made: ${what}`,
    fix: (workdir: string) =>
      `Make ${workdir} a folder in the image (COPY the file elsewhere), or set WORKDIR to a folder the image has or none is in the way of.`,
  },
  'no-command': {
    story: `The image has neither ENTRYPOINT nor CMD. A FROM scratch image inherits nothing, so unless the
Dockerfile says what to run, docker run answers "No command specified". Add ENTRYPOINT ["/app"].`,
    example: 'No command specified',
    runtimes: {
      engine: {
        podman: () => 'Error: no command or entrypoint provided, and no CMD or ENTRYPOINT from image',
        containerd: () => 'failed to generate spec: no command specified',
        'cri-o': () => 'no command specified',
      },
    },
    runc: 'No command specified',
    message: (hasConfig: boolean) =>
      hasConfig
        ? 'the image has neither ENTRYPOINT nor CMD, so there is nothing to run'
        : 'this is a plain root filesystem (no image config): there is no command to run',
    fix: 'Add ENTRYPOINT ["/app"] (exec form) to the Dockerfile, or give the command to docker run.',
  },
  'shell-missing': {
    story: `CMD or ENTRYPOINT written without brackets (shell form) runs as ["/bin/sh", "-c", "…"]. A
FROM scratch image has no /bin/sh, so the runtime fails with exec: "/bin/sh": stat /bin/sh: no such
file or directory, even though your program is right there. Use the exec form: ENTRYPOINT ["/app"].`,
    example: 'exec: "/bin/sh": stat /bin/sh: no such file or directory',
    runtimes: { crun: notFound, createTime: true },
    message: (shell: string, script: string) =>
      `the command is in shell form, so the runtime starts ${shell} -c "${script}", and the image has no ${shell}`,
    fix: (keyword: string, form: ExecForm | null) =>
      form
        ? `Use the exec form, which needs no shell: ${execFormLines(keyword, form)}`
        : `Use the exec form, which needs no shell: ${keyword} ["/app", "arg"]; the script does more than run one program (expansions, operators, globs), so that work moves into the program or into ENV lines.`,
  },
  'exec-not-found': {
    story: `The program the command names is not in the image: a wrong COPY destination, a typo or a case
difference, a symlink pointing nowhere, or a later step that deleted it. The runtime says
exec: "/app": stat /app: no such file or directory before it ever tries to run anything.`,
    example: 'exec: "/app": stat /app: no such file or directory',
    runtimes: { crun: notFound, createTime: true },
    /** Go's exec.LookPath inside the container: stat fails. */
    runc: (name: string, path: string, why: string) => `exec: ${JSON.stringify(name)}: stat ${path}: ${why}`,
    messageLoop: (name: string, links: string[], cycle: boolean) =>
      `${name} is a symlink that never reaches a file: ${cycle ? 'its links lead round in a loop' : 'its links run more than 40 deep, past what the kernel follows'} (${links.join(', ')})`,
    message: (name: string, link: { target: string | null } | null, gone: string | null) =>
      `${name} does not exist in the image${link ? ` (it is a symlink to ${link.target ?? '?'}, which does not exist)` : ''}${gone ? `: ${gone}` : ''}`,
    messageNotDir: (name: string, at: string, type: string) =>
      `${name} looks inside ${at} as if it were a folder, but ${at} is a ${type} (a trailing "/", or "." or ".." after it)`,
    fixNotDir: (at: string) => `Name the program by its own path, with nothing after it: ENTRYPOINT ["${at}"] if ${at} is the program.`,
    fixDeleted: `Do not delete it in a later step, or copy it again after that step.`,
    fixLink: (abs: string) => `Point the link ${abs} at the program's real path (or COPY the program itself to ${abs}).`,
    fixElsewhere: (elsewhere: string[], abs: string) =>
      `The image has ${elsewhere.join(', ')}: point ENTRYPOINT there, or COPY the program to ${abs}.`,
    fix: (abs: string) =>
      `COPY the program to ${abs}: COPY --from=build /out/app ${abs} (check the name, its case, and the COPY destination).`,
  },
  'exec-not-in-path': {
    story: `A command without a slash is searched in the container's PATH (the image's ENV PATH, or Docker's
default /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin). If no folder of it has the
program, the runtime says: executable file not found in $PATH. Use an absolute path.`,
    example: 'exec: "app": executable file not found in $PATH',
    runtimes: { crun: (f, v) => (f.runc?.endsWith('found relative to current directory') ? null : notFound(f, v)), createTime: true },
    runc: (name: string) => `exec: ${JSON.stringify(name)}: executable file not found in $PATH`,
    /** Go >= 1.19's exec.ErrDot (runc 1.1 builds); crun runs such a program. */
    runcRelative: (name: string) => `exec: ${JSON.stringify(name)}: cannot run executable found relative to current directory`,
    message: (name: string, path: string) => `${name} is a bare name, so it is searched in PATH=${path}, and none of those folders has it`,
    messageRelative: (name: string, found: string) =>
      `${name} is found in PATH only as ${found}, through a folder relative to the working directory: runc refuses to run a program found so`,
    fixRelative: (name: string, real: string) =>
      `Use the full path: ENTRYPOINT ["${real}"], or make the PATH entries absolute: ENV PATH=${real.slice(0, real.lastIndexOf('/')) || '/'}:$PATH (no "." or relative folders).`,
    fixElsewhere: (found: string) =>
      `Use the full path: ENTRYPOINT ["${found}"], or add its folder to PATH: ENV PATH=${found.slice(0, found.lastIndexOf('/'))}:$PATH`,
    fix: `Use the absolute path of the program in ENTRYPOINT, and make sure it is copied into the image.`,
  },
  'not-executable': {
    story: `The file exists but has no execute bit (or is a directory). Mode bits travel with COPY, so a file
that was not executable in the build context is not executable in the image: COPY --chmod=755.`,
    example: 'exec: "/app": permission denied',
    runtimes: {
      crun: (f, v) =>
        atLeast(v, '1.21')
          ? f.directory
            ? `the path \`${f.argv0}\` is not a regular file: Operation not permitted`
            : `the path \`${f.argv0}\` exists but it is not executable: Operation not permitted`
          : `open executable: ${f.directory ? 'Operation not permitted' : 'Permission denied'}`,
      createTime: true,
    },
    /** runc's lookup (exec: "NAME") and execve itself (exec PATH). */
    runc: (name: string) => `exec: ${JSON.stringify(name)}: permission denied`,
    runcExec: (path: string) => `exec ${path}: permission denied`,
    messageDirectory: (path: string) => `${path} is a directory, not a program`,
    messageSearch: (path: string, why: string) => `${path} cannot be reached by the container's user: ${why}`,
    fixSearch: (dir: string) =>
      `Let the user search ${dir}: COPY it with --chmod=755 (or RUN chmod 755 ${dir} in an image with a shell), or set USER to one that may.`,
    messageUser: (path: string, mode: string, owner: string, uid: number) =>
      `${path} has mode ${mode} (owner ${owner}): uid ${uid}, the container's user, may not execute it`,
    fixUser: (path: string) => `Give everyone the execute bit: COPY --chmod=755 … ${path} (or chown it to the USER).`,
    message: (path: string, why: string) => `${path} is not executable (${why})`,
    fixDirectory: (path: string) => `Point ENTRYPOINT at the program inside ${path}.`,
    fix: (path: string) => `Give it an execute bit: COPY --chmod=755 … ${path} (or chmod +x before COPY; mode bits are copied).`,
    messageSpecial: (path: string, what: string) => `${path} is ${what}, not a regular file: the kernel executes only regular files`,
    fixSpecial: (path: string, what: string) => `Point ENTRYPOINT at the program itself; ${path} is ${what}.`,
    messageLoader: (path: string, interp: string, real: string, mode: string, uid: number | null) =>
      `${path} needs the loader ${interp}${real !== interp ? ` (${real})` : ''}, and the kernel may not execute it: mode ${mode}${uid !== null ? ` for uid ${uid}` : ''}`,
    fixLoader: (interp: string) =>
      `Give the loader its execute bits: COPY --chmod=755 … ${interp} (a loader copied as data keeps mode 0644).`,
    messageInterpreter: (interp: string, path: string, dir: boolean) =>
      `the interpreter ${interp} of ${path} ${dir ? 'is a directory' : 'has no execute bit'}`,
    fixInterpreter: (path: string, interp: string, dir: boolean) =>
      dir ? `Fix the #! line of ${path}.` : `COPY ${interp} with --chmod=755 (or RUN chmod +x ${interp} in an image with a shell).`,
  },
  'exec-format': {
    story: `The kernel refused the file: it is an ELF for another CPU (an arm64 binary on amd64, say), or it is
neither ELF nor a script with a #! first line. The runtime says exec /app: exec format error.
Build for the image's architecture, or add the #! line.`,
    example: 'exec /app: exec format error',
    runtimes: { crun: (f) => execFailed(f, 'Exec format error') },
    runc: (path: string) => `exec ${path}: exec format error`,
    runcTooDeep: (path: string) => `exec ${path}: too many levels of symbolic links`,
    messageUndecodable: (path: string, error: string) => `${path} looks like an ELF file but cannot be decoded: ${error}`,
    messageDamaged: (path: string, why: string) => `${path} is a damaged ELF file: ${why}`,
    fixDamaged: (path: string) => `Copy an intact build of ${path} into the image (the file is damaged or truncated).`,
    messageNotProgram: (path: string, type: string) =>
      `${path} is ${type === 'relocatable' ? 'an object file (.o)' : `a ${type} ELF file`}, not a program`,
    fixNotProgram: 'Link the object files into a program, and point ENTRYPOINT at that.',
    messageMachine: (path: string, machine: string, cls: number, host: string) =>
      `${path} is built for ${machine} (${cls}-bit) but the container runs on ${host}`,
    fixMachine: (host: string, arch: string) =>
      `Build it for ${host} (e.g. GOARCH=${host} for Go, or a ${host} cross compiler), or build the image for ${arch} with --platform linux/${arch}.`,
    messageEmpty: (path: string) => `${path} is empty`,
    messageNoInterpreter: (path: string) => `the #! line of ${path} names no interpreter, so the kernel does not take it for a script`,
    fixNoInterpreter: (path: string) => `Write the interpreter's path after #! on the first line of ${path} (#!/bin/sh, say).`,
    fixEmpty: (path: string) => `Copy the real program into the image; ${path} is an empty file.`,
    messageUnknown: (path: string) => `${path} is neither an ELF program nor a script starting with #!`,
    messageBom: (path: string) =>
      `${path} starts with a UTF-8 byte order mark (EF BB BF) before its #! line, so the kernel does not see #! as its first two bytes`,
    fixBom: (path: string) => `Save ${path} as UTF-8 without a byte order mark (a BOM), so the file starts with #!.`,
    fixUnknown: (path: string) =>
      `Add a #! line naming its interpreter (e.g. #!/bin/sh) as the first line, or run it through one: ENTRYPOINT ["/bin/sh", "${path}"].`,
    messageCutShebang: (path: string, bytes: number) =>
      `the #! line of ${path} is longer than the ${bytes} bytes the kernel reads, and its interpreter path does not end within them: the kernel refuses to run a cut interpreter path`,
    fixCutShebang: (path: string, bytes: number) =>
      `Shorten the #! line of ${path}: the interpreter path and a space must fit in its first ${bytes - 1} bytes.`,
    messageTooDeep: `scripts name scripts as their interpreters more than 5 times, which the kernel refuses`,
    fixTooDeep: 'Point the #! line at a real program.',
  },
  'interpreter-missing': {
    story: `The most confusing error of FROM scratch: exec /app: no such file or directory, while /app is
plainly there. A dynamically linked program names its loader in PT_INTERP (for glibc
/lib64/ld-linux-x86-64.so.2, for musl /lib/ld-musl-x86_64.so.1); the kernel must open that file
first, and an empty image does not have it. Link statically (CGO_ENABLED=0, gcc -static), or ship
the loader and the libraries it loads.`,
    example: 'exec /app: no such file or directory',
    // the kernel's errno for the loader's path: ENOENT, or ELOOP / ENOTDIR on the way to it
    runtimes: { crun: (f) => execFailed(f, capitalized(/: ([^:]+)$/.exec(f.runc ?? '')?.[1] ?? 'no such file or directory')) },
    runc: (path: string, why = 'no such file or directory') => `exec ${path}: ${why}`,
    message: (path: string, interp: string, missingAt: string | null, other: { path: string; musl: boolean } | null, why?: string) =>
      `${path} is dynamically linked and needs the loader ${interp}, which ${why ? `the kernel cannot reach (${why})` : `is not in the image${missingAt === null ? '' : ` (${missingAt} does not exist)`}`}. The file is there; its loader is not.` +
      (other
        ? ` The image has ${other.path}, the loader of ${other.musl ? 'glibc' : 'musl'}: the program was built against ${other.musl ? 'musl' : 'glibc'}, the image is ${other.musl ? 'glibc' : 'musl'}-based.`
        : ''),
    fix: (interp: string, musl: boolean, otherLibc: boolean) =>
      otherLibc
        ? musl
          ? 'Build the program where it will run (a glibc stage, e.g. FROM golang:*-bookworm or debian), link it statically, or run it FROM alpine.'
          : 'Build the program in an alpine (musl) stage, link it statically (CGO_ENABLED=0 for Go, gcc -static), or run it FROM a glibc image (debian:bookworm-slim, distroless/base).'
        : musl
          ? `Link it statically (musl-gcc -static, or CGO_ENABLED=0 for Go), or start FROM alpine so ${interp} exists.`
          : `Link it statically (gcc -static, or CGO_ENABLED=0 for Go), or copy the loader and libraries from the build stage: COPY --from=build ${interp} ${interp} (and the libraries ldd lists), or start FROM a distroless/base or debian-slim image.`,
    /** With the Dockerfile lines that supply the loader (closure --dockerfile). */
    fixWithLines: (lines: string) =>
      `Link it statically (gcc -static, or CGO_ENABLED=0 for Go), or copy the loader and every library it loads from the build stage: ${lines}.`,
    messageBad: (path: string, interp: string, real: string, what: string) =>
      `${path} is dynamically linked and needs the loader ${interp}, but ${real} is no loader the kernel can load: ${what}`,
    fixBad: (interp: string) =>
      `Copy the real loader from the build stage: COPY --from=build ${interp} ${interp} (with the libraries ldd lists), or link statically.`,
  },
  'shebang-interpreter-missing': {
    story: `The program is a script whose #! line names an interpreter the image lacks (/bin/sh, python3
through /usr/bin/env, …). Scripts written on Windows hide a carriage return at the end of that
line, so the kernel looks for "/bin/sh\\r". Either way the runtime says no such file or directory.`,
    example: 'exec /app: no such file or directory',
    // `#!/usr/bin/env x` fails inside env, which prints its own line (runc's line is env's then).
    // the kernel's errno for the interpreter's path: ENOENT, or ELOOP / ENOTDIR on the way to it
    runtimes: {
      crun: (f) =>
        f.runc?.startsWith('exec ') ? execFailed(f, capitalized(/: ([^:]+)$/.exec(f.runc)?.[1] ?? 'no such file or directory')) : f.runc,
    },
    runc: (path: string, why = 'no such file or directory') => `exec ${path}: ${why}`,
    messageUnreachable: (path: string, interp: string, why: string) =>
      `the #! line of ${path} names the interpreter ${interp}, which the kernel cannot reach (${why})`,
    messageEnvOneArg: (path: string, arg: string, env: string) =>
      `the #! line of ${path} gives ${env} one argument, ${JSON.stringify(arg)}: Linux passes all that follows the interpreter as a single word, so env looks for a program named ${JSON.stringify(arg)}`,
    fixEnvOneArg: (arg: string, env: string) =>
      `Let env split the line: #!${env} -S ${arg} (GNU coreutils 8.30 or later), or name the interpreter's full path: #!/path/to/${arg.split(/[ \t]+/)[0]} ${arg
        .split(/[ \t]+/)
        .slice(1)
        .join(' ')}`,
    // GNU env quotes the name as coreutils' quote() does in the C locale, and adds a hint when the
    // name holds white space (a #! line's options); busybox's env prints the name as it is
    runcEnv: (env: string, prog: string, busybox: boolean) =>
      busybox
        ? `env: can't execute '${prog}': No such file or directory`
        : `${env}: ${cQuote(prog)}: No such file or directory${/[ \t\n\v\f\r]/.test(prog) ? `\n${env}: use -[v]S to pass options in shebang lines` : ''}`,
    messageCrlf: (path: string, interp: string) =>
      `${path} has Windows line ends: its first line asks for the interpreter "${interp}" (with a carriage return), which cannot exist`,
    fixCrlf: (path: string) => `Convert ${path} to Unix line ends (dos2unix, or git config core.autocrlf input) before COPY.`,
    message: (path: string, line: string, interp: string) =>
      `${path} starts with #!${line}, but ${interp || '(nothing)'} is not in the image`,
    messageEnv: (path: string, prog: string, env: string, dirs: string) =>
      `${path} runs "${prog}" through ${env}, and ${prog} is in none of PATH=${dirs}`,
    fix: (interp: string) => {
      const base = interp.slice(interp.lastIndexOf('/') + 1);
      if (/^(sh|bash|ash|dash)$/.test(base))
        return `A FROM scratch image has no shell: rewrite the script as a program, or COPY a static shell (e.g. busybox) into the image, or start FROM alpine / debian-slim.`;
      if (/^python/.test(base)) return `Install ${base} in the image (FROM python:*-slim), or ship the program as a single static binary.`;
      return `Install ${interp} in the image, or change the #! line to an interpreter the image has.`;
    },
  },
  'library-missing': {
    story: `The loader started, then could not find a shared library the program (or one of its libraries)
needs. It searched RPATH, LD_LIBRARY_PATH, RUNPATH, /etc/ld.so.cache and its default folders in the
image, and the container exits with "error while loading shared libraries: libX.so: cannot open
shared object file". Copy the library from the build stage or link statically.`,
    example: '/app: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory',
    runtimes: { crun: 'loader' },
    runcGlibc: (argv0: string, name: string, error: string) => `${argv0}: error while loading shared libraries: ${name}: ${error}`,
    runcMusl: (name: string, error: string, by: string) => `Error loading shared library ${name}: ${error} (needed by ${by})`,
    messageUnloadable: (by: string, name: string, file: string, error: string) =>
      `${by} needs ${name}, and the first file of that name the loader meets, ${file}, is not a library it can load (${error}): the search stops there`,
    message: (by: string, name: string, skipped: { path: string; reason: string }[]) =>
      `${by} needs ${name}, and the loader cannot find it${skipped.length ? ` (skipped ${skipped.map((s) => `${s.path}: ${s.reason}`).join('; ')})` : ''}`,
    fixNodeflib: (by: string, name: string, systemDirs: string[]) =>
      `${by} is linked with -z nodefaultlib: ld.so searches no system folder for it (${systemDirs.join(', ')}), nor takes an ld.so.cache entry in one. Put ${name} in a folder its RUNPATH or LD_LIBRARY_PATH names, or in another folder listed in /etc/ld.so.conf (then run ldconfig); or link it without -z nodefaultlib.`,
    fixUnloadable: (file: string) =>
      `Replace ${file} with the real library file (a linker script, a text stub or a cut copy is not one), or remove it so the loader searches on.`,
    /** A file the loader tried and passed over (its reason from the search). */
    fixSkipped: (path: string, reason: string) =>
      /not readable/.test(reason)
        ? `${path} is there, but the container's user may not read it: make it readable (COPY --chmod=644), or run as a user who may.`
        : /may not search/.test(reason)
          ? `${path} is there, but the container's user may not search a folder on the way to it: make those folders searchable (COPY --chmod=755), or run as a user who may.`
          : `${path} is there, but the loader passes it over (${reason}): put the build of it for the program's machine and class in its place.`,
    fixDangling: (path: string, target: string) =>
      `${path} is a symlink to ${target}, which is not in the image: COPY the file it points to (or the library itself to ${path}).`,
    /** The program runs in secure mode (`why`): LD_LIBRARY_PATH and its own $ORIGIN do not count. */
    fixSecure: (program: string, why: string, found: string, into: string, musl: boolean) => {
      const dir = found.slice(0, found.lastIndexOf('/')) || '/';
      const undo = why.startsWith('file capabilities')
        ? 'run it as root, or drop its capabilities (setcap -r)'
        : 'remove its set-user-ID and set-group-ID bits (chmod u-s,g-s)';
      return `${program} runs in secure mode (${why}), where the loader ignores LD_LIBRARY_PATH and the program's own $ORIGIN: move ${found} to ${into}${musl ? '' : `, or add ${dir} to /etc/ld.so.conf and run ldconfig`}; or ${undo}.`;
    },
    /** `dirs`: the folders the loader searches by default; `pathFile`: musl's, when it has one. */
    fix: (name: string, cgo: boolean, musl: boolean, elsewhere: string[], dirs: string[] = [], pathFile: string | null = null) => {
      const found = elsewhere[0];
      if (found) {
        const dir = found.slice(0, found.lastIndexOf('/')) || '/';
        const into = dirs[0] ?? '/usr/lib';
        return `The image has ${found}, in a folder the loader does not search: add ENV LD_LIBRARY_PATH=${dir}, or move it to ${into}${musl ? ` (or list ${dir} in ${pathFile ?? '/etc/ld-musl-ARCH.path'})` : `, or add ${dir} to /etc/ld.so.conf and run ldconfig`}.`;
      }
      if (cgo)
        return `Build the Go program with CGO_ENABLED=0 so it needs no C library, or copy ${name} and its dependencies from the build stage.`;
      if (/^lib(c|m|pthread|dl|rt)\.so/.test(name) || name.startsWith('ld-')) {
        return musl
          ? 'Link statically with musl-gcc -static, or start FROM alpine.'
          : 'Link statically (gcc -static), or start FROM a glibc base (debian:bookworm-slim, gcr.io/distroless/base), or COPY --from=build the loader and libc.';
      }
      return `COPY --from=build the file that provides ${name} (ldd in the build stage shows its path) into a folder the loader searches, such as /usr/lib, or link it statically.`;
    },
    /** With the Dockerfile lines that supply what is missing (closure --dockerfile). */
    fixWithLines: (lines: string) =>
      `Copy what the loader cannot find from the build stage, into the folders it searches: ${lines}; or link statically.`,
  },
  'symbol-version-missing': {
    story: `The program was linked against a newer library than the image has: it needs a symbol version
(GLIBC_2.34, say) that the image's library does not define. glibc checks every version before it
gives up and prints one line per missing version. Build on the same (or an older) distribution as
the one you run on, or link statically.`,
    example: "/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app)",
    runtimes: { crun: 'loader' },
    runc: (argv0: string, library: string, version: string, by: string) =>
      `${argv0}: ${library}: version \`${version}' not found (required by ${by})`,
    message: (by: string, library: string, versions: string[]) =>
      `${by} was built against a newer ${library.slice(library.lastIndexOf('/') + 1)} than the image has: it needs ${versions.length > 1 ? `the versions ${versions.join(', ')}` : versions.join(', ')}, which ${library} does not define`,
    fix: (versions: string[]) =>
      versions.some((v) => /^GLIBC_/.test(v))
        ? `Build on a system with a glibc no newer than the image's (use the same base image for build and run stages), or link statically.`
        : `Copy the library version the program was built against into the image.`,
    /** With the Dockerfile lines that bring the build stage's glibc (closure --dockerfile). */
    fixWithLines: (fix: string, lines: string) =>
      `${fix} Or replace the image's glibc, all of it with its loader, by the build stage's: ${lines}.`,
    /** Another library than glibc: the build stage's copy of it. */
    fixLibraryLines: (fix: string, library: string, lines: string) => `${fix} The build stage's ${library}: ${lines}.`,
  },
  'symbol-version-weak': {
    story: `A symbol version the program asks for weakly is missing; the loader only warns.`,
  },
  'loader-limit': {
    story: `The program's libraries go past what scratchscope follows (thousands of libraries needing each
other, a search path of tens of thousands of folders, a gigantic ld.so.cache): it stopped there
rather than hang, so the libraries after that point are not checked. Real programs stay far below
these limits; an image that reaches them was most likely made to.`,
    fix: 'Check where the libraries come from: no real program needs this many.',
  },
  'symbol-missing': {
    story: `Every library was found, but one of them (or the program) uses a symbol that no loaded object
defines: a library from another release that dropped or renamed a function, or one built against the
other C library (glibc's __printf_chk under musl, musl's strlcpy under an older glibc). musl binds
every symbol at load and prints "Error relocating /app: sym: symbol not found". glibc binds variables
(data and copy relocations) at load, and functions too when the object is linked with -z now (BIND_NOW,
common in hardened builds) or LD_BIND_NOW is set: "/app: symbol lookup error: /app: undefined symbol:
sym". Weak references never fail. Ship the library release the program was built against, or build
the program against the libraries the image has.`,
    runtimes: { crun: 'loader' },
    message: (by: string, kind: 'function' | 'data', what: string, builtFor: string | null, why: string) =>
      `${by} needs the ${kind === 'data' ? 'variable' : 'function'} ${what}, which no loaded object defines${builtFor ? ` (it was built against ${builtFor})` : ''}; ${why}, and the start fails`,
    /** The loader's line (for a lazy miss, when the call happens). */
    runcGlibc: (argv0: string, object: string, symbol: string, version: string | null) =>
      `${argv0}: symbol lookup error: ${object}: undefined symbol: ${symbol}${version ? `, version ${version}` : ''}`,
    runcMusl: (object: string, symbol: string) => `Error relocating ${object}: ${symbol}: symbol not found`,
    whyMusl: 'musl binds every symbol at load',
    whyBindNow: 'it is linked with BIND_NOW (-z now), so glibc binds it at load',
    whyEnv: 'LD_BIND_NOW is set, so glibc binds it at load',
    whyReloc: (reason: string) => `a ${reason} is bound at load`,
    fixOtherLibc: (by: string, symbol: string, builtFor: 'glibc' | 'musl') =>
      builtFor === 'glibc'
        ? `${by} was built against glibc, and musl has no ${symbol}: build it in a musl stage (FROM alpine), or run the program on a glibc base (debian:bookworm-slim, distroless/base).`
        : `${by} was built against musl, and this glibc has no ${symbol}: build it against glibc (the same base as the image), or run it FROM alpine.`,
    fixNear: (by: string, symbol: string, near: string[]) =>
      `The image has ${symbol} only as ${near.join(', ')}: copy the library release ${by} was built against into the image, or rebuild ${by} against the one the image has.`,
    fix: (by: string, symbol: string) =>
      `No library in the image defines ${symbol}: copy the library release ${by} was built against (ldd in the build stage shows it) into the image, or rebuild against the one the image has.`,
  },
  'preload-missing': {
    story: `LD_PRELOAD (in the image's ENV) or /etc/ld.so.preload names a library the loader cannot load.
glibc skips it and prints "ERROR: ld.so: object 'libx.so' from LD_PRELOAD cannot be preloaded (cannot
open shared object file): ignored." at every start of every program; musl skips it without a word.
The program runs without it, so what it was there for (an allocator, a tracing hook) is not there.
A library that a preloaded library needs is another matter: that one missing stops the start, as
for the program's own libraries.`,
    /** glibc's line on stderr (rtld.c, do_preload). */
    glibcLine: (name: string, from: string, why: string) =>
      `ERROR: ld.so: object '${name}' from ${from} cannot be preloaded (${why}): ignored.`,
    message: (name: string, from: string, line: string | null) =>
      `${from} names ${name}, which the loader cannot load: the program runs without it${line ? `, and glibc prints "${line}" at every start` : ' (musl skips it without a word)'}`,
    fix: (name: string, from: string) =>
      from === 'LD_PRELOAD'
        ? `COPY ${name} into the image where the loader finds it, or take it out of ENV LD_PRELOAD.`
        : `COPY ${name} into the image where the loader finds it, or take it out of ${from}.`,
  },
  'symbol-missing-lazy': {
    story: `A function the program (or a library) calls is defined by no loaded object, but glibc binds
functions at their first call (lazy binding, without -z now): the program starts, and dies with
"symbol lookup error: … undefined symbol: sym" if and when it calls that function.`,
    message: (by: string, what: string, line: string) =>
      `${by} calls ${what}, which no loaded object defines; glibc binds functions at their first call, so the program starts and dies with "${line}" if it ever calls it`,
  },
  'static-glibc-nss': {
    story: `glibc cannot be fully static: getaddrinfo, getpwnam and friends load libnss_*.so.2 modules at run
time, and the linker warns about it ("Using 'getaddrinfo' in statically linked applications requires
at runtime the shared libraries from the glibc version used for linking"). In a FROM scratch image
they are absent, so name lookups fail or fall back silently. Use musl, or Go with CGO_ENABLED=0.`,
    message: (path: string, conf: boolean) =>
      `${path} is statically linked with glibc but resolves names (users, hosts) through NSS: at run time glibc still tries to load libnss_*.so.2 of its own version, which a static image does not have, so lookups like getaddrinfo or getpwnam can fail or behave differently${conf ? '' : ', and there is no /etc/nsswitch.conf'}`,
    fix: 'Build it against musl (musl-gcc -static) or, for Go, with CGO_ENABLED=0 (the pure-Go resolver); or COPY /etc/nsswitch.conf and the matching libnss_files.so.2 / libnss_dns.so.2 from the build stage.',
  },
  'ca-certificates-missing': {
    story: `The program makes TLS connections, and verifying a server needs the CA certificates a base image
would bring. FROM scratch has none, so HTTPS fails with "x509: certificate signed by unknown
authority". Copy /etc/ssl/certs/ca-certificates.crt from the build stage.`,
    message: (path: string, how: string) =>
      `${path} does TLS (${how}) but the image has no CA certificates, so every HTTPS connection will fail with "x509: certificate signed by unknown authority" or "unable to get local issuer certificate"`,
    fix: 'COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ (install ca-certificates in the build stage first), or set SSL_CERT_FILE to a bundle you copy in.',
  },
  'tmp-missing': {
    story: `FROM scratch has no /tmp, and programs that create temporary files there fail. A scratch image
cannot RUN mkdir; copy an empty folder with mode 1777, or mount a tmpfs.`,
    message: (path: string, use: string) =>
      `${path} creates temporary files (${use}) and the image has no /tmp, so that fails with "no such file or directory"`,
    fix: 'Create it in the image: COPY --from=build --chmod=1777 /tmp /tmp (a FROM scratch image cannot RUN mkdir), or mount one: docker run --tmpfs /tmp.',
  },
  'zoneinfo-missing': {
    story: `The program loads named time zones and the image has no /usr/share/zoneinfo. Go can embed the
database (import _ "time/tzdata"); otherwise copy it from the build stage.`,
    message: (path: string, why: string) =>
      `${path} loads time zones${why} but the image has no /usr/share/zoneinfo: named zones fail to load (Go: "unknown time zone") or silently fall back to UTC`,
    fixGo:
      'Embed the zone database: import _ "time/tzdata" (or build with -tags timetzdata), or COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo.',
    fix: 'COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo (install tzdata in the build stage).',
  },
  'go-cgo-enabled': {
    story: `Go links against the C library when cgo is on (the default when a C compiler is present), which
makes the binary need a libc and its loader at run time. CGO_ENABLED=0 gives a self-contained
binary that runs FROM scratch.`,
    message: (path: string, version: string, isStatic: boolean, interp: string | null) =>
      `${path} is a Go ${version} program built with CGO_ENABLED=1: ${isStatic ? 'it is static, but its C parts (net, os/user) still follow glibc rules such as NSS' : `it needs a C library and its loader (${interp}) at run time`}`,
    fix: 'Build with CGO_ENABLED=0 go build … for a FROM scratch image (the net and os/user packages have pure-Go versions).',
  },
  'arch-mismatch': {
    story: `The image's config says one architecture and the program is built for another. The runtime picks
images by the config, and the kernel then refuses the binary (exec format error) unless emulation is
set up.`,
    message: (configArch: string, path: string, machine: string, arch: string) =>
      `the image says it is for ${configArch} but ${path} is built for ${machine} (${arch})`,
    fix: (configArch: string, arch: string) =>
      `Build the binary for ${configArch} (GOARCH=${configArch}, or the matching cross compiler), or build the image with --platform linux/${arch}.`,
  },
  'foreign-platform': {
    story: `The image is built for another architecture than the machine checking it (an image built on an
Apple silicon Mac is linux/arm64; most servers are linux/amd64). The verdict is the image's on its
own platform. On this machine the runtime runs it only through binfmt emulation (qemu-user-static);
without that, the first program fails at once: exec /app: exec format error. Build the image for
the platform it runs on (docker build --platform linux/amd64), or for several (docker buildx build
--platform linux/amd64,linux/arm64). Asked for with --platform, the image's platform is taken as meant.`,
    example: 'exec /app: exec format error',
    message: (image: string, host: string) =>
      `the image is for ${image}, and this machine is ${host}: here it starts only under binfmt emulation (qemu-user-static), else its first program fails with exec format error`,
    fix: (image: string, host: string) =>
      `Build it for this platform (docker build --platform linux/${host}) or for both (docker buildx build --platform linux/${host},linux/${image}); or set up emulation here (docker run --privileged --rm tonistiigi/binfmt --install all).`,
  },
  'shell-command-fails': {
    story: `A shell-form command (CMD /app --flag, without brackets) runs as ["/bin/sh", "-c", "/app --flag"]:
the runtime starts the shell, and the shell runs the program. When the image has a shell, the
runtime is content, and the failure comes from the shell instead, in its own words: busybox's
"/bin/sh: /app: not found" (exit 127) when /app, or the loader its PT_INTERP names, is missing
(the classic glibc program in an Alpine image), "Permission denied" (exit 126) when it is not
executable. The cause is the same as for the exec form; so is the fix.`,
    example: '/bin/sh: /app: not found',
    // the shell prints it, whatever runtime started the shell
    runtimes: { crun: 'loader' },
    message: (sh: string, word: string, cause: string) => `${sh} starts, then cannot run ${word}: ${cause}`,
    fix: 'Make the program the script names runnable (see the cause), or use the exec form to run it directly.',
    messageExecOption: (sh: string, option: string) =>
      `${sh} starts, then its exec builtin refuses ${option} as an option: the command's first word starts with "-", so exec reads it as one of its own options and runs nothing`,
    fixExecOption: (keyword: string) =>
      `Name the program before its options (${keyword === 'ENTRYPOINT' ? 'CMD ["app", "--flag"]' : 'CMD ["/app", "--flag"]'}), or have the script put it first when the first argument is an option: if [ "\${1#-}" != "$1" ]; then set -- app "$@"; fi`,
    messageUnsetArg: (sh: string, script: string) =>
      `${sh} starts, then stops in ${script}: under set -u, its test of the first argument ("\${1#-}") reads $1, and the container was given none`,
    fixUnsetArg: 'Give the image a CMD (the arguments the script hands on), or write the test as "${1:-}" so an empty command passes.',
    messageCrlf: (sh: string, script: string) =>
      `${sh} starts, then trips on ${script}'s Windows line ends (CRLF): a shell reads the carriage return (\\r) that ends each line as part of the line's last word, so an option or a program's name ends in an invisible \\r that nothing matches`,
    fixCrlf: (file: string) =>
      `Convert ${file} to Unix line ends (dos2unix, or git config core.autocrlf input) before COPY; or, where the image has sed, strip them as it is built: RUN sed -i 's/\\r$//' ${file}`,
    messageShebangOption: (interpreter: string, option: string) =>
      `${interpreter} is given ${JSON.stringify(option)} by the script's #! line as one word (the kernel passes everything after the interpreter as a single argument), refuses it as an option, and runs nothing`,
    fixShebangOption: (interpreter: string) =>
      `Give the #! line one word of options (#!${interpreter} -eu), or set them on the script's first line instead (set -eu).`,
    messageNoScript: (sh: string, argv: string[]) =>
      `${sh} is given -c and no script after it (argv ${JSON.stringify(argv)}): it starts, says so, and exits, running nothing`,
    fixNoScript: (keyword: string, argv: string[]) =>
      keyword === 'ENTRYPOINT'
        ? `Give the script as the CMD that follows ENTRYPOINT ${JSON.stringify(argv)}: CMD ["/app --flag"]; or run the program in exec form: ENTRYPOINT ["/app", "--flag"].`
        : `Give the shell its script after -c: CMD ${JSON.stringify([...argv, '/app --flag'])}; or run the program in exec form: CMD ["/app", "--flag"].`,
  },
  'init-command-fails': {
    story: `An init program as the command (ENTRYPOINT ["/tini", "--"], ["dumb-init", "/app"]) starts as PID 1
and runs the rest of the command as its child, through execvp: PATH searched as glibc searches it,
then execve. env as the command (ENTRYPOINT ["/usr/bin/env", "python3"]) does the same after its
assignments, with the environment they make (its PATH, its LD_LIBRARY_PATH); gosu switches to its
user first (looked up as runc looks USER up), then finds the program as Go does. The runtime is
content, it started the runner; the failure comes from the runner instead, in its own words: tini
"[FATAL tini (7)] exec /app failed: No such file or directory" (exit 127; the number is the
child's PID, 6 or 7 in a container), dumb-init "[dumb-init] /app: No such file or directory"
(exit 2), env "/usr/bin/env: 'python3': No such file or directory" (exit 127), gosu 'error: exec:
"/app": stat /app: no such file or directory' or 'error: failed switching to "app": unable to
find user app: no matching entries in passwd file' (exit 1). The cause is the program's, as a
direct run would meet it; so is the fix.`,
    example: '[FATAL tini (7)] exec /app failed: No such file or directory',
    // the init program prints it, whatever runtime started it
    runtimes: { crun: 'loader' },
    message: (init: string, word: string, cause: string) => `${init} starts, then cannot run ${word}: ${cause}`,
    fix: 'Make the program the init program runs runnable (see the cause).',
    messageNoProgram: (init: string) => `${init} is given no program to run: it prints its usage and exits 1`,
    fixNoProgram: (init: string) => `Name the program after it: ENTRYPOINT ["${init}", "--", "/app"], or give it as CMD ["/app"].`,
    messageEnvOptions: (init: string, error: string) => `${init} refuses its options (${error}) and exits 125, running nothing`,
    fixEnvOptions: (init: string) => `Give ${init} only the options it takes (-i, -u NAME, --) before NAME=value words and the program.`,
    fixGosu: (init: string) => `Give it a user and a program: ENTRYPOINT ["${init}", "app", "/app"].`,
    messageGosuNotRoot: (init: string, spec: string, uid: number) =>
      `${init} must start as root to switch to ${spec}, and the container runs as uid ${uid}`,
    fixGosuNotRoot: (init: string) => `Drop USER (${init} switches users itself), or drop ${init} and keep USER.`,
    messageGosuUser: (init: string, spec: string, detail: string) => `${init} cannot switch to ${spec}: ${detail}`,
    fixGosuUser: (init: string, file: string) =>
      `Give ${init} numeric ids, which need no user database: ["${init}", "65532:65532", "/app"]; or COPY an ${file} that defines the name from the build stage.`,
  },
  'script-unreadable': {
    story: `A script starts as its #! interpreter, given the script's path: the kernel needs only the
execute bit to get that far, but the interpreter then opens the script to read it, as the
container's user. A script of mode 0711 (or 0700, owned by another user) starts the interpreter,
which cannot read it: dash says "/bin/sh: 0: cannot open /app.sh: Permission denied" and busybox
"/bin/sh: can't open '/app.sh': Permission denied" (exit 2), bash "/bin/sh: /app.sh: Permission
denied" (exit 126). A program needs no read bit; a script does.`,
    example: '/bin/sh: 0: cannot open /app.sh: Permission denied',
    // the interpreter prints it, whatever runtime started it
    runtimes: { crun: 'loader' },
    message: (script: string, mode: string, owner: string, uid: number, interp: string) =>
      `${script} has mode ${mode} (owner ${owner}): uid ${uid}, the container's user, may execute it but not read it, and ${interp} must read it to run it`,
    fix: (script: string) => `Give the user read as well as execute: COPY --chmod=755 … ${script} (or chown it to the USER).`,
  },
  'script-missing': {
    story: `A program that runs a script file starts, then opens the script: a shell given one
(CMD ["sh", "/entrypoint.sh"]), python or node given theirs (CMD ["python3", "app.py"], ["node",
"server.js"]). A name without a slash is opened from WORKDIR. A script that is not there (COPY
put it elsewhere, WORKDIR differs), that the container's user may not read, or a folder, ends the
program at once in its own words: busybox "sh: can't open '/entrypoint.sh': No such file or
directory" and dash "sh: 0: cannot open /entrypoint.sh: No such file" (exit 2), bash "sh:
/entrypoint.sh: No such file or directory" (exit 127), python "python3: can't open file
'/app/app.py': [Errno 2] No such file or directory" (exit 2), node "Error: Cannot find module
'/app/server.js'" (exit 1). The runtime started the program; it is the script that is missing.`,
    example: "python3: can't open file '/app/app.py': [Errno 2] No such file or directory",
    // the program prints it, whatever runtime started it
    runtimes: { crun: 'loader' },
    message: (prog: string, file: string, detail: string) => `${prog} starts, then cannot open its script ${file}: ${detail}`,
    fix: (file: string, why: 'ENOENT' | 'EACCES' | 'EISDIR' | 'ELOOP') =>
      why === 'ELOOP'
        ? `${file} is a loop of symbolic links: point it at the script.`
        : why === 'ENOENT'
          ? `COPY the script to ${file} (a name without a slash is opened from WORKDIR), or name it by its absolute path.`
          : why === 'EACCES'
            ? `Let the container's user read it: COPY --chmod=644 … ${file} (or chown it to the USER).`
            : `Name the script inside the folder, not the folder: ${file}/….`,
  },
  'stdlib-missing': {
    story: `python3.N is one program and a folder: before it runs anything it imports the encodings
package of its standard library (lib/python3.N beside its prefix: /usr/lib/python3.11 for
/usr/bin/python3.11), to decode the file system's names. The binary copied into scratch or
distroless/cc with the libraries ldd lists starts (the loader is content), finds no encodings,
and exits 1: "Fatal Python error: init_fs_encoding: failed to get the Python codec of the
filesystem encoding" then "ModuleNotFoundError: No module named 'encodings'" (after "Could not
find platform independent libraries <prefix>" and the paths it searched). Only an image with no
python3.N/encodings and no python3N.zip anywhere is said to fail: where one is, which folders
this python searches (its prefix, a venv, PYTHONHOME) decides, and is not followed.`,
    example: "ModuleNotFoundError: No module named 'encodings'",
    // python prints it, whatever runtime started it
    runtimes: { crun: 'loader' },
    message: (prog: string, version: string, stdlib: string) =>
      `${prog} starts, then stops: ${version} imports its standard library's encodings package first (from ${stdlib}), and the image has no standard library for ${version}`,
    fix: (stdlib: string, minor: number) =>
      `COPY the standard library with the interpreter: COPY --from=build ${stdlib} ${stdlib}; or start FROM an image that has Python (python:3.${minor}-slim, gcr.io/distroless/python3).`,
  },
  'shell-form-signals': {
    story: `A shell-form command starts /bin/sh as PID 1, which starts your program as its child. docker stop
sends SIGTERM to PID 1, the shell does not pass it on, and the container is killed after the grace
period: no clean shutdown. Use the exec form, or exec in the command.`,
    message: (shell: string, script: string, simple: boolean) =>
      `the command runs under a shell: ${shell} is PID 1 and starts "${script}" as its child, which does not get the SIGTERM of docker stop${simple ? ' (unless the shell hands PID 1 over, as some do for a single simple command)' : ''}; the container is then killed after the 10 s grace period`,
    fix: (keyword: string, form: ExecForm | null) =>
      form
        ? `Use the exec form: ${execFormLines(keyword, form)} (or put exec in front of the command).`
        : `Put exec in front of the program the script ends with, so it takes PID 1 from the shell; the script does more than run one program (expansions, operators, globs), which the exec form cannot say.`,
  },
  'capability-denied': {
    story: `A program given file capabilities (setcap cap_ipc_lock+ep /usr/bin/app, as some images do so a
non-root user may lock memory or bind a low port) forces them on its process: the kernel must
grant every one of them, or it refuses to execute the file at all, root included ("exec
/usr/bin/app: operation not permitted"). A container may hold only its bounding set: the
runtime's default (chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap,
net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap) unless docker run
--cap-add (or a pod's securityContext) adds more, which an image cannot say.`,
    example: 'exec /usr/bin/app: operation not permitted',
    runtimes: { crun: (f) => execFailed(f, 'Operation not permitted') },
    runc: (path: string) => `exec ${path}: operation not permitted`,
    message: (path: string, caps: string[]) =>
      `${path} forces the file capabilities ${caps.join(', ')} (setcap …+ep), which the runtime's default bounding set lacks: the kernel refuses to execute it (EPERM)`,
    fix: (caps: string[]) =>
      `Grant them: docker run ${caps.map((c) => `--cap-add ${c.slice(4).toUpperCase()}`).join(' ')} (Kubernetes: securityContext.capabilities.add), or drop them from the file if it does without (setcap -r).`,
  },
  'elf-truncated': {
    story: `A program, its loader or a library cut short: its program headers ask for a loadable segment
that runs past the end of the file by a page or more (an interrupted download, a git-lfs file
never fetched whole, a COPY of a file still being written). The kernel or the loader maps it all
the same; the first touch of a page past the end kills the process with SIGBUS (exit 135) or
SIGSEGV (exit 139) before it prints anything. Nothing says why: the container is just gone.
Cut section headers alone (at the end of the file) are harmless, and not counted.`,
    example: '(no message: exit 135, SIGBUS, or 139, SIGSEGV)',
    runtimes: { crun: 'loader' },
    message: (file: string, role: string, problem: string) =>
      `${file}${role} is cut short (${problem.replace(/^truncated: /, '')}): it is mapped all the same, and the first touch of the missing part kills the process at start (SIGBUS or SIGSEGV, exit 135 or 139), with no message`,
    fix: (file: string) =>
      `COPY an intact ${file}: compare its size with the original's (a cut download, or a git-lfs pointer fetched in part).`,
  },
  'elf-damaged': {
    story: `The program's ELF structures point outside the file or are inconsistent: it is truncated or
corrupt, and may fail in ways that depend on what is missing.`,
    message: (path: string, problems: string[]) => `${path} is damaged: ${problems.join('; ')}`,
    fix: 'Copy an intact build of it into the image.',
  },
  'layer-problem': {
    story: `A layer tar is inconsistent, e.g. a hard link to a file that is not there: a runtime applying the
layer would fail or skip the entry.`,
    message: (layer: number, problem: string) => `layer ${layer}: ${problem}`,
    fix: 'Rebuild the layer; the archive that made it is inconsistent.',
  },
  'hidden-by-mount': {
    story: `Only for a container (scratchscope container): a mount covers the folder of the program. A tmpfs
is empty, a bind mount shows the host folder, a named volume shows what it holds (Docker copies the
image's folder into an empty volume the first time, unless nocopy; a Kubernetes volume never does).
The image has the program, the container does not: exec: "/app/server": stat /app/server: no such
file or directory. Mount data somewhere else, or keep the program out of the mounted folder.`,
    example: 'exec: "/app": stat /app: no such file or directory',
    runtimes: { crun: notFound, createTime: true },
    message: (path: string, detail: string) => `the image has ${path}, but the container mounts over it: ${detail}`,
    messageMaybe: (path: string, detail: string) =>
      `the container mounts over ${path}, so what runs depends on the mount's content: ${detail}`,
    fixTmpfs: (dest: string) => `Mount the tmpfs somewhere else (a data folder), not over ${dest}.`,
    fix: (type: string, dest: string) =>
      `Mount the ${type === 'bind' ? 'folder' : 'volume'} at a data path instead of ${dest}, or put the program outside it${type === 'volume' ? ' (or remove the volume so Docker copies the image content into a new one)' : ''}.`,
  },
  'non-numeric-user': {
    story: `Only for a pod (scratchscope pod): runAsNonRoot asks kubelet to refuse a container that would run
as root, and kubelet can only check a number. The image's USER is a name, which only the image's
/etc/passwd could turn into a uid, so kubelet refuses it before the runtime is asked: "container has
runAsNonRoot and image has non-numeric user (NAME), cannot verify user is non-root" (status
CreateContainerConfigError). Use USER 65532 in the image, or runAsUser: 65532 in the pod.`,
    runtimes: { kubelet: true },
    runc: (user: string) => `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root`,
    message: (user: string) => `runAsNonRoot is set and the image's USER is the name ${user}, which kubelet cannot check`,
    fix: (user: string) =>
      `Set runAsUser (and runAsGroup) to ${user}'s numeric ids in the pod, or use USER with numbers in the image (USER 65532:65532).`,
  },
  'runs-as-root': {
    story: `Only for a pod: runAsNonRoot is set and the container would run as uid 0 (the image has no USER,
or USER 0, or runAsUser: 0), so kubelet refuses it: "container has runAsNonRoot and image will run as
root". Set a non-zero runAsUser, or USER 65532 in the image.`,
    runtimes: { kubelet: true },
    runcRunAsUser: "container's runAsUser breaks non-root policy",
    messageRunAsUser: 'runAsNonRoot is set and runAsUser is 0',
    fixRunAsUser: 'Set runAsUser to a non-zero uid, e.g. 65532.',
    runc: 'container has runAsNonRoot and image will run as root',
    message: (user: string) => `runAsNonRoot is set and the image runs as root (${user ? 'USER 0' : 'no USER'})`,
    fix: 'Set runAsUser to a non-zero uid in the pod, or add USER 65532:65532 to the image.',
  },
  'read-only-tmp': {
    story: `Only for a container: --read-only (Kubernetes: readOnlyRootFilesystem) makes the whole image
read-only, /tmp included. A program that creates temporary files then fails with "Read-only file
system" although it started. Mount a tmpfs at /tmp (docker run --read-only --tmpfs /tmp).`,
    message: (tmpdir: string, program: string, uses: string) =>
      `the root filesystem is read-only (--read-only) and nothing writable is mounted at ${tmpdir}, while ${program} creates temporary files (${uses}): those fail with "Read-only file system"`,
    fix: (tmpdir: string) => `Mount a tmpfs there: docker run --read-only --tmpfs ${tmpdir} (Kubernetes: an emptyDir volume at ${tmpdir}).`,
  },
} satisfies Record<Code, Entry>;

/**
 * execve as the kernel does it: an ELF must be of a machine the host runs and its
 * PT_INTERP must exist; a "#!" script names an interpreter that is checked the same way
 * (5 scripts deep at most: exec_binprm's ELOOP past depth 5, Linux >= 5.8); anything else is ENOEXEC. runc reports a
 * failure as "exec PATH: <errno text>".
 */
import { mayExecute } from '../loader/access.js';
import type { ElfInfo } from '../elf/types.js';
import { INTERP_REFUSED } from '../elf/decode.js';
import { type MergedTree, type Node, contentHead, resolvePath } from '../fs/index.js';
import { isElf, isScript } from '../archive/magic.js';
import { type LoaderContext, hostRuns } from '../loader/index.js';
import { CATALOG } from './catalog.js';
import { type Capabilities, deniedCaps } from './capabilities.js';
import type { Code, Diagnostic, StepResult } from './types.js';
import { containerPath, lookPath, unsearchable } from './lookup.js';
import { archWarning } from './warnings.js';

export interface ExecFailure {
  code: Code;
  runtimeError: string;
  message: string;
  /** The file at fault (the script's interpreter, say), and the layer that wrote it. */
  path: string;
  node: Node | null;
  fix: string;
  evidence: string[];
  /** The #! interpreter as the script names it, when the failure is the interpreter's (bash's "bad interpreter" names it). */
  interpreter?: string;
  /** env printed this line itself (it looked the program up and found none): a shell adds nothing to it. */
  byEnv?: boolean;
}

/** execve's errno, in Go's words, from runc's line ("exec /app: no such file or directory"); ENOENT for a line of env's own. */
export function execErrno(f: ExecFailure): string {
  return f.runtimeError.startsWith('exec ')
    ? (/: ([a-z ]+)$/.exec(f.runtimeError)?.[1] ?? 'no such file or directory')
    : 'no such file or directory';
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

/** The loader's context (tree, catalog, env, cwd, user), and the machine the container runs on. */
export interface ExecContext extends LoaderContext {
  /** The architecture of the machine the container runs on (the image's, normally). */
  hostArch: string;
  /** What docker run (or a pod) changed of the runtime's default capabilities. */
  capabilities?: Capabilities;
  /** The environment is the container's whole one (a container's, as the engine recorded it): a name it lacks is unset. */
  envComplete?: boolean;
}

/** A #! line as the kernel reads it. */
export interface Shebang {
  interpreter: string;
  arg: string | null;
  raw: string;
  /** The line did not end within BINPRM_BUF_SIZE bytes: the kernel read only its first 255. */
  truncated: boolean;
  /** ...and the interpreter path did not end within them either: the kernel refuses (ENOEXEC). */
  cutInterpreter: boolean;
  /** "#!" and spaces, then a newline: no interpreter named (ENOEXEC; without the newline the name is "", ENOENT). */
  blank: boolean;
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
  const newline = buf.indexOf(0x0a) !== -1;
  let line = head.toString('latin1', 2, end);
  // a line of nothing but spaces, ended by a newline, names no interpreter: ENOEXEC
  const blank = newline && /^[ \t]*$/.test(line);
  // The kernel reads C strings: a NUL that ends the interpreter's name leaves no argument;
  // one inside the argument ends the argument.
  const nul = line.indexOf('\0');
  if (nul !== -1) line = line.slice(0, nul);
  const trimmed = line.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  // the argument is every byte to the end of the line, a Windows "\r" included (`s`: "." takes it)
  const m = /^([^ \t]*)(?:[ \t]+(.*))?$/s.exec(trimmed)!;
  return { interpreter: m[1] ?? '', arg: m[2] ?? null, raw: line, truncated, cutInterpreter, blank };
}

/**
 * The program `#!/usr/bin/env ARG` asks env to run, and the NAME=VALUE assignments env makes
 * before it looks the program up in PATH. The kernel passes all that follows the interpreter
 * as one argument: env splits it only when told to (-S, as coreutils splits: quotes, escapes,
 * ${VAR}, # comments); otherwise "bash -e" is the name of the program it looks for.
 */
export function envProgram(arg: string, env: string[] = []): { prog: string; assigns: string[] } | null {
  const split = /^-[a-zA-Z]*S|^--split-string[= ]/.exec(arg);
  // one word with "=" is an assignment to env (NAME=VALUE…): it runs nothing then, only prints
  if (!split) {
    if (/[ \t]/.test(arg)) return arg.split(/[ \t]/)[0]!.includes('=') ? null : { prog: arg, assigns: [] };
    return arg.startsWith('-') || arg.includes('=') ? null : { prog: arg, assigns: [] };
  }
  const words = splitString(arg.slice(split[0].length), env);
  if (!words) return null;
  const assigns: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-u' || w === '-C' || w === '--unset' || w === '--chdir')
      i++; // takes the next word
    else if (w.startsWith('-')) continue;
    else if (w.includes('=')) assigns.push(w);
    else return { prog: w, assigns };
  }
  return null;
}

/**
 * A -S string split into words as coreutils env splits it: white space (and \_) between
 * words, '…' taken as it is, "…" with backslash escapes and ${VAR}, a word that starts with #
 * ends the line. Null where env would refuse the string (an open quote, $ without braces).
 */
function splitString(s: string, env: string[]): string[] | null {
  const vars = (name: string) => {
    for (let i = env.length - 1; i >= 0; i--) if (env[i]!.startsWith(`${name}=`)) return env[i]!.slice(name.length + 1);
    return name === 'HOME' ? '/' : ''; // the engine sets HOME when the image does not
  };
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote = '';
  const end = () => {
    if (inWord) words.push(cur);
    cur = '';
    inWord = false;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === "'") {
      if (c === "'") quote = '';
      else cur += c;
    } else if (c === '\\') {
      const e = s[++i];
      if (e === undefined) return null;
      if (e === 'c') break;
      if (e === '_' && !quote) end();
      else {
        cur += e === '_' ? ' ' : (ESCAPES[e] ?? `\\${e}`);
        inWord = true;
      }
    } else if (c === '$') {
      const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(s.slice(i));
      if (!m) return null; // env: "only ${VARNAME} expansion is supported"
      cur += vars(m[1]!);
      i += m[0].length - 1;
      inWord = true;
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') end();
    else if (c === '#' && !inWord) break;
    else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return null;
  end();
  return words;
}

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'", $: '$', '#': '#' };

const shown = (s: string) => JSON.stringify(s).slice(1, -1); // makes a stray \r visible
const format = CATALOG['exec-format'];
const script = CATALOG['shebang-interpreter-missing'];

/** The kernel's errno for a path that does not resolve: a loop of links, or a file where a folder should be (else ENOENT). */
function errnoOf(r: { reason: string }): string | undefined {
  return r.reason === 'loop' ? 'too many levels of symbolic links' : r.reason === 'not-a-directory' ? 'not a directory' : undefined;
}

/** What the kernel makes of the loader's first bytes: EIO when it cannot read an ELF header, ELIBBAD when it is none of this machine. */
function badLoader(ctx: ExecContext, loader: Node, program: ElfInfo): { errno: string; what: string } | null {
  const header = program.class === 64 ? 64 : 52;
  if (loader.size < header) return { errno: 'input/output error', what: `${loader.size} bytes, shorter than an ELF header (${header})` };
  if (!isElf(contentHead(loader.content, 4))) return { errno: 'accessing a corrupted shared library', what: 'not an ELF file' };
  const d = ctx.catalog.of(loader);
  if (d?.ok && (d.info.machine !== program.machine || d.info.class !== program.class))
    return {
      errno: 'accessing a corrupted shared library',
      what: `an ELF ${d.info.class}-bit ${d.info.machine} file, for ${program.class}-bit ${program.machine} programs`,
    };
  return null;
}

/** EACCES on the kernel's walk to a file it opens (an interpreter, a loader): a folder the user may not search. */
function searchFailure(execPath: string, what: string, shut: { path: string; node: Node }, uid: number): ExecFailure {
  const why = `${shut.path} has mode ${shut.node.mode.toString(8).padStart(4, '0')} (owner ${shut.node.uid}:${shut.node.gid}): uid ${uid} may not search it`;
  return {
    code: 'not-executable',
    runtimeError: CATALOG['not-executable'].runcExec(execPath),
    message: CATALOG['not-executable'].messageSearch(what, why),
    path: shut.path,
    node: shut.node,
    fix: CATALOG['not-executable'].fixSearch(shut.path),
    evidence: [why],
  };
}

export function emulateExec(ctx: ExecContext, execPath: string, argv0: string, startDepth = 0, runcPath = execPath): ExecResult {
  const result: ExecResult = { program: null, failure: null, trace: [], scripts: [] };
  const fail = (f: ExecFailure) => {
    result.failure = f;
    return result;
  };
  let path = execPath;
  let curArgv0 = argv0;
  /** This hop is the program env execs (env words its own failures), not one the kernel opens. */
  let viaEnv = false;
  for (let depth = startDepth; ; depth++) {
    const r = resolvePath(ctx.tree, path, { cwd: ctx.cwd });
    if (!r.ok) throw new Error(`internal: ${path} vanished between lookup and exec`);
    const node = r.node;
    if (node.type === 'fifo' || node.type === 'char' || node.type === 'block') {
      // execve opens only regular files (EACCES otherwise); runc reports it as is
      const what = node.type === 'fifo' ? 'a FIFO (named pipe)' : `a ${node.type === 'char' ? 'character' : 'block'} device`;
      return fail({
        code: 'not-executable',
        runtimeError: CATALOG['not-executable'].runcExec(runcPath),
        message: CATALOG['not-executable'].messageSpecial(r.path, what),
        path: r.path,
        node,
        fix: CATALOG['not-executable'].fixSpecial(r.path, what),
        evidence: [`${r.path} is ${what}`],
      });
    }
    if (ctx.user && !viaEnv && !mayExecute(node, ctx.user)) {
      // the lookup saw an x bit (any will do for it); execve asks for the user's own
      const mode = node.mode.toString(8).padStart(4, '0');
      return fail({
        code: 'not-executable',
        runtimeError: CATALOG['not-executable'].runcExec(runcPath),
        message: CATALOG['not-executable'].messageUser(r.path, mode, `${node.uid}:${node.gid}`, ctx.user.uid),
        path: r.path,
        node,
        fix: CATALOG['not-executable'].fixUser(r.path),
        evidence: [
          `${r.path} mode ${mode}, owner ${node.uid}:${node.gid}`,
          `runs as uid ${ctx.user.uid}, groups ${ctx.user.gids.join(',')}`,
        ],
      });
    }
    const head = contentHead(node.content, BINPRM_BUF_SIZE);
    const decoded = ctx.catalog.of(node);
    if (decoded) {
      /** The kernel refuses the file (ENOEXEC): runc's one line, with what we saw and the fix. */
      const enoexec = (message: string, fix: string, evidence: string[]) =>
        fail({ code: 'exec-format', runtimeError: format.runc(runcPath), message, path: r.path, node, fix, evidence });
      if (!decoded.ok) return enoexec(format.messageUndecodable(r.path, decoded.error), format.fixDamaged(r.path), [decoded.error]);
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
      if (phdrs) return enoexec(format.messageDamaged(r.path, phdrs), format.fixDamaged(r.path), info.problems);
      // The kernel runs ET_EXEC and ET_DYN files (a libc, or ld.so itself, can be run);
      // object files and core dumps it refuses.
      if (info.type === 'relocatable' || info.type === 'core' || info.type === 'unknown')
        return enoexec(format.messageNotProgram(r.path, info.type), format.fixNotProgram, [`ELF type ${info.type}`]);
      if (!hostRuns(ctx.hostArch, info.architecture)) {
        return enoexec(
          format.messageMachine(r.path, info.machine, info.class, ctx.hostArch),
          format.fixMachine(ctx.hostArch, info.architecture ?? info.machine),
          [`ELF machine ${info.machine}, class ${info.class}`, `container architecture ${ctx.hostArch}`],
        );
      }
      // a PT_INTERP the kernel will not take (too long, too short, no NUL at its end): ENOEXEC
      const refused = info.problems.find((p) => p.startsWith(INTERP_REFUSED));
      if (refused) return enoexec(format.messageDamaged(r.path, refused), format.fixDamaged(r.path), [refused]);
      if (info.interpreter) {
        // the kernel opens PT_INTERP as given: a relative one from the working folder
        const ir = resolvePath(ctx.tree, info.interpreter, { cwd: ctx.cwd });
        if (ir.ok && ir.node.type !== 'file' && ir.node.type !== 'hardlink') {
          // open_exec takes regular files only: a folder (or a device) there is EACCES
          const what = ir.node.type === 'dir' ? 'a directory' : `a ${ir.node.type}`;
          return fail({
            code: 'not-executable',
            runtimeError: CATALOG['not-executable'].runcExec(runcPath),
            message: CATALOG['not-executable'].message(`${r.path}'s loader ${info.interpreter}`, `${ir.path} is ${what}, not a file`),
            path: ir.path,
            node: ir.node,
            fix: CATALOG['interpreter-missing'].fix(info.interpreter, /ld-musl-/.test(info.interpreter), false),
            evidence: [`PT_INTERP ${info.interpreter}`, `${ir.path} is ${what}`],
          });
        }
        const shut = ir.ok ? unsearchable(ctx.tree, ir.path, ctx.user ?? undefined) : null;
        if (shut) return fail(searchFailure(runcPath, `${r.path}'s loader ${info.interpreter}`, shut, ctx.user!.uid));
        if (!ir.ok) {
          const musl = /ld-musl-/.test(info.interpreter);
          // The other C library's loader in the image: built on Debian, run on Alpine (or back).
          const other = otherLoader(ctx.tree, musl);
          // the errno of the kernel's lookup: a loop of links, or a file where a folder should be
          const why = errnoOf(ir);
          return fail({
            code: 'interpreter-missing',
            runtimeError: CATALOG['interpreter-missing'].runc(runcPath, why),
            message: CATALOG['interpreter-missing'].message(
              r.path,
              info.interpreter,
              ir.at,
              other ? { path: other, musl } : null,
              why && `${ir.at}: ${why}`,
            ),
            path: r.path,
            node,
            fix: CATALOG['interpreter-missing'].fix(info.interpreter, musl, other !== null),
            evidence: [`PT_INTERP ${info.interpreter}`, `${ir.at} ${why ?? 'does not exist'}`, ...(other ? [`${other} exists`] : [])],
          });
        }
        // The kernel opens the interpreter for execution too: it needs an x bit the process may use.
        if (!mayExecute(ir.node, ctx.user)) {
          return fail({
            code: 'not-executable',
            runtimeError: CATALOG['not-executable'].runcExec(runcPath),
            message: CATALOG['not-executable'].messageLoader(
              r.path,
              info.interpreter,
              ir.path,
              ir.node.mode.toString(8).padStart(4, '0'),
              ctx.user && ctx.user.uid !== 0 ? ctx.user.uid : null,
            ),
            path: ir.path,
            node: ir.node,
            fix: CATALOG['not-executable'].fixLoader(info.interpreter),
            evidence: [`PT_INTERP ${info.interpreter}`, `${ir.path} mode ${ir.node.mode.toString(8).padStart(4, '0')}`],
          });
        }
        // the kernel reads the loader's ELF header (binfmt_elf): a shorter file is EIO, one without
        // ELF magic or of another machine ELIBBAD
        const bad = badLoader(ctx, ir.node, info);
        if (bad) {
          return fail({
            code: 'interpreter-missing',
            runtimeError: CATALOG['interpreter-missing'].runc(runcPath, bad.errno),
            message: CATALOG['interpreter-missing'].messageBad(r.path, info.interpreter, ir.path, bad.what),
            path: ir.path,
            node: ir.node,
            fix: CATALOG['interpreter-missing'].fixBad(info.interpreter),
            evidence: [`PT_INTERP ${info.interpreter}`, `${ir.path}: ${bad.what}`],
          });
        }
      }
      // the file's forced capabilities are taken last (begin_new_exec): one the container is not granted refuses it
      const denied = deniedCaps(node.fileCaps, ctx.capabilities);
      if (denied.length) {
        const caps = CATALOG['capability-denied'];
        return fail({
          code: 'capability-denied',
          runtimeError: caps.runc(runcPath),
          message: caps.message(r.path, denied),
          path: r.path,
          node,
          fix: caps.fix(denied),
          evidence: [`security.capability: ${denied.join(',')}+ep`, "the runtime's default bounding set"],
        });
      }
      result.program = { path: r.path, argv0: curArgv0, info, node };
      return result;
    }
    const sb = parseShebang(head);
    if (!sb) {
      result.trace.push(`${path}: neither ELF nor a #! script`);
      return fail({
        code: 'exec-format',
        runtimeError: format.runc(runcPath),
        message: node.size === 0 ? format.messageEmpty(r.path) : bom(head) ? format.messageBom(r.path) : format.messageUnknown(r.path),
        path: r.path,
        node,
        fix: node.size === 0 ? format.fixEmpty(r.path) : bom(head) ? format.fixBom(r.path) : format.fixUnknown(r.path),
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
        runtimeError: format.runc(runcPath),
        message: format.messageCutShebang(r.path, BINPRM_BUF_SIZE),
        path: r.path,
        node,
        fix: format.fixCutShebang(r.path, BINPRM_BUF_SIZE),
        evidence: [`#!${shown(sb.raw.slice(0, 60))}… (no newline and no space in the first ${BINPRM_BUF_SIZE} bytes)`],
      });
    }
    if (depth >= 5) {
      return fail({
        code: 'exec-format',
        runtimeError: format.runcTooDeep(runcPath),
        message: format.messageTooDeep,
        path: r.path,
        node,
        fix: format.fixTooDeep,
        evidence: result.trace.slice(),
      });
    }
    const interp = sb.interpreter;
    const crlf = interp.endsWith('\r') || (sb.arg ?? '').endsWith('\r');
    if (sb.blank) {
      // binfmt_script: a #! line of nothing but spaces is no script (ENOEXEC)
      return fail({
        code: 'exec-format',
        runtimeError: format.runc(runcPath),
        message: format.messageNoInterpreter(r.path),
        path: r.path,
        node,
        fix: format.fixNoInterpreter(r.path),
        evidence: [`#!${shown(sb.raw)}`],
      });
    }
    const ir = resolvePath(ctx.tree, interp, { cwd: ctx.cwd });
    if (!ir.ok || interp === '') {
      const why = ir.ok ? undefined : errnoOf(ir);
      return fail({
        code: 'shebang-interpreter-missing',
        interpreter: interp,
        runtimeError: script.runc(runcPath, why),
        message: why
          ? script.messageUnreachable(r.path, interp, `${ir.ok ? interp : ir.at}: ${why}`)
          : crlf
            ? script.messageCrlf(r.path, shown(interp))
            : script.message(r.path, sb.raw.trim(), interp),
        path: r.path,
        node,
        fix: crlf ? script.fixCrlf(r.path) : script.fix(interp),
        evidence: [`#!${shown(sb.raw)}`, ...(ir.ok ? [] : [`${ir.at} ${why ?? 'does not exist'}`])],
      });
    }
    // the kernel walks to the interpreter as the container's user
    const shutInterp = unsearchable(ctx.tree, ir.path, ctx.user ?? undefined);
    if (shutInterp)
      return fail({ ...searchFailure(runcPath, `${r.path}'s interpreter ${interp}`, shutInterp, ctx.user!.uid), interpreter: interp });
    if (ir.node.type === 'dir' || (ir.node.mode & 0o111) === 0) {
      return fail({
        code: 'not-executable',
        interpreter: interp,
        runtimeError: CATALOG['not-executable'].runcExec(runcPath),
        message: CATALOG['not-executable'].messageInterpreter(interp, r.path, ir.node.type === 'dir'),
        path: ir.path,
        node: ir.node,
        fix: CATALOG['not-executable'].fixInterpreter(r.path, ir.path, ir.node.type === 'dir'),
        evidence: [`#!${shown(sb.raw)}`, `${ir.path} mode ${ir.node.mode.toString(8)}`],
      });
    }
    // /usr/bin/env NAME: env then looks NAME up in PATH itself.
    const base = interp.slice(interp.lastIndexOf('/') + 1);
    if (base === 'env' && sb.arg) {
      const call = envProgram(sb.arg, ctx.env);
      if (call) {
        const prog = call.prog;
        // what env sets (-S "PATH=… prog") holds for its own lookup
        const envAfter = [...ctx.env, ...call.assigns];
        // Follow env first, so a broken env itself is reported before what it would run.
        const envResult = emulateExec(ctx, ir.path, interp, depth + 1, runcPath);
        if (envResult.failure)
          return { ...envResult, trace: [...result.trace, ...envResult.trace], scripts: [...result.scripts, ...envResult.scripts] };
        const found = lookPath(ctx.tree, prog, envAfter, ctx.cwd, ctx.user, false); // env's execvp: no ErrDot
        if (!found.ok) {
          const busybox = /busybox/.test(ir.path) || /busybox/.test(envResult.program?.path ?? '');
          return fail({
            code: 'shebang-interpreter-missing',
            byEnv: true,
            runtimeError: script.runcEnv(interp, prog, busybox),
            message: /[ \t]/.test(prog)
              ? script.messageEnvOneArg(r.path, prog, interp)
              : script.messageEnv(r.path, prog, interp, containerPath(envAfter)),
            path: r.path,
            node,
            fix: /[ \t]/.test(prog) ? script.fixEnvOneArg(prog, interp) : script.fix(prog),
            evidence: [`#!${shown(sb.raw)}`, found.detail],
          });
        }
        result.trace.push(`${interp} runs ${prog}: found ${found.real}`);
        path = found.real;
        curArgv0 = prog;
        viaEnv = true;
        continue;
      }
    }
    path = ir.path;
    curArgv0 = interp;
    viaEnv = false;
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

export interface ExecStep extends StepResult {
  /** The ELF program the loader then runs, when execve gets that far. */
  program: NonNullable<ExecResult['program']> | null;
  /** Why execve failed, when it did. */
  failure: ExecFailure | null;
  /** The #! scripts on the way to the program, the first executed first. */
  scripts: string[];
}

/** execve: its step, the error when the kernel refuses (and, for another machine's ELF, the warning naming both). */
/** A UTF-8 byte order mark before "#!": editors on Windows write one, and the kernel then sees no #!. */
const bom = (head: Buffer) =>
  head.length >= 5 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf && head[3] === 0x23 && head[4] === 0x21;

export function execStep(ctx: ExecContext, execPath: string, argv0: string, configArch: string | null): ExecStep {
  const ex = emulateExec(ctx, execPath, argv0);
  if (!ex.failure)
    return {
      program: ex.program,
      failure: null,
      scripts: ex.scripts,
      step: { step: 'exec', ok: true, detail: ex.trace.join('; ') },
      findings: [],
    };
  const f = ex.failure;
  const findings: Diagnostic[] = [
    {
      severity: 'error',
      code: f.code,
      message: f.message,
      path: f.path,
      layer: f.node?.layer ?? null,
      runtimeError: f.runtimeError,
      fix: f.fix,
      evidence: f.evidence,
    },
  ];
  // An ELF of another machine also gets its own warning, naming both architectures.
  const d = f.code === 'exec-format' && f.node ? ctx.catalog.of(f.node) : null;
  if (d?.ok && f.node) {
    const w = archWarning({ path: f.path, node: f.node, info: d.info, load: null }, configArch);
    if (w) findings.push(w);
  }
  return {
    program: null,
    failure: f,
    scripts: ex.scripts,
    step: { step: 'exec', ok: false, detail: [...ex.trace, f.message].join('; ') },
    findings,
  };
}

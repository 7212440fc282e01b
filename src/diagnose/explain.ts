/** The story behind each diagnostic code, for `scratchscope explain CODE`. */
import type { Code } from './types.js';

export const EXPLAIN: Record<Code, string> = {
  'user-missing': `USER names a user (or group) that the image's /etc/passwd (or /etc/group) does not define.
Before anything runs, the runtime looks the name up in the image, not on the host. A FROM scratch
image usually has no /etc/passwd at all, so USER nobody fails with "unable to find user nobody:
no matching entries in passwd file". Numeric ids need no lookup: USER 65532:65532 always works.`,
  'no-command': `The image has neither ENTRYPOINT nor CMD. A FROM scratch image inherits nothing, so unless the
Dockerfile says what to run, docker run answers "No command specified". Add ENTRYPOINT ["/app"].`,
  'shell-missing': `CMD or ENTRYPOINT written without brackets (shell form) runs as ["/bin/sh", "-c", "…"]. A
FROM scratch image has no /bin/sh, so the runtime fails with exec: "/bin/sh": stat /bin/sh: no such
file or directory, even though your program is right there. Use the exec form: ENTRYPOINT ["/app"].`,
  'exec-not-found': `The program the command names is not in the image: a wrong COPY destination, a typo or a case
difference, a symlink pointing nowhere, or a later step that deleted it. The runtime says
exec: "/app": stat /app: no such file or directory before it ever tries to run anything.`,
  'exec-not-in-path': `A command without a slash is searched in the container's PATH (the image's ENV PATH, or Docker's
default /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin). If no folder of it has the
program, the runtime says: executable file not found in $PATH. Use an absolute path.`,
  'not-executable': `The file exists but has no execute bit (or is a directory). Mode bits travel with COPY, so a file
that was not executable in the build context is not executable in the image: COPY --chmod=755.`,
  'exec-format': `The kernel refused the file: it is an ELF for another CPU (an arm64 binary on amd64, say), or it is
neither ELF nor a script with a #! first line. The runtime says exec /app: exec format error.
Build for the image's architecture, or add the #! line.`,
  'interpreter-missing': `The most confusing error of FROM scratch: exec /app: no such file or directory, while /app is
plainly there. A dynamically linked program names its loader in PT_INTERP (for glibc
/lib64/ld-linux-x86-64.so.2, for musl /lib/ld-musl-x86_64.so.1); the kernel must open that file
first, and an empty image does not have it. Link statically (CGO_ENABLED=0, gcc -static), or ship
the loader and the libraries it loads.`,
  'shebang-interpreter-missing': `The program is a script whose #! line names an interpreter the image lacks (/bin/sh, python3
through /usr/bin/env, …). Scripts written on Windows hide a carriage return at the end of that
line, so the kernel looks for "/bin/sh\\r". Either way the runtime says no such file or directory.`,
  'library-missing': `The loader started, then could not find a shared library the program (or one of its libraries)
needs. It searched RPATH, LD_LIBRARY_PATH, RUNPATH, /etc/ld.so.cache and its default folders in the
image, and the container exits with "error while loading shared libraries: libX.so: cannot open
shared object file". Copy the library from the build stage or link statically.`,
  'symbol-version-missing': `The program was linked against a newer library than the image has: it needs a symbol version
(GLIBC_2.34, say) that the image's library does not define. glibc checks every version before it
gives up and prints one line per missing version. Build on the same (or an older) distribution as
the one you run on, or link statically.`,
  'symbol-version-weak': `A symbol version the program asks for weakly is missing; the loader only warns.`,
  'loader-limit': `The program's libraries go past what scratchscope follows (thousands of libraries needing each
other, a search path of tens of thousands of folders, a gigantic ld.so.cache): it stopped there
rather than hang, so the libraries after that point are not checked. Real programs stay far below
these limits; an image that reaches them was most likely made to.`,
  'symbol-missing': `Every library was found, but one of them (or the program) uses a symbol that no loaded object
defines: a library from another release that dropped or renamed a function, or one built against the
other C library (glibc's __printf_chk under musl, musl's strlcpy under an older glibc). musl binds
every symbol at load and prints "Error relocating /app: sym: symbol not found". glibc binds variables
(data and copy relocations) at load, and functions too when the object is linked with -z now (BIND_NOW,
common in hardened builds) or LD_BIND_NOW is set: "/app: symbol lookup error: /app: undefined symbol:
sym". Weak references never fail. Ship the library release the program was built against, or build
the program against the libraries the image has.`,
  'symbol-missing-lazy': `A function the program (or a library) calls is defined by no loaded object, but glibc binds
functions at their first call (lazy binding, without -z now): the program starts, and dies with
"symbol lookup error: … undefined symbol: sym" if and when it calls that function.`,
  'static-glibc-nss': `glibc cannot be fully static: getaddrinfo, getpwnam and friends load libnss_*.so.2 modules at run
time, and the linker warns about it ("Using 'getaddrinfo' in statically linked applications requires
at runtime the shared libraries from the glibc version used for linking"). In a FROM scratch image
they are absent, so name lookups fail or fall back silently. Use musl, or Go with CGO_ENABLED=0.`,
  'ca-certificates-missing': `The program makes TLS connections, and verifying a server needs the CA certificates a base image
would bring. FROM scratch has none, so HTTPS fails with "x509: certificate signed by unknown
authority". Copy /etc/ssl/certs/ca-certificates.crt from the build stage.`,
  'tmp-missing': `FROM scratch has no /tmp, and programs that create temporary files there fail. A scratch image
cannot RUN mkdir; copy an empty folder with mode 1777, or mount a tmpfs.`,
  'zoneinfo-missing': `The program loads named time zones and the image has no /usr/share/zoneinfo. Go can embed the
database (import _ "time/tzdata"); otherwise copy it from the build stage.`,
  'go-cgo-enabled': `Go links against the C library when cgo is on (the default when a C compiler is present), which
makes the binary need a libc and its loader at run time. CGO_ENABLED=0 gives a self-contained
binary that runs FROM scratch.`,
  'arch-mismatch': `The image's config says one architecture and the program is built for another. The runtime picks
images by the config, and the kernel then refuses the binary (exec format error) unless emulation is
set up.`,
  'shell-form-signals': `A shell-form command starts /bin/sh as PID 1, which starts your program as its child. docker stop
sends SIGTERM to PID 1, the shell does not pass it on, and the container is killed after the grace
period: no clean shutdown. Use the exec form, or exec in the command.`,
  'elf-damaged': `The program's ELF structures point outside the file or are inconsistent: it is truncated or
corrupt, and may fail in ways that depend on what is missing.`,
  'layer-problem': `A layer tar is inconsistent, e.g. a hard link to a file that is not there: a runtime applying the
layer would fail or skip the entry.`,
};

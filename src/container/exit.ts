/** What an exit code usually means, as shells and the engines use them. */

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

export function exitMeaning(code: number, oomKilled: boolean): string {
  if (oomKilled) return 'killed by the kernel for using more memory than its limit (OOMKilled)';
  switch (code) {
    case 0:
      return 'exited normally (success)';
    case 1:
      return 'the program (or runc, for an exec it could not do) reported a general error';
    case 2:
      return 'the program reported a usage error';
    case 125:
      return 'the engine could not run the container';
    case 126:
      return 'the command was found but could not be invoked (not executable)';
    case 127:
      return 'command not found (or its loader or a library it needs)';
    case 137:
      return 'killed with SIGKILL (docker kill, the stop timeout running out, or the OOM killer without OOMKilled recorded)';
    case 139:
      return 'crashed with SIGSEGV (segmentation fault)';
    case 143:
      return 'stopped with SIGTERM (docker stop)';
  }
  if (code > 128 && code < 160) return `killed by signal ${code - 128}${SIGNALS[code - 128] ? ` (${SIGNALS[code - 128]})` : ''}`;
  return `the program exited with status ${code}`;
}

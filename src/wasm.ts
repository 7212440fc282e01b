/**
 * The explorer's layout engine (yoga) is WebAssembly. With V8's trap handler on, Node's
 * default, each wasm memory reserves about 10 GB of address space, so under a lower
 * `ulimit -v` it cannot start. Node >= 20.15 takes --disable-wasm-trap-handler (bounds
 * checks in the code instead), but only at start: the explorer relaunches itself with it.
 * Without guard pages V8 still reserves each memory's declared maximum (yoga's is GBs), so
 * the relaunch also caps wasm memories at 512 MiB, far more than laying out a screen takes,
 * leaving room for the decoding workers' own reservations.
 */
import { spawn } from 'node:child_process';
import { ScopeError } from './errors.js';

const FLAG = '--disable-wasm-trap-handler';
const CAP = '--wasm-max-mem-pages=8192'; // 64 KiB pages: 512 MiB

function wasmMemoryAvailable(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1 });
    return true;
  } catch {
    return false;
  }
}

/** Runs this command again with the flag when wasm memory cannot be had; true when it did. */
export async function relaunchForWasm(): Promise<boolean> {
  if (wasmMemoryAvailable()) return false;
  if (process.execArgv.includes(FLAG) || !process.allowedNodeEnvironmentFlags.has(FLAG)) {
    throw new ScopeError(
      'unsupported',
      `the explorer's layout engine is WebAssembly and cannot reserve memory under this address-space limit (ulimit -v) on Node ${process.version}${process.execArgv.includes(FLAG) ? '' : ' (Node >= 20.15 can, with bounds checks instead of guard pages)'}; raise the limit or use inspect`,
    );
  }
  const child = spawn(process.execPath, [...process.execArgv, FLAG, CAP, ...process.argv.slice(1)], { stdio: 'inherit' });
  // The terminal sends Ctrl-C to both of us; other signals are for the child to act on.
  const relay = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on('SIGINT', () => {});
  process.on('SIGTERM', relay('SIGTERM'));
  process.on('SIGHUP', relay('SIGHUP'));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  process.exitCode = code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 2);
  return true;
}

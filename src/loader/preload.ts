/**
 * Libraries loaded before the program's own needs: LD_PRELOAD (glibc and musl), then
 * /etc/ld.so.preload (glibc only), each found as if the program named it. One that cannot be
 * loaded is skipped (glibc says so on stderr, musl says nothing), but a library a preloaded
 * one needs, or a symbol version it needs, must be there as for any other (rtld.c,
 * handle_preload_list and the /etc/ld.so.preload block of dl_main; musl's load_preload).
 */
import { readSmallFile, resolvePath } from '../fs/index.js';
import { envValue } from '../source/config.js';
import { mayRead } from './access.js';
import type { LoaderContext } from './search.js';
import type { Preload } from './types.js';

/** /etc/ld.so.preload is read whole; one larger than this is not read (it would be a hostile one). */
const PRELOAD_FILE_LIMIT = 1 << 20;
export const PRELOAD_FILE = '/etc/ld.so.preload';

export type PreloadName = Pick<Preload, 'name' | 'from'>;

/** The names to preload, in the loader's order. */
export function preloadNames(ctx: LoaderContext, musl: boolean): PreloadName[] {
  const out: PreloadName[] = [];
  const env = envValue(ctx.env, 'LD_PRELOAD');
  if (env) {
    // glibc splits at " " and ":"; musl at any white space and ":"
    for (const name of env.split(musl ? /[\s:]/ : /[ :]/)) {
      if (name !== '') out.push({ name, from: 'LD_PRELOAD' });
    }
  }
  if (!musl) out.push(...preloadFile(ctx));
  return out;
}

/** /etc/ld.so.preload: names apart by white space or ":", "#" comments; read only if the user may. */
function preloadFile(ctx: LoaderContext): PreloadName[] {
  const r = resolvePath(ctx.tree, PRELOAD_FILE);
  if (!r.ok || (r.node.type !== 'file' && r.node.type !== 'hardlink') || !mayRead(r.node, ctx.user)) return [];
  const bytes = readSmallFile(r.node.content, PRELOAD_FILE_LIMIT);
  return bytes ? preloadFileNames(bytes).map((name) => ({ name, from: PRELOAD_FILE })) : [];
}

const isSeparator = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x3a;

/**
 * The names in /etc/ld.so.preload's bytes, cut as dl_main cuts them. Its comment loop looks for
 * each "#" from the start of the file again, within a count of bytes that each comment shrinks,
 * so a later comment is blanked only in part ("libx.so # the one" can leave "one" as a name);
 * a name at the very end without a separator after it is taken whole; a NUL ends the rest.
 */
export function preloadFileNames(file: Buffer): string[] {
  const buf = Buffer.from(file);
  const size = buf.length;
  if (size === 0) return [];
  for (let rest = size; rest > 0;) {
    const comment = buf.subarray(0, rest).indexOf(0x23);
    if (comment < 0) break;
    rest -= comment;
    let at = comment;
    do buf[at] = 0x20;
    while (--rest > 0 && buf[++at] !== 0x0a);
  }
  let end = size - 1; // the main text: all but a last name with no separator after it
  let last: Buffer | null = null;
  if (!isSeparator(buf[size - 1])) {
    let start = size;
    while (start > 0 && !isSeparator(buf[start - 1])) start--;
    last = buf.subarray(start);
    end = start > 0 ? start - 1 : -1;
  }
  const text = (b: Buffer) => {
    const nul = b.indexOf(0);
    return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
  };
  const names = end > 0 ? text(buf.subarray(0, end)).split(/[: \t\n]/) : [];
  if (last) names.push(text(last));
  return names.filter((name) => name !== '');
}

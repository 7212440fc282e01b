/** Tar headers written byte by byte, for archives no well-behaved tool would make. */

export interface RawEntry {
  name: string | Buffer;
  type?: string; // typeflag character
  size?: number; // declared size (may lie)
  body?: Buffer;
  linkname?: string;
  mode?: number;
  /** pax records to put in front (path, linkpath, size, …) */
  pax?: Record<string, string | Buffer>;
}

function octal(n: number, len: number): Buffer {
  return Buffer.from(n.toString(8).padStart(len - 1, '0') + '\0', 'latin1');
}

function base256(n: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let v = BigInt(n);
  for (let i = len - 1; i >= 1; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[0] = 0x80;
  return b;
}

export function header(e: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name);
  name.copy(h, 0, 0, Math.min(100, name.length));
  octal(e.mode ?? 0o644, 8).copy(h, 100);
  octal(0, 8).copy(h, 108);
  octal(0, 8).copy(h, 116);
  const size = e.size ?? e.body?.length ?? 0;
  (size > 0o77777777777 ? base256(size, 12) : octal(size, 12)).copy(h, 124);
  octal(0, 12).copy(h, 136);
  h.write(e.type ?? '0', 156, 'latin1');
  if (e.linkname) h.write(e.linkname, 157, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  octal(sum, 7).copy(h, 148);
  h[155] = 0x20;
  return h;
}

function pad(b: Buffer): Buffer {
  const rem = b.length % 512;
  return rem ? Buffer.concat([b, Buffer.alloc(512 - rem)]) : b;
}

export function paxBody(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const val = Buffer.isBuffer(v) ? v : Buffer.from(v);
    const rest = Buffer.concat([Buffer.from(` ${k}=`), val, Buffer.from('\n')]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), rest]));
  }
  return Buffer.concat(parts);
}

export function rawTar(entries: RawEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const body = paxBody(e.pax);
      parts.push(header({ name: 'PaxHeader', type: 'x', body }), pad(body));
    }
    parts.push(header(e));
    if (e.body) parts.push(pad(e.body));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

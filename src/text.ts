/**
 * A string safe to print on a terminal: whatever the image controls (names, link targets,
 * config fields) goes through here. C0 and C1 controls, DEL and the bidi overrides are shown
 * escaped (`\x1b`, `\u202e`), so a name can neither drive the terminal nor fake a line; the
 * bytes of a name that is not UTF-8 are shown as they are (`\xe4`).
 * A base module, like errors.ts: every layer that words a message may use it.
 */
export function printable(s: string): string {
  // printable ASCII (nearly every path) needs nothing: one scan, no regular expression
  let i = 0;
  for (let c; i < s.length && (c = s.charCodeAt(i)) >= 0x20 && c < 0x7f; i++);
  if (i === s.length) return s;
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\udc80-\udcff]/gu, (c) => {
    const n = c.charCodeAt(0);
    if (n >= 0xdc80 && n <= 0xdcff) return `\\x${(n - 0xdc00).toString(16)}`; // a byte of a name that is not UTF-8 (archive/tar.ts)
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16)}`;
  });
}

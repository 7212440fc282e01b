/** Colours, or none: NO_COLOR (https://no-color.org) turns every colour off; marks and letters stay. */
export const colorOn = (): boolean => !('NO_COLOR' in process.env) || process.env.NO_COLOR === '';

export function c(color: string | undefined): string | undefined {
  return colorOn() ? color : undefined;
}

export const MARK_COLOR = { A: 'green', M: 'yellow', D: 'red' } as const;

export interface Style {
  color?: string;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
  strike?: boolean;
}

const SGR_COLOR: Record<string, number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90 };

/**
 * Text with its style as escape codes. A pane is drawn as one pre-styled text, not a node
 * per cell: ink lays out and measures every node each frame, and that was most of a key's cost.
 */
export function sgr(text: string, st: Style): string {
  const codes: number[] = [];
  const color = c(st.color);
  if (color && SGR_COLOR[color]) codes.push(SGR_COLOR[color]);
  if (st.bold) codes.push(1);
  if (st.dim) codes.push(2);
  if (st.inverse) codes.push(7);
  if (st.strike) codes.push(9);
  return codes.length ? `\x1b[${codes.join(';')}m${text}\x1b[0m` : text;
}

/** Styled pieces joined into one line cut to `width` columns (… where cut), padded when `fill`. */
export function styled(parts: [string, Style][], width: number, fill = false): string {
  let room = width;
  let out = '';
  for (let i = 0; i < parts.length && room > 0; i++) {
    const [text, st] = parts[i]!;
    const chars = [...text];
    const rest = parts.slice(i + 1).reduce((n, [t]) => n + t.length, 0);
    if (chars.length > room || (chars.length === room && rest > 0)) {
      out += sgr(chars.slice(0, Math.max(0, room - 1)).join('') + '…', st);
      room = 0;
      break;
    }
    out += sgr(text, st);
    room -= chars.length;
  }
  if (fill && room > 0) out += sgr(' '.repeat(room), parts[parts.length - 1]?.[1] ?? {});
  return out;
}

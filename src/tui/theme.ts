/** Colours, or none: NO_COLOR (https://no-color.org) turns every colour off; marks and letters stay. */
export const colorOn = (): boolean => !('NO_COLOR' in process.env) || process.env.NO_COLOR === '';

export function c(color: string | undefined): string | undefined {
  return colorOn() ? color : undefined;
}

export const MARK_COLOR = { A: 'green', M: 'yellow', D: 'red' } as const;

declare module 'elfy' {
  export class Parser {
    parseHeader(buf: Buffer): Record<string, unknown>;
  }
  export const constants: Record<string, Record<number, string>>;
  export function parse(buf: Buffer): Record<string, unknown>;
  const elfy: { Parser: typeof Parser; constants: typeof constants; parse: typeof parse };
  export default elfy;
}

/** The story behind each diagnostic code, for `scratchscope explain CODE`: read from the catalogue. */
import { CATALOG } from './catalog.js';
import { exampleLines } from './runtimes.js';
import type { Code } from './types.js';

export const EXPLAIN = Object.fromEntries(Object.entries(CATALOG).map(([code, e]) => [code, e.story])) as Record<Code, string>;

/** What `explain CODE` prints: the story, then each runtime's words; null for an unknown code. */
export function explainText(code: string): string | null {
  if (!Object.hasOwn(EXPLAIN, code)) return null;
  const lines = exampleLines(code as Code);
  const words = lines
    ? `\nIn each runtime's words (for a program /app):\n${Object.entries(lines)
        .map(([k, v]) => `  ${k.padEnd(10)} ${v ?? "(not this runtime's to say: the engine decides before it runs)"}`)
        .join('\n')}\n`
    : '';
  return `${code}\n\n${EXPLAIN[code as Code]}\n${words}`;
}

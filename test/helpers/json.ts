/** Parsed JSON, typed as the test expects it to be; the assertions that follow check it. */
import { readFileSync } from 'node:fs';
import type { Report } from '../../src/report/index.js';

export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function readJson<T>(path: string | URL): T {
  return parseJson<T>(readFileSync(path, 'utf8'));
}

/** The report `inspect --json` prints. */
export function parseReport(stdout: string): Report {
  return parseJson<Report>(stdout);
}

/** `o` without `keys`. */
export function omit<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Omit<T, K> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !(keys as readonly PropertyKey[]).includes(k))) as Omit<T, K>;
}

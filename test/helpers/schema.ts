/**
 * Every JSON output the tests see is checked against docs/report.schema.json: the report
 * (its root) and each command's own definition there. cli() and the registry helper's run()
 * call checkJsonOutput on what the command printed, so no test can read JSON the schema
 * does not describe.
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';

export const SCHEMA = JSON.parse(readFileSync(new URL('../../docs/report.schema.json', import.meta.url), 'utf8')) as {
  $id: string;
  definitions: Record<string, { properties?: Record<string, unknown> }>;
};

/** The schema's definitions of command outputs (src/json.ts). */
export type JsonOutput =
  | 'Report'
  | 'CheckJson'
  | 'LddJson'
  | 'ClosureJson'
  | 'ClosureCopiesJson'
  | 'FilesJson'
  | 'ChangesJson'
  | 'RepairJson'
  | 'SlimJson'
  | 'ContainerJson'
  | 'PodJson';

const ajv = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true, strict: true });
ajv.addSchema(SCHEMA);

/** Whether `json` is a valid `definition`, and why not. */
export function validateAs(json: unknown, definition: JsonOutput): { ok: boolean; errors: string } {
  const validate = ajv.getSchema(`${SCHEMA.$id}#/definitions/${definition}`);
  if (!validate) throw new Error(`docs/report.schema.json has no definition ${definition}`);
  const ok = validate(json) as boolean;
  return { ok, errors: ok ? '' : JSON.stringify(validate.errors?.slice(0, 5)) };
}

export function assertSchema(json: unknown, definition: JsonOutput): void {
  const r = validateAs(json, definition);
  if (!r.ok) throw new Error(`JSON output does not match ${definition} in docs/report.schema.json: ${r.errors}`);
}

const COMMANDS = new Set(['inspect', 'check', 'ldd', 'closure', 'files', 'repair', 'slim', 'container', 'pod', 'explain', 'cat']);

/** Which definition a command line's stdout is, or null when it prints no JSON there. */
export function jsonOutputOf(args: string[]): JsonOutput | null {
  const has = (flag: string) => args.some((a) => a === flag || a.startsWith(flag + '='));
  const command = args.find((a) => COMMANDS.has(a)) ?? null;
  if (command === 'check') {
    const i = args.indexOf('--format');
    const format = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith('--format='))?.slice('--format='.length);
    return format === 'json' && !has('--output') ? 'CheckJson' : null;
  }
  if (!has('--json')) return null;
  switch (command) {
    case null:
    case 'inspect':
      return 'Report';
    case 'ldd':
      return 'LddJson';
    case 'closure':
      return has('--dockerfile') ? 'ClosureCopiesJson' : 'ClosureJson';
    case 'files':
      return has('--layer') ? 'ChangesJson' : 'FilesJson';
    case 'repair':
      return 'RepairJson';
    case 'slim':
      return 'SlimJson';
    case 'container':
      return 'ContainerJson';
    case 'pod':
      return 'PodJson';
    default:
      return null;
  }
}

/** Validates what a command printed when it printed JSON (exit 0, or 1 for a failing gate). */
export function checkJsonOutput(args: string[], r: { status: number | null; stdout: string }): void {
  const definition = jsonOutputOf(args);
  if (!definition || (r.status !== 0 && r.status !== 1) || !r.stdout.trim()) return;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return; // not JSON (annotations first, say): the test itself says what it expects
  }
  const v = validateAs(json, definition);
  if (!v.ok)
    throw new Error(`scratchscope ${args.join(' ')}: its JSON does not match ${definition} in docs/report.schema.json: ${v.errors}`);
}

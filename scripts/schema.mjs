#!/usr/bin/env node
// docs/report.schema.json, generated from the types of src/json.ts (npm run schema):
// `Report` is the root, every command's JSON output a definition beside it, each type's
// JSDoc its description. `node scripts/schema.mjs --check` regenerates it to a temporary
// file and fails, with the difference, when the committed one is not what the types say.
import { spawnSync } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, 'docs/report.schema.json');
// ts-json-schema-generator 2.5 expands `path` with fs.globSync, which Node 20 lacks;
// a literal path is its own expansion.
fs.globSync ??= (p) => [p];

/** The root, then each command's output, in the order src/json.ts lists them. */
const ROOT = 'Report';
const OUTPUTS = [
  'CheckJson',
  'LddJson',
  'ClosureJson',
  'ClosureCopiesJson',
  'FilesJson',
  'ChangesJson',
  'RepairJson',
  'SlimJson',
  'ContainerJson',
  'PodJson',
];

function generate() {
  const generator = createGenerator({
    path: join(root, 'src/json.ts'),
    tsconfig: join(root, 'tsconfig.json'),
    expose: 'export',
    jsDoc: 'extended',
    additionalProperties: false,
    sortProps: true,
    skipTypeCheck: true, // tsc checks the types (npm run typecheck); this only reads them
  });
  const definitions = {};
  for (const type of [ROOT, ...OUTPUTS]) Object.assign(definitions, generator.createSchema(type).definitions);
  const sorted = Object.fromEntries(
    Object.keys(definitions)
      .sort()
      .map((k) => [k, definitions[k]]),
  );
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://scratchscope.invalid/report.schema.json',
    title: 'scratchscope inspect --json report',
    description:
      'Generated from src/json.ts by `npm run schema`; do not edit. The root is `inspect --json` (Report); ' +
      "every other command's JSON output is a definition: " +
      OUTPUTS.map((t) => `${t} (${(definitions[t]?.description ?? '').replace(/\.$/, '')})`).join(', ') +
      '. schemaVersion changes when a field changes meaning or is removed (docs/report.md).',
    $ref: `#/definitions/${ROOT}`,
    definitions: sorted,
  };
}

const text = JSON.stringify(generate(), null, 2) + '\n';
if (process.argv.includes('--check')) {
  const dir = mkdtempSync(join(tmpdir(), 'scratchscope-schema-'));
  try {
    const fresh = join(dir, 'report.schema.json');
    writeFileSync(fresh, text);
    const same = readFileSync(target, 'utf8') === text;
    if (!same) {
      spawnSync('diff', ['-u', target, fresh], { stdio: 'inherit' });
      console.error('schema: docs/report.schema.json differs from what the types in src/json.ts say; run `npm run schema` and commit it');
      process.exit(1);
    }
    console.log('schema: docs/report.schema.json matches the types');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  writeFileSync(target, text);
  console.log('schema: wrote docs/report.schema.json');
}

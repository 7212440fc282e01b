// Layer rules (npm run gates): the import graph of src/, checked by dependency-cruiser.
// The layers, lowest first: a module may import values from its own layer and the ones
// below, never from a layer above (type-only imports are erased at build and allowed).
// README.md's "Architecture" section draws the same order.
const LAYERS = [
  ['base', '^src/(errors|text)\\.ts$|^src/types/'], // errors and escaping, for every layer
  ['archive', '^src/archive/'], // tar, decompression, byte readers
  ['source', '^src/source/'], // where an image comes from: archives, layouts, engine, registry
  ['layers', '^src/layers/'], // each layer's entries, read once
  ['fs', '^src/fs/'], // the merged tree, paths, file bytes
  ['elf', '^src/elf/'], // ELF decoding
  ['loader', '^src/loader/'], // what ld.so / musl would load, and why
  ['model', '^src/load\\.ts$'], // source -> layers -> tree: the ImageModel
  ['diagnose', '^src/diagnose/'], // the launch, step by step, and its findings
  ['closure', '^src/closure/'], // what a program needs (the report carries it)
  ['report', '^src/report/'], // the Report: the contract every front end reads
  ['commands', '^src/(container|repair|verdict)/'], // container/pod analysis, repair and slim, the verdict first
  ['render', '^src/render/'], // text, JSON and CI formats of the report
  ['tui', '^src/tui/'], // the explorer
  ['cli', '^src/(cli|json|wasm)\\.ts$'], // the command line, on top
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} may not import values from the layers above it (${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(', ')})`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
    dependencyTypesNot: ['type-only'],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'no import cycles, type-only ones aside',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'front-ends-read-the-report',
      comment: 'render/ and tui/ read the Report and the file-tree view (src/report/), never the model, the tree or the decoders',
      severity: 'error',
      from: { path: '^src/(render|tui)/' },
      to: { path: '^src/', pathNot: '^src/(render|tui|report)/|^src/(errors|text)\\.ts$' },
    },
    {
      name: 'no-unlayered-module',
      comment: 'every module of src/ belongs to a layer above (add a new folder to LAYERS)',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(([, p]) => `(${p})`).join('|') },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

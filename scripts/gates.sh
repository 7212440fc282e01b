#!/usr/bin/env bash
# The gates (npm run gates), run first by scripts/test.sh and so by CI: each says what it
# checks in one line and the first that fails ends the run.
#   lint        eslint src test bench (typescript-eslint, recommended-type-checked)
#   format      prettier --check .
#   types       tsc -p tsconfig.check.json (strict, noUncheckedIndexedAccess, src + test + bench)
#   schema      docs/report.schema.json is what the types in src/json.ts generate
#   duplicates  jscpd over src/ (.jscpd.json: any clone of 50 tokens or more fails)
#   layers      dependency-cruiser (.dependency-cruiser.cjs): no cycles, no value import
#               from a lower layer up, front ends read the report only
set -euo pipefail
cd "$(dirname "$0")/.."

gate() {
  local name=$1
  shift
  echo "gate: $name: $*"
  if ! "$@"; then
    echo "gate: $name FAILED ($*)" >&2
    exit 1
  fi
}

gate lint npx eslint src test bench
gate format npx prettier --check --log-level warn .
gate types npx tsc -p tsconfig.check.json
gate schema node scripts/schema.mjs --check
gate duplicates npx jscpd --silent
gate layers npx depcruise src --config .dependency-cruiser.cjs
echo "gates: all passed"

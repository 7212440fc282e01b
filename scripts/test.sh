#!/usr/bin/env bash
# The test command README.md shows (npm test), and what CI runs.
# It prepares what the suite needs on a fresh machine, then runs it with nothing skipped:
#   - installs the Debian packages the tests use, when missing (needs root and apt-get);
#   - builds dist/ (the CLI the tests run);
#   - uses the engine at DOCKER_HOST when one answers, else starts a private one
#     (scripts/engine.sh: vfs storage, no iptables) and stops it afterwards.
# Both start with the gates (scripts/gates.sh, npm run gates): lint, format, types, the
# report schema, duplicates and layers; the first that fails ends the run.
# `scripts/test.sh --unit` (npm run test:unit) is the quick run: no installs, no engine,
# only the suites that need neither.
set -euo pipefail
cd "$(dirname "$0")/.."

unit=false
[ "${1:-}" = "--unit" ] && unit=true

# command-or-file : Debian package
needs=(
  "dockerd:docker.io" "skopeo:skopeo" "musl-gcc:musl-tools" "tmux:tmux" "debootstrap:debootstrap"
  "go:golang-go" "/usr/lib/gcc/x86_64-linux-gnu/12/32/crtbegin.o:gcc-multilib"
  "docker-registry:docker-registry" "podman:podman" "crun:crun" "openssl:openssl" "setcap:libcap2-bin" "xz:xz-utils" "bzip2:bzip2"
)

# The gates first (lint, format, types, schema, duplicates, layers): scripts/gates.sh.
bash scripts/gates.sh

run_tests() {
  node --import tsx --test --test-concurrency=1 "$@"
}

npm run --silent build

if $unit; then
  files=()
  for f in test/*.test.ts test/*.test.tsx; do
    case "$f" in *engine*|*corpus*|*registry*|*container*|*distro*|*podman*|*repair*|*symbols*|*check-image*|*hostile-suite*|*terminal*) ;; *) files+=("$f") ;; esac
  done
  run_tests "${files[@]}"
  exit
fi

missing=()
for n in "${needs[@]}"; do
  what=${n%%:*} pkg=${n#*:}
  if [[ $what == /* ]]; then [ -e "$what" ] || missing+=("$pkg"); else command -v "$what" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test: these Debian packages are missing and I cannot install them (need root and apt-get): ${missing[*]}" >&2
    exit 2
  fi
  echo "test: installing Debian packages the suite needs: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

engine_dir=
cleanup() {
  if [ -n "$engine_dir" ]; then
    echo "test: stopping the private engine"
    scripts/engine.sh stop "$engine_dir" || true
    rm -rf "$engine_dir" 2>/dev/null || true
  fi
}
trap cleanup EXIT
if [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ] && docker version >/dev/null 2>&1; then
  export DOCKER_HOST=unix:///var/run/docker.sock
fi
if [ -z "${DOCKER_HOST:-}" ] || ! docker version >/dev/null 2>&1; then
  engine_dir=$(mktemp -d "${TMPDIR:-/tmp}/scratchscope-test-engine.XXXXXX")
  echo "test: starting a private Docker engine in $engine_dir"
  DOCKER_HOST=$(scripts/engine.sh start "$engine_dir")
  export DOCKER_HOST
fi
echo "test: engine at $DOCKER_HOST"

# Everything the suite needs is here now: no test may skip itself (the suites read CI=true so).
export CI=true
run_tests test/*.test.ts test/*.test.tsx

#!/usr/bin/env bash
# Start or stop a private Docker engine for tests and fixtures.
# Usage: scripts/engine.sh start DIR   (prints the DOCKER_HOST to use)
#        scripts/engine.sh stop DIR
# The engine runs with the vfs storage driver and no networking setup, so it
# needs no kernel modules or iptables; everything it writes stays under DIR.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?engine folder}
case "$cmd" in
  start)
    if ! command -v dockerd >/dev/null 2>&1; then
      echo "engine: installing Debian's docker.io" >&2
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -S "$dir/docker.sock" ] && DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1; then
      echo "unix://$dir/docker.sock"; exit 0
    fi
    nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
      --data-root "$dir/root" --exec-root "$dir/exec" -H "unix://$dir/docker.sock" \
      --pidfile "$dir/pid" >"$dir/dockerd.log" 2>&1 &
    for _ in $(seq 1 120); do
      if DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1; then
        echo "unix://$dir/docker.sock"; exit 0
      fi
      sleep 0.5
    done
    echo "engine: dockerd did not start; last log lines:" >&2
    tail -n 20 "$dir/dockerd.log" >&2 || true
    exit 1
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      pid=$(cat "$dir/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    # dockerd leaves its network namespace mounted (exec/netns/default): unmount what it left
    # under DIR, so the folder can be removed
    if [ -d "$dir" ]; then
      dir=$(cd "$dir" && pwd)
      awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    fi
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

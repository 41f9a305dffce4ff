#!/usr/bin/env bash
# Runs the benchmarks against a release build. Each benchmark is a script beside this
# one, named bench-*.sh; each prints its table rows. None exist yet (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
shopt -s nullglob
benches=(bench-*.sh)
if [ ${#benches[@]} -eq 0 ]; then
  echo "no benchmarks yet: the foundation issue names no figure (see Benchmarks/README.md)"
  exit 0
fi
for bench in "${benches[@]}"; do bash "$bench"; done

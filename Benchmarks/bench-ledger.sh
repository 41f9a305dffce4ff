#!/usr/bin/env bash
# Ledger benchmark (issue #5) on a release build: charges per second on one hot tenant
# and across 100 tenants from 32 concurrent callers, each charge its own credit_apply
# call and then group-committed by LedgerBatcher, next to a plain single-row UPDATE
# measured the same way; on a fresh durable embedded PostgreSQL (fsync and synchronous
# commit on, as `switchboard serve` runs it).
#
#   CONNECTIONS=32 DURATION=10 TENANTS=100 bash Benchmarks/bench-ledger.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.build/release/switchboard-bench}
[ -x "$BENCH" ] || { echo "build first: swift build -c release" >&2; exit 1; }
HOME_DIR=${BENCH_HOME:-$(mktemp -d /tmp/switchboard-ledger-XXXXXX)}
chmod 755 "$HOME_DIR"
trap '[ -n "${KEEP_HOME:-}" ] || rm -rf "$HOME_DIR"' EXIT
echo "## ledger"
SWITCHBOARD_HOME=$HOME_DIR SWITCHBOARD_LOG_LEVEL=error "$BENCH" ledger \
  --connections "${CONNECTIONS:-32}" --duration "${DURATION:-10}" --tenants "${TENANTS:-100}"

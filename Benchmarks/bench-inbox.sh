#!/usr/bin/env bash
# Inbox benchmark (issue 20) on a release build: one tenant with 100,000 conversations and
# 2,000,000 messages (and 5 small ones), seeded once by `switchboard-bench inbox` with
# generate_series and kept under BENCH_HOME for the next run; then the inbox reads on ONE
# connection (p50/p99 over RUNS calls each: the list by view, a search, the views' counts,
# the conversation page) and live latency (SUBSCRIBERS in-process LiveEvents subscribers on
# one LISTEN connection while the real ingest statement stores RATE inbound messages a
# second for DURATION seconds; from each ingest's commit to each subscriber). Durable
# embedded PostgreSQL (fsync and synchronous commit on, as `switchboard serve` runs it).
#
#   BENCH_HOME=/tmp/switchboard-inbox-bench RUNS=500 SUBSCRIBERS=200 RATE=100 DURATION=20 bash Benchmarks/bench-inbox.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.build/release/switchboard-bench}
[ -x "$BENCH" ] || { echo "build first: swift build -c release" >&2; exit 1; }
BENCH_HOME=${BENCH_HOME:-/tmp/switchboard-inbox-bench}
mkdir -p "$BENCH_HOME"
chmod 755 "$BENCH_HOME"
echo "## inbox"
SWITCHBOARD_HOME=$BENCH_HOME SWITCHBOARD_LOG_LEVEL=error "$BENCH" inbox \
  --runs "${RUNS:-500}" --conversations "${CONVERSATIONS:-100000}" --messages-per "${MESSAGES_PER:-20}" \
  --subscribers "${SUBSCRIBERS:-200}" --rate "${RATE:-100}" --duration "${DURATION:-20}"

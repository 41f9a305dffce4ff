#!/usr/bin/env bash
# Agent benchmarks (issue #4) on a release build:
#  (a) the model router's added latency and throughput against an instant loopback
#      OpenAI-style server, next to calling that server directly, at 1 and 32 callers;
#  (b) delivery-to-send latency: signed Telegram deliveries at a fixed rate into a release
#      `switchboard serve` (embedded PostgreSQL, durable settings), answered by an instant
#      loopback model and sent to a loopback Telegram Bot API, timed from each POST to the
#      sendMessage that carries its answer.
#
#      The timed deliveries follow WARMUP (5) seconds of untimed ones at the same rate
#      (ANALYZE_AFTER_WARMUP=1: then an ANALYZE).
#
#   RATE=500 DURATION=20 bash Benchmarks/bench-agents.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-500}
DURATION=${DURATION:-20}
PORT=${PORT:-18481}
FAKE_PORT=${FAKE_PORT:-18490}
BIN=${BIN:-.build/release/switchboard}
BENCH=${BENCH:-.build/release/switchboard-bench}
[ -x "$BIN" ] && [ -x "$BENCH" ] || { echo "build first: swift build -c release" >&2; exit 1; }

echo "## (a) router"
[ -n "${SKIP_ROUTER:-}" ] || "$BENCH" router --requests "${REQUESTS:-20000}"

HOME_DIR=${BENCH_HOME:-$(mktemp -d /tmp/switchboard-bench-XXXXXX)}
chmod 755 "$HOME_DIR"
ADMIN=bench-admin-token
export SWITCHBOARD_HOME=$HOME_DIR SWITCHBOARD_PORT=$PORT SWITCHBOARD_ADMIN_TOKEN=$ADMIN SWITCHBOARD_LOG_LEVEL=${LOG_LEVEL:-error}
export SWITCHBOARD_TELEGRAM_API_BASE=http://127.0.0.1:$FAKE_PORT SWITCHBOARD_EGRESS_ALLOW_PRIVATE=true
export SWITCHBOARD_DB_POOL=${DB_POOL:-32} SWITCHBOARD_WORKERS=${WORKERS:-8}
"$BIN" serve > "$HOME_DIR/server.log" 2>&1 &
SERVER=$!
cleanup() { kill -INT $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true; [ -n "${KEEP_LOG:-}" ] && cp "$HOME_DIR/server.log" "$KEEP_LOG"; [ -n "${KEEP_HOME:-}" ] || rm -rf "$HOME_DIR"; }
trap cleanup EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.5; done

echo
echo "## (b) delivery to send, workers=${SWITCHBOARD_WORKERS}"
# ANALYZE_AFTER_WARMUP=1 analyzes the tables after the warm-up. Not needed since the embedded
# cluster's autovacuum looks every 5 s (EmbeddedPostgres.autovacuumNaptimeSeconds): with
# PostgreSQL's default minute, the plans the server's sessions cached from a new cluster's
# empty tables read all of a tenant's rows to find one until then (Benchmarks/README.md).
PGPORT=$(sed -n 4p "$HOME_DIR/pg/postmaster.pid")
ANALYZE="PGPASSWORD=\$(cat '$HOME_DIR/pg.password') psql -h 127.0.0.1 -p $PGPORT -U switchboard -d switchboard -qc ANALYZE"
[ "${ANALYZE_AFTER_WARMUP:-0}" = 1 ] || ANALYZE=true
"$BENCH" e2e --server "http://127.0.0.1:$PORT" --admin "$ADMIN" --fake-port "$FAKE_PORT" --rate "$RATE" --duration "$DURATION" \
  --warmup "${WARMUP:-5}" --after-warmup "$ANALYZE"

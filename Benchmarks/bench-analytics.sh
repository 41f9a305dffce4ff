#!/usr/bin/env bash
# Analytics benchmark (issue #7): one tenant with 10 million messages over a year and
# 1,000 other tenants (Benchmarks/analytics-seed.sql), rolled up; then wrk against a
# release build asks for the summary and for 90-day daily timeseries, one connection and
# four, and prints p50/p99 next to the target (p99 ≤ 50 ms each). Also times the steady
# refresh job (the last two hours of every tenant, as it runs each minute).
#
# The seeded cluster is kept under BENCH_HOME and reused by the next run (the seed takes
# tens of minutes on two cores); delete the folder to seed again. With DATABASE_URL (an
# owner's URL) the server uses that database instead, seeding it when the big tenant is
# missing.
#
#   BENCH_HOME=/tmp/switchboard-analytics-bench DURATION=15 bash Benchmarks/bench-analytics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
PORT=${PORT:-18481}
BIN=${BIN:-.build/release/switchboard}
BENCH_HOME=${BENCH_HOME:-/tmp/switchboard-analytics-bench}
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

mkdir -p "$BENCH_HOME"
chmod 755 "$BENCH_HOME"
ADMIN=bench-admin-token
# Workers off: the refresh job would recompute the last hours every minute during the
# run; it is timed on its own below.
export SWITCHBOARD_HOME=$BENCH_HOME SWITCHBOARD_PORT=$PORT SWITCHBOARD_ADMIN_TOKEN=$ADMIN SWITCHBOARD_LOG_LEVEL=error
export SWITCHBOARD_WORKERS=0 SWITCHBOARD_DB_POOL=${DB_POOL:-8}
# One key at full speed measures the queries, not the per-key and per-tenant rate limits.
export SWITCHBOARD_RATE_LIMIT_KEY=0 SWITCHBOARD_RATE_LIMIT_TENANT=0
"$BIN" serve > "$BENCH_HOME/server.log" 2>&1 &
SERVER=$!
cleanup() { kill -INT $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { cat "$BENCH_HOME/server.log"; exit 1; }

if [ -n "${DATABASE_URL:-}" ]; then
  OWNER=$DATABASE_URL
else
  PGPORT=$(sed -n 4p "$BENCH_HOME/pg/postmaster.pid")
  OWNER="postgresql://switchboard:$(cat "$BENCH_HOME/pg.password")@127.0.0.1:$PGPORT/switchboard"
fi
BIG=00000000-0000-4000-8000-000000000001
if [ "$(psql "$OWNER" -XAtc "SELECT count(*) FROM tenants WHERE id = '$BIG'")" = "0" ]; then
  echo "seeding (once; kept in $BENCH_HOME)"
  bash Benchmarks/analytics-seed.sh "$OWNER"
fi

# The big tenant's key, known to this script (stored as its SHA-256, as the API stores keys).
KEY=sb_live_analyticsbenchmarkkey0000000000000000000000
psql "$OWNER" -XAqc "INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash)
  VALUES ('$BIG', gen_random_uuid(), 'bench', left('$KEY', 12), sha256(convert_to('$KEY', 'UTF8'))) ON CONFLICT (key_hash) DO NOTHING"
MESSAGES=$(psql "$OWNER" -XAtc "SELECT count(*) FROM messages WHERE tenant_id = '$BIG'")
TENANTS=$(psql "$OWNER" -XAtc "SELECT count(*) FROM tenants")
ROLLUP_ROWS=$(psql "$OWNER" -XAtc "SELECT (SELECT count(*) FROM analytics_hourly WHERE tenant_id = '$BIG') || ' hourly, ' || (SELECT count(*) FROM analytics_model_hourly WHERE tenant_id = '$BIG') || ' model-hourly'")
# The periods end at the last message of the seed.
TO=$(psql "$OWNER" -XAtc "SELECT to_char(date_trunc('hour', max(created_at)) + interval '1 hour', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM messages WHERE tenant_id = '$BIG'")
ago() { psql "$OWNER" -XAtc "SELECT to_char(('$TO'::timestamptz - interval '$1 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; }
FROM30=$(ago 30); FROM90=$(ago 90); FROM365=$(ago 365)
BASE=http://127.0.0.1:$PORT

# The steady refresh: what the job recomputes each minute (the last two hours, every tenant).
REFRESH_MS=$(psql "$OWNER" -XAtc "UPDATE analytics_state SET refreshed_at = '$TO'::timestamptz - interval '1 minute'" -c "\timing on" \
  -c "SELECT analytics_refresh('$TO'::timestamptz)" 2>&1 | awk '/^Time:/ {print $2}' | tail -1)

run() {
  local name=$1 connections=$2 uri=$3
  curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "$BASE$uri" || { echo "$name: request failed: $uri" >&2; curl -s -H "Authorization: Bearer $KEY" "$BASE$uri" >&2; exit 1; }
  wrk -t1 -c"$connections" -d3s -H "Authorization: Bearer $KEY" "$BASE$uri" >/dev/null
  local out
  out=$(wrk -t1 -c"$connections" -d"${DURATION}s" --latency -H "Authorization: Bearer $KEY" "$BASE$uri")
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "| $name | $connections | $rps | $p50 | $p99 | ${non2xx:-0} | p99 ≤ 50 ms |"
}

echo
echo "Seeded: big tenant $MESSAGES messages ($ROLLUP_ROWS rollup rows), $TENANTS tenants; periods end $TO."
echo "Steady refresh (last 2 h of every tenant): ${REFRESH_MS} ms"
echo
echo "| request | connections | requests/s | p50 | p99 | non-2xx | target |"
echo "|---|---|---|---|---|---|---|"
for c in 1 4; do
  run "summary, 30 days" $c "/v1/analytics/summary?from=$FROM30&to=$TO"
  run "summary, 90 days" $c "/v1/analytics/summary?from=$FROM90&to=$TO"
  run "summary, 365 days" $c "/v1/analytics/summary?from=$FROM365&to=$TO"
  run "timeseries inbound_messages, 90 days daily" $c "/v1/analytics/timeseries?metric=inbound_messages&interval=day&from=$FROM90&to=$TO"
  run "timeseries inbound_messages, 90 days daily, Asia/Almaty" $c "/v1/analytics/timeseries?metric=inbound_messages&interval=day&tz=Asia/Almaty&from=$FROM90&to=$TO"
  run "timeseries active_contacts, 90 days daily" $c "/v1/analytics/timeseries?metric=active_contacts&interval=day&from=$FROM90&to=$TO"
  run "timeseries active_contacts, 90 days daily, Asia/Almaty" $c "/v1/analytics/timeseries?metric=active_contacts&interval=day&tz=Asia/Almaty&from=$FROM90&to=$TO"
  run "timeseries first_response_p90_ms, 90 days daily" $c "/v1/analytics/timeseries?metric=first_response_p90_ms&interval=day&from=$FROM90&to=$TO"
done

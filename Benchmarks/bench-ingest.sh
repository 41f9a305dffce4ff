#!/usr/bin/env bash
# Ingest benchmark (issue #3): Telegram deliveries with distinct update_ids at a fixed
# concurrency, driven by wrk against a release build on the embedded PostgreSQL (durable:
# fsync and synchronous commit on), next to the same SQL transaction run by pgbench at the
# same concurrency as the ceiling of this machine.
#
#   CONNECTIONS=32 DURATION=20 bash Benchmarks/bench-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20}
THREADS=${THREADS:-2}
PORT=${PORT:-18480}
BIN=${BIN:-.build/release/switchboard}
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

HOME_DIR=$(mktemp -d /tmp/switchboard-bench-XXXXXX)
chmod 755 "$HOME_DIR"
ADMIN=bench-admin-token
export SWITCHBOARD_HOME=$HOME_DIR SWITCHBOARD_PORT=$PORT SWITCHBOARD_ADMIN_TOKEN=$ADMIN SWITCHBOARD_LOG_LEVEL=error
export SWITCHBOARD_DB_POOL=${DB_POOL:-32}
"$BIN" serve > "$HOME_DIR/server.log" 2>&1 &
SERVER=$!
cleanup() { kill -INT $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true; rm -rf "$HOME_DIR"; }
trap cleanup EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.5; done

BASE=http://127.0.0.1:$PORT
KEY=$(curl -sf -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"name":"Bench"}' $BASE/admin/tenants | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
CHANNEL=$(curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"kind":"telegram","name":"bench","credentials":{"bot_token":"7001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"}}' $BASE/v1/channels)
CHANNEL_ID=$(echo "$CHANNEL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
export SECRET=$(echo "$CHANNEL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["secret_token"])')
export HOOK_PATH=/hooks/$CHANNEL_ID

# Warm up, analyze (a new cluster's first autovacuum ANALYZE comes a minute later, and until
# then the plans cached from its empty tables read all of a tenant's rows to find one), then
# measure.
PGPORT=$(sed -n 4p "$HOME_DIR/pg/postmaster.pid")
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s Benchmarks/ingest.lua "$BASE" >/dev/null
PGPASSWORD=$(cat "$HOME_DIR/pg.password") psql -h 127.0.0.1 -p "$PGPORT" -U switchboard -d switchboard -qc ANALYZE
WRK_OUT=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s Benchmarks/ingest.lua "$BASE")
echo "$WRK_OUT" > "$HOME_DIR/wrk.txt"
RPS=$(echo "$WRK_OUT" | awk '/Requests\/sec/ {print $2}')
P50=$(echo "$WRK_OUT" | awk '$1 == "50%" {print $2}')
P99=$(echo "$WRK_OUT" | awk '$1 == "99%" {print $2}')
NON2XX=$(echo "$WRK_OUT" | awk '/Non-2xx/ {print $5}')

# The ceiling: the same ingest statement, from pgbench, as the app role, same concurrency.
TENANT=$(curl -sf -H "Authorization: Bearer $KEY" $BASE/v1/tenant | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# The app role, as the server logs in: its password derives from the master key.
APP_PASSWORD=$(python3 -c "import hmac,hashlib,base64; k=base64.b64decode(open('$HOME_DIR/master.key').read().strip()); print(hmac.new(k, b'switchboard.postgres.app-role', hashlib.sha256).hexdigest())")
cat > "$HOME_DIR/ingest.sql" <<SQL
\set id random(1, 2000000000)
\set user random(1, 5000)
SELECT * FROM ingest_delivery('$TENANT', '$CHANNEL_ID', 'telegram',
  '{"update_id":' || :id || ',"message":{"text":"Здравствуйте! Сколько стоит доставка в Астану?"}}',
  ('[{"kind":"message","event_id":"pg' || :id || '","message_id":"' || :user || ':' || :id || '",' ||
   '"sender":{"external_id":"' || :user || '","name":"Айгерим","language":"ru","alternate_ids":[]},' ||
   '"chat":{"external_id":"' || :user || '","kind":"direct"},' ||
   '"text":"Здравствуйте! Сколько стоит доставка в Астану?","attachments":[],"sent_at":"' || now()::text || '"}]')::jsonb);
SQL
PG_OUT=$(PGPASSWORD=$APP_PASSWORD pgbench -h 127.0.0.1 -p "$PGPORT" -U switchboard_app -d switchboard -n -M prepared \
  -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" -r -f "$HOME_DIR/ingest.sql" 2>&1 || true)
PG_TPS=$(echo "$PG_OUT" | awk -F'= ' '/^tps/ {print $2}' | awk '{print $1}' | head -1)
PG_LAT=$(echo "$PG_OUT" | awk -F'= ' '/latency average/ {print $2}')

RATIO=$(python3 -c "print(f'{float(\"$RPS\")/float(\"$PG_TPS\"):.2f}')" 2>/dev/null || echo "?")
echo
echo "| ingest: Telegram deliveries, $CONNECTIONS connections, ${DURATION}s | ${RPS} deliveries/s, p50 ${P50}, p99 ${P99}, non-2xx ${NON2XX:-0} | pgbench same SQL: ${PG_TPS} tps (avg ${PG_LAT}); ratio ${RATIO} | target ≥ 5000/s, p99 ≤ 25 ms, ≥ 0.7 of ceiling |"
echo
echo "$WRK_OUT"
echo "$PG_OUT" | tail -8

#!/usr/bin/env bash
# Ingest benchmark (issue #3): webhook deliveries at a fixed concurrency, driven by wrk
# against a release build on the embedded PostgreSQL (durable: fsync and synchronous commit
# on), next to the same SQL transaction run by pgbench at the same concurrency as the
# ceiling of this machine.
#
#   KIND=telegram (default): Telegram deliveries with distinct update_ids, one event each.
#   KIND=instagram (issue 19): signed Instagram deliveries (X-Hub-Signature-256) of 1 to 10
#     messaging events each (5.5 on average, in one or two entries), every mid new; the
#     ceiling calls ingest_delivery with the same 1 to 10 events per call, as the connector
#     normalizes them, so deliveries/s compares with its tps and events/s with its events/s.
#   KIND=both: Telegram, then Instagram, on the same server; both rows printed at the end.
#
#   CONNECTIONS=32 DURATION=20 KIND=both bash Benchmarks/bench-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${KIND:-telegram}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20}
THREADS=${THREADS:-2}
PORT=${PORT:-18480}
BIN=${BIN:-.build/release/switchboard}
case "$KIND" in telegram) KINDS=(telegram) ;; instagram) KINDS=(instagram) ;; both) KINDS=(telegram instagram) ;;
  *) echo "KIND is telegram, instagram or both" >&2; exit 1 ;; esac
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
TENANT=$(curl -sf -H "Authorization: Bearer $KEY" $BASE/v1/tenant | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
PGPORT=$(sed -n 4p "$HOME_DIR/pg/postmaster.pid")
# The app role, as the server logs in: its password derives from the master key.
APP_PASSWORD=$(python3 -c "import hmac,hashlib,base64; k=base64.b64decode(open('$HOME_DIR/master.key').read().strip()); print(hmac.new(k, b'switchboard.postgres.app-role', hashlib.sha256).hexdigest())")
owner_sql() { PGPASSWORD=$(cat "$HOME_DIR/pg.password") psql -h 127.0.0.1 -p "$PGPORT" -U switchboard -d switchboard -qAtc "$1"; }
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }

# One variant: its channel, a warm-up, ANALYZE (a new cluster's first autovacuum ANALYZE
# comes a minute later, and until then the plans cached from its empty tables read all of a
# tenant's rows to find one), wrk, then pgbench on the same SQL as the ceiling.
run_kind() {
  local kind=$1 script label channel sent stored
  if [ "$kind" = telegram ]; then
    script=Benchmarks/ingest.lua label="Telegram deliveries"
    channel=$(curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d '{"kind":"telegram","name":"bench","credentials":{"bot_token":"7001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"}}' $BASE/v1/channels)
    export SECRET=$(echo "$channel" | json_field '["credentials"]["secret_token"]')
  else
    script=Benchmarks/ingest-instagram.lua label="Instagram deliveries of 1–10 events (5.5 avg)"
    export APP_SECRET=bench-app-secret-0123456789abcdef0123456789 IG_USER_ID=17841400000000001
    channel=$(curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d '{"kind":"instagram","name":"bench","credentials":{"ig_user_id":"'$IG_USER_ID'","access_token":"IGQVJ-bench-token","app_secret":"'$APP_SECRET'","verify_token":"bench-verify-token-0123"}}' $BASE/v1/channels) \
      || { echo "could not create an instagram channel (is the Meta connector in this build?)" >&2; exit 1; }
  fi
  local channel_id=$(echo "$channel" | json_field '["id"]')
  export HOOK_PATH=/hooks/$channel_id

  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$script" "$BASE" >/dev/null
  owner_sql ANALYZE
  local before=$(owner_sql "SELECT count(*) FROM inbound_events WHERE channel_id = '$channel_id'")
  local deadlocks=$(owner_sql "SELECT deadlocks FROM pg_stat_database WHERE datname = 'switchboard'")
  local wrk_out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$BASE")
  sleep 1
  stored=$(( $(owner_sql "SELECT count(*) FROM inbound_events WHERE channel_id = '$channel_id'") - before ))
  deadlocks=$(( $(owner_sql "SELECT deadlocks FROM pg_stat_database WHERE datname = 'switchboard'") - deadlocks ))
  local rps=$(echo "$wrk_out" | awk '/Requests\/sec/ {print $2}')
  local p50=$(echo "$wrk_out" | awk '$1 == "50%" {print $2}')
  local p99=$(echo "$wrk_out" | awk '$1 == "99%" {print $2}')
  local non2xx=$(echo "$wrk_out" | awk '/Non-2xx/ {print $5}')
  # Events per delivery: the script's own count (instagram), else one.
  local per=$(echo "$wrk_out" | awk '/^Events\/delivery/ {print $2}')
  per=${per:-1}
  sent=$(echo "$wrk_out" | awk '/^Events sent/ {print $3}')

  # The ceiling: the same ingest statement, from pgbench, as the app role, same concurrency.
  if [ "$kind" = telegram ]; then
    cat > "$HOME_DIR/ingest-$kind.sql" <<SQL
\set id random(1, 2000000000)
\set user random(1, 5000)
SELECT * FROM ingest_delivery('$TENANT', '$channel_id', 'telegram',
  '{"update_id":' || :id || ',"message":{"text":"Здравствуйте! Сколько стоит доставка в Астану?"}}',
  ('[{"kind":"message","event_id":"pg' || :id || '","message_id":"' || :user || ':' || :id || '",' ||
   '"sender":{"external_id":"' || :user || '","name":"Айгерим","language":"ru","alternate_ids":[]},' ||
   '"chat":{"external_id":"' || :user || '","kind":"direct"},' ||
   '"text":"Здравствуйте! Сколько стоит доставка в Астану?","attachments":[],"sent_at":"' || now()::text || '"}]')::jsonb);
SQL
  else
    # A delivery of n = 1..10 events (uniform: 5.5 on average, as wrk sends), senders
    # consecutive from a random one of ~5000 IGSIDs, stored with the delivery's raw body as
    # its payload, each event as the connector normalizes it: no name (Instagram gives
    # none), so a new contact is marked for the profile look-up.
    cat > "$HOME_DIR/ingest-$kind.sql" <<SQL
\set n random(1, 10)
\set first random(0, 4990)
\set id random(1, 2000000000)
SELECT r.* FROM (
  SELECT '{"object":"instagram","entry":[{"id":"$IG_USER_ID","time":' || t.ms || ',"messaging":[' ||
         string_agg('{"sender":{"id":"' || s.igsid || '"},"recipient":{"id":"$IG_USER_ID"},"timestamp":' || t.ms ||
                    ',"message":{"mid":"' || s.mid || '","text":"Здравствуйте! Сколько стоит доставка в Астану?"}}', ',' ORDER BY s.k) ||
         ']}]}' AS payload,
         jsonb_agg(jsonb_build_object('kind', 'message', 'event_id', s.mid, 'message_id', s.mid,
           'sender', jsonb_build_object('external_id', s.igsid, 'alternate_ids', '[]'::jsonb),
           'chat', jsonb_build_object('external_id', s.igsid, 'kind', 'direct'),
           'text', 'Здравствуйте! Сколько стоит доставка в Астану?', 'attachments', '[]'::jsonb,
           'sent_at', t.sent, 'lookup_profile', true) ORDER BY s.k) AS events
  FROM (SELECT (extract(epoch FROM now()) * 1000)::bigint AS ms, now()::text AS sent) t,
       LATERAL (SELECT k, (6500000000000000 + :first + k - 1)::text AS igsid, 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0MDI4MjM2Njg0MTcxMDMw.pg' || :id || '.' || k AS mid
                FROM generate_series(1, :n) k) s
  GROUP BY t.ms, t.sent
) d, LATERAL ingest_delivery('$TENANT', '$channel_id', 'instagram', d.payload, d.events) r;
SQL
  fi
  local pg_out=$(PGPASSWORD=$APP_PASSWORD pgbench -h 127.0.0.1 -p "$PGPORT" -U switchboard_app -d switchboard -n -M prepared \
    -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" -r -f "$HOME_DIR/ingest-$kind.sql" 2>&1 || true)
  local pg_tps=$(echo "$pg_out" | awk -F'= ' '/^tps/ {print $2}' | awk '{print $1}' | head -1)
  local pg_lat=$(echo "$pg_out" | awk -F'= ' '/latency average/ {print $2}')
  local pg_per=1
  [ "$kind" = instagram ] && pg_per=5.5
  local ratio=$(python3 -c "print(f'{float(\"$rps\")/float(\"$pg_tps\"):.2f}')" 2>/dev/null || echo "?")
  local eps=$(python3 -c "print(f'{float(\"$rps\")*float(\"$per\"):.0f}')" 2>/dev/null || echo "?")
  local pg_eps=$(python3 -c "print(f'{float(\"$pg_tps\")*$pg_per:.0f}')" 2>/dev/null || echo "?")
  local row
  if [ "$kind" = telegram ]; then
    row="| ingest: $label, $CONNECTIONS connections, ${DURATION}s | ${rps} deliveries/s (= events/s), p50 ${p50}, p99 ${p99}, non-2xx ${non2xx:-0} | pgbench same SQL: ${pg_tps} tps (avg ${pg_lat}); ratio ${ratio} | target ≥ 5000/s, p99 ≤ 25 ms, ≥ 0.7 of ceiling |"
  else
    row="| ingest: $label, $CONNECTIONS connections, ${DURATION}s | ${rps} deliveries/s = ${eps} events/s, p50 ${p50}, p99 ${p99}, non-2xx ${non2xx:-0} | pgbench same SQL, 1–10 events a call: ${pg_tps} tps = ${pg_eps} events/s (avg ${pg_lat}); ratio ${ratio} | target ≥ 0.7 of ceiling |"
  fi
  ROWS+=("$row")
  DETAILS+=("== $kind: $stored events stored from the timed run${sent:+ of $sent sent}; $deadlocks deadlocks in PostgreSQL during it
$wrk_out
$(echo "$pg_out" | tail -8)")
}

ROWS=() DETAILS=()
for kind in "${KINDS[@]}"; do run_kind "$kind"; done
echo
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n\n' "${DETAILS[@]}"

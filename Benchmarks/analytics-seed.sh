#!/usr/bin/env bash
# Seeds the analytics benchmark data set (Benchmarks/analytics-seed.sql) into an existing
# database and prints how long the seed and the rollup took. It neither creates nor starts
# a cluster: give it a superuser connection to a database where every migration is
# applied (the role switchboard_app must exist for them) and no tenant exists yet.
#
#   bash Benchmarks/analytics-seed.sh postgresql://postgres@127.0.0.1:55439/switchboard
#   MESSAGES=100000 TENANTS=20 bash Benchmarks/analytics-seed.sh "$DATABASE_URL"
#
# MESSAGES (big tenant, default 10,000,000), TENANTS (small tenants, default 1,000),
# SMALL_MESSAGES (per small tenant, default 1,000), CHUNK_MESSAGES (messages per load
# transaction, default 1,000,000), REFRESH_STEP (rollup window per analytics_refresh_window
# call, default '1 month'), FK_CHECKS (default off: load without running the foreign
# keys' triggers, a third faster; on: check every foreign key as the rows go in). The psql output (per-statement timings) goes to LOG
# (default: a file in /tmp).
set -euo pipefail
cd "$(dirname "$0")"
URL=${1:-${DATABASE_URL:-}}
[ -n "$URL" ] || { echo "usage: $0 postgresql://user@host:port/db  (or set DATABASE_URL)" >&2; exit 2; }
LOG=${LOG:-$(mktemp /tmp/analytics-seed-XXXXXX.log)}

echo "## analytics seed: messages=${MESSAGES:-10000000} tenants=${TENANTS:-1000} small_messages=${SMALL_MESSAGES:-1000} (log: $LOG)"
started=$(date +%s.%N)
set +e
psql "$URL" -X -q -v ON_ERROR_STOP=1 \
  -v messages="${MESSAGES:-10000000}" -v tenants="${TENANTS:-1000}" -v small_messages="${SMALL_MESSAGES:-1000}" \
  -v chunk_messages="${CHUNK_MESSAGES:-1000000}" -v refresh_step="${REFRESH_STEP:-1 month}" -v fk_checks="${FK_CHECKS:-off}" \
  -f analytics-seed.sql 2>&1 | tee "$LOG" | grep --line-buffered -E '^ *(==|chunk |rollup window|psql:|ERROR|FATAL)| seed_timing '
status=${PIPESTATUS[0]}
set -e
ended=$(date +%s.%N)
if [ "$status" -ne 0 ]; then
  echo "the seed failed (psql exit $status); see $LOG" >&2
  exit "$status"
fi
# The phases the SQL timed itself (load, vacuum+analyze, rollup, rollup vacuum), and the wall time.
line=$(grep ' seed_timing ' "$LOG" | tail -1)
read -r load vacuum rollup rvacuum total < <(echo "$line" | awk -F'|' '{gsub(/ /,""); print $2, $3, $4, $5, $6}')
printf 'seed (load):              %8.1f s\n' "$load"
printf 'seed (VACUUM ANALYZE):    %8.1f s\n' "$vacuum"
printf 'rollup (refresh windows): %8.1f s\n' "$rollup"
printf 'rollup (VACUUM ANALYZE):  %8.1f s\n' "$rvacuum"
printf 'wall time, all phases:    %8.1f s\n' "$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')"
psql "$URL" -X -q -P pager=off -c "
SELECT relname AS table, pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size, pg_total_relation_size(c.oid) AS bytes
FROM pg_class c
WHERE c.relname IN ('messages', 'conversations', 'contacts', 'model_calls', 'credit_entries', 'conversation_events',
                    'analytics_hourly', 'analytics_model_hourly', 'analytics_daily', 'analytics_monthly') AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
ORDER BY bytes DESC"

#!/usr/bin/env bash
# Email benchmark (issue 17) on a release build: COUNT mails waiting in a Dovecot mailbox
# (mixed real shapes, 20 % with attachments, written into its Maildir) fetched and stored
# by the mail channel's service, next to the ceiling of Python's imaplib reading the same
# UIDs the same way; then the time from SMTP delivery (Postfix's 250) to the stored
# message while mail arrives at RATE a second for DURATION seconds, with IDLE. Real
# Dovecot and Postfix from Deploy/mail-servers.sh, in a temporary directory; a fresh
# durable embedded PostgreSQL (fsync and synchronous commit on).
#
#   COUNT=10000 RATE=50 DURATION=20 bash Benchmarks/bench-email.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.build/release/switchboard-bench}
[ -x "$BENCH" ] || { echo "build first: swift build -c release --product switchboard-bench" >&2; exit 1; }
COUNT=${COUNT:-10000}
RATE=${RATE:-50}
DURATION=${DURATION:-20}
MAIL_DIR=$(mktemp -d /tmp/switchboard-email-mail-XXXXXX)
HOME_DIR=${BENCH_HOME:-$(mktemp -d /tmp/switchboard-email-XXXXXX)}
chmod 755 "$HOME_DIR"
cleanup() {
  bash Deploy/mail-servers.sh stop "$MAIL_DIR" || true
  [ -n "${KEEP_HOME:-}" ] || rm -rf "$HOME_DIR" "$MAIL_DIR"
}
trap cleanup EXIT

eval "$(bash Deploy/mail-servers.sh start "$MAIL_DIR" | grep -E '^[A-Z_]+=')"
bash Deploy/mail-servers.sh adduser "$MAIL_DIR" shop benchpass >/dev/null
ADDRESS=shop@switchboard.test
python3 Benchmarks/email-bench.py fill "$MAIL_DIR/mail/switchboard.test/shop/Maildir" "$COUNT" --to "$ADDRESS" >/dev/null

ceiling() {
  python3 Benchmarks/email-bench.py ceiling --port "$IMAPS_PORT" --ca "$CA_FILE" --user "$ADDRESS" --password benchpass --expect "$COUNT"
}
# The first read builds Dovecot's index and cache of the new mail; the second is the ceiling.
ceiling >/dev/null
eval "$(ceiling)"

echo "## email ($COUNT mails waiting; then $RATE/s for $DURATION s)"
OUT=$(mktemp)
SWITCHBOARD_HOME=$HOME_DIR SWITCHBOARD_LOG_LEVEL=error "$BENCH" email \
  --address "$ADDRESS" --password benchpass --imaps-port "$IMAPS_PORT" --submission-port "$SUBMISSION_PORT" \
  --smtp-port "$SMTP_PORT" --ca "$CA_FILE" --count "$COUNT" --rate "$RATE" --duration "$DURATION" \
  --script Benchmarks/email-bench.py | tee "$OUT" | grep -v '^RESULT_'
INGEST_RATE=$(sed -n 's/^RESULT_INGEST_RATE=//p' "$OUT")
read -r P50 P99 MAX STORED < <(sed -n 's/^RESULT_LATENCY_MS=//p' "$OUT")
rm -f "$OUT"
echo
echo "| ours: mails/s | imaplib ceiling: mails/s | ratio | SMTP 250 → stored p50 / p99 / max | mails |"
echo "|---|---|---|---|---|"
printf '| %.0f | %.0f (%s s, %s bytes) | **%.2f** | %.0f / %.0f / %.0f ms | %s |\n' "$INGEST_RATE" "$CEILING_RATE" "$CEILING_SECONDS" \
  "$CEILING_BYTES" "$(python3 -c "print($INGEST_RATE / $CEILING_RATE)")" "$P50" "$P99" "$MAX" "$STORED"

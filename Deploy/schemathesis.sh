#!/usr/bin/env bash
# Runs schemathesis against the built server, reading /openapi.json as a client generator
# would, and fails when the server and its document disagree: a request the document
# allows that is refused (or answers 5xx), a request it forbids that is accepted, an
# answer whose status, content type, headers or body the document does not describe.
#
#   bash Deploy/schemathesis.sh                        # the bounded run `make test` does
#   SCHEMATHESIS_EXAMPLES=200 bash Deploy/schemathesis.sh   # more cases per operation
#   bash Deploy/schemathesis.sh --include-path /v1/deals    # extra arguments go to `st run`
#
# schemathesis comes from PyPI, pinned, into a virtual environment under .build. The
# server is the built `switchboard serve` on an embedded cluster of its own (in a folder
# under .build, removed at the end), with rate limits off (a fuzzer is a flood) and an
# operator token, so the tenant and the operator API are both tested. It fails, never
# skips: when schemathesis cannot be installed, the server does not start or the run finds
# anything, the exit code is non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
SWIFT="${SWIFT:-swift}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"
SEED="${SCHEMATHESIS_SEED:-20261207}"
VENV=.build/schemathesis/venv
WORK=.build/schemathesis
REPORTS="$WORK/report"

fail() {
    echo "schemathesis: $*" >&2
    exit 1
}

started=$SECONDS
mkdir -p "$WORK"

# 1. schemathesis, pinned, in its own venv (reused while it has the pinned version).
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || fail "could not create a Python venv (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
        || fail "could not install schemathesis $SCHEMATHESIS_VERSION from PyPI"
    "$VENV/bin/st" --version | grep -q "version $SCHEMATHESIS_VERSION\$" || fail "schemathesis $SCHEMATHESIS_VERSION did not install"
fi
python="$VENV/bin/python"

# 2. The server binary: the debug build the tests use (`make test` has built it already).
bin_path="$("$SWIFT" build ${SWIFT_BUILD_FLAGS:-} --show-bin-path)" || fail "swift build --show-bin-path failed"
binary="$bin_path/switchboard"
if [ ! -x "$binary" ]; then
    "$SWIFT" build ${SWIFT_BUILD_FLAGS:-} --product switchboard || fail "the switchboard build failed"
fi

# 3. Start it on a free port and an embedded cluster of its own.
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
home="$(cd "$WORK" && pwd)/home-$$"
rm -rf "$home"
mkdir -p "$home"
admin_token="st-admin-$("$python" -c 'import secrets; print(secrets.token_hex(16))')"
master_key="$("$python" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
base="http://127.0.0.1:$port"
server_log="$WORK/server.log"

server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        # SIGINT: the server stops the cluster it started.
        kill -INT "$server_pid" 2>/dev/null
        for _ in $(seq 1 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$server_pid" 2>/dev/null && kill -KILL "$server_pid" 2>/dev/null
    fi
    # As root the cluster may live under the postgres user's home, linked from $home/pg.
    if [ -L "$home/pg" ]; then
        cluster="$(readlink -f "$home/pg")"
        [ -n "$cluster" ] && rm -rf "$(dirname "$cluster")"
    fi
    rm -rf "$home"
}
trap cleanup EXIT

env -u DATABASE_URL \
    SWITCHBOARD_HOME="$home" SWITCHBOARD_HOST=127.0.0.1 SWITCHBOARD_PORT="$port" \
    SWITCHBOARD_ADMIN_TOKEN="$admin_token" SWITCHBOARD_MASTER_KEY="$master_key" SWITCHBOARD_LOG_LEVEL=error \
    SWITCHBOARD_RATE_LIMIT_KEY=0 SWITCHBOARD_RATE_LIMIT_TENANT=0 SWITCHBOARD_RATE_LIMIT_FAILURES=0 \
    SWITCHBOARD_RATE_LIMIT_HOOK_CHANNEL=0 SWITCHBOARD_WORKERS=1 SWITCHBOARD_EGRESS_ALLOW_PRIVATE=true \
    "$binary" serve >"$server_log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 240); do
    kill -0 "$server_pid" 2>/dev/null || { tail -n 20 "$server_log" >&2; fail "the server exited before it was ready"; }
    if "$python" -c "import urllib.request, sys; urllib.request.urlopen('$base/ready', timeout=2)" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.5
done
[ -n "$ready" ] || { tail -n 20 "$server_log" >&2; fail "the server was not ready within 120 s"; }
echo "schemathesis: server ready at $base after $((SECONDS - started)) s"

# 4. What the run needs: a tenant and its key; a second key and a second tenant that the
# two operations able to lock the run out (revoking a key, off-boarding a tenant) are
# pointed at; a webhook channel with two deliveries, so there are contacts,
# conversations and messages to read, change, merge and erase.
setup="$("$python" - "$base" "$admin_token" <<'PY'
import hashlib, hmac, json, sys, time, urllib.request

base, admin = sys.argv[1], sys.argv[2]

def call(method, path, token=None, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(base + path, method=method, data=data, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)

tenant = call("POST", "/admin/tenants", admin, {"name": "schemathesis", "trial_credits_micros": 1000000})
key = tenant["api_key"]
spare_key = call("POST", "/v1/api-keys", key, {"name": "revoked by the run"})["id"]
spare_tenant = call("POST", "/admin/tenants", admin, {"name": "off-boarded by the run"})["tenant"]["id"]
channel = call("POST", "/v1/channels", key, {"kind": "webhook", "name": "schemathesis"})
for number in (1, 2):
    event = json.dumps({"event_id": f"evt-{number}", "sender": {"id": f"customer-{number}", "name": f"Customer {number}"},
                        "text": "Hello"}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(channel["credentials"]["signing_secret"].encode(), stamp.encode() + b"." + event, hashlib.sha256).hexdigest()
    call("POST", f"/hooks/{channel['id']}", body=event, headers={"X-Switchboard-Signature": f"t={stamp},v1={signature}"})
conversation = call("GET", "/v1/conversations?limit=1", key)["data"][0]["id"]
print(key, spare_key, spare_tenant, conversation)
PY
)" || fail "could not prepare the run's tenant through the API"
read -r tenant_key spare_key spare_tenant conversation <<<"$setup"

# 5. The run. Its configuration is written here, so nothing outside this script decides
# what runs. Beside the credentials, it pins what JSON Schema cannot state and the
# document says in words (README, "The OpenAPI document and schemathesis"):
#   - a cursor is a position this API issued: every list gets one valid cursor;
#   - the conversation routes get the conversation the deliveries made (no list links to it);
#   - rules across parameters (from before to, at most 400 days) and the clock (a
#     top-up's or a key's expires_at in the future): those values are pinned to valid ones;
#   - where that pinning cannot reach, a body the document allows may be answered 400:
#     the two PATCHes whose body is judged by the stored resource's kind (a provider's, a
#     channel's), a merge whose body names the contact of the path, a top-up whose
#     expires_at has passed (a pinned body value does not reach every phase), and a mailbox
#     channel's creation, whose IMAP and SMTP logins are tried against servers that the
#     generated hosts do not name, and a key whose expires_at has passed;
#   - 413 is a rejection too (a sign-in form over 16 KiB).
config="$WORK/schemathesis.toml"
cursor="$("$python" -c 'import base64; print(base64.urlsafe_b64encode(b"1700000000000000\n00000000-0000-0000-0000-000000000000").decode().rstrip("="))')"
cat >"$config" <<EOF
[auth.openapi.apiKey]
bearer = "\${SB_TENANT_KEY}"

[auth.openapi.operatorToken]
bearer = "\${SB_ADMIN_TOKEN}"

[parameters]
"query.cursor" = "$cursor"

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]

# The two deletes always name the spare key and tenant (not what a step before created):
# once the spare is gone they are 404, which the stateful phase reads as "a created
# resource is not found" whenever its sequence puts such a delete after a create. The
# check is left out (`--exclude-checks` below: `--checks all` outranks the config file);
# what it would catch, a created resource missing, the HTTP tests check route by route.

[[operations]]
include-name = "DELETE /v1/api-keys/{id}"
parameters = { "path.id" = "\${SB_SPARE_KEY}" }

[[operations]]
include-name = "DELETE /admin/tenants/{id}"
parameters = { "path.id" = "\${SB_SPARE_TENANT}" }

[[operations]]
include-path-regex = "^/v1/(analytics/(summary|timeseries)|credits/(ledger|usage))\$"
parameters = { "query.from" = "2026-01-01T00:00:00Z", "query.to" = "2026-01-02T00:00:00Z" }

[[operations]]
include-path-regex = "^/v1/conversations/\\\\{id\\\\}"
parameters = { "path.id" = "\${SB_CONVERSATION}" }

[[operations]]
include-name = "POST /admin/tenants/{id}/credits"
parameters = { "body.expires_at" = "2099-01-01T00:00:00Z" }

[[operations]]
include-name = "POST /v1/api-keys"
parameters = { "body.expires_at" = "2099-01-01T00:00:00Z" }

[[operations]]
include-name-regex = "^(PATCH /v1/(providers|channels)/\\\\{id\\\\}|POST /v1/channels|POST /v1/contacts/\\\\{id\\\\}/merge|POST /admin/tenants/\\\\{id\\\\}/credits|POST /v1/api-keys)\$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
EOF

# From inside $WORK, where schemathesis and Hypothesis keep what earlier runs found
# (cleared, so that a run depends on the seed alone).
rm -rf "$REPORTS" "$WORK/.schemathesis" "$WORK/.hypothesis"
echo "schemathesis: st run, $EXAMPLES examples per operation, seed $SEED"
cd "$WORK" || fail "no $WORK"
SB_TENANT_KEY="$tenant_key" SB_ADMIN_TOKEN="$admin_token" SB_SPARE_KEY="$spare_key" SB_SPARE_TENANT="$spare_tenant" SB_CONVERSATION="$conversation" \
    timeout 600 venv/bin/st --config-file schemathesis.toml run "$base/openapi.json" \
    --checks all --exclude-checks ensure_resource_availability --max-examples "$EXAMPLES" --seed "$SEED" --generation-database none --suppress-health-check too_slow \
    --request-timeout 30 --no-color --report junit --report-dir report "$@"
status=$?
cd - >/dev/null || exit 1

if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 20 "$server_log" >&2
    fail "the server died during the run"
fi
if [ "$status" -ne 0 ]; then
    echo "schemathesis: FAILED (exit $status) after $((SECONDS - started)) s; report in $REPORTS, server log in $server_log" >&2
    exit "$status"
fi
echo "schemathesis: ok in $((SECONDS - started)) s"

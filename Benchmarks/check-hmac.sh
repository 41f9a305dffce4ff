#!/usr/bin/env bash
# Checks the pure-Lua SHA-256 and HMAC in ingest-instagram.lua against Python's hashlib
# and hmac: every message length 0..300 (all padding cases), keys of 0..131 bytes, UTF-8.
set -euo pipefail
cd "$(dirname "$0")"
command -v luajit >/dev/null || { echo "needs luajit (apt-get install -y luajit)" >&2; exit 1; }
python3 - > /tmp/check-hmac-expected.txt <<'PY'
import hashlib, hmac
msg = lambda n: bytes((i * 7 + n) % 256 for i in range(n))
for n in range(301): print(hashlib.sha256(msg(n)).hexdigest())
text = "Здравствуйте! Сколько стоит доставка в Астану?".encode() * 60
for k in (0, 1, 32, 63, 64, 65, 131): print(hmac.new(msg(k), text, hashlib.sha256).hexdigest())
PY
luajit - > /tmp/check-hmac-actual.txt <<'LUA'
local m = dofile("ingest-instagram.lua")
local function msg(n) local t = {} for i = 0, n - 1 do t[#t + 1] = string.char((i * 7 + n) % 256) end return table.concat(t) end
for n = 0, 300 do print(m.hex(m.sha256(msg(n)))) end
local text = string.rep("Здравствуйте! Сколько стоит доставка в Астану?", 60)
for _, k in ipairs({ 0, 1, 32, 63, 64, 65, 131 }) do print(m.hmac_sha256(msg(k))(text)) end
LUA
if cmp -s /tmp/check-hmac-expected.txt /tmp/check-hmac-actual.txt; then
  echo "SHA-256 and HMAC-SHA256: $(wc -l < /tmp/check-hmac-actual.txt) vectors match Python"
else
  diff /tmp/check-hmac-expected.txt /tmp/check-hmac-actual.txt | head; exit 1
fi

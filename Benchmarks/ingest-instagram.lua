-- wrk script: signed Instagram webhook deliveries to one channel's hook (issue 19).
-- Delivery k carries k % 10 + 1 messaging events (1 to 10, 5.5 on average), every other
-- one split over two entries; every event is a new message with a mid no other event of
-- the run (nor of a run a second apart) repeats. Senders are ~5000 IGSIDs, consecutive and
-- ascending within a delivery (never wrapping): SENDERS=random draws each event's sender
-- at random instead. Each body is signed as Meta does:
-- X-Hub-Signature-256: sha256=<hex HMAC-SHA256(APP_SECRET, raw body)>.
-- Needs APP_SECRET and HOOK_PATH in the environment; IG_USER_ID is optional.
local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local lshift, rshift, ror, tobit = bit.lshift, bit.rshift, bit.ror, bit.tobit
local byte, char, format, rep = string.byte, string.char, string.format, string.rep

-- SHA-256 (FIPS 180-4) on LuaJIT's 32-bit `bit` operations. Words are signed 32-bit
-- numbers; sums are exact in a double and folded back to 32 bits with tobit.
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
for i = 1, 64 do K[i] = tobit(K[i]) end
local H0 = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
for i = 1, 8 do H0[i] = tobit(H0[i]) end

local W = {}
-- One 64-byte block of `s`, starting at index `at`, into the state H.
local function compress(H, s, at)
  for i = 0, 15 do
    local a, b, c, d = byte(s, at + 4 * i, at + 4 * i + 3)
    W[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
  end
  for i = 16, 63 do
    local x, y = W[i - 15], W[i - 2]
    local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
    local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
    W[i] = tobit(W[i - 16] + s0 + W[i - 7] + s1)
  end
  local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
  for i = 0, 63 do
    local t1 = h + bxor(ror(e, 6), ror(e, 11), ror(e, 25)) + bxor(band(e, f), band(bnot(e), g)) + K[i + 1] + W[i]
    local t2 = bxor(ror(a, 2), ror(a, 13), ror(a, 22)) + bxor(band(a, b), band(a, c), band(b, c))
    h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
  end
  H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d)
  H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
end

-- The digest (32 raw bytes) of `msg`, continuing from `state` after `done` bytes (a multiple
-- of 64) were hashed; from the start when `state` is nil.
local function sha256(msg, state, done)
  local H = { unpack(state or H0) }
  local len = (done or 0) + #msg
  -- Padding: 0x80, zeros to 56 mod 64, then the length in bits, 64-bit big-endian.
  local bits = len * 8
  local hi, lo = math.floor(bits / 4294967296), bits % 4294967296
  msg = msg .. "\128" .. rep("\0", (55 - len) % 64) ..
    char(band(rshift(hi, 24), 255), band(rshift(hi, 16), 255), band(rshift(hi, 8), 255), band(hi, 255),
         band(rshift(lo, 24), 255), band(rshift(lo, 16), 255), band(rshift(lo, 8), 255), band(lo, 255))
  for at = 1, #msg, 64 do compress(H, msg, at) end
  for i = 1, 8 do H[i] = char(band(rshift(H[i], 24), 255), band(rshift(H[i], 16), 255), band(rshift(H[i], 8), 255), band(H[i], 255)) end
  return table.concat(H)
end

local function hex(s)
  return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
end

-- HMAC-SHA256 (RFC 2104) keyed once: the states after the key's inner and outer pad
-- blocks are kept, so signing a body hashes only the body and one outer block.
local function hmac_sha256(key)
  if #key > 64 then key = sha256(key) end
  key = key .. rep("\0", 64 - #key)
  local ipad = key:gsub(".", function(c) return char(bxor(byte(c), 0x36)) end)
  local opad = key:gsub(".", function(c) return char(bxor(byte(c), 0x5c)) end)
  local inner, outer = { unpack(H0) }, { unpack(H0) }
  compress(inner, ipad, 1)
  compress(outer, opad, 1)
  return function(msg) return hex(sha256(sha256(msg, inner, 64), outer, 64)) end
end

-- Used by Benchmarks/check-hmac.sh, which runs this file under plain luajit.
if not wrk then return { sha256 = sha256, hex = hex, hmac_sha256 = hmac_sha256 } end

-- Globals, so that done() can read each thread's with thread:get.
counter, events = 0, 0
local base = 0
local threads = {}
local sign, hook, ig_user, random_senders
local headers = {}
local TEXT = "Здравствуйте! Сколько стоит доставка в Астану?"
local MID = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0MDI4MjM2Njg0MTcxMDMw"

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter, events = 0, 0
  base = (os.time() % 100000) * 100000000 + tonumber(thread_index) * 10000000
  math.randomseed(base)
  sign = hmac_sha256(os.getenv("APP_SECRET"))
  hook = os.getenv("HOOK_PATH")
  ig_user = os.getenv("IG_USER_ID") or "17841400000000001"
  random_senders = os.getenv("SENDERS") == "random"
end

local function event(mid, sender, ms)
  return format('{"sender":{"id":"%s"},"recipient":{"id":"%s"},"timestamp":%d,' ..
    '"message":{"mid":"%s","text":"%s"}}', sender, ig_user, ms, mid, TEXT)
end

local function entry(list, ms)
  return format('{"id":"%s","time":%d,"messaging":[%s]}', ig_user, ms, table.concat(list, ","))
end

function request()
  counter = counter + 1
  local n = counter % 10 + 1
  local ms = os.time() * 1000
  -- The first sender of this delivery: from the run's sequence of events, kept below 5000
  -- with the whole delivery, so its senders ascend.
  local first = (events + tonumber(thread_index) * 2500) % 4991
  local list = {}
  for j = 1, n do
    events = events + 1
    local s = random_senders and math.random(0, 4999) or first + j - 1
    -- An IGSID-like id: 16 digits. A mid as long as Instagram's (90-odd characters),
    -- unique per thread, per event.
    list[j] = event(format("%s.%d.%d", MID, base + counter, j), format("%d", 6500000000000000 + s), ms)
  end
  local body
  if n > 1 and counter % 2 == 0 then
    local half = math.floor(n / 2)
    body = '{"object":"instagram","entry":[' .. entry({ unpack(list, 1, half) }, ms) .. "," ..
      entry({ unpack(list, half + 1, n) }, ms) .. "]}"
  else
    body = '{"object":"instagram","entry":[' .. entry(list, ms) .. "]}"
  end
  headers["Content-Type"] = "application/json"
  headers["X-Hub-Signature-256"] = "sha256=" .. sign(body)
  return wrk.format("POST", hook, headers, body)
end

-- After the run: how many events the deliveries carried, for events/s.
function done(summary, latency, requests)
  local sent, deliveries = 0, 0
  for _, thread in ipairs(threads) do
    sent, deliveries = sent + thread:get("events"), deliveries + thread:get("counter")
  end
  io.write(format("Events sent %d\nEvents/delivery %.3f\n", sent, sent / math.max(deliveries, 1)))
end

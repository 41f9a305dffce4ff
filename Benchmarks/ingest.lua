-- wrk script: Telegram deliveries with distinct update_ids, to one channel's hook.
-- Each wrk thread numbers its own updates from a distinct base, so no two requests in a
-- run (nor in two runs a second apart) repeat an update_id: every request is a new
-- committed delivery, never a duplicate.
local counter = 0
local base = 0
local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  base = (os.time() % 100000) * 100000000 + tonumber(thread_index) * 10000000
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = os.getenv("SECRET")
end

function request()
  counter = counter + 1
  local id = base + counter
  local user = 520000000 + (counter % 5000)
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"date":%d,' ..
    '"from":{"id":%d,"is_bot":false,"first_name":"Айгерим","language_code":"ru"},' ..
    '"chat":{"id":%d,"first_name":"Айгерим","type":"private"},' ..
    '"text":"Здравствуйте! Сколько стоит доставка в Астану? #%d"}}',
    id, counter, os.time(), user, user, id)
  return wrk.format(nil, os.getenv("HOOK_PATH"), nil, body)
end

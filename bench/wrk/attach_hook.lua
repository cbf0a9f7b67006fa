-- wrk: POST /debug/v1/attach-hook of a random shard (ids from the file named by $BENCH_IDS,
-- one per line) to a random node of 4..100: the same work as bench/pgbench/attach_gencontrol.sql.
-- Each thread formats 8,192 random requests once, in init(), and sends them in turn, so that the
-- load generator costs per request about what pgbench does (Lua formatting each request cost
-- about twice pgbench's CPU per transaction).
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  ids[#ids + 1] = line
end

local thread_number = 0

function setup(thread)
  thread_number = thread_number + 1
  thread:set("seed", thread_number)
end

local requests = {}
local next_request = 0

function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
  local headers = { ["Content-Type"] = "application/json" }
  for i = 1, 8192 do
    local body = string.format('{"tenant_shard_id": "%s", "node_id": %d}', ids[math.random(#ids)], math.random(4, 100))
    requests[i] = wrk.format("POST", "/debug/v1/attach-hook", headers, body)
  end
end

request = function()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

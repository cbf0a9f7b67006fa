-- wrk: POST /debug/v1/attach-hook of a random shard (ids from the file named by $BENCH_IDS,
-- one per line) to a random node of 4..100: the same work as bench/pgbench/attach_gencontrol.sql.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  ids[#ids + 1] = line
end

local headers = { ["Content-Type"] = "application/json" }
local thread_number = 0

function setup(thread)
  thread_number = thread_number + 1
  thread:set("seed", thread_number)
end

function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end

request = function()
  local body = string.format('{"tenant_shard_id": "%s", "node_id": %d}',
                             ids[math.random(#ids)], math.random(4, 100))
  return wrk.format("POST", "/debug/v1/attach-hook", headers, body)
end

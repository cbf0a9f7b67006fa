-- wrk: POST /upcall/v1/validate, 128 entries per request. The bodies come from the file named
-- by $BENCH_BODIES (one JSON body per line, written by bench/bench.py) and are sent in turn.
-- Each request is formatted once per thread, in init(): the load generator should cost per
-- request about what pgbench does (it, too, sends prepared statements with fixed arguments).
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  bodies[#bodies + 1] = line
end

local requests = {}
local next_request = 0

function init(args)
  local headers = { ["Content-Type"] = "application/json" }
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", "/upcall/v1/validate", headers, body)
  end
end

request = function()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

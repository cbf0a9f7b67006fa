-- wrk: POST /upcall/v1/validate, 128 entries per request. The bodies come from the file named
-- by $BENCH_BODIES (one JSON body per line, written by bench/bench.py) and are sent in turn.
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  bodies[#bodies + 1] = line
end

local next_body = 0
local headers = { ["Content-Type"] = "application/json" }

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/upcall/v1/validate", headers, bodies[next_body])
end

-- wrk: appended to each request script; prints the figures bench/bench.py reads, one per line.
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("BENCH requests %d\n", summary.requests))
  io.write(string.format("BENCH duration_us %d\n", summary.duration))
  io.write(string.format("BENCH errors %d\n",
                         errors.connect + errors.read + errors.write + errors.status + errors.timeout))
  io.write(string.format("BENCH status_errors %d\n", errors.status))
  io.write(string.format("BENCH p50_us %d\n", latency:percentile(50)))
  io.write(string.format("BENCH p99_us %d\n", latency:percentile(99)))
end

-- wrk script: POST the file named by $BODY_FILE as application/json, and print latency
-- percentiles (including p99.9, which wrk's --latency omits) as one machine-readable line.
local path = os.getenv("BODY_FILE")
local f = assert(io.open(path, "rb"), "BODY_FILE not readable: " .. tostring(path))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
               + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d non2xx=%d p50_us=%d p99_us=%d p999_us=%d\n",
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end

-- wrk script: post.lua plus a think time between a response and the next request on the same
-- connection, to offer a fixed rate with plain wrk 4 (wrk2 is not in Debian). $DELAY_MS is the mean
-- delay in ms and may be fractional: wrk's delay() only takes whole milliseconds, so each request
-- waits floor or ceil of it at random, in the proportion that averages to $DELAY_MS.
-- Latency is still measured from the moment the request is written (wrk starts the clock after the
-- delay), i.e. service time without wrk2's coordinated-omission correction.
dofile(os.getenv("POST_LUA") or "bench/wrk/post.lua")

local mean = tonumber(os.getenv("DELAY_MS") or "0")
local whole = math.floor(mean)
local frac = mean - whole

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  -- Each thread has its own Lua state; give each its own random sequence.
  math.randomseed(7919 * (id or 0) + 1)
end

function delay()
  if math.random() < frac then return whole + 1 end
  return whole
end

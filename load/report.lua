-- report.lua: shared wrk done() hook that prints one machine-readable line.
--
-- Used directly (`wrk -s load/report.lua ...`) for plain keep-alive runs, and
-- pulled in by pipeline.lua / close.lua via dofile(), because wrk accepts
-- only one -s script.
--
-- Output (one line, key=value, all times in microseconds):
--   REPORT requests=N duration_us=D bytes=B rps=R mbps=M p50_us=.. p90_us=..
--          p99_us=.. max_us=.. err_connect=.. err_read=.. err_write=..
--          err_timeout=.. non2xx=..
-- mbps is decimal megabytes (1e6 bytes) per second of response bytes,
-- headers included (what wrk counts). non2xx is wrk's errors.status, i.e.
-- responses with status >= 400. A percentile that cannot be computed is -1.

local PCTS = { 50, 90, 99 }

-- wrk 4.1's latency:percentile() returns 0 when its coordinated-omission
-- correction put samples below latency.min (common with pipelining, where
-- wrk records one sample per batch but corrects with a per-request
-- interval). Then recompute from the samples wrk can iterate over, which
-- is what percentile() would have used had its count matched them.
local function fallback_percentiles(latency)
   local n = #latency
   -- Each latency(i) call scans the histogram from min: O(n * range).
   if n * (latency.max - latency.min) > 4e9 then
      return nil
   end
   local vals, cum, total = {}, {}, 0
   for i = 1, n do
      local v, c = latency(i)
      total = total + c
      vals[i], cum[i] = v, total
   end
   local out = {}
   for k, p in ipairs(PCTS) do
      local rank = math.floor(p / 100 * total + 0.5)
      out[k] = -1
      for i = 1, n do
         if cum[i] >= rank then
            out[k] = vals[i]
            break
         end
      end
   end
   return out
end

local function percentiles(latency)
   local out, broken = {}, false
   for k, p in ipairs(PCTS) do
      out[k] = latency:percentile(p)
      if out[k] == 0 and latency.max > 0 then
         broken = true
      end
   end
   if broken then
      out = fallback_percentiles(latency) or { -1, -1, -1 }
   end
   return out
end

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   local p = percentiles(latency)
   io.write(string.format(
      "REPORT requests=%d duration_us=%d bytes=%d rps=%.2f mbps=%.3f " ..
      "p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_timeout=%d non2xx=%d\n",
      summary.requests, summary.duration, summary.bytes,
      summary.requests / secs, summary.bytes / secs / 1e6,
      p[1], p[2], p[3], latency.max,
      e.connect, e.read, e.write, e.timeout, e.status))
end

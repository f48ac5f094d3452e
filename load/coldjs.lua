-- coldjs.lua: each of COUNT distinct JS files once, in random order (scenario 11).
--
-- Usage: wrk -t1 -c64 -H 'Accept-Encoding: gzip, br' -s load/coldjs.lua \
--          http://127.0.0.1:PORT/ -- COUNT [SEED=11]
-- Requests /cjs/cNNNNN.js for a seeded random permutation of 0..COUNT-1, so
-- no file is asked for twice (its compressed variant is never cached yet).
-- When all COUNT have been sent it starts the permutation again and counts
-- that in "wraps", printed by done() as "COLDJS wraps=N sent=M": with
-- wraps > 0 the later requests may hit cached variants (use more files or
-- a shorter run).

local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(os.getenv("WRK_REPORT_LUA") or (here .. "report.lua"))

local order, count, pos = {}, 0, 0
wraps, sent = 0, 0
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   count = tonumber(args[1]) or error("coldjs.lua: COUNT missing")
   math.randomseed(tonumber(args[2]) or 11)
   for i = 1, count do order[i] = i - 1 end
   for i = count, 2, -1 do
      local j = math.random(i)
      order[i], order[j] = order[j], order[i]
   end
end

function request()
   pos = pos + 1
   if pos > count then
      pos = 1
      wraps = wraps + 1
   end
   sent = sent + 1
   return wrk.format(nil, string.format("/cjs/c%05d.js", order[pos]))
end

local report_done = done
function done(summary, latency, requests)
   report_done(summary, latency, requests)
   local w, s = 0, 0
   for _, t in ipairs(threads) do
      w = w + (tonumber(t:get("wraps")) or 0)
      s = s + (tonumber(t:get("sent")) or 0)
   end
   io.write(string.format("COLDJS wraps=%d sent=%d\n", w, s))
end

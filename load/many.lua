-- many.lua: a random one of N small files per request (scenario 10).
--
-- Usage: wrk -t1 -c64 -s load/many.lua http://127.0.0.1:PORT/ -- N [DIRS=100] [SEED=10]
-- File i is /many/dXX/fNNNNN.bin with XX = i % DIRS (what gen_files.py many
-- writes); i is uniform in [0, N). Seeded, so every server gets the same
-- sequence of paths.

local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(os.getenv("WRK_REPORT_LUA") or (here .. "report.lua"))

local n, dirs

function init(args)
   n = tonumber(args[1]) or error("many.lua: N missing")
   dirs = tonumber(args[2]) or 100
   math.randomseed(tonumber(args[3]) or 10)
end

function request()
   local i = math.random(n) - 1
   return wrk.format(nil, string.format("/many/d%02d/f%05d.bin", i % dirs, i))
end

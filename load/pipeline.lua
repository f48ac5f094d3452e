-- pipeline.lua: send DEPTH pipelined GET requests in every write.
--
-- Usage: wrk -t1 -c32 -s load/pipeline.lua http://127.0.0.1:PORT -- [DEPTH] [PATH]
--   DEPTH defaults to 16, PATH to "/".
-- wrk parses the DEPTH responses one by one, so requests/s counts requests,
-- not writes.

-- Pull in the shared done() report. wrk has no include path, so locate
-- report.lua next to this file (the chunk name is "@<path given to -s>");
-- WRK_REPORT_LUA overrides that when the script is run from elsewhere.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(os.getenv("WRK_REPORT_LUA") or (here .. "report.lua"))

local req

function init(args)
   local depth = tonumber(args[1]) or 16
   local path = args[2] or "/"
   if depth < 1 then depth = 1 end
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format("GET", path)
   end
   req = table.concat(r)
end

function request()
   return req
end

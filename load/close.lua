-- close.lua: one connection per request.
--
-- Every request carries "Connection: close"; wrk reconnects after each
-- response, so this measures accept + request + close cost.
-- Usage: wrk -t1 -c32 -s load/close.lua http://127.0.0.1:PORT/1k.bin [-- PATH]
--   PATH (optional) overrides the URL's path.

-- Shared done() report, found next to this file (see pipeline.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(os.getenv("WRK_REPORT_LUA") or (here .. "report.lua"))

wrk.headers["Connection"] = "close"

local req

-- Build the request once per thread; wrk.format(nil path) uses the URL's
-- path, so PATH is optional.
function init(args)
   req = wrk.format("GET", args[1])
end

function request()
   return req
end

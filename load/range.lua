-- range.lua: random block-aligned Range requests on one big file (scenario 8).
--
-- Usage: wrk -t1 -c16 -s load/range.lua http://127.0.0.1:PORT/cold/big.bin \
--          -- FILE_BYTES [BLOCK_BYTES=1048576] [SEED=8]
-- Each request asks for "Range: bytes=START-END", START a random multiple of
-- BLOCK_BYTES below FILE_BYTES, END = START + BLOCK_BYTES - 1. Seeded, so
-- every server gets the same sequence of offsets.

local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(os.getenv("WRK_REPORT_LUA") or (here .. "report.lua"))

local blocks, block

function init(args)
   local size = tonumber(args[1]) or error("range.lua: FILE_BYTES missing")
   block = tonumber(args[2]) or 1048576
   blocks = math.floor(size / block)
   math.randomseed(tonumber(args[3]) or 8)
end

function request()
   local start = (math.random(blocks) - 1) * block
   wrk.headers["Range"] = string.format("bytes=%d-%d", start, start + block - 1)
   return wrk.format()
end

-- Runs one ReaScript against the stub: lua5.4 run_script.lua SCENARIO.lua SCRIPT.lua OUT.json
-- SCENARIO.lua returns the scenario table; OUT.json receives the recorded calls and state, and
-- "error" when the script raised one.
local here = arg[0]:match("^(.*[/\\])") or ""
local stub_module = dofile(here .. "reaper_stub.lua")
local scenario = dofile(arg[1])
local stub, dump = stub_module.build(scenario)
reaper = stub

local ok, err = pcall(dofile, arg[2])
local result = dump()
if not ok then result.error = tostring(err) end
local out = assert(io.open(arg[3], "w"))
out:write(stub_module.json(result))
out:close()

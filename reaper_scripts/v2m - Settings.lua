-- @description v2m - Settings
-- @about
--   Where the v2m scripts find v2m-bridge and the daemon, and how long they wait. Stored in
--   REAPER's ExtState section "v2m" (kept across sessions).

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local v2m = dofile(script_dir .. "v2m_common.lua")

local KEYS = { "executable", "host", "port", "timeout_s" }
local CAPTIONS = "v2m-bridge path (empty: automatic),Daemon host,Daemon OSC port," ..
  "Longest wait (seconds),extrawidth=300,separator=\n"

local function main()
  local current = {}
  for index, key in ipairs(KEYS) do
    current[index] = key == "executable" and reaper.GetExtState(v2m.SECTION, key) or
      v2m.setting(key)
  end
  local confirmed, answer = reaper.GetUserInputs("v2m settings", #KEYS, CAPTIONS,
    table.concat(current, "\n"))
  if not confirmed then return false end
  local values = {}
  for value in (answer .. "\n"):gmatch("(.-)\n") do values[#values + 1] = value end
  local executable, host, port, timeout = values[1] or "", values[2] or "", values[3] or "",
    values[4] or ""
  port = tonumber(port)
  if port == nil or port % 1 ~= 0 or port < 1 or port > 65535 then
    return v2m.fail("The daemon port must be a whole number from 1 to 65535.")
  end
  timeout = tonumber(timeout)
  if timeout == nil or timeout <= 0 then
    return v2m.fail("The longest wait must be a positive number of seconds.")
  end
  if host:match("^%s*$") then return v2m.fail("The daemon host must not be empty.") end
  if executable ~= "" and not reaper.file_exists(executable) then
    return v2m.fail("There is no file at\n" .. executable ..
      "\n\nGive the full path of v2m-bridge, or leave it empty.")
  end
  reaper.SetExtState(v2m.SECTION, "executable", executable, true)
  reaper.SetExtState(v2m.SECTION, "host", host, true)
  reaper.SetExtState(v2m.SECTION, "port", string.format("%d", port), true)
  reaper.SetExtState(v2m.SECTION, "timeout_s", string.format("%g", timeout), true)
  return true
end

main()

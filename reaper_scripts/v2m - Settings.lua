-- @description v2m - Settings
-- @about
--   Where the v2m scripts find v2m-bridge and the daemon, how long they wait, how scoring picks
--   the tempo, and whether inserting the MIDI also sets the project tempo (map) and adds the
--   cuts as project markers. Stored in REAPER's ExtState section "v2m" (kept across sessions).

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local v2m = dofile(script_dir .. "v2m_common.lua")

local KEYS = { "executable", "host", "port", "timeout_s", "tempo", "set_tempo", "cut_markers" }
local CAPTIONS = "v2m-bridge path (empty: automatic),Daemon host,Daemon OSC port," ..
  "Longest wait (seconds),Tempo (empty / auto / auto map),Insert sets tempo (0/1)," ..
  "Insert adds cut markers (0/1),extrawidth=300,separator=\n"

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
  local tempo = (values[5] or ""):lower():gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
  local set_tempo = values[6] == nil and "0" or values[6]:gsub("%s", "")
  local cut_markers = values[7] == nil and "0" or values[7]:gsub("%s", "")
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
  if tempo ~= "" and tempo ~= "auto" and tempo ~= "auto map" then
    return v2m.fail("The tempo must be empty (120 bpm), \"auto\" (fitted to the cuts) or " ..
      "\"auto map\" (a gentle tempo map that puts the cuts on beats).")
  end
  for _, flag in ipairs({ set_tempo, cut_markers }) do
    if flag ~= "0" and flag ~= "1" then
      return v2m.fail("\"Insert sets tempo\" and \"Insert adds cut markers\" are 0 (no) or 1 (yes).")
    end
  end
  reaper.SetExtState(v2m.SECTION, "tempo", tempo, true)
  reaper.SetExtState(v2m.SECTION, "set_tempo", set_tempo, true)
  reaper.SetExtState(v2m.SECTION, "cut_markers", cut_markers, true)
  reaper.SetExtState(v2m.SECTION, "executable", executable, true)
  reaper.SetExtState(v2m.SECTION, "host", host, true)
  reaper.SetExtState(v2m.SECTION, "port", string.format("%d", port), true)
  reaper.SetExtState(v2m.SECTION, "timeout_s", string.format("%g", timeout), true)
  return true
end

main()

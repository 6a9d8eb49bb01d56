-- @description v2m - Toggle live follow
-- @about
--   Turns the daemon's following of REAPER's transport (the OSC control surface "v2m") on or
--   off with /v2m/transport/follow i:1|0. Put it on a toolbar: the button lights while the
--   daemon follows. The daemon follows by default, so the first run turns following off.

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local v2m = dofile(script_dir .. "v2m_common.lua")

local FOLLOW_KEY = "follow"

local function main()
  local following = reaper.GetExtState(v2m.SECTION, FOLLOW_KEY) ~= "0"
  local wanted = not following
  local code, output = v2m.send("/v2m/transport/follow", { v2m.i(wanted and 1 or 0) },
    v2m.PROBE_WAIT_S)
  if v2m.not_runnable(code) then return v2m.fail(v2m.cannot_run_message(code, output)) end
  if code == 2 then
    return v2m.fail("No v2m-bridge daemon answered at " .. v2m.setting("host") .. ":" ..
      v2m.setting("port") .. ". Start it with `v2m-bridge serve`.\n\n" .. output)
  end
  if code ~= 0 then
    return v2m.fail("The daemon refused to change live follow (exit code " .. tostring(code) ..
      "):\n\n" .. output)
  end
  reaper.SetExtState(v2m.SECTION, FOLLOW_KEY, wanted and "1" or "0", false)
  local _, _, section, command = reaper.get_action_context()
  reaper.SetToggleCommandState(section, command, wanted and 1 or 0)
  reaper.RefreshToolbar2(section, command)
  return true
end

main()

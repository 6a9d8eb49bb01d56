-- @description v2m - Score selected video item
-- @about
--   Sends the selected video item (file, position, take offset) to the running v2m-bridge
--   daemon, which analyses it, composes chords and an arpeggio and plays them in sync with
--   REAPER; then renders them to a MIDI file in <project media folder>/v2m/. Without a daemon it
--   runs `v2m-bridge render VIDEO -o OUT.mid` instead. Offers to insert the MIDI at the end.
--   REAPER waits while the video is analysed (up to the "timeout" setting).

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local v2m = dofile(script_dir .. "v2m_common.lua")

local function score_with_daemon(info, midi_path)
  local args = { v2m.s(info.path), v2m.f(info.timeline_offset) }
  local tempo = v2m.setting("tempo")
  if tempo ~= "" then args[#args + 1] = v2m.s(tempo) end  -- "auto" or "auto map"
  local code, output = v2m.send("/v2m/video/open", args, v2m.timeout_s())
  if code ~= 0 then return v2m.explain_failure("The daemon could not score the video", code, output) end
  code, output = v2m.send("/v2m/render", { v2m.s(midi_path) }, v2m.SHORT_WAIT_S)
  if code == 1 and output:find("outside the folders", 1, true) then
    code, output = v2m.render_via_output_folder(midi_path)
  end
  if code ~= 0 then return v2m.explain_failure("The daemon could not write the MIDI file", code, output) end
  return true
end

local function score_offline(info, midi_path)
  local args = { v2m.executable(), "render", info.path, "-o", midi_path }
  local tempo = v2m.setting("tempo")
  if tempo == "auto" or tempo == "auto map" then
    args[#args + 1] = "--tempo"
    args[#args + 1] = "auto"
    if tempo == "auto map" then args[#args + 1] = "--tempo-map" end
  end
  local code, output = v2m.run(args, v2m.timeout_s())
  if code ~= 0 then return v2m.explain_failure("v2m-bridge render failed", code, output) end
  return true
end

local function main()
  local item = reaper.GetSelectedMediaItem(0, 0)
  if item == nil then return v2m.fail("Select the video item to score first.") end
  local info, problem = v2m.video_item_info(item)
  if info == nil then return v2m.fail(problem) end
  local midi_path = v2m.output_path(info)

  local code, output = v2m.send("/v2m/status", {}, v2m.PROBE_WAIT_S)
  local ok, how
  if code == 0 then
    ok, how = score_with_daemon(info, midi_path), "by the running daemon, which now plays it " ..
      "in sync with REAPER's transport"
  elseif code == 2 then  -- nothing listens: compose offline
    ok, how = score_offline(info, midi_path), "offline (no daemon answered)"
  else
    return v2m.explain_failure("Could not reach the daemon", code, output)
  end
  if not ok then return false end

  v2m.remember_score(info, midi_path)
  local answer = reaper.ShowMessageBox("Scored " .. how .. ":\n" .. midi_path ..
    "\n\nInsert it on the tracks \"V2M Chords\", \"V2M Figuration\", \"V2M Bass\" and " ..
    "\"V2M Hits\" now?", "v2m", 4)
  if answer == 6 then return v2m.insert_generated_midi(info, midi_path) end
  return true
end

main()

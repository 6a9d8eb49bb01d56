-- v2m_common.lua: shared code for the v2m ReaScripts (not an action itself).
--
-- A ReaScript cannot send UDP, so every request to the daemon runs
--   v2m-bridge send --host H --port P --wait SECONDS -- ADDRESS s:text f:1.5 i:3
-- through reaper.ExecProcess and reads its exit code: 0 the expected reply, 1 /v2m/error,
-- 2 no answer. Every argument is quoted for the platform, so file names with spaces, quotes or
-- shell characters reach v2m-bridge unchanged and are never run as commands.
--
-- Settings live in REAPER's ExtState section "v2m" (set them with "v2m - Settings.lua"):
--   executable  full path of v2m-bridge (empty: look in the usual install folders, then PATH)
--   host, port  where `v2m-bridge serve` listens (default 127.0.0.1 and 9000)
--   timeout_s   the longest wait for analysis or a render, in seconds (default 900)
--   tempo       how scoring picks the tempo: empty (120 bpm), "auto" (one tempo fitted to the
--               cuts) or "auto map" (a gentle tempo map that puts the cuts on beats)
--   set_tempo   "1": inserting the MIDI also sets the project tempo (map) under the video item
--   cut_markers "1": inserting the MIDI also adds a project marker at every cut

local M = {}

M.SECTION = "v2m"
M.DEFAULTS = { executable = "", host = "127.0.0.1", port = "9000", timeout_s = "900",
               tempo = "", set_tempo = "0", cut_markers = "0" }
M.PROBE_WAIT_S = 3        -- is a daemon there? /v2m/status is answered at once
M.SHORT_WAIT_S = 30       -- renders of a composition the daemon already holds, settings
M.STARTUP_MARGIN_S = 60   -- ExecProcess waits this much longer than `send --wait` itself
M.PARTS = {               -- tracks of the generated MIDI file and their MIDI channels (0-based)
  { name = "V2M Chords", channel = 0 },
  { name = "V2M Figuration", channel = 1 },
  { name = "V2M Bass", channel = 2 },
  { name = "V2M Hits", channel = 3 },
}
local SET_LAST_TOUCHED_TRACK = 40914  -- "Track: Set first selected track as last touched track"

-- Settings ---------------------------------------------------------------------------------------

function M.setting(key)
  local value = reaper.GetExtState(M.SECTION, key)
  if value == nil or value == "" then return M.DEFAULTS[key] end
  return value
end

function M.timeout_s()
  local value = tonumber(M.setting("timeout_s"))
  if not value or value <= 0 then return tonumber(M.DEFAULTS.timeout_s) end
  return value
end

function M.is_windows()
  return (reaper.GetOS() or ""):find("^Win") ~= nil
end

function M.path_separator()
  return M.is_windows() and "\\" or "/"
end

-- Where pip, pipx and Homebrew put the command; REAPER started from the Dock or Start menu does
-- not see the shell's PATH, so a bare "v2m-bridge" is only the last resort.
function M.candidate_executables()
  local found = {}
  if M.is_windows() then
    local roots = { os.getenv("LOCALAPPDATA") and (os.getenv("LOCALAPPDATA") .. "\\Programs\\Python"),
                    os.getenv("APPDATA") and (os.getenv("APPDATA") .. "\\Python") }
    for _, root in ipairs(roots) do
      for minor = 14, 10, -1 do
        found[#found + 1] = root .. "\\Python3" .. minor .. "\\Scripts\\v2m-bridge.exe"
      end
    end
  else
    local home = os.getenv("HOME")
    if home then found[#found + 1] = home .. "/.local/bin/v2m-bridge" end
    found[#found + 1] = "/opt/homebrew/bin/v2m-bridge"
    found[#found + 1] = "/usr/local/bin/v2m-bridge"
  end
  return found
end

function M.executable()
  local configured = reaper.GetExtState(M.SECTION, "executable")
  if configured ~= nil and configured ~= "" then return configured end
  for _, candidate in ipairs(M.candidate_executables()) do
    if reaper.file_exists(candidate) then return candidate end
  end
  return M.is_windows() and "v2m-bridge.exe" or "v2m-bridge"
end

-- Quoting ----------------------------------------------------------------------------------------

-- POSIX sh: everything inside single quotes is literal; a single quote becomes '\''.
function M.quote_posix(text)
  return "'" .. (text:gsub("'", "'\\''")) .. "'"
end

-- Windows (CreateProcess + the C runtime's argv rules, as Python's subprocess.list2cmdline):
-- quote when needed, double the backslashes that precede a quote, escape quotes with a backslash.
function M.quote_windows(text)
  if text ~= "" and not text:find("[ \t]") and not text:find('"') then return text end
  local out, backslashes = { '"' }, 0
  for char in text:gmatch(".") do
    if char == "\\" then
      backslashes = backslashes + 1
    elseif char == '"' then
      out[#out + 1] = string.rep("\\", backslashes * 2 + 1) .. '"'
      backslashes = 0
    else
      out[#out + 1] = string.rep("\\", backslashes) .. char
      backslashes = 0
    end
  end
  out[#out + 1] = string.rep("\\", backslashes * 2) .. '"'
  return table.concat(out)
end

function M.command_line(args)
  local quote = M.is_windows() and M.quote_windows or M.quote_posix
  local quoted = {}
  for index, arg in ipairs(args) do quoted[index] = quote(tostring(arg)) end
  return table.concat(quoted, " ")
end

-- Typed OSC arguments for `v2m-bridge send` (always explicit, so "123.mov" stays a string).
function M.s(text) return "s:" .. text end
function M.f(number) return string.format("f:%.17g", number) end
function M.i(number) return string.format("i:%d", number) end

-- Running v2m-bridge ----------------------------------------------------------------------------

-- Runs args (a list, the program first); returns the exit code (nil if it could not run) and
-- the output.
function M.run(args, wait_s)
  local result = reaper.ExecProcess(M.command_line(args), math.floor(wait_s * 1000))
  if result == nil then return nil, "" end
  local code, output = result:match("^(%-?%d+)\r?\n(.*)$")
  if code == nil then code, output = result:match("^(%-?%d+)%s*$"), "" end
  return tonumber(code), output or ""
end

function M.send(address, typed_args, wait_s)
  local args = { M.executable(), "send", "--host", M.setting("host"), "--port", M.setting("port"),
                 "--wait", string.format("%g", wait_s), "--", address }
  for _, arg in ipairs(typed_args or {}) do args[#args + 1] = arg end
  return M.run(args, wait_s + M.STARTUP_MARGIN_S)
end

function M.cannot_run_message(code, output)
  return "Could not run v2m-bridge (" .. M.executable() .. ", exit code " .. tostring(code) ..
    ").\n\nInstall it (pip install v2m-bridge) or set its full path with the action " ..
    "\"v2m - Settings\".\n\n" .. (output or "")
end

-- True when the exit code means the program itself was not found or could not start.
function M.not_runnable(code)
  return code == nil or code == 126 or code == 127 or code == 9009
end

-- Messages ---------------------------------------------------------------------------------------

function M.fail(message)
  reaper.ShowMessageBox(message, "v2m", 0)
  return false
end

-- Fail with what went wrong when `v2m-bridge send` or `render` exited with ``code``.
function M.explain_failure(what, code, output)
  if M.not_runnable(code) then return M.fail(M.cannot_run_message(code, output)) end
  if code == 2 then
    return M.fail(what .. ": no answer from the daemon in time (timeout setting: " ..
      M.timeout_s() .. " s).\n\n" .. output)
  end
  return M.fail(what .. " (exit code " .. tostring(code) .. "):\n\n" .. output)
end

-- Items ------------------------------------------------------------------------------------------

function M.item_guid(item)
  local _, guid = reaper.GetSetMediaItemInfo_String(item, "GUID", "", false)
  return guid
end

function M.find_item_by_guid(guid)
  for index = 0, reaper.CountMediaItems(0) - 1 do
    local item = reaper.GetMediaItem(0, index)
    if M.item_guid(item) == guid then return item end
  end
  return nil
end

-- What the scripts need to know about a video item; nil and a message when it is not one.
function M.video_item_info(item)
  local take = reaper.GetActiveTake(item)
  if take == nil then return nil, "The selected item has no take; select a video item." end
  local source = reaper.GetMediaItemTake_Source(take)
  local parent = source and reaper.GetMediaSourceParent(source)
  while parent do  -- section and reversed sources wrap the file's source
    source, parent = parent, reaper.GetMediaSourceParent(parent)
  end
  local path = source and reaper.GetMediaSourceFileName(source, "") or ""
  local kind = source and reaper.GetMediaSourceType(source, "") or ""
  if path == "" or kind == "MIDI" then
    return nil, "The selected item is not a video file (source type " .. kind ..
      "); select the video item on the timeline."
  end
  local rate = reaper.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE")
  if math.abs(rate - 1.0) > 1e-9 then
    return nil, string.format("The video item plays at rate %g; the music follows the video " ..
      "at its own speed, so set the item's playback rate to 1.0 first.", rate)
  end
  local info = {
    item = item,
    guid = M.item_guid(item),
    path = path,
    position = reaper.GetMediaItemInfo_Value(item, "D_POSITION"),
    length = reaper.GetMediaItemInfo_Value(item, "D_LENGTH"),
    offset = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS"),
  }
  -- project time = media time + timeline_offset
  info.timeline_offset = info.position - info.offset
  return info
end

-- A new file name in <project media folder>/v2m/ (earlier versions are kept for comparison).
function M.output_path(info)
  local sep = M.path_separator()
  local folder = reaper.GetProjectPath("") .. sep .. "v2m"
  reaper.RecursiveCreateDirectory(folder, 0)
  local stem = (info.path:match("([^/\\]+)$") or "video"):gsub("%.[^.]*$", "")
  for number = 1, 9999 do
    local candidate = string.format("%s%s%s-v2m-%d.mid", folder, sep, stem, number)
    if not reaper.file_exists(candidate) then return candidate end
  end
  return folder .. sep .. stem .. "-v2m.mid"
end

-- The daemon writes only in its --output-dir or beside the opened video (README, "Guarantees").
-- When the project folder is neither, it renders there under the same name and this copies the
-- file to midi_path. Returns 0 or the failing exit code, and the output to explain it with.
function M.render_via_output_folder(midi_path)
  local name = midi_path:match("([^/\\]+)$")
  local code, output = M.send("/v2m/render", { M.s(name) }, M.SHORT_WAIT_S)
  if code ~= 0 then return code, output end
  local written
  for line in output:gmatch("[^\r\n]+") do
    local body = line:match('^/v2m/render/done%s+"(.*)"%s*$')
    if body then written = M.json_string(body) end
  end
  if written == nil then return 1, "no file name in the daemon's answer:\n" .. output end
  local source = io.open(written, "rb")
  if source == nil then return 1, "cannot read " .. written end
  local data = source:read("a")
  source:close()
  local target = io.open(midi_path, "wb")
  if target == nil then return 1, "cannot write " .. midi_path end
  target:write(data)
  target:close()
  return 0, output
end

-- The text of a JSON string literal's body (as `v2m-bridge send` prints reply strings).
function M.json_string(body)
  local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
                    r = "\r", t = "\t" }
  local parts, i = {}, 1
  while i <= #body do
    local c = body:sub(i, i)
    if c == "\\" then
      local e = body:sub(i + 1, i + 1)
      if e == "u" then
        parts[#parts + 1] = utf8.char(tonumber(body:sub(i + 2, i + 5), 16) or 63)  -- "?"
        i = i + 6
      else
        parts[#parts + 1] = escapes[e] or e
        i = i + 2
      end
    else
      parts[#parts + 1] = c
      i = i + 1
    end
  end
  return table.concat(parts)
end

-- Project memory of which .mid belongs to which video item (saved with the project).
function M.remember_score(info, midi_path)
  reaper.SetProjExtState(0, M.SECTION, "mid:" .. info.guid, midi_path)
  reaper.SetProjExtState(0, M.SECTION, "last_item", info.guid)
end

function M.scored_midi(info)
  local found, path = reaper.GetProjExtState(0, M.SECTION, "mid:" .. info.guid)
  if found and found > 0 and path ~= "" then return path end
  return nil
end

-- Reading the generated MIDI file's conductor track ----------------------------------------------

local function read_u32(data, at)
  local a, b, c, d = data:byte(at, at + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function read_vlq(data, at)
  local value, byte = 0, 0x80
  while byte >= 0x80 do
    byte = data:byte(at)
    if byte == nil then error("truncated MIDI file") end
    value, at = value * 128 + (byte & 0x7F), at + 1
  end
  return value, at
end

-- The first track of a standard MIDI file (v2m-bridge writes its tempo map, time signatures and
-- markers there): { tempos = {{tick, bpm}}, signatures = {{tick, num, den}},
-- markers = {{tick, text}}, seconds = function(tick) }. nil and a message when unreadable.
function M.read_conductor(path)
  local handle = io.open(path, "rb")
  if handle == nil then return nil, "cannot read " .. path end
  local data = handle:read("a")
  handle:close()
  if #data < 22 or data:sub(1, 4) ~= "MThd" then return nil, path .. " is not a MIDI file" end
  local division = data:byte(13) * 256 + data:byte(14)
  if division >= 0x8000 then return nil, path .. " uses SMPTE time, not beats" end
  local at = 9 + read_u32(data, 5)
  while at + 8 <= #data and data:sub(at, at + 3) ~= "MTrk" do at = at + 8 + read_u32(data, at + 4) end
  if data:sub(at, at + 3) ~= "MTrk" then return nil, path .. " has no track" end
  local stop = math.min(at + 8 + read_u32(data, at + 4), #data + 1)
  local result = { tempos = {}, signatures = {}, markers = {}, ticks_per_beat = division }
  local ok, problem = pcall(function()
    local tick, status, i = 0, nil, at + 8
    while i < stop do
      local delta
      delta, i = read_vlq(data, i)
      tick = tick + delta
      local byte = data:byte(i)
      if byte == 0xFF then
        local kind, length = data:byte(i + 1), nil
        length, i = read_vlq(data, i + 2)
        local body = data:sub(i, i + length - 1)
        i = i + length
        if kind == 0x51 and length == 3 then
          local a, b, c = body:byte(1, 3)
          result.tempos[#result.tempos + 1] = { tick, 60000000 / ((a * 256 + b) * 256 + c) }
        elseif kind == 0x58 and length >= 2 then
          result.signatures[#result.signatures + 1] = { tick, body:byte(1), 2 ^ body:byte(2) }
        elseif kind == 0x06 then
          result.markers[#result.markers + 1] = { tick, body }
        elseif kind == 0x2F then
          break
        end
      elseif byte == 0xF0 or byte == 0xF7 then
        local length
        length, i = read_vlq(data, i + 1)
        i = i + length
      else
        if byte >= 0x80 then status, i = byte, i + 1 end
        if status == nil then error("running status without a status byte") end
        local kind = status >> 4
        i = i + ((kind == 0xC or kind == 0xD) and 1 or 2)
      end
    end
  end)
  if not ok then return nil, path .. ": " .. tostring(problem) end
  if #result.tempos == 0 or result.tempos[1][1] ~= 0 then
    table.insert(result.tempos, 1, { 0, 120.0 })
  end
  function result.seconds(tick)
    local time, last_tick, bpm = 0.0, 0, result.tempos[1][2]
    for _, change in ipairs(result.tempos) do
      if change[1] > tick then break end
      time = time + (change[1] - last_tick) / division * 60 / bpm
      last_tick, bpm = change[1], change[2]
    end
    return time + (tick - last_tick) / division * 60 / bpm
  end
  return result
end

-- Tempo map and cut markers in the project ------------------------------------------------------

local function signature_at(signatures, tick)
  for _, signature in ipairs(signatures) do
    if signature[1] == tick then return signature[2], signature[3] end
  end
  return 0, 0  -- no time signature change here
end

-- Replaces the project's tempo markers under the video with the file's tempo map: media time t
-- is project time timeline_offset + t, from the video's media start (so the bars line up even
-- when the item is trimmed) to the item's end, where the tempo that was in force is put back.
-- Returns the number of tempo markers written.
function M.set_project_tempo(info, conductor)
  local item_end = info.position + info.length
  local range_start = math.max(0, info.timeline_offset)
  local old_num, old_den, old_bpm = reaper.TimeMap_GetTimeSigAtTime(0, item_end)
  for index = reaper.CountTempoTimeSigMarkers(0) - 1, 0, -1 do
    local _, time = reaper.GetTempoTimeSigMarker(0, index)
    if time >= range_start - 1e-9 and time <= item_end + 1e-9 then
      reaper.DeleteTempoTimeSigMarker(0, index)
    end
  end
  local ticks, seen = {}, {}
  for _, list in ipairs({ conductor.tempos, conductor.signatures }) do
    for _, change in ipairs(list) do
      if not seen[change[1]] then ticks[#ticks + 1], seen[change[1]] = change[1], true end
    end
  end
  table.sort(ticks)
  local changes = {}  -- {time, bpm, num, den}; those before range_start collapse onto it
  for _, tick in ipairs(ticks) do
    local bpm = conductor.tempos[1][2]
    for _, change in ipairs(conductor.tempos) do
      if change[1] <= tick then bpm = change[2] end
    end
    local num, den = signature_at(conductor.signatures, tick)
    local time = info.timeline_offset + conductor.seconds(tick)
    if time < range_start then
      time = range_start
      if #changes > 0 and changes[#changes][1] == range_start then
        local earlier = changes[#changes]
        if num == 0 then num, den = earlier[3], earlier[4] end
        changes[#changes] = nil
      end
    end
    if time < item_end - 1e-9 then changes[#changes + 1] = { time, bpm, num, den } end
  end
  for _, change in ipairs(changes) do
    reaper.SetTempoTimeSigMarker(0, -1, change[1], -1, -1, change[2], change[3], change[4], false)
  end
  reaper.SetTempoTimeSigMarker(0, -1, item_end, -1, -1, old_bpm, old_num, old_den, false)
  reaper.UpdateTimeline()
  return #changes
end

-- Project markers for the file's "cut N (bar B.B)" markers, replacing earlier ones under the item.
function M.add_cut_markers(info, conductor)
  local item_end = info.position + info.length
  local _, markers, regions = reaper.CountProjectMarkers(0)
  local stale = {}
  for index = 0, markers + regions - 1 do
    local _, is_region, position, _, name, number = reaper.EnumProjectMarkers3(0, index)
    if not is_region and name:match("^cut %d+ %(bar ") and position >= info.position - 1e-9 and
        position <= item_end + 1e-9 then
      stale[#stale + 1] = number
    end
  end
  for _, number in ipairs(stale) do reaper.DeleteProjectMarker(0, number, false) end
  local added = 0
  for _, marker in ipairs(conductor.markers) do
    if marker[2]:match("^cut %d+ %(bar ") then
      local time = info.timeline_offset + conductor.seconds(marker[1])
      if time >= info.position - 1e-9 and time <= item_end + 1e-9 then
        reaper.AddProjectMarker2(0, false, time, 0, marker[2], -1, 0)
        added = added + 1
      end
    end
  end
  return added
end

-- Inserting the generated MIDI -------------------------------------------------------------------

function M.track_name(track)
  local _, name = reaper.GetSetMediaTrackInfo_String(track, "P_NAME", "", false)
  return name
end

function M.find_or_create_track(name)
  for index = 0, reaper.CountTracks(0) - 1 do
    local track = reaper.GetTrack(0, index)
    if M.track_name(track) == name then return track end
  end
  local index = reaper.CountTracks(0)
  reaper.InsertTrackAtIndex(index, true)
  local track = reaper.GetTrack(0, index)
  reaper.GetSetMediaTrackInfo_String(track, "P_NAME", name, true)
  return track
end

local function track_items(track)
  local items = {}
  for index = 0, reaper.CountTrackMediaItems(track) - 1 do
    items[reaper.GetTrackMediaItem(track, index)] = true
  end
  return items
end

local function new_item_on(track, before)
  for index = 0, reaper.CountTrackMediaItems(track) - 1 do
    local item = reaper.GetTrackMediaItem(track, index)
    if not before[item] then return item end
  end
  return nil
end

-- Deletes the notes and channel messages of every other channel (the file holds every part).
function M.keep_channel(take, channel)
  local _, notes, ccs = reaper.MIDI_CountEvts(take)
  for index = notes - 1, 0, -1 do
    local _, _, _, _, _, note_channel = reaper.MIDI_GetNote(take, index)
    if note_channel ~= channel then reaper.MIDI_DeleteNote(take, index) end
  end
  for index = ccs - 1, 0, -1 do
    local _, _, _, _, _, cc_channel = reaper.MIDI_GetCC(take, index)
    if cc_channel ~= channel then reaper.MIDI_DeleteCC(take, index) end
  end
  reaper.MIDI_Sort(take)
end

-- One item per part on its named track, covering exactly the video item: media time t of the
-- file sounds at project time (item position - take offset + t), as the video frame t shows.
function M.insert_generated_midi(info, midi_path)
  if not reaper.file_exists(midi_path) then
    return M.fail("The generated MIDI file is missing:\n" .. midi_path ..
      "\n\nScore the video item again.")
  end
  local cursor = reaper.GetCursorPosition()
  local selected = {}
  for index = 0, reaper.CountSelectedTracks(0) - 1 do
    selected[#selected + 1] = reaper.GetSelectedTrack(0, index)
  end
  local conductor, unreadable = nil, nil
  if M.setting("set_tempo") == "1" or M.setting("cut_markers") == "1" then
    conductor, unreadable = M.read_conductor(midi_path)
    if conductor == nil then return M.fail("Cannot read the tempo map and cuts of\n" ..
      midi_path .. "\n\n" .. unreadable) end
  end
  reaper.Undo_BeginBlock()
  reaper.PreventUIRefresh(1)
  -- the tempo first, so the file's beats and the project's beats are the same beats
  if conductor and M.setting("set_tempo") == "1" then M.set_project_tempo(info, conductor) end
  if conductor and M.setting("cut_markers") == "1" then M.add_cut_markers(info, conductor) end
  local inserted, problem = {}, nil
  for _, part in ipairs(M.PARTS) do
    local track = M.find_or_create_track(part.name)
    local before = track_items(track)
    reaper.SetOnlyTrackSelected(track)
    reaper.Main_OnCommand(SET_LAST_TOUCHED_TRACK, 0)
    reaper.SetEditCurPos(info.position, false, false)
    reaper.InsertMedia(midi_path, 0)  -- mode 0: on the last touched track, at the edit cursor
    local item = new_item_on(track, before)
    if item == nil then
      problem = "REAPER did not insert " .. midi_path .. " on the track \"" .. part.name .. "\"."
      break
    end
    reaper.SetMediaItemInfo_Value(item, "D_POSITION", info.position)
    reaper.SetMediaItemInfo_Value(item, "D_LENGTH", info.length)
    local take = reaper.GetActiveTake(item)
    reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", info.offset)
    reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", part.name, true)
    M.keep_channel(take, part.channel)
    inserted[#inserted + 1] = item
  end
  reaper.SetEditCurPos(cursor, false, false)
  reaper.Main_OnCommand(40297, 0)  -- "Track: Unselect all tracks"
  for _, track in ipairs(selected) do reaper.SetTrackSelected(track, true) end
  reaper.PreventUIRefresh(-1)
  reaper.UpdateArrange()
  reaper.Undo_EndBlock("v2m: insert generated MIDI", -1)
  if problem then return M.fail(problem) end
  return true, inserted
end

return M

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

local M = {}

M.SECTION = "v2m"
M.DEFAULTS = { executable = "", host = "127.0.0.1", port = "9000", timeout_s = "900" }
M.PROBE_WAIT_S = 3        -- is a daemon there? /v2m/status is answered at once
M.SHORT_WAIT_S = 30       -- renders of a composition the daemon already holds, settings
M.STARTUP_MARGIN_S = 60   -- ExecProcess waits this much longer than `send --wait` itself
M.PARTS = {               -- tracks of the generated MIDI file and their MIDI channels (0-based)
  { name = "V2M Chords", channel = 0 },
  { name = "V2M Arp", channel = 1 },
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
        parts[#parts + 1] = utf8.char(tonumber(body:sub(i + 2, i + 5), 16))
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

-- Deletes the notes and channel messages of every other channel (the file holds both parts).
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
  reaper.Undo_BeginBlock()
  reaper.PreventUIRefresh(1)
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

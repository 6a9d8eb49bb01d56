-- A stand-in for REAPER's `reaper` table, for running the v2m ReaScripts under plain Lua 5.4.
--
-- It keeps a tiny project model (tracks, items, takes with MIDI notes, ExtState, edit cursor)
-- and records every call. Any function the stub does not know raises an error, so a script that
-- calls something unexpected fails its test instead of passing silently.
--
-- build(scenario) returns the stub and a dump() function giving the recorded state as a table.
-- Scenario keys (all optional): os, project_path, cursor, command_id, ext_state {key=value},
-- proj_ext_state {key=value}, tracks {{name, selected}}, items {{guid, track, position, length,
-- offset, rate, path, source_type, section, selected}}, midi_notes {{chan, pitch}},
-- midi_ccs {{chan}}, midi_length, exec ("shell" runs the command line with /bin/sh) or
-- exec_responses {"code\noutput", ...}, message_answers {6, 7, ...}, user_inputs {ok, text},
-- tempo_markers {{time, bpm, num, den}} (num/den 0: unchanged), project_markers {{pos, name}}.

local M = {}

local function posix_quote(text)
  return "'" .. (text:gsub("'", "'\\''")) .. "'"
end

function M.build(scenario)
  local state = {
    calls = {}, tracks = {}, items = {}, ext = {}, proj_ext = {},
    cursor = scenario.cursor or 0.0, toggles = {}, last_touched = nil,
    tempo_markers = {}, project_markers = {}, next_marker = 1,
  }
  for _, fields in ipairs(scenario.tempo_markers or {}) do
    state.tempo_markers[#state.tempo_markers + 1] = { time = fields[1], bpm = fields[2],
                                                      num = fields[3] or 0, den = fields[4] or 0 }
  end
  for _, fields in ipairs(scenario.project_markers or {}) do
    state.project_markers[#state.project_markers + 1] = { pos = fields[1], name = fields[2],
                                                          number = state.next_marker }
    state.next_marker = state.next_marker + 1
  end
  local answers = { messages = 1, exec = 1 }
  for key, value in pairs(scenario.ext_state or {}) do state.ext[key] = value end
  for key, value in pairs(scenario.proj_ext_state or {}) do state.proj_ext[key] = value end

  local function label(value)
    if type(value) ~= "table" then return value end
    if value.kind == "track" then return "track:" .. value.name end
    if value.kind == "item" then return "item:" .. value.guid end
    if value.kind == "take" then return "take:" .. value.item.guid end
    return "<" .. tostring(value.kind) .. ">"
  end

  local function new_track(name)
    return { kind = "track", name = name or "", selected = false, items = {} }
  end

  local function add_item(track, fields)
    local source = { kind = "source", path = fields.path or "", type = fields.source_type or "VIDEO" }
    if fields.section then source = { kind = "source", path = "", type = "SECTION", parent = source } end
    local take = { kind = "take", offset = fields.offset or 0.0, rate = fields.rate or 1.0,
                   name = "", source = source, notes = {}, ccs = {} }
    local item = { kind = "item", guid = fields.guid or ("{ITEM-" .. (#state.items + 1) .. "}"),
                   position = fields.position or 0.0, length = fields.length or 1.0,
                   selected = fields.selected or false, track = track, take = take }
    take.item = item
    track.items[#track.items + 1] = item
    state.items[#state.items + 1] = item
    return item
  end

  for _, fields in ipairs(scenario.tracks or {}) do
    local track = new_track(fields.name)
    track.selected = fields.selected or false
    state.tracks[#state.tracks + 1] = track
  end
  for _, fields in ipairs(scenario.items or {}) do
    local track = state.tracks[fields.track or 1]
    if track == nil then
      track = new_track("")
      state.tracks[#state.tracks + 1] = track
    end
    add_item(track, fields)
  end

  local function selected_items()
    local list = {}
    for _, item in ipairs(state.items) do if item.selected then list[#list + 1] = item end end
    return list
  end

  local function selected_tracks()
    local list = {}
    for _, track in ipairs(state.tracks) do if track.selected then list[#list + 1] = track end end
    return list
  end

  local function run_shell(command)
    local pipe = assert(io.popen("(" .. command .. ") 2>&1; echo \"__rc=$?\""))
    local output = pipe:read("a")
    pipe:close()
    local body, code = output:match("^(.-)__rc=(%d+)%s*$")
    return code .. "\n" .. body
  end

  local api = {}

  function api.GetOS() return scenario.os or "linux-x86_64" end
  function api.GetExtState(section, key) return state.ext[section .. "/" .. key] or "" end
  function api.SetExtState(section, key, value, persist)
    state.ext[section .. "/" .. key] = value
  end
  function api.GetProjExtState(_, section, key)
    local value = state.proj_ext[section .. "/" .. key]
    if value == nil then return 0, "" end
    return 1, value
  end
  function api.SetProjExtState(_, section, key, value)
    state.proj_ext[section .. "/" .. key] = value
    return 1
  end
  function api.file_exists(path)
    local handle = io.open(path, "rb")
    if handle then handle:close() return true end
    return false
  end
  function api.GetProjectPath() return scenario.project_path or "/tmp/project" end
  function api.RecursiveCreateDirectory(path)
    if scenario.exec == "shell" then os.execute("mkdir -p " .. posix_quote(path)) end
    return 1
  end
  function api.ExecProcess(command, timeout_ms)
    if scenario.exec == "shell" then return run_shell(command) end
    local responses = scenario.exec_responses or {}
    local response = responses[answers.exec]
    answers.exec = answers.exec + 1
    return response
  end
  function api.ShowMessageBox(message, title, kind)
    local answer = (scenario.message_answers or {})[answers.messages] or 1
    answers.messages = answers.messages + 1
    return answer
  end
  function api.GetUserInputs(title, count, captions, defaults)
    local inputs = scenario.user_inputs or {}
    return inputs.ok ~= false, inputs.text or defaults
  end
  function api.get_action_context()
    return false, "script.lua", 0, scenario.command_id or 55000, 0, 0, 0
  end
  function api.SetToggleCommandState(section, command, value)
    state.toggles[#state.toggles + 1] = { section, command, value }
    return true
  end
  function api.RefreshToolbar2() end

  -- items and takes
  function api.GetSelectedMediaItem(_, index) return selected_items()[index + 1] end
  function api.CountMediaItems() return #state.items end
  function api.GetMediaItem(_, index) return state.items[index + 1] end
  function api.GetActiveTake(item) return item.take end
  function api.GetMediaItemTake_Source(take) return take.source end
  function api.GetMediaSourceParent(source) return source.parent end
  function api.GetMediaSourceFileName(source) return source.path end
  function api.GetMediaSourceType(source) return source.type end
  function api.GetSetMediaItemInfo_String(item, key, value, set)
    assert(key == "GUID" and not set, "stub: only reading GUID is supported")
    return true, item.guid
  end
  local item_fields = { D_POSITION = "position", D_LENGTH = "length" }
  local take_fields = { D_STARTOFFS = "offset", D_PLAYRATE = "rate" }
  function api.GetMediaItemInfo_Value(item, key) return assert(item[item_fields[key]], key) end
  function api.SetMediaItemInfo_Value(item, key, value)
    item[assert(item_fields[key], key)] = value
    return true
  end
  function api.GetMediaItemTakeInfo_Value(take, key) return assert(take[take_fields[key]], key) end
  function api.SetMediaItemTakeInfo_Value(take, key, value)
    take[assert(take_fields[key], key)] = value
    return true
  end
  function api.GetSetMediaItemTakeInfo_String(take, key, value, set)
    assert(key == "P_NAME", key)
    if set then take.name = value end
    return true, take.name
  end

  -- MIDI in takes
  function api.MIDI_CountEvts(take) return 1, #take.notes, #take.ccs, 0 end
  function api.MIDI_GetNote(take, index)
    local note = assert(take.notes[index + 1], "no note " .. index)
    return true, false, false, 0, 1, note.chan, note.pitch, 100
  end
  function api.MIDI_DeleteNote(take, index)
    assert(take.notes[index + 1], "no note " .. index)
    table.remove(take.notes, index + 1)
    return true
  end
  function api.MIDI_GetCC(take, index)
    local cc = assert(take.ccs[index + 1], "no cc " .. index)
    return true, false, false, 0, 0xC0, cc.chan, 0, 0
  end
  function api.MIDI_DeleteCC(take, index)
    assert(take.ccs[index + 1], "no cc " .. index)
    table.remove(take.ccs, index + 1)
    return true
  end
  function api.MIDI_Sort() end

  -- tracks
  function api.CountTracks() return #state.tracks end
  function api.GetTrack(_, index) return state.tracks[index + 1] end
  function api.InsertTrackAtIndex(index, defaults)
    table.insert(state.tracks, index + 1, new_track(""))
  end
  function api.GetSetMediaTrackInfo_String(track, key, value, set)
    assert(key == "P_NAME", key)
    if set then track.name = value end
    return true, track.name
  end
  function api.CountTrackMediaItems(track) return #track.items end
  function api.GetTrackMediaItem(track, index) return track.items[index + 1] end
  function api.CountSelectedTracks() return #selected_tracks() end
  function api.GetSelectedTrack(_, index) return selected_tracks()[index + 1] end
  function api.SetOnlyTrackSelected(track)
    for _, other in ipairs(state.tracks) do other.selected = false end
    track.selected = true
  end
  function api.SetTrackSelected(track, selected) track.selected = selected end
  function api.Main_OnCommand(command)
    if command == 40914 then
      state.last_touched = selected_tracks()[1]
    elseif command == 40297 then
      for _, track in ipairs(state.tracks) do track.selected = false end
    else
      error("stub: Main_OnCommand " .. command .. " is not modelled")
    end
  end

  -- inserting media, the edit cursor, undo and redraw
  function api.GetCursorPosition() return state.cursor end
  function api.SetEditCurPos(position) state.cursor = position end
  function api.InsertMedia(path, mode)
    assert(mode & 3 == 0, "stub: only InsertMedia mode 0 (last touched track) is modelled")
    local track = assert(state.last_touched, "InsertMedia with no last touched track")
    local item = add_item(track, { path = path, source_type = "MIDI", position = state.cursor,
                                   length = scenario.midi_length or 10.0 })
    for _, note in ipairs(scenario.midi_notes or {}) do
      item.take.notes[#item.take.notes + 1] = { chan = note.chan, pitch = note.pitch }
    end
    for _, cc in ipairs(scenario.midi_ccs or {}) do
      item.take.ccs[#item.take.ccs + 1] = { chan = cc.chan }
    end
    return 1
  end
  -- tempo / time signature markers (sorted by time, as REAPER keeps them)
  function api.CountTempoTimeSigMarkers() return #state.tempo_markers end
  function api.GetTempoTimeSigMarker(_, index)
    local m = state.tempo_markers[index + 1]
    if m == nil then return false, -1, -1, -1, 0, 0, 0, false end
    return true, m.time, -1, -1, m.bpm, m.num, m.den, false
  end
  function api.DeleteTempoTimeSigMarker(_, index)
    if state.tempo_markers[index + 1] == nil then return false end
    table.remove(state.tempo_markers, index + 1)
    return true
  end
  function api.SetTempoTimeSigMarker(_, index, time, measure, beat, bpm, num, den, linear)
    assert(index == -1 and measure == -1 and beat == -1,
           "stub: only adding a marker at a time position is modelled")
    assert(bpm > 0 and not linear, "stub: a positive bpm and square tempo changes expected")
    state.tempo_markers[#state.tempo_markers + 1] = { time = time, bpm = bpm, num = num,
                                                      den = den }
    table.sort(state.tempo_markers, function(a, b) return a.time < b.time end)
    return true
  end
  function api.TimeMap_GetTimeSigAtTime(_, time)
    local num, den, bpm = 4, 4, scenario.project_bpm or 120.0
    for _, m in ipairs(state.tempo_markers) do
      if m.time <= time + 1e-9 then
        bpm = m.bpm
        if m.num > 0 then num, den = m.num, m.den end
      end
    end
    return num, den, bpm
  end
  function api.UpdateTimeline() end

  -- project markers
  function api.CountProjectMarkers() return #state.project_markers, #state.project_markers, 0 end
  function api.EnumProjectMarkers3(_, index)
    local m = state.project_markers[index + 1]
    if m == nil then return 0, false, 0, 0, "", 0, 0 end
    return index + 1, false, m.pos, 0, m.name, m.number, 0
  end
  function api.DeleteProjectMarker(_, number, is_region)
    assert(not is_region, "stub: regions are not modelled")
    for index, m in ipairs(state.project_markers) do
      if m.number == number then table.remove(state.project_markers, index) return true end
    end
    return false
  end
  function api.AddProjectMarker2(_, is_region, pos, region_end, name, want_index, color)
    assert(not is_region, "stub: regions are not modelled")
    state.project_markers[#state.project_markers + 1] = { pos = pos, name = name,
                                                          number = state.next_marker }
    state.next_marker = state.next_marker + 1
    table.sort(state.project_markers, function(a, b) return a.pos < b.pos end)
    return state.next_marker - 1
  end

  function api.Undo_BeginBlock() end
  function api.Undo_EndBlock() end
  function api.PreventUIRefresh() end
  function api.UpdateArrange() end

  local stub = setmetatable({}, {
    __index = function(_, name)
      local fn = api[name]
      if fn == nil then error("stub: reaper." .. name .. " is not modelled", 2) end
      return function(...)
        local args = {}
        for index = 1, select("#", ...) do args[index] = label(select(index, ...)) end
        state.calls[#state.calls + 1] = { fn = name, args = args }
        return fn(...)
      end
    end,
  })

  local function dump()
    local tracks = {}
    for _, track in ipairs(state.tracks) do
      local items = {}
      for _, item in ipairs(track.items) do
        local notes = {}
        for _, note in ipairs(item.take.notes) do notes[#notes + 1] = { note.chan, note.pitch } end
        local ccs = {}
        for _, cc in ipairs(item.take.ccs) do ccs[#ccs + 1] = cc.chan end
        items[#items + 1] = { guid = item.guid, position = item.position, length = item.length,
                              offset = item.take.offset, take_name = item.take.name,
                              path = item.take.source.path, notes = notes, ccs = ccs }
      end
      tracks[#tracks + 1] = { name = track.name, selected = track.selected, items = items }
    end
    local tempo_markers = {}
    for _, m in ipairs(state.tempo_markers) do
      tempo_markers[#tempo_markers + 1] = { m.time, m.bpm, m.num, m.den }
    end
    local project_markers = {}
    for _, m in ipairs(state.project_markers) do
      project_markers[#project_markers + 1] = { m.pos, m.name }
    end
    return { calls = state.calls, tracks = tracks, ext = state.ext, proj_ext = state.proj_ext,
             cursor = state.cursor, toggles = state.toggles, tempo_markers = tempo_markers,
             project_markers = project_markers }
  end

  return stub, dump
end

-- Minimal JSON writer for the dump (arrays are tables with keys 1..n; {} is an empty array).
local function encode(value, out)
  local kind = type(value)
  if value == nil then
    out[#out + 1] = "null"
  elseif kind == "boolean" then
    out[#out + 1] = tostring(value)
  elseif kind == "number" then
    out[#out + 1] = math.type(value) == "integer" and tostring(value) or string.format("%.17g", value)
  elseif kind == "string" then
    out[#out + 1] = '"' .. value:gsub('[%c"\\]', function(char)
      return string.format("\\u%04x", char:byte())
    end) .. '"'
  elseif kind == "table" then
    local count = 0
    for _ in pairs(value) do count = count + 1 end
    if count == #value then
      out[#out + 1] = "["
      for index, element in ipairs(value) do
        if index > 1 then out[#out + 1] = "," end
        encode(element, out)
      end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      local first = true
      for key, element in pairs(value) do
        if not first then out[#out + 1] = "," end
        first = false
        encode(tostring(key), out)
        out[#out + 1] = ":"
        encode(element, out)
      end
      out[#out + 1] = "}"
    end
  else
    out[#out + 1] = '"<' .. kind .. '>"'
  end
end

function M.json(value)
  local out = {}
  encode(value, out)
  return table.concat(out)
end

return M

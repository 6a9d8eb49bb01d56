-- @description v2m - Suggest progressions for the selected video item
-- @about
--   Asks the running v2m-bridge daemon which library progressions fit each scene of the selected
--   video item (/v2m/match; the library is the shipped chord corpora unless the daemon is told
--   otherwise), lists them, and puts the chosen one into its scene (/v2m/use, like a regenerate
--   of that scene: the rest of the music is kept). Then it renders the result to a new MIDI file
--   in <project media folder>/v2m/ and inserts it at the video item. Needs `v2m-bridge serve`.
--   Scenes run from cut to cut at the daemon's detected cut times, which /v2m/use gets back as
--   written (not rounded), so the chosen chords start on the cut.

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local v2m = dofile(script_dir .. "v2m_common.lua")

local TOP = 5

-- The JSON string literals of one line (`send` prints a reply's strings JSON-quoted), decoded.
local function json_strings(line)
  local found, index = {}, 1
  while true do
    local open = line:find('"', index, true)
    if open == nil then return found end
    local at = open + 1
    while at <= #line and line:sub(at, at) ~= '"' do
      if line:sub(at, at) ~= "\\" then
        at = at + 1
      elseif line:sub(at + 1, at + 1) == "u" then
        at = at + 6
      else
        at = at + 2
      end
    end
    found[#found + 1] = v2m.json_string(line:sub(open + 1, at - 1))
    index = at + 1
  end
end

-- The excerpts of a `/v2m/match/done i:scenes s:label s:listing` reply, by scene.
local function parse_match(output)
  local line = output:match("(/v2m/match/done[^\n]*)")
  if line == nil then return nil end
  local strings = json_strings(line)
  local label, listing = strings[1] or "", strings[2] or ""
  local scenes = {}
  for row in (listing .. "\n"):gmatch("(.-)\n") do
    local fields = {}
    for field in (row .. "\t"):gmatch("(.-)\t") do fields[#fields + 1] = field end
    if #fields >= 7 then
      local number = tonumber(fields[1])
      scenes[number] = scenes[number] or { start = tonumber(fields[2]),
                                           finish = tonumber(fields[3]), start_text = fields[2],
                                           finish_text = fields[3], excerpts = {} }
      local list = scenes[number].excerpts
      list[#list + 1] = { rank = tonumber(fields[4]), id = fields[5], score = fields[6],
                          chords = fields[7], name = fields[8] or "" }
    end
  end
  return scenes, label
end

local function match(info)
  local last = select(2, reaper.GetProjExtState(0, v2m.SECTION, "last_item"))
  if last ~= info.guid then  -- the daemon may hold another video: open this one
    local code, output = v2m.send("/v2m/video/open",
      { v2m.s(info.path), v2m.f(info.timeline_offset) }, v2m.timeout_s())
    if code ~= 0 then return v2m.explain_failure("The daemon could not open the video", code, output) end
  end
  local code, output = v2m.send("/v2m/match", { v2m.i(TOP) }, v2m.timeout_s())
  if code == 1 and output:find("no video is open", 1, true) then
    code, output = v2m.send("/v2m/video/open",
      { v2m.s(info.path), v2m.f(info.timeline_offset) }, v2m.timeout_s())
    if code ~= 0 then return v2m.explain_failure("The daemon could not open the video", code, output) end
    code, output = v2m.send("/v2m/match", { v2m.i(TOP) }, v2m.timeout_s())
  end
  if code ~= 0 then return v2m.explain_failure("The daemon could not rank the library", code, output) end
  local scenes, label = parse_match(output)
  if scenes == nil or next(scenes) == nil then
    return v2m.fail("The daemon's answer lists no progressions:\n\n" .. output)
  end
  return scenes, label
end

local function listing_text(scenes, label)
  local lines = { "Progressions that fit each scene (score: higher fits better).", "" }
  for number, scene in ipairs(scenes) do
    lines[#lines + 1] = string.format("Scene %d (%.2f-%.2f s):", number, scene.start,
      scene.finish)
    for _, excerpt in ipairs(scene.excerpts) do
      local name = excerpt.name ~= "" and ("  " .. excerpt.name) or ""
      lines[#lines + 1] = string.format("  %d. %s  %s  [%s]%s", excerpt.rank, excerpt.score,
        excerpt.chords, excerpt.id, name)
    end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Note: " .. label
  lines[#lines + 1] = ""
  lines[#lines + 1] = "OK: choose one to put into its scene."
  return table.concat(lines, "\n")
end

local function choose(scenes)
  local confirmed, answer = reaper.GetUserInputs("v2m: use a progression", 2,
    "Scene number,Rank in the scene,separator=\n", "1\n1")
  if not confirmed then return nil end
  local scene_text, rank_text = answer:match("^(.-)\n(.-)$")
  local scene = scenes[tonumber(scene_text or "")]
  local excerpt = scene and scene.excerpts[tonumber(rank_text or "")]
  if excerpt == nil then
    v2m.fail("There is no scene " .. tostring(scene_text) .. " with a rank " ..
      tostring(rank_text) .. " in the list.")
    return nil
  end
  return scene, excerpt
end

local function main()
  local item = reaper.GetSelectedMediaItem(0, 0)
  if item == nil then return v2m.fail("Select the video item first.") end
  local info, problem = v2m.video_item_info(item)
  if info == nil then return v2m.fail(problem) end

  local code, output = v2m.send("/v2m/status", {}, v2m.PROBE_WAIT_S)
  if code == 2 then
    return v2m.fail("No v2m-bridge daemon answered. Start it with `v2m-bridge serve` " ..
      "(suggestions need the daemon), then run this action again.\n\n" .. output)
  elseif code ~= 0 then
    return v2m.explain_failure("Could not reach the daemon", code, output)
  end

  local scenes, label = match(info)
  if not scenes then return false end
  if reaper.ShowMessageBox(listing_text(scenes, label), "v2m suggestions", 1) ~= 1 then
    return false
  end
  local scene, excerpt = choose(scenes)
  if scene == nil then return false end

  -- the cut times as the daemon wrote them: no rounding, no float noise
  code, output = v2m.send("/v2m/use", { v2m.s(excerpt.id), "f:" .. scene.start_text,
    "f:" .. scene.finish_text }, v2m.timeout_s())
  if code ~= 0 then return v2m.explain_failure("The daemon could not use the progression", code, output) end
  local midi_path = v2m.output_path(info)
  code, output = v2m.send("/v2m/render", { v2m.s(midi_path) }, v2m.SHORT_WAIT_S)
  if code ~= 0 then return v2m.explain_failure("The daemon could not write the MIDI file", code, output) end
  v2m.remember_score(info, midi_path)
  return v2m.insert_generated_midi(info, midi_path)
end

main()

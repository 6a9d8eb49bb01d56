-- @description v2m - Insert generated MIDI at the video item
-- @about
--   Inserts the MIDI file last scored for the selected video item (see "v2m - Score selected
--   video item") on the tracks "V2M Chords", "V2M Figuration", "V2M Bass" and "V2M Hits"
--   (created when missing): one item per part, with the same position, length and start offset as the video item, so every chord
--   lines up with the frame it was composed for. With no item selected, uses the video item
--   scored last.

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local v2m = dofile(script_dir .. "v2m_common.lua")

local function scored_item()
  local item = reaper.GetSelectedMediaItem(0, 0)
  if item ~= nil then return item end
  local found, guid = reaper.GetProjExtState(0, v2m.SECTION, "last_item")
  if found and found > 0 and guid ~= "" then return v2m.find_item_by_guid(guid) end
  return nil
end

local function main()
  local item = scored_item()
  if item == nil then
    return v2m.fail("Select the video item first (and score it with \"v2m - Score selected " ..
      "video item\").")
  end
  local info, problem = v2m.video_item_info(item)
  if info == nil then return v2m.fail(problem) end
  local midi_path = v2m.scored_midi(info)
  if midi_path == nil then
    return v2m.fail("This video item has not been scored yet: run \"v2m - Score selected " ..
      "video item\" first.")
  end
  return v2m.insert_generated_midi(info, midi_path)
end

main()

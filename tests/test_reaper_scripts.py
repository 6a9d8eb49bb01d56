"""The Reaper scripts under Debian's ``lua5.4``, against a stub ``reaper`` table that records calls.

End-to-end cases let the stub's ``ExecProcess`` run the command line with ``/bin/sh``: a stand-in
``v2m-bridge`` (whose own path has spaces and a quote) logs its exact argv and hands ``send`` to
the real ``python -m v2m_bridge.cli.send``, which talks to a python-osc fake daemon.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_osc_daemon import FakeDaemon, closed_port

LUA = shutil.which("lua5.4")
pytestmark = pytest.mark.skipif(LUA is None, reason="lua5.4 is not installed (Debian: apt-get "
                                "install lua5.4; CI installs it)")

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "reaper_scripts"
RUNNER = Path(__file__).resolve().parent / "lua" / "run_script.lua"
SCORE = SCRIPTS / "v2m - Score selected video item.lua"
INSERT = SCRIPTS / "v2m - Insert generated MIDI at the video item.lua"
TOGGLE = SCRIPTS / "v2m - Toggle live follow.lua"
SETTINGS = SCRIPTS / "v2m - Settings.lua"

TRICKY_NAME = "My \"Film\" it's $HOME `id` $(id) ; & | > cut.mp4"
RECORD_END = "\x1e"
FIELD_END = "\x1f"


def lua_literal(value: object) -> str:
    """Python data as Lua source (strings as decimal byte escapes, so anything survives)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(f"\\{byte:03d}" for byte in value.encode()) + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    raise TypeError(value)


def run_lua(script: Path, scenario: dict, tmp_path: Path) -> dict:
    scenario_file = tmp_path / "scenario.lua"
    scenario_file.write_text("return " + lua_literal(scenario))
    out = tmp_path / "result.json"
    subprocess.run([LUA, str(RUNNER), str(scenario_file), str(script), str(out)], check=True,
                   timeout=60)
    result = json.loads(out.read_text())
    assert "error" not in result, result["error"]
    return result


def calls(result: dict, name: str) -> list[list]:
    return [call["args"] for call in result["calls"] if call["fn"] == name]


def message_texts(result: dict) -> list[str]:
    return [args[0] for args in calls(result, "ShowMessageBox")]


@pytest.fixture
def fake_bridge(tmp_path):
    """A stand-in v2m-bridge executable; returns (path, function reading the argv it got)."""
    folder = tmp_path / "it's a bin dir"
    folder.mkdir()
    log = tmp_path / "argv.log"
    executable = folder / "v2m bridge"
    python, log_q = shlex.quote(sys.executable), shlex.quote(str(log))
    executable.write_text(f"""#!/bin/sh
printf '%s{FIELD_END}' "$@" >> {log_q}
printf '{RECORD_END}' >> {log_q}
if [ "$1" = send ]; then shift; exec {python} -m v2m_bridge.cli.send "$@"; fi
if [ "$1" = render ]; then printf 'MThd' > "$4"; echo "wrote $4"; exit 0; fi
echo "unexpected command $1"; exit 64
""")
    executable.chmod(0o755)

    def argv_log() -> list[list[str]]:
        if not log.exists():
            return []
        records = log.read_text().split(RECORD_END)[:-1]
        return [record.split(FIELD_END)[:-1] for record in records]

    return executable, argv_log


def video_item(path: str, **fields) -> dict:
    return {"guid": "{VIDEO-1}", "track": 1, "position": 12.0, "length": 20.0, "offset": 4.5,
            "path": path, "selected": True, **fields}


def score_scenario(tmp_path: Path, executable: Path, port: int, video: Path, **extra) -> dict:
    return {"exec": "shell", "project_path": str(tmp_path / "my project"),
            "ext_state": {"v2m/executable": str(executable), "v2m/port": str(port),
                          "v2m/timeout_s": "20"},
            "tracks": [{"name": "Video"}], "items": [video_item(str(video))],
            "message_answers": [7], **extra}


def send_argv(port: int, wait: str, *message: str) -> list[str]:
    return ["send", "--host", "127.0.0.1", "--port", str(port), "--wait", wait, "--", *message]


# --- quoting ----------------------------------------------------------------------------------

QUOTING_CASES = ["plain", "with space", "it's", 'say "hi"', "$HOME `id` $(id) ; rm -rf / & | >",
                 "back\\slash\\", 'ends with backslash quote\\"', "tab\there", "", "ünïcödé ✓",
                 "new\nline", "%PATH% ^&", "trailing\\\\", "C:\\Program Files\\v2m\\v2m.exe"]


def quoted_by_lua(tmp_path: Path, os_name: str) -> str:
    probe = tmp_path / "probe.lua"
    probe.write_text(f"""
local v2m = dofile({lua_literal(str(SCRIPTS / "v2m_common.lua"))})
reaper.SetExtState("out", "line", v2m.command_line({lua_literal(QUOTING_CASES)}))
""")
    result = run_lua(probe, {"os": os_name}, tmp_path)
    return result["ext"]["out/line"]


def test_posix_quoting_survives_the_shell_unchanged(tmp_path):
    line = quoted_by_lua(tmp_path, "macOS-arm64")
    assert shlex.split(line) == QUOTING_CASES
    shell = subprocess.run(["/bin/sh", "-c", "printf '%s\\000' " + line], capture_output=True,
                           check=True)
    assert shell.stdout.decode().split("\0")[:-1] == QUOTING_CASES


def test_windows_quoting_matches_the_c_runtime_rules(tmp_path):
    assert quoted_by_lua(tmp_path, "Win64") == subprocess.list2cmdline(QUOTING_CASES)


# --- score ------------------------------------------------------------------------------------

def test_score_with_the_daemon_sends_path_offset_and_renders(tmp_path, fake_bridge):
    executable, argv_log = fake_bridge
    video = tmp_path / TRICKY_NAME
    replies = {"/v2m/status": [("/v2m/status", ("stopped", 0.0, 0.0, "idle"))],
               "/v2m/video/open": lambda args: [("/v2m/progress", ("queued", 0.0)),
                                                ("/v2m/ready", (args[0], 30.0))],
               "/v2m/render": lambda args: [("/v2m/render/done", args)]}
    with FakeDaemon(replies) as daemon:
        result = run_lua(SCORE, score_scenario(tmp_path, executable, daemon.port, video),
                         tmp_path)
        received = daemon.received
    midi = str(tmp_path / "my project" / "v2m" / (TRICKY_NAME[:-4] + "-v2m-1.mid"))
    assert argv_log() == [send_argv(daemon.port, "3", "/v2m/status"),
                          send_argv(daemon.port, "20", "/v2m/video/open", f"s:{video}", "f:7.5"),
                          send_argv(daemon.port, "30", "/v2m/render", f"s:{midi}")]
    assert received == [("/v2m/status", ()), ("/v2m/video/open", (str(video), 7.5)),
                        ("/v2m/render", (midi,))]
    assert [type(v) for v in received[1][1]] == [str, float]
    assert (tmp_path / "my project" / "v2m").is_dir()
    assert result["proj_ext"] == {"v2m/mid:{VIDEO-1}": midi, "v2m/last_item": "{VIDEO-1}"}
    [question] = message_texts(result)
    assert "by the running daemon" in question and midi in question
    assert calls(result, "InsertMedia") == []  # the user answered No


def test_score_copies_the_render_when_the_daemon_may_not_write_in_the_project(tmp_path,
                                                                               fake_bridge):
    """The daemon writes only in its --output-dir or beside the video: the script then renders
    under the same name there and copies the file into the project's v2m folder."""
    executable, argv_log = fake_bridge
    video = tmp_path / "clip.mp4"
    output_dir = tmp_path / 'daemon "out" ✓'
    output_dir.mkdir()

    def render(args):
        if args[0].startswith("/"):
            return [("/v2m/error", ("/v2m/render", f"{args[0]!r} is outside the folders the "
                                                   "daemon writes to"))]
        written = output_dir / args[0]
        written.write_bytes(b"MThd from the daemon")
        return [("/v2m/render/done", (str(written),))]

    replies = {"/v2m/status": [("/v2m/status", ("stopped", 0.0, 0.0, "idle"))],
               "/v2m/video/open": lambda args: [("/v2m/ready", (args[0], 30.0))],
               "/v2m/render": render}
    with FakeDaemon(replies) as daemon:
        result = run_lua(SCORE, score_scenario(tmp_path, executable, daemon.port, video),
                         tmp_path)
        received = daemon.received
    midi = tmp_path / "my project" / "v2m" / "clip-v2m-1.mid"
    assert [r for r in received if r[0] == "/v2m/render"] == [
        ("/v2m/render", (str(midi),)), ("/v2m/render", (midi.name,))]
    assert midi.read_bytes() == b"MThd from the daemon"
    assert result["proj_ext"]["v2m/mid:{VIDEO-1}"] == str(midi)
    assert argv_log()[-1] == send_argv(daemon.port, "30", "/v2m/render", f"s:{midi.name}")


def test_score_without_a_daemon_renders_offline_and_inserts(tmp_path, fake_bridge):
    executable, argv_log = fake_bridge
    video = tmp_path / TRICKY_NAME
    port = closed_port()
    scenario = score_scenario(tmp_path, executable, port, video, message_answers=[6],
                              midi_notes=[{"chan": 0, "pitch": 60}, {"chan": 1, "pitch": 72},
                                          {"chan": 2, "pitch": 36}, {"chan": 3, "pitch": 40}])
    result = run_lua(SCORE, scenario, tmp_path)
    midi = tmp_path / "my project" / "v2m" / (TRICKY_NAME[:-4] + "-v2m-1.mid")
    assert argv_log() == [send_argv(port, "3", "/v2m/status"),
                          ["render", str(video), "-o", str(midi)]]
    assert midi.read_bytes() == b"MThd"
    assert "offline (no daemon answered)" in message_texts(result)[0]
    assert calls(result, "InsertMedia") == [[str(midi), 0]] * 4
    names = [track["name"] for track in result["tracks"]]
    assert names == ["Video", "V2M Chords", "V2M Figuration", "V2M Bass", "V2M Hits"]


def test_a_second_score_gets_a_new_file_name(tmp_path, fake_bridge):
    executable, argv_log = fake_bridge
    folder = tmp_path / "my project" / "v2m"
    folder.mkdir(parents=True)
    (folder / "clip-v2m-1.mid").write_bytes(b"MThd")
    run_lua(SCORE, score_scenario(tmp_path, executable, closed_port(), tmp_path / "clip.mov"),
            tmp_path)
    assert argv_log()[-1][-1] == str(folder / "clip-v2m-2.mid")


def test_score_reports_the_daemons_error_and_stops(tmp_path, fake_bridge):
    executable, argv_log = fake_bridge
    replies = {"/v2m/status": [("/v2m/status", ("stopped", 0.0, 0.0, "idle"))],
               "/v2m/video/open": [("/v2m/error", ("/v2m/video/open", "not a video: x.txt"))]}
    with FakeDaemon(replies) as daemon:
        result = run_lua(SCORE, score_scenario(tmp_path, executable, daemon.port,
                                               tmp_path / "x.txt"), tmp_path)
        assert [address for address, _ in daemon.received] == ["/v2m/status", "/v2m/video/open"]
    sent = [argv[argv.index("--") + 1] for argv in argv_log()]
    assert sent == ["/v2m/status", "/v2m/video/open"]  # and no render after the error
    [message] = message_texts(result)
    assert "could not score the video (exit code 1)" in message
    assert "not a video: x.txt" in message
    assert not result["proj_ext"]  # an empty Lua table dumps as []


def test_score_explains_a_missing_v2m_bridge(tmp_path):
    scenario = {"exec": "shell", "items": [video_item("/films/a.mov")],
                "ext_state": {"v2m/executable": str(tmp_path / "nowhere" / "v2m-bridge")}}
    result = run_lua(SCORE, scenario, tmp_path)
    [message] = message_texts(result)
    assert "Could not run v2m-bridge" in message and "v2m - Settings" in message


@pytest.mark.parametrize(("items", "expected"), [
    ([], "Select the video item to score first."),
    ([video_item("", source_type="MIDI")], "is not a video file"),
    ([video_item("/films/a.mov", rate=1.5)], "plays at rate 1.5"),
])
def test_score_refuses_what_is_not_a_video_item(tmp_path, items, expected):
    result = run_lua(SCORE, {"items": items}, tmp_path)
    assert calls(result, "ExecProcess") == []
    [message] = message_texts(result)
    assert expected in message


def test_section_sources_are_followed_to_the_file(tmp_path):
    scenario = {"items": [video_item("/films/a b.mov", section=True)], "os": "Win64",
                "project_path": "C:\\Proj\\Media",
                "ext_state": {"v2m/executable": "C:\\Program Files\\v2m\\v2m-bridge.exe"},
                "exec_responses": ["2\nno answer", "0\nwrote it"], "message_answers": [7]}
    result = run_lua(SCORE, scenario, tmp_path)
    [_, render] = calls(result, "ExecProcess")
    assert render[0] == subprocess.list2cmdline(
        ["C:\\Program Files\\v2m\\v2m-bridge.exe", "render", "/films/a b.mov", "-o",
         "C:\\Proj\\Media\\v2m\\a b-v2m-1.mid"])
    assert render[1] == 900_000  # the default 900 s timeout, in ms


# --- insert -----------------------------------------------------------------------------------

def insert_scenario(midi: Path, **extra) -> dict:
    return {"tracks": [{"name": "Video", "selected": True}, {"name": "V2M Figuration"}],
            "items": [video_item("/films/a.mov")], "cursor": 3.0,
            "proj_ext_state": {"v2m/mid:{VIDEO-1}": str(midi), "v2m/last_item": "{VIDEO-1}"},
            "midi_notes": [{"chan": 0, "pitch": 60}, {"chan": 1, "pitch": 72},
                           {"chan": 0, "pitch": 64}, {"chan": 1, "pitch": 76},
                           {"chan": 2, "pitch": 36}, {"chan": 3, "pitch": 40}],
            "midi_ccs": [{"chan": 0}, {"chan": 1}, {"chan": 2}, {"chan": 3}], **extra}


def test_insert_puts_each_part_on_its_track_aligned_to_the_video(tmp_path):
    midi = tmp_path / "cue v2m.mid"
    midi.write_bytes(b"MThd")
    result = run_lua(INSERT, insert_scenario(midi), tmp_path)
    assert calls(result, "InsertMedia") == [[str(midi), 0]] * 4
    tracks = {track["name"]: track for track in result["tracks"]}
    assert [track["name"] for track in result["tracks"]] == [
        "Video", "V2M Figuration", "V2M Chords", "V2M Bass", "V2M Hits"]
    for name, channel, pitches in (("V2M Chords", 0, [60, 64]), ("V2M Figuration", 1, [72, 76]),
                                   ("V2M Bass", 2, [36]), ("V2M Hits", 3, [40])):
        [item] = tracks[name]["items"]
        assert (item["position"], item["length"], item["offset"]) == (12.0, 20.0, 4.5)
        assert item["take_name"] == name and item["path"] == str(midi)
        assert item["notes"] == [[channel, pitch] for pitch in pitches]
        assert item["ccs"] == [channel]
    # the edit cursor and the track selection are as they were
    assert result["cursor"] == 3.0
    assert [t["name"] for t in result["tracks"] if t["selected"]] == ["Video"]
    assert len(calls(result, "Undo_EndBlock")) == 1
    assert message_texts(result) == []


def test_insert_uses_the_last_scored_item_when_nothing_is_selected(tmp_path):
    midi = tmp_path / "cue.mid"
    midi.write_bytes(b"MThd")
    scenario = insert_scenario(midi)
    scenario["items"][0]["selected"] = False
    result = run_lua(INSERT, scenario, tmp_path)
    assert len(calls(result, "InsertMedia")) == 4


@pytest.mark.parametrize(("change", "expected"), [
    ({"proj_ext_state": {}}, "has not been scored yet"),
    ({"items": []}, "Select the video item first"),
])
def test_insert_refuses_without_a_scored_video(tmp_path, change, expected):
    midi = tmp_path / "cue.mid"
    midi.write_bytes(b"MThd")
    result = run_lua(INSERT, {**insert_scenario(midi), **change}, tmp_path)
    assert calls(result, "InsertMedia") == []
    assert expected in message_texts(result)[0]


def test_insert_reports_a_deleted_midi_file(tmp_path):
    result = run_lua(INSERT, insert_scenario(tmp_path / "gone.mid"), tmp_path)
    assert calls(result, "InsertMedia") == []
    assert "The generated MIDI file is missing" in message_texts(result)[0]


# --- toggle live follow -----------------------------------------------------------------------

def toggle_scenario(executable: Path, port: int, ext: dict | None = None) -> dict:
    return {"exec": "shell", "command_id": 55123,
            "ext_state": {"v2m/executable": str(executable), "v2m/port": str(port),
                          **(ext or {})}}


def test_toggle_turns_follow_off_then_on(tmp_path, fake_bridge):
    executable, _ = fake_bridge
    replies = {"/v2m/transport/follow": [("/v2m/ok", ("/v2m/transport/follow",))]}
    with FakeDaemon(replies) as daemon:
        first = run_lua(TOGGLE, toggle_scenario(executable, daemon.port), tmp_path)
        second = run_lua(TOGGLE, toggle_scenario(executable, daemon.port, first["ext"]),
                         tmp_path)
        received = daemon.received
    assert received == [("/v2m/transport/follow", (0,)), ("/v2m/transport/follow", (1,))]
    assert [type(args[0]) for _, args in received] == [int, int]
    assert first["toggles"] == [[0, 55123, 0]] and first["ext"]["v2m/follow"] == "0"
    assert second["toggles"] == [[0, 55123, 1]] and second["ext"]["v2m/follow"] == "1"
    assert message_texts(first) == message_texts(second) == []


def test_toggle_keeps_its_state_when_the_daemon_refuses(tmp_path, fake_bridge):
    executable, _ = fake_bridge
    replies = {"/v2m/transport/follow": [
        ("/v2m/error", ("/v2m/transport/follow", "unknown address /v2m/transport/follow"))]}
    with FakeDaemon(replies) as daemon:
        result = run_lua(TOGGLE, toggle_scenario(executable, daemon.port), tmp_path)
    assert result["toggles"] == [] and "v2m/follow" not in result["ext"]
    assert "unknown address /v2m/transport/follow" in message_texts(result)[0]


def test_toggle_without_a_daemon_says_so(tmp_path, fake_bridge):
    executable, _ = fake_bridge
    result = run_lua(TOGGLE, toggle_scenario(executable, closed_port()), tmp_path)
    assert result["toggles"] == []
    assert "No v2m-bridge daemon answered" in message_texts(result)[0]


# --- settings ---------------------------------------------------------------------------------

def test_settings_are_checked_and_stored(tmp_path):
    result = run_lua(SETTINGS, {"user_inputs": {"text": "\nstudio.local\n9100\n120"}}, tmp_path)
    assert {k: v for k, v in result["ext"].items()} == {
        "v2m/executable": "", "v2m/host": "studio.local", "v2m/port": "9100",
        "v2m/timeout_s": "120", "v2m/tempo": "", "v2m/set_tempo": "0", "v2m/cut_markers": "0"}
    # issue 13: how scoring picks the tempo, and tempo map + cut markers on insert
    full = run_lua(SETTINGS, {"user_inputs": {"text": "\nh\n9000\n60\nAuto  Map\n1\n1"}},
                   tmp_path)
    assert {k: full["ext"][k] for k in ("v2m/tempo", "v2m/set_tempo", "v2m/cut_markers")} == {
        "v2m/tempo": "auto map", "v2m/set_tempo": "1", "v2m/cut_markers": "1"}
    for text, message in (("\nh\n9000\n60\nfast\n0\n0", "The tempo must be"),
                          ("\nh\n9000\n60\nauto\nyes\n0", "are 0 (no) or 1 (yes)")):
        bad_tempo = run_lua(SETTINGS, {"user_inputs": {"text": text}}, tmp_path)
        assert not bad_tempo["ext"] and message in message_texts(bad_tempo)[0]
    bad = run_lua(SETTINGS, {"user_inputs": {"text": "\nhost\n70000\n120"}}, tmp_path)
    assert not bad["ext"] and "whole number from 1 to 65535" in message_texts(bad)[0]
    missing = run_lua(SETTINGS, {"user_inputs": {"text": "/no/such/v2m-bridge\nh\n9000\n5"}},
                      tmp_path)
    assert not missing["ext"] and "There is no file at" in message_texts(missing)[0]


# --- only real ReaScript names ----------------------------------------------------------------

API_NAMES_FILE = Path(__file__).resolve().parent / "data" / "reascript_api_names.txt"
STUB = Path(__file__).resolve().parent / "lua" / "reaper_stub.lua"


def real_api_names() -> set[str]:
    lines = API_NAMES_FILE.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_stub_models_only_real_reascript_functions():
    modelled = set(re.findall(r"^\s*function api\.(\w+)\s*\(", STUB.read_text(), re.M))
    assert len(modelled) > 40
    unknown = modelled - real_api_names()
    assert not unknown, (f"the stub defines functions REAPER does not have: {sorted(unknown)} "
                         f"(check the ReaScript documentation, then {API_NAMES_FILE.name})")


def test_the_scripts_call_only_real_reascript_functions():
    used = set()
    for script in SCRIPTS.glob("*.lua"):
        used |= set(re.findall(r"\breaper\.(\w+)", script.read_text()))
    assert {"ShowMessageBox", "ExecProcess", "InsertMedia"} <= used
    assert not used - real_api_names(), sorted(used - real_api_names())


def test_the_name_list_catches_the_old_mistake():
    names = real_api_names()
    assert "MessageBox" not in names
    assert {"ShowMessageBox", "MB"} <= names


def test_every_error_path_shows_a_real_message_box(tmp_path):
    """``v2m.fail`` (each script's error path) runs under lua5.4 with a stub holding only real
    names: nothing selected, no scored video, a missing program all end in ShowMessageBox."""
    cases = [(SCORE, {"items": []}), (INSERT, {"items": []}),
             (SCORE, {"ext_state": {"v2m/executable": str(tmp_path / "nope")}, "exec": "shell",
                      "items": [video_item(str(tmp_path / "film.mp4"))]})]
    for script, scenario in cases:
        result = run_lua(script, scenario, tmp_path)
        boxes = calls(result, "ShowMessageBox")
        assert len(boxes) == 1 and boxes[0][1] == "v2m" and boxes[0][2] == 0, result["calls"]


# --- tempo map and cut markers on insert (issue 13) ------------------------------------------

def scored_midi_with_tempo_map(path: Path):
    """A real v2m-bridge MIDI file with a fitted tempo map, a pickup bar and cut markers."""
    import numpy as np

    from v2m_bridge.music.arrangement import ArrangeOptions, arrange
    from v2m_bridge.music.tempo_fit import fit_tempo
    from v2m_bridge.output.midi_file import write_midi
    from v2m_bridge.vocab import parse_chords

    cuts = [1.9, 5.3, 7.1, 10.45, 14.2, 17.8, 21.35]
    fit = fit_tempo(cuts, [1.0] * len(cuts), 25.0, tempo_map=True)
    seconds = 26
    composition = arrange(
        parse_chords("C Am F G") * 7, motion=np.full(seconds, 3.0),
        scene_offset=np.arange(1.0, seconds + 1), emotion=np.full((seconds, 6), 1 / 6),
        cut_times=cuts, duration=float(seconds),
        options=ArrangeOptions(tempo_bpm=fit.tempo_map.main_bpm(), tempo_map=fit.tempo_map))
    composition.tempo_fit = fit
    write_midi(composition, path)
    return fit


def test_insert_sets_the_tempo_map_and_adds_cut_markers_when_asked(tmp_path):
    midi = tmp_path / "cue v2m.mid"
    fit = scored_midi_with_tempo_map(midi)
    tempo_map = fit.tempo_map
    assert not tempo_map.is_constant
    scenario = insert_scenario(
        midi, ext_state={"v2m/set_tempo": "1", "v2m/cut_markers": "1"},
        tempo_markers=[[0.0, 90.0, 3, 4], [20.0, 100.0, 0, 0], [40.0, 110.0, 0, 0]],
        project_markers=[[9.0, "intro"], [15.0, "cut 3 (bar 2.1)"], [50.0, "cut 1 (bar 1.1)"]])
    result = run_lua(INSERT, scenario, tmp_path)
    offset = 12.0 - 4.5  # the video item: position 12 s, take offset 4.5 s, length 20 s
    item_end = 32.0
    markers = result["tempo_markers"]
    # before the video and after the item: untouched; the old tempo is back at the item's end
    assert markers[0] == [0.0, 90.0, 3, 4] and markers[-1] == [40.0, 110.0, 0, 0]
    assert markers[-2] == [item_end, 100.0, 3, 4]
    written = markers[1:-2]
    changes = {segment.start for segment in tempo_map.segments}
    if tempo_map.pickup:  # the first full bar starts with a 4/4 time signature
        changes.add(tempo_map.time_at(tempo_map.pickup))
    expected = [(offset + time, tempo_map.tempo_at(time)) for time in sorted(changes)
                if offset + time < item_end]
    assert [m[0] for m in written] == pytest.approx([t for t, _ in expected], abs=1e-6)
    assert [m[1] for m in written] == pytest.approx([bpm for _, bpm in expected], rel=1e-6)
    assert all(70 - 1e-6 <= m[1] <= 140 + 1e-6 for m in written)
    # the pickup bar and the metre after it are time signatures
    if tempo_map.pickup:
        assert written[0][2:] == [tempo_map.pickup, 4]
        pickup_time = offset + tempo_map.time_at(tempo_map.pickup)
        assert any(abs(m[0] - pickup_time) < 1e-6 and m[2:] == [4, 4] for m in written)
    else:
        assert written[0][2:] == [4, 4]
    # cut markers: the file's, at the cut times, replacing the old ones under the item only
    names = {name: pos for pos, name in result["project_markers"]}
    assert names.pop("intro") == 9.0 and names.pop("cut 1 (bar 1.1)") == 50.0
    cut_markers = [cut for cut in fit.chosen.cuts if 12.0 <= offset + cut.time <= item_end]
    assert len(cut_markers) >= 5  # the cuts the visible video item shows
    assert sorted(names) == sorted(
        f"cut {c.index} (bar {tempo_map.bar_beat_label(c.nearest_beat)})" for c in cut_markers)
    for cut in cut_markers:
        name = next(n for n in names if n.startswith(f"cut {cut.index} "))
        assert names[name] == pytest.approx(offset + cut.time, abs=2e-3)  # tick resolution
    # tempo and markers are set before the MIDI goes in, in the same undo block
    order = [call["fn"] for call in result["calls"]]
    assert order.index("SetTempoTimeSigMarker") < order.index("InsertMedia")
    assert order.index("Undo_BeginBlock") < order.index("SetTempoTimeSigMarker")
    assert len(calls(result, "InsertMedia")) == 4 and message_texts(result) == []


def test_insert_leaves_tempo_and_markers_alone_by_default(tmp_path):
    midi = tmp_path / "cue.mid"
    scored_midi_with_tempo_map(midi)
    scenario = insert_scenario(midi, tempo_markers=[[0.0, 90.0, 4, 4]],
                               project_markers=[[15.0, "cut 3 (bar 2.1)"]])
    result = run_lua(INSERT, scenario, tmp_path)
    assert result["tempo_markers"] == [[0.0, 90.0, 4, 4]]
    assert result["project_markers"] == [[15.0, "cut 3 (bar 2.1)"]]
    touched = {"SetTempoTimeSigMarker", "DeleteTempoTimeSigMarker", "AddProjectMarker2",
               "DeleteProjectMarker"}
    assert not touched & {call["fn"] for call in result["calls"]}


def test_insert_refuses_to_set_the_tempo_from_an_unreadable_file(tmp_path):
    midi = tmp_path / "cue.mid"
    midi.write_bytes(b"MThd")
    result = run_lua(INSERT, insert_scenario(midi, ext_state={"v2m/set_tempo": "1"}), tmp_path)
    assert calls(result, "InsertMedia") == []
    assert "not a MIDI file" in message_texts(result)[0]


def test_score_passes_the_tempo_setting_to_the_daemon_and_to_render(tmp_path, fake_bridge):
    executable, argv_log = fake_bridge
    video = tmp_path / "film.mp4"
    replies = {"/v2m/status": [("/v2m/status", ("stopped", 0.0, 0.0, "idle"))],
               "/v2m/video/open": lambda args: [("/v2m/ready", (args[0], 30.0))],
               "/v2m/render": lambda args: [("/v2m/render/done", args)]}
    scenario = score_scenario(tmp_path, executable, 0, video)
    with FakeDaemon(replies) as daemon:
        scenario["ext_state"].update({"v2m/port": str(daemon.port), "v2m/tempo": "auto map"})
        run_lua(SCORE, scenario, tmp_path)
        received = daemon.received
    assert received[1] == ("/v2m/video/open", (str(video), 7.5, "auto map"))
    port = closed_port()
    offline = score_scenario(tmp_path, executable, port, video)
    offline["ext_state"]["v2m/tempo"] = "auto map"
    run_lua(SCORE, offline, tmp_path)
    assert argv_log()[-1][:1] == ["render"]
    assert argv_log()[-1][4:] == ["--tempo", "auto", "--tempo-map"]

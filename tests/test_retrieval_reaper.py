"""The Reaper action "v2m - Suggest progressions for the selected video item" under lua5.4,
against the stub ``reaper`` table and a python-osc fake daemon (via the real ``send``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_osc_daemon import FakeDaemon, closed_port
from test_reaper_scripts import (
    LUA,
    SCRIPTS,
    calls,
    fake_bridge,  # noqa: F401  (a fixture)
    message_texts,
    run_lua,
    score_scenario,
    send_argv,
)

pytestmark = pytest.mark.skipif(LUA is None, reason="lua5.4 is not installed")

SUGGEST = SCRIPTS / "v2m - Suggest progressions for the selected video item.lua"
LABEL = "starter retrieval embedding: trained on chord corpora ... derived from the music"
LISTING = "\n".join([
    "1\t0.000\t5.792\t1\tpop909-001@16-32\t0.912\tAm F C G\t123我爱你 — 新乐尘符",
    "1\t0.000\t5.792\t2\tbillboard-0003@0-12\t0.850\tC G Am F\tI Don't Mind — James Brown",
    "2\t5.792\t20.000\t1\tpop909-777@40-56\t0.733\tDm G7 C ünï\t",
])


def _replies() -> dict:
    return {
        "/v2m/status": [("/v2m/status", ("stopped", 0.0, 0.0, "idle"))],
        "/v2m/video/open": lambda args: [("/v2m/ready", (args[0], 20.0))],
        "/v2m/match": [("/v2m/progress", ("indexing library", 0.5)),
                       ("/v2m/match/excerpt", (1, 0.0, 8.0, 1, "pop909-001@16-32", 0.912,
                                               "Am F C G", "mood: ...")),
                       ("/v2m/match/done", (2, LABEL, LISTING))],
        "/v2m/use": lambda args: [("/v2m/progress", ("queued", 0.0)),
                                  ("/v2m/ready", ("/v.mp4", 20.0))],
        "/v2m/render": _render,
    }


def _render(args: tuple) -> list:
    Path(args[0]).write_bytes(b"MThd")  # the daemon writes the file, then answers
    return [("/v2m/render/done", args)]


def test_suggest_lists_progressions_and_inserts_the_chosen_one(tmp_path, fake_bridge):  # noqa: F811
    executable, argv_log = fake_bridge
    video = tmp_path / "clip.mp4"
    scenario = score_scenario(tmp_path, executable, 0, video, message_answers=[1],
                              user_inputs={"text": "2\n1"},
                              midi_notes=[{"chan": 0, "pitch": 60}, {"chan": 1, "pitch": 72}])
    with FakeDaemon(_replies()) as daemon:
        scenario["ext_state"]["v2m/port"] = str(daemon.port)
        result = run_lua(SUGGEST, scenario, tmp_path)
        received = daemon.received
    midi = str(tmp_path / "my project" / "v2m" / "clip-v2m-1.mid")
    port = daemon.port
    assert argv_log() == [
        send_argv(port, "3", "/v2m/status"),
        send_argv(port, "20", "/v2m/video/open", f"s:{video}", "f:7.5"),
        send_argv(port, "20", "/v2m/match", "i:5"),
        send_argv(port, "20", "/v2m/use", "s:pop909-777@40-56", "f:5.792", "f:20.000"),
        send_argv(port, "30", "/v2m/render", f"s:{midi}"),
    ]
    # issue 21 item 7: the scene's cut time as listed, not rounded to 6.0
    assert received[3][0] == "/v2m/use" and received[3][1][0] == "pop909-777@40-56"
    assert received[3][1][1:] == pytest.approx((5.792, 20.0), abs=1e-6)
    listing, *rest = message_texts(result)
    assert not rest, rest
    assert "Scene 1 (0.00-5.79 s):" in listing and "Scene 2 (5.79-20.00 s):" in listing
    assert "1. 0.912  Am F C G  [pop909-001@16-32]  123我爱你 — 新乐尘符" in listing
    assert "[billboard-0003@0-12]  I Don't Mind — James Brown" in listing
    assert "Dm G7 C ünï" in listing  # non-ASCII survives the JSON quoting
    assert LABEL in listing
    assert calls(result, "InsertMedia") == [[midi, 0]] * 4  # chords, figuration, bass, hits
    assert result["proj_ext"]["v2m/mid:{VIDEO-1}"] == midi


def test_suggest_refuses_a_rank_that_is_not_listed(tmp_path, fake_bridge):  # noqa: F811
    executable, argv_log = fake_bridge
    scenario = score_scenario(tmp_path, executable, 0, tmp_path / "clip.mp4",
                              message_answers=[1, 1], user_inputs={"text": "2\n4"})
    with FakeDaemon(_replies()) as daemon:
        scenario["ext_state"]["v2m/port"] = str(daemon.port)
        result = run_lua(SUGGEST, scenario, tmp_path)
    assert "There is no scene 2 with a rank 4" in message_texts(result)[-1]
    sent = [argv[argv.index("--") + 1] for argv in argv_log()]
    assert sent == ["/v2m/status", "/v2m/video/open", "/v2m/match"]  # nothing used
    assert calls(result, "InsertMedia") == []


def test_suggest_needs_the_daemon(tmp_path, fake_bridge):  # noqa: F811
    executable, _ = fake_bridge
    result = run_lua(SUGGEST, score_scenario(tmp_path, executable, closed_port(),
                                             tmp_path / "clip.mp4"), tmp_path)
    assert "No v2m-bridge daemon answered" in message_texts(result)[0]


def test_suggest_reports_the_daemons_error(tmp_path, fake_bridge):  # noqa: F811
    executable, _ = fake_bridge
    replies = {**_replies(), "/v2m/match": [("/v2m/error", ("/v2m/match", "library is empty"))]}
    scenario = score_scenario(tmp_path, executable, 0, tmp_path / "clip.mp4")
    with FakeDaemon(replies) as daemon:
        scenario["ext_state"]["v2m/port"] = str(daemon.port)
        result = run_lua(SUGGEST, scenario, tmp_path)
    [message] = message_texts(result)
    assert "could not rank the library (exit code 1)" in message and "library is empty" in message

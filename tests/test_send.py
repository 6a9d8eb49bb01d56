"""``v2m-bridge send``: typed arguments on the wire, --wait replies, exit codes, bad input."""

from __future__ import annotations

import time
import types

import pytest
from fake_osc_daemon import FakeDaemon, closed_port

from v2m_bridge.cli.send import main as send_main
from v2m_bridge.osc.client import SendError, expected_reply, parse_argument, send_message


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = send_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def wait_received(daemon: FakeDaemon, count: int = 1, timeout: float = 2.0) -> list:
    deadline = time.monotonic() + timeout
    while len(daemon.received) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return daemon.received


def test_typed_and_inferred_arguments_arrive_exactly(capsys):
    with FakeDaemon() as daemon:
        code, out, err = run(capsys, "--port", str(daemon.port), "/v2m/test", "i:3", "f:1.5",
                             "s:text", "42", "2.5", "hello world", "s:12", "-7", "1e3", "f:2",
                             "s:i:4", "/films/a b.mov")
        assert (code, out, err) == (0, "", "")
        [(address, args)] = wait_received(daemon)
    assert address == "/v2m/test"
    assert args == (3, 1.5, "text", 42, 2.5, "hello world", "12", -7, 1000.0, 2.0, "i:4",
                    "/films/a b.mov")
    assert [type(value) for value in args] == [int, float, str, int, float, str, str, int,
                                               float, float, str, str]


def test_wait_prints_the_expected_reply_and_progress(capsys):
    replies = {"/v2m/video/open": [("/v2m/progress", ("queued", 0.0)),
                                   ("/v2m/progress", ("features", 0.5)),
                                   ("/v2m/status", ("stopped", 0.0, 0.0, "busy")),
                                   ("/v2m/ready", ("/films/My Film.mov", 12.5))]}
    with FakeDaemon(replies) as daemon:
        code, out, err = run(capsys, "--port", str(daemon.port), "/v2m/video/open",
                             "s:/films/My Film.mov", "f:7.25", "--wait", "5")
        assert daemon.received == [("/v2m/video/open", ("/films/My Film.mov", 7.25))]
    assert code == 0
    assert out == '/v2m/ready "/films/My Film.mov" 12.5\n'
    assert "progress: features 50%" in err
    assert "received: /v2m/status" in err


def test_wait_before_the_address_still_sends_the_address(capsys):
    replies = {"/v2m/seed": [("/v2m/ok", ("/v2m/seed",))]}
    with FakeDaemon(replies) as daemon:
        code, out, _ = run(capsys, "--port", str(daemon.port), "--wait", "/v2m/seed", "7")
        assert daemon.received == [("/v2m/seed", (7,))]
    assert (code, out) == (0, '/v2m/ok "/v2m/seed"\n')


def test_error_reply_exits_1_with_the_daemons_message(capsys):
    replies = {"/v2m/key": [("/v2m/error", ("/v2m/key", "unknown key 'H'"))]}
    with FakeDaemon(replies) as daemon:
        code, out, err = run(capsys, "--port", str(daemon.port), "/v2m/key", "H", "--wait", "5")
    assert code == 1
    assert out == '/v2m/error "/v2m/key" "unknown key \'H\'"\n'
    assert "the daemon refused /v2m/key: unknown key 'H'" in err


def test_replies_about_other_requests_do_not_end_the_wait(capsys):
    replies = {"/v2m/seed": [("/v2m/error", ("(midi)", "the MIDI output port went away")),
                             ("/v2m/ok", ("/v2m/key",)),
                             ("/v2m/ok", ("/v2m/seed",))]}
    with FakeDaemon(replies) as daemon:
        code, out, err = run(capsys, "--port", str(daemon.port), "/v2m/seed", "i:9", "--wait")
    assert (code, out) == (0, '/v2m/ok "/v2m/seed"\n')
    assert "MIDI output port went away" in err


def test_no_reply_in_time_exits_2(capsys):
    with FakeDaemon() as daemon:  # receives, never answers
        started = time.monotonic()
        code, out, err = run(capsys, "--port", str(daemon.port), "/v2m/render", "/tmp/x.mid",
                             "--wait", "0.3")
        elapsed = time.monotonic() - started
    assert (code, out) == (2, "")
    assert "no answer from 127.0.0.1:" in err and "within 0.3 s" in err
    assert 0.25 < elapsed < 2.0


def test_progress_without_the_final_reply_is_a_timeout_that_says_so(capsys):
    replies = {"/v2m/video/open": [("/v2m/progress", ("queued", 0.0))]}
    with FakeDaemon(replies) as daemon:
        code, _, err = run(capsys, "--port", str(daemon.port), "/v2m/video/open", "s:/a.mp4",
                           "--wait", "0.3")
    assert code == 2
    assert "no /v2m/ready within 0.3 s (the daemon answered" in err


def test_nothing_listening_exits_2_at_once(capsys):
    started = time.monotonic()
    code, _, err = run(capsys, "--port", str(closed_port()), "/v2m/status", "--wait", "5")
    assert code == 2
    assert "nothing listens" in err or "no answer" in err
    assert time.monotonic() - started < 5.5


@pytest.mark.parametrize(("argv", "message"), [
    (["/v2m/seed", "i:x"], "'x' is not a whole number"),
    (["/v2m/seed", "i:99999999999"], "does not fit an OSC int32"),
    (["/v2m/transport/seek", "f:nan"], "not a finite number"),
    (["/v2m/transport/seek", "1e39"], "does not fit an OSC float32"),
    (["v2m/seed", "3"], "must start with '/'"),
    (["/v2m/video open"], "must start with '/' and contain no spaces"),
    (["/v2m/status", "--wait", "-1"], "--wait must be a positive number"),
    (["/v2m/status", "--wait", "soon"], "--wait expects a number of seconds, got 'soon'"),
    (["--port", "70000", "/v2m/status"], "--port must be 1..65535"),
])
def test_bad_arguments_are_refused_before_sending(capsys, argv, message):
    with FakeDaemon() as daemon:
        argv = [*argv] if "--port" in argv else ["--port", str(daemon.port), *argv]
        code, _, err = run(capsys, *argv)
        time.sleep(0.05)
        assert daemon.received == []
    assert code == 1
    assert message in err


def test_parse_argument_rejects_nul_and_keeps_prefixed_text():
    with pytest.raises(SendError, match="NUL"):
        parse_argument("s:a\x00b")
    assert parse_argument("s:") == ""
    assert parse_argument("nan") == "nan"  # inference never makes a non-finite float
    assert parse_argument("C:\\films\\a.mov") == "C:\\films\\a.mov"


def test_expected_replies_follow_the_daemon():
    assert expected_reply("/v2m/video/open") == "/v2m/ready"
    assert expected_reply("/v2m/render") == "/v2m/render/done"
    assert expected_reply("/v2m/seed") == "/v2m/ok"
    assert expected_reply("/play") is None


def test_send_is_a_v2m_bridge_command(capsys):
    from v2m_bridge.cli import main

    replies = {"/v2m/status": [("/v2m/status", ("stopped", 0.0, 0.0, "idle"))]}
    with FakeDaemon(replies) as daemon:
        code = main(["send", "--port", str(daemon.port), "--wait", "5", "--", "/v2m/status"])
    assert code == 0
    assert capsys.readouterr().out == '/v2m/status "stopped" 0.0 0.0 "idle"\n'


class _InstantBackend:
    """Stands in for the model: no analysis, an empty composition."""

    def analyse(self, path, progress):
        progress(0.5, "features")
        return "features"

    def compose(self, features, options, progress):
        return types.SimpleNamespace(events=[], duration=4.5, tempo_bpm=120.0, chord_spans=[])


def test_against_the_real_daemon_osc_server(tmp_path):
    """The daemon's own OSC server and session (model replaced): replies reach the sender."""
    daemon_module = pytest.importorskip("v2m_bridge.daemon.app")
    from v2m_bridge.daemon.midi_out import MemorySink

    video = tmp_path / "My Film.mp4"
    video.write_bytes(b"not decoded by the stand-in backend")
    daemon = daemon_module.Daemon(daemon_module.DaemonConfig(port=0), _InstantBackend(),
                                  sink=MemorySink())
    daemon.start()
    try:
        port = daemon.server.address[1]
        status = send_message("127.0.0.1", port, "/v2m/status", [], wait_s=5)
        assert (status.status, status.reply.address) == ("reply", "/v2m/status")
        seed = send_message("127.0.0.1", port, "/v2m/seed", [7], wait_s=5)
        assert (seed.status, seed.reply.args) == ("reply", ("/v2m/seed",))
        bad = send_message("127.0.0.1", port, "/v2m/seed", [7.5], wait_s=5)
        assert bad.status == "error" and "expects (int)" in bad.detail
        early = send_message("127.0.0.1", port, "/v2m/render", [str(tmp_path / "x.mid")],
                             wait_s=5)
        assert early.status == "error" and "no composition yet" in early.detail
        progress = []
        opened = send_message("127.0.0.1", port, "/v2m/video/open", [str(video), 7.5],
                              wait_s=10, on_message=progress.append)
        assert opened.status == "reply"
        assert opened.reply.args == (str(video), 4.5)
        assert ("/v2m/progress", ("features", 0.5)) in [
            (reply.address, reply.args) for reply in progress]
        assert daemon.session.timeline_offset == 7.5
    finally:
        daemon.close()


def test_listen_port_sends_from_and_listens_on_that_port(capsys):
    """For a daemon started with --reply-port: its replies go to that port on our host."""
    port = closed_port()
    replies = {"/v2m/panic": [("/v2m/ok", ("/v2m/panic",))]}
    with FakeDaemon(replies) as daemon:
        code, out, _ = run(capsys, "--port", str(daemon.port), "--listen-port", str(port),
                           "/v2m/panic", "--wait", "5")
        assert daemon.senders == [("127.0.0.1", port)]
    assert (code, out) == (0, '/v2m/ok "/v2m/panic"\n')

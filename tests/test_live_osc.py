"""The daemon over OSC (in process): the real model pipeline with the tiny public checkpoint, the
in-memory MIDI sink, and bad input of every kind answered with /v2m/error without losing state."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import pytest
from live_helpers import VIDEOS, OscClient, in_process_daemon

from v2m_bridge.daemon.app import Daemon, DaemonConfig
from v2m_bridge.daemon.backend import ModelBackend
from v2m_bridge.daemon.midi_out import MemorySink
from v2m_bridge.daemon.splice import splice_events
from v2m_bridge.music.events import NoteEvent
from v2m_bridge.osc.protocol import MAX_PACKET_BYTES

VIDEO = VIDEOS / "flower.mp4"


@pytest.fixture
def daemon(chord_model, tmp_path):
    with in_process_daemon(chord_model, output_dir=str(tmp_path)) as daemon:
        yield daemon


def open_video(client, path=VIDEO, *extra) -> tuple:
    client.send("/v2m/video/open", str(path), *extra)
    return client.wait_for("/v2m/ready", timeout=30)


def error_for(client, address) -> str:
    failed_address, message = client.wait_for("/v2m/error")
    assert failed_address == address
    return message


@pytest.mark.parametrize(("address", "args", "expected"), [
    ("/v2m/seed", ("seven",), "expects (int)"),
    ("/v2m/seed", (7.5,), "expects (int)"),
    ("/v2m/transport/seek", (), "expects (float)"),
    ("/v2m/hello", ("max",), "expects (string int)"),
    ("/v2m/video/open", (3,), "expects (string) or (string float)"),
    ("/v2m/panic", (1,), "expects (no arguments)"),
    ("/v2m/transport/play", (math.nan,), "must be finite"),
    ("/v2m/regenerate", (0.0, math.inf), "must be finite"),
    ("/v2m/nope", (), "unknown address /v2m/nope"),
    ("/v2m/hello", ("max", 70000), "reply port must be 1..65535"),
    ("/v2m/seed", (-1,), "seed must be"),
    ("/v2m/transport/play", (0.0, 0.0), "play rate must be in (0, 16]"),
])
def test_bad_arguments_and_addresses_are_answered(client, address, args, expected):
    client.send(address, *args)
    assert expected in error_for(client, address)


def test_transport_before_any_video_is_refused(daemon, client):
    for address, args in (("/v2m/transport/play", (0.0,)), ("/v2m/transport/seek", (1.0,)),
                          ("/v2m/transport/stop", ()), ("/v2m/regenerate", (0.0, 1.0)),
                          ("/v2m/render", ("/tmp/x.mid",))):
        client.send(address, *args)
        assert "/v2m/video/open first" in error_for(client, address)
    assert daemon.own_clock.snapshot().mode == "stopped"


def test_oversized_and_malformed_packets_are_refused(client):
    client.send_raw(b"\0" * (MAX_PACKET_BYTES + 1))
    assert "refused" in error_for(client, "(packet)")
    client.send_raw(b"/v2m/panic\0\0,\0")  # truncated type tag
    assert "not a valid OSC packet" in error_for(client, "(packet)")
    client.send("/v2m/status")  # still serving
    assert client.wait_for("/v2m/status")[3] == "idle"


def test_missing_file_and_non_video_keep_the_state(daemon, client, tmp_path):
    client.send("/v2m/video/open", str(tmp_path / "missing.mp4"))
    assert "no video file" in error_for(client, "/v2m/video/open")
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is not a video")
    client.send("/v2m/video/open", str(not_video))
    message = error_for(client, "/v2m/video/open")
    assert "notes.mp4" in message
    assert daemon.session.composition is None
    client.send("/v2m/status")
    assert client.wait_for("/v2m/status")[3] == "idle"


def test_open_play_and_a_second_open_while_analysing(daemon, client, tmp_path):
    client.send("/v2m/video/open", str(VIDEO), 2.0)
    client.send("/v2m/video/open", str(VIDEOS / "friday.mp4"))
    assert "busy analysing flower.mp4" in error_for(client, "/v2m/video/open")
    path, duration = client.wait_for("/v2m/ready", timeout=30)
    assert path == str(VIDEO)
    assert duration == pytest.approx(5.0, abs=0.1)
    composition = daemon.session.composition
    assert daemon.session.timeline_offset == 2.0

    first = composition.events[0]
    client.send("/v2m/transport/play", 2.0 + first.start - 0.02)  # project time = media + 2
    client.wait_for("/v2m/ok")
    time.sleep(0.1)
    client.send("/v2m/transport/stop")
    client.wait_for("/v2m/ok")
    played = [m for _, m in daemon.sink.messages]
    assert played[0] == (0x90 | first.channel, first.pitch, first.velocity)
    assert daemon.scheduler.sounding_notes() == []

    # bad requests after a successful open leave the composition alone
    client.send("/v2m/key", "H major")
    assert "H major" in error_for(client, "/v2m/key")
    client.send("/v2m/render", str(tmp_path / "no_such_dir" / "out.mid"))
    error_for(client, "/v2m/render")
    assert daemon.session.composition is composition
    client.send("/v2m/render", str(tmp_path / "out.mid"))
    assert client.wait_for("/v2m/render/done") == (str(tmp_path / "out.mid"),)
    assert (tmp_path / "out.mid").stat().st_size > 100


def test_reaper_bundle_drives_playback_and_stop_ends_notes(daemon, client):
    open_video(client)
    events = daemon.session.composition.events
    start = events[0].start
    client.send_bundle(("/play", 1.0), ("/stop", 0.0), ("/pause", 0.0))
    client.send_bundle(("/time", float(start)), ("/tempo/raw", 120.0))  # the position: it starts
    time.sleep(0.3)
    assert daemon.scheduler.clock is daemon.reaper_clock
    ons = [m for _, m in daemon.sink.messages if m[0] & 0xF0 == 0x90]
    assert ons, "Reaper's /play did not start playback"
    client.send("/stop", 1.0)
    time.sleep(0.05)
    assert daemon.scheduler.sounding_notes() == []
    last = daemon.sink.messages[-1][1]  # All Notes Off on the last channel in use
    assert last[0] & 0xF0 == 0xB0 and last[1] == 123
    client.send("/time", "not a number")  # Reaper-side junk is ignored, not answered
    client.send("/time", math.nan)
    client.send("/playrate/raw", 0.0)
    assert client.receive(timeout=0.2) is None
    state = daemon.reaper_clock.snapshot()
    assert (state.mode, state.rate, math.isfinite(state.anchor_position)) == ("stopped", 1.0, True)

    client.send("/v2m/transport/follow", 2)
    assert "expects 1" in error_for(client, "/v2m/transport/follow")
    client.send("/v2m/transport/follow", 0)
    assert client.wait_for("/v2m/ok") == ("/v2m/transport/follow",)
    sent = len(daemon.sink.messages)
    client.send_bundle(("/time", float(start)), ("/play", 1.0))
    time.sleep(0.2)
    assert daemon.scheduler.clock is daemon.own_clock
    assert len(daemon.sink.messages) == sent  # Reaper is not followed any more


def test_settings_regenerate_and_hello(daemon, client):
    open_video(client)
    old = list(daemon.session.composition.events)
    for address, value in (("/v2m/key", "D minor"), ("/v2m/primer", "Dm Bb"),
                           ("/v2m/emotion", "0:tense,2:relaxing"), ("/v2m/seed", 5)):
        client.send(address, value)
        assert client.wait_for("/v2m/ok") == (address,)
    client.send("/v2m/emotion", "joyful")
    assert "unknown emotion" in error_for(client, "/v2m/emotion")
    client.send("/v2m/regenerate", 2.0, 4.0)
    client.wait_for("/v2m/ready", timeout=30)
    new = daemon.session.composition.events
    # before the range: the old notes, those still sounding at 2.0 cut there (a held bass)
    assert [e for e in new if e.start < 2.0] == sorted(
        dataclasses.replace(e, end=min(e.end, 2.0)) for e in old if e.start < 2.0)
    assert [e for e in new if e.start >= 4.0] == [e for e in old if e.start >= 4.0]

    listener = OscClient(daemon.server.address)
    try:
        client.send("/v2m/hello", "max", listener.port)
        assert client.wait_for("/v2m/status")[3] == "ready"
        address, args = listener.receive(timeout=1.0)
        assert address == "/v2m/status" and args[3] == "ready"
    finally:
        listener.close()


def test_splice_cuts_notes_at_the_range_edges():
    old = [NoteEvent(0.0, 3.0, 60, 90), NoteEvent(4.5, 5.0, 62, 90)]
    new = [NoteEvent(1.0, 5.0, 70, 90), NoteEvent(3.5, 3.9, 71, 90)]
    assert splice_events(old, new, 2.0, 4.0) == [
        NoteEvent(0.0, 2.0, 60, 90), NoteEvent(3.5, 3.9, 71, 90), NoteEvent(4.5, 5.0, 62, 90)]


def test_reaper_pattern_file_only_sends_what_the_daemon_reads(daemon):
    pattern_file = Path(__file__).resolve().parents[1] / "reaper_scripts" / "v2m.ReaperOSC"
    addresses = set()
    for line in pattern_file.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words and not words[0].startswith(("DEVICE_", "REAPER_")):
            addresses.update(word[1:] for word in words[1:])
    assert {"/time", "/play", "/stop", "/pause", "/repeat", "/loop/start/time",
            "/loop/end/time", "/tempo/raw", "/playrate/raw"} == addresses
    assert addresses <= set(daemon.session.routes())


def test_packets_are_timed_at_arrival_not_when_read():
    import socket

    from v2m_bridge.daemon.server import _enable_kernel_timestamps, _receive_time

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        receiver.bind(("127.0.0.1", 0))
        if not _enable_kernel_timestamps(receiver):
            pytest.skip("no kernel receive timestamps on this platform")
        sender.sendto(b"x", receiver.getsockname())
        time.sleep(0.05)  # the packet waits, as when the OSC thread is busy
        _data, ancillary, _flags, _ = receiver.recvmsg(64, 256)
        assert time.monotonic() - _receive_time(ancillary) >= 0.045


def test_reply_port_sends_answers_to_the_senders_host_at_that_port(chord_model):
    listener = OscClient(("127.0.0.1", 9))
    daemon = Daemon(DaemonConfig(port=0, reply_port=listener.port), ModelBackend(chord_model),
                    sink=MemorySink())
    daemon.start()
    sender = OscClient(daemon.server.address)
    try:
        sender.send("/v2m/panic")
        assert listener.receive(timeout=2.0) == ("/v2m/ok", ("/v2m/panic",))
        assert sender.receive(timeout=0.2) is None
    finally:
        sender.close()
        listener.close()
        daemon.close()

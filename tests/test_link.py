"""Ableton Link, with a second real Link peer in another process (tests/link_peer.py, the same
binding): the daemon follows the session's tempo, start/stop and bar phase, leads with
/v2m/tempo, keeps its tempo when the peer leaves, and in live mode changes chords on the
session's bar lines."""

from __future__ import annotations

import itertools
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from live_helpers import OscClient

from v2m_bridge.daemon.app import Daemon, DaemonConfig
from v2m_bridge.daemon.midi_out import MemorySink
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.music.events import NoteEvent

pytest.importorskip("link")
from v2m_bridge.daemon.link_clock import LinkClock

PEER = Path(__file__).resolve().parent / "link_peer.py"


class Peer:
    """The other Link peer: a process driven over its stdin."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(PEER)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, wanted: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self.lines.get(timeout=left) == wanted:
                    return
            except queue.Empty:
                break
        raise AssertionError(f"the Link peer did not say {wanted!r} within {timeout} s (no "
                             "Link discovery between processes on this machine?)")

    def send(self, command: str) -> float:
        """Send a command; the monotonic time when the peer has committed it."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        self.expect("done")
        return time.monotonic()

    def tempo(self) -> float:
        """The session's tempo as the peer sees it."""
        self.process.stdin.write("tempo?\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            line = self.lines.get(timeout=5)
            if line.startswith("tempo "):
                return float(line.split()[1])
        raise AssertionError("the Link peer did not tell its tempo")

    def leave(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def peer():
    peer = Peer()
    yield peer
    peer.close()


def status_bpm(client: OscClient) -> float:
    client.send("/v2m/status")
    return client.wait_for("/v2m/status", timeout=2.0)[2]


def test_the_daemon_follows_a_peers_tempo_and_keeps_it_when_the_peer_leaves(peer):
    daemon = Daemon(DaemonConfig(port=0, link=True, discovery=False), backend=None,
                    sink=MemorySink())
    daemon.start()
    client = OscClient(daemon.server.address)
    try:
        peer.expect("peers 1")
        committed = peer.send("tempo 97")
        while status_bpm(client) != pytest.approx(97.0) and time.monotonic() - committed < 3:
            time.sleep(0.02)
        followed_after = time.monotonic() - committed
        print(f"status reported 97 bpm {followed_after * 1000:.0f} ms after the peer set it")
        assert followed_after < 1.0
        peer.leave()
        left = time.monotonic()  # a lost goodbye leaves the peer until Link times it out
        while daemon.session.clocks.link_clock.peers and time.monotonic() - left < 10:
            time.sleep(0.1)
        assert daemon.session.clocks.link_clock.peers == 0
        assert status_bpm(client) == pytest.approx(97.0)
    finally:
        client.close()
        daemon.close()


def test_the_daemon_leads_with_v2m_tempo(peer):
    daemon = Daemon(DaemonConfig(port=0, discovery=False), backend=None, sink=MemorySink())
    daemon.start()
    client = OscClient(daemon.server.address)
    try:
        client.send("/v2m/transport/follow", "link")
        assert client.wait_for("/v2m/ok") == ("/v2m/transport/follow",)
        peer.expect("peers 1")
        client.send("/v2m/tempo", "104")
        client.wait_for("/v2m/ok")
        assert status_bpm(client) == pytest.approx(104.0)
        peer_clock = daemon.session.clocks.link_clock
        assert peer_clock.tempo_bpm == pytest.approx(104.0)
        client.send("/v2m/transport/seek", 3.0)  # the session's beats give the position
        assert "Ableton Link" in client.wait_for("/v2m/error")[1]
        client.send("/v2m/transport/follow", 0)
        client.wait_for("/v2m/ok")
        assert not peer_clock.enabled and daemon.scheduler.clock is daemon.own_clock
    finally:
        client.close()
        daemon.close()


def beat_notes(seconds: float, bpm: float = 120.0) -> list[NoteEvent]:
    """A note on every beat (a chord tone every bar on channel 0, other beats on channel 1)."""
    beat = 60.0 / bpm
    return [NoteEvent(start=i * beat, end=i * beat + 0.6 * beat, pitch=60 + i % 12,
                      velocity=90, channel=0 if i % 4 == 0 else 1)
            for i in range(int(seconds / beat))]


def test_notes_land_on_the_sessions_beats_and_follow_its_tempo_without_hanging_notes(peer):
    """A composition at 120 bpm played along a session the peer starts at 120 and then moves to
    97, 140 and 80 bpm: bar-line notes land on the session's bar lines, every note ends.
    (Stamped in memory at send time with the session's beat; the JACK test below records.)"""
    link_clock = LinkClock(lambda: 120.0)
    # each message is stamped with the session's beat and tempo when it was sent, as this
    # process's Link node knows the shared timeline (Link keeps the peers' phases together)
    sink = MemorySink(clock=lambda: (link_clock.beat_at(time.monotonic()),
                                     link_clock.session_tempo()))
    scheduler = Scheduler(sink, link_clock)
    scheduler.set_events(beat_notes(60.0))
    scheduler.start()
    link_clock.enable()
    try:
        peer.expect("peers 1")
        peer.send("play")
        for tempo in ("97", "140", "80"):
            time.sleep(3.0)
            peer.send(f"tempo {tempo}")
        time.sleep(3.0)
        peer.send("stop")
        time.sleep(0.3)
        assert scheduler.sounding_notes() == []
    finally:
        scheduler.shutdown()
        link_clock.close()
    messages = [(t, tuple(m)) for t, m in sink.messages]
    ons = [(t, m) for t, m in messages if m[0] & 0xF0 == 0x90 and m[2] > 0]
    assert len(ons) > 10
    # each note-on is ended by a note-off (or the all-notes-off on stop), nothing hangs
    sounding: dict[tuple[int, int], int] = {}
    for _t, (status, pitch, velocity) in messages:
        key = (status & 0x0F, pitch)
        if status & 0xF0 == 0x90 and velocity:
            sounding[key] = sounding.get(key, 0) + 1
        elif status & 0xF0 == 0x80:
            sounding[key] = max(sounding.get(key, 0) - 1, 0)
    assert not any(sounding.values())
    # no note struck twice (a tempo change is not a seek)
    pitches = [m[1] for _t, m in ons]
    assert all(a != b for a, b in itertools.pairwise(pitches))
    # bar-line notes (channel 0) against the session's bar lines, in ms at the tempo then
    errors = []
    for (beat, tempo), (status, _pitch, _velocity) in ons:
        if status & 0x0F == 0:
            errors.append(abs(beat - round(beat / 4) * 4) * 60.0 / tempo)
    assert len(errors) >= 4
    median_ms = statistics.median(errors) * 1000
    print(f"bar-line note-ons: median {median_ms:.2f} ms from the session's bar lines "
          f"({len(errors)} bars)")
    assert median_ms < 5.0


def test_the_pd_patch_switches_the_daemon_to_link():
    """max_patch/v2m_bridge.pd headless: its `follow link` remote command reaches the daemon."""
    import shutil

    if shutil.which("pd") is None:
        pytest.skip("Pure Data is not installed (apt-get install puredata-core)")
    from test_real_clients import PdPatch, free_udp_port

    daemon = Daemon(DaemonConfig(port=0, discovery=False), backend=None, sink=MemorySink())
    daemon.start()
    pd = PdPatch()
    try:
        setup = f"setup {daemon.server.address[1]} {free_udp_port()}"
        pd.wait_for("status", timeout=15, resend=setup)
        pd.command("follow link")
        deadline = time.monotonic() + 5
        while not daemon.session.clocks.following_link and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemon.session.clocks.following_link
        pd.command("follow 1")
        deadline = time.monotonic() + 5
        while daemon.session.clocks.following_link and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemon.scheduler.clock is daemon.own_clock
    finally:
        pd.close()
        daemon.close()


@pytest.fixture(scope="module")
def jack():
    from live_helpers import jack_server

    with jack_server(period=64) as name:
        yield name


@pytest.mark.slow
def test_jack_recorded_bar_line_notes_fall_on_the_sessions_bar_lines(jack, peer):
    """Music at 120 bpm, a session the peer plays at 97: the bar-line note-ons, recorded on a
    JACK input, land within 5 ms (median) of the session's bar lines."""
    import uuid

    from test_live_jack import Recorder

    from v2m_bridge.daemon.midi_out import RtMidiSink

    name = f"v2m_link_{uuid.uuid4().hex[:6]}"
    link_clock = LinkClock(lambda: 120.0)
    scheduler = Scheduler(RtMidiSink("jack", None, name), link_clock)
    recorder = Recorder(f"{name}:midi_out", name=f"probe_{uuid.uuid4().hex[:6]}")
    scheduler.set_events(beat_notes(60.0))
    scheduler.start()
    link_clock.enable()
    try:
        peer.expect("peers 1")
        peer.send("tempo 97")
        peer.send("play")
        time.sleep(10.0)
        # the session has kept 97 bpm since it started: its timeline maps any past time
        bars = [link_clock.beat_at(t) for t, m in recorder.note_ons() if m[0] & 0x0F == 0]
        peer.send("stop")
        time.sleep(0.3)
        assert scheduler.sounding_notes() == []
    finally:
        scheduler.shutdown()
        recorder.close()
        link_clock.close()
    print("bar-line note-ons at session beats", [round(b, 3) for b in bars])
    assert len(bars) >= 3  # the music starts at the session's first bar line after the start
    errors_ms = [abs(beat - round(beat / 4) * 4) * 60.0 / 97.0 * 1000 for beat in bars]
    median = statistics.median(errors_ms)
    print(f"JACK-recorded bar-line note-ons: median {median:.2f} ms, max {max(errors_ms):.2f} ms "
          f"from the session's bar lines ({len(bars)} bars at 97 bpm)")
    assert median < 5.0


def synthetic_frames(seconds: float, fps: float = 10.0) -> list[list[float]]:
    """Frames whose colour and motion change every second (seeded), so the chords change."""
    import numpy as np

    values = np.random.default_rng(24).uniform(0.05, 0.95, size=(int(seconds) + 1, 5))
    return [[t, *values[int(t)], 0.0] for t in (i / fps for i in range(int(seconds * fps)))]


@pytest.mark.slow
def test_live_chord_changes_land_on_the_sessions_bar_lines_on_jack(jack, peer, tmp_path):
    """Live mode while following a session the peer sets to 97 bpm: the note-ons of each chord
    change, recorded on a JACK input, fall within 5 ms of the session's bar lines (not on the
    media seconds the chords were chosen for), and nothing hangs."""
    import uuid

    from live_helpers import TINY_AMT
    from shared_data import skip_reason
    from test_live_jack import Recorder, sounding

    from v2m_bridge.daemon.backend import ModelBackend
    from v2m_bridge.daemon.midi_out import RtMidiSink
    from v2m_bridge.model.loading import load_chord_model

    if not TINY_AMT.is_file():
        pytest.skip(skip_reason(TINY_AMT))
    name = f"v2m_livelink_{uuid.uuid4().hex[:6]}"
    daemon = Daemon(DaemonConfig(port=0, link=True, discovery=False, output_dir=str(tmp_path)),
                    ModelBackend(load_chord_model(TINY_AMT)), sink=RtMidiSink("jack", None, name))
    daemon.start()
    recorder = Recorder(f"{name}:midi_out", name=f"probe_{uuid.uuid4().hex[:6]}")
    client = OscClient(daemon.server.address)
    link_clock = daemon.session.clocks.link_clock
    latency = 0.3
    try:
        peer.expect("peers 1")
        peer.send("tempo 97")
        deadline = time.monotonic() + 3
        while link_clock.session_tempo() != pytest.approx(97.0) and time.monotonic() < deadline:
            time.sleep(0.02)
        client.send("/v2m/hello", "test", client.port)
        client.wait_for("/v2m/status")
        client.send("/v2m/live/start", latency, 1.0)
        client.wait_for("/v2m/ok", skip=("/v2m/status",))
        base = time.monotonic() + 0.2
        for args in synthetic_frames(14.0):
            time.sleep(max(base + args[0] - time.monotonic(), 0))
            client.send("/v2m/live/frame", *args)
        time.sleep(latency + 0.1)
        client.send("/v2m/live/stop")
        announced = []
        while (reply := client.receive(2.0)) is not None and reply[0] != "/v2m/ok":
            if reply[0] == "/v2m/chord":
                announced.append(reply[1][1])
        assert reply == ("/v2m/ok", ("/v2m/live/stop",))
        time.sleep(0.2)
        assert daemon.scheduler.sounding_notes() == []
        assert sounding(recorder.messages) == set()
        # the session kept 97 bpm throughout: its timeline maps any past time to a beat
        ons = [t for t, _m in recorder.note_ons()]
        changes = []
        for media in announced:  # the first note-on of each announced change, if it played
            due = base + media + latency
            near = [t for t in ons if abs(t - due) < 0.03]
            if near:
                changes.append(link_clock.beat_at(min(near)))
    finally:
        client.close()
        recorder.close()
        daemon.close()
    print("chord changes at media", [round(m, 3) for m in announced])
    print("their note-ons at session beats", [round(b, 3) for b in changes])
    assert len(changes) >= 3 and len(changes) >= 0.75 * len(announced)
    errors_ms = [abs(beat - round(beat / 4) * 4) * 60.0 / 97.0 * 1000 for beat in changes]
    median = statistics.median(errors_ms)
    print(f"JACK-recorded chord-change note-ons in live mode: median {median:.2f} ms, max "
          f"{max(errors_ms):.2f} ms from the session's bar lines ({len(changes)} changes at "
          "97 bpm)")
    assert median < 5.0


def test_a_tempo_fitted_to_the_video_is_proposed_to_the_session(peer, tmp_path):
    """/v2m/tempo auto while following Link: the opened video's fitted tempo becomes the
    session's, as the peer sees it."""
    from live_helpers import TINY_AMT, VIDEOS
    from shared_data import skip_reason

    from v2m_bridge.daemon.backend import ModelBackend
    from v2m_bridge.model.loading import load_chord_model

    if not TINY_AMT.is_file():
        pytest.skip(skip_reason(TINY_AMT))
    daemon = Daemon(DaemonConfig(port=0, link=True, discovery=False, output_dir=str(tmp_path)),
                    ModelBackend(load_chord_model(TINY_AMT)), sink=MemorySink())
    daemon.start()
    client = OscClient(daemon.server.address)
    try:
        peer.expect("peers 1")
        committed = peer.send("tempo 97")  # settled before the open, so the race is ours
        while status_bpm(client) != pytest.approx(97.0) and time.monotonic() - committed < 3:
            time.sleep(0.02)
        client.send("/v2m/tempo", "auto")
        client.wait_for("/v2m/ok")
        client.send("/v2m/video/open", str(VIDEOS / "montage_cc0_4shots.mp4"))  # 3 cuts
        client.wait_for("/v2m/ready", timeout=60)
        fitted = daemon.session.composition.tempo_bpm
        assert fitted != pytest.approx(97.0)  # the session's tempo must move to it
        deadline = time.monotonic() + 2
        while status_bpm(client) != pytest.approx(fitted) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status_bpm(client) == pytest.approx(fitted)
        assert peer.tempo() == pytest.approx(fitted)
    finally:
        client.close()
        daemon.close()

"""MIDI clock out (``serve --clock-out``): 24 pulses per beat on the music's beats, Start, Stop,
Continue and Song Position following the transport, from the scheduler thread. The counts are
checked on a real JACK port (dummy server in sync mode), recorded by our own JACK input."""

from __future__ import annotations

import itertools
import math
import statistics
import time
import uuid

import pytest
from live_helpers import jack_server

from v2m_bridge.daemon.clock_out import (
    CLOCK,
    CONTINUE,
    START,
    STOP,
    BeatGrid,
    ClockOut,
    song_position,
)
from v2m_bridge.daemon.midi_out import MemorySink, RtMidiSink
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.transport import OwnClock
from v2m_bridge.music.tempo_map import TempoMap

SPP = 0xF2


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def next_sixteenth(position: float, bpm: float = 120.0) -> int:
    return math.ceil(position * bpm / 60 * 4 - 1e-6)


def transport_messages(messages) -> list[tuple[int, ...]]:
    """Everything but the pulses, in order."""
    return [m for m in messages if m[0] != CLOCK]


def make(grid: BeatGrid, sink=None):
    clock = OwnClock()
    clock_sink = sink if sink is not None else MemorySink()
    clock_out = ClockOut(clock_sink, lambda: grid)
    scheduler = Scheduler(MemorySink(), clock, clock_out=clock_out)
    scheduler.start()
    return clock, scheduler, clock_out, clock_sink


def test_song_position_is_fourteen_bits_of_sixteenths():
    assert song_position(0) == (SPP, 0, 0)
    assert song_position(200) == (SPP, 200 & 0x7F, 200 >> 7)
    assert song_position(1 << 20) == (SPP, 0x7F, 0x7F)  # clamped
    assert song_position(-3) == (SPP, 0, 0)


def test_start_stop_continue_and_song_position_follow_the_transport():
    clock, scheduler, _clock_out, sink = make(BeatGrid.constant(120.0))
    try:
        messages = lambda: [tuple(m) for _t, m in sink.messages]  # noqa: E731
        clock.play(0.0)
        wait_until(lambda: messages().count((CLOCK,)) >= 12)
        clock.stop()
        first_stop = clock.snapshot().anchor_position
        clock.seek(2.0)  # 2 s at 120 bpm: beat 4, sixteenth 16
        clock.play(2.0)
        wait_until(lambda: messages()[-1] == (CLOCK,))
        clock.seek(3.1)  # beat 6.2: the next sixteenth is 25 (beat 6.25)
        wait_until(lambda: messages()[-1] == (CLOCK,))
        clock.stop()
        stopped_at = clock.snapshot().anchor_position
        time.sleep(0.05)
        got = transport_messages(messages())
        assert got[got.index((START,)):] == [
            (START,), (STOP,), song_position(next_sixteenth(first_stop)),  # play from 0, stop
            song_position(16),  # seek while stopped
            song_position(16), (CONTINUE,),  # play from 2 s
            (STOP,), song_position(25), (CONTINUE,),  # seek while playing
            # stop: the position of the next sixteenth
            (STOP,), song_position(next_sixteenth(stopped_at)),
        ]
        assert messages().index((START,)) < messages().index((CLOCK,))
    finally:
        scheduler.shutdown()


def test_pulses_follow_a_tempo_map_at_the_timeline_offset():
    """Pulse n sits at beat n/24 of the music: two tempos, media 0 at project 1 s."""
    tempo_map = TempoMap.from_beats([(0.0, 120.0), (4.0, 60.0)])  # 4 beats of 0.5 s, then 1 s
    grid = BeatGrid(tempo_map, offset=1.0)
    assert grid.position_at(4.0) == pytest.approx(3.0)
    assert grid.position_at(5.0) == pytest.approx(4.0)
    sink = MemorySink()
    clock_out = ClockOut(sink, lambda: grid)
    clock = OwnClock(monotonic=lambda: 100.0)
    clock.play(1.0, now=100.0)
    state = clock.snapshot(100.0)
    clock_out.follow(state)
    # at project 3.5 s (beat 4.5), pulses 0..108 are due: 4 beats * 24 + half a beat's 12
    clock_out.step(state, 100.0 + 2.5)
    assert clock_out.pulses_sent == 4 * 24 + 12 + 1
    assert clock_out.step(state, 100.0 + 2.5) == pytest.approx(1 / 24)


def test_a_loop_wrap_comes_after_the_last_pulse_before_the_loop_end():
    sink = MemorySink()
    clock_out = ClockOut(sink, lambda: BeatGrid.constant(120.0))
    now = [0.0]
    clock = OwnClock(monotonic=lambda: now[0])
    clock.set_loop(0.0, 1.0)
    clock.play(0.0, now=0.0)
    clock_out.follow(clock.snapshot(0.0))
    state = clock.snapshot(0.0)
    clock_out.step(state, 1.2)  # late: the old state still says 1.2 s, past the loop end
    assert clock_out.pulses_sent == 48  # 2 beats, pulses 0..47; not pulse 48 at the end


@pytest.fixture(scope="module")
def jack():
    with jack_server(period=64) as name:
        yield name


@pytest.mark.slow
@pytest.mark.parametrize("bpm", [120.0, 97.0])
def test_exactly_24_clocks_per_beat_over_60_seconds_on_jack(jack, bpm):
    """60 s of music, looped, played at 8x (the transport's own play rate): between Start and
    the loop's Stop come exactly 24 pulses per beat, recorded on a JACK input."""
    from test_live_jack import Recorder

    name = f"v2m_clk_{uuid.uuid4().hex[:6]}"
    sink = RtMidiSink("jack", None, name, "clock_out")
    recorder = Recorder(f"{name}:clock_out", name=f"probe_{uuid.uuid4().hex[:6]}")
    clock, scheduler, _clock_out, _sink = make(BeatGrid.constant(bpm), sink)
    try:
        time.sleep(0.2)
        clock.set_loop(0.0, 60.0)
        clock.play(0.0, rate=8.0)
        time.sleep(60.0 / 8 + 0.5)
        clock.stop()
        time.sleep(0.3)
    finally:
        scheduler.shutdown()
        recorder.close()
    messages = [m for _t, m in recorder.messages]
    start = messages.index((START,))
    stop = messages.index((STOP,), start)
    pulses = messages[start + 1:stop]
    assert set(pulses) == {(CLOCK,)}
    assert len(pulses) == round(60.0 * bpm / 60.0) * 24
    assert messages[stop + 1] == (START,)  # the loop starts again from its start


def test_the_daemon_sends_clock_for_reapers_transport_on_jack(jack):
    """`serve --clock-out virtual`: Reaper's /play + /time start the clock on its own JACK port,
    /stop stops it; the notes' port is another."""
    from live_helpers import OscClient
    from test_live_jack import Recorder

    from v2m_bridge.daemon.app import Daemon, DaemonConfig

    name = f"v2m_d{uuid.uuid4().hex[:6]}"
    daemon = Daemon(DaemonConfig(port=0, midi_backend="jack", clock_out="virtual",
                                 client_name=name, discovery=False), backend=None)
    assert daemon.scheduler.clock_out.sink.name == f"{name}_clock:clock_out"
    recorder = Recorder(f"{name}_clock:clock_out", name=f"probe_{uuid.uuid4().hex[:6]}")
    client = OscClient(daemon.server.address)
    daemon.start()
    try:
        client.send_bundle(("/tempo/raw", 100.0), ("/play", 1.0), ("/time", 0.0))
        wait_until(lambda: len(recorder.messages) > 40)
        client.send("/stop", 1.0)
        wait_until(lambda: (STOP,) in [m for _t, m in recorder.messages])
    finally:
        client.close()
        daemon.close()
        recorder.close()
    messages = [m for _t, m in recorder.messages]
    start = messages.index((START,))
    stop = messages.index((STOP,), start)
    assert stop - start > 30 and set(messages[start + 1:stop]) == {(CLOCK,)}
    stamps = [t for t, m in recorder.messages[start + 1:stop]]
    # Reaper's tempo (no music open): 100 bpm, 25 ms between pulses
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert statistics.median(gaps) == pytest.approx(0.025, abs=0.003)

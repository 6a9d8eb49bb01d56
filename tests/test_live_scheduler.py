"""The scheduler against the in-memory MIDI sink and the daemon's own clock (real time, short)."""

from __future__ import annotations

import statistics
import time

import pytest

from v2m_bridge.daemon.midi_out import MemorySink
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.transport import OwnClock, ReaperClock
from v2m_bridge.music.events import ARP_CHANNEL, CHORDS_CHANNEL, NoteEvent

CC123 = 123


@pytest.fixture
def rig():
    sink = MemorySink()
    clock = OwnClock()
    scheduler = Scheduler(sink, clock, max_sleep_s=0.01)
    scheduler.start()
    yield sink, clock, scheduler
    scheduler.shutdown()


def note_ons(sink):
    return [(t, m) for t, m in sink.messages if m[0] & 0xF0 == 0x90]


def sounding_after(messages):
    """Replay messages and return the notes left on (note-offs and CC 123 end them)."""
    on: dict[tuple[int, int], int] = {}
    for _, (status, data1, _data2) in messages:
        kind, channel = status & 0xF0, status & 0x0F
        if kind == 0x90:
            on[(channel, data1)] = on.get((channel, data1), 0) + 1
        elif kind == 0x80 and on.get((channel, data1)):
            on[(channel, data1)] -= 1
        elif kind == 0xB0 and data1 == CC123:
            on = {key: 0 if key[0] == channel else n for key, n in on.items()}
    return {key for key, n in on.items() if n}


def test_notes_are_sent_at_their_transport_time(rig):
    sink, clock, scheduler = rig
    events = [NoteEvent(0.02 + 0.015 * i, 0.03 + 0.015 * i, 60 + i, 80 + i, i % 2)
              for i in range(20)]
    scheduler.set_events(events)
    clock.play(0.0)
    anchor = clock.snapshot()
    time.sleep(0.4)
    ons = note_ons(sink)
    assert [m for _, m in ons] == [(0x90 | (i % 2), 60 + i, 80 + i) for i in range(20)]
    errors = [t - anchor.mono_at(e.start) for (t, _), e in zip(ons, events, strict=True)]
    assert min(errors) >= -1e-4  # never early
    assert statistics.median(errors) < 0.003
    assert sounding_after(sink.messages) == set()


def test_timeline_offset_and_play_rate_map_media_time(rig):
    sink, clock, scheduler = rig
    events = [NoteEvent(1.0, 1.02, 60, 90), NoteEvent(1.1, 1.12, 62, 90)]
    scheduler.set_events(events, timeline_offset=10.0)  # media 1.0 is project 11.0
    clock.play(10.95, rate=2.0)
    anchor = clock.snapshot()
    time.sleep(0.15)
    ons = note_ons(sink)
    assert [m[1] for _, m in ons] == [60, 62]
    assert ons[0][0] - anchor.anchor_mono == pytest.approx(0.025, abs=0.004)
    assert ons[1][0] - ons[0][0] == pytest.approx(0.05, abs=0.004)


def test_stop_ends_every_sounding_note(rig):
    sink, clock, scheduler = rig
    scheduler.set_events([NoteEvent(0.0, 5.0, 60, 100, CHORDS_CHANNEL),
                          NoteEvent(0.0, 5.0, 64, 100, CHORDS_CHANNEL),
                          NoteEvent(0.01, 5.0, 72, 90, ARP_CHANNEL)])
    clock.play(0.0)
    time.sleep(0.06)
    assert scheduler.sounding_notes() == [(0, 60), (0, 64), (1, 72)]
    clock.stop()
    time.sleep(0.03)
    after_ons = sink.messages[3:]
    assert sorted(m for _, m in after_ons[:3]) == [(0x80, 60, 0), (0x80, 64, 0), (0x81, 72, 0)]
    assert [m for _, m in after_ons[3:]] == [(0xB0, CC123, 0), (0xB1, CC123, 0)]
    assert scheduler.sounding_notes() == []


@pytest.mark.parametrize("chase", [True, False])
def test_seek_ends_notes_and_resumes_from_the_new_position(rig, chase):
    sink, clock, scheduler = rig
    scheduler.chase = chase
    scheduler.set_events([NoteEvent(0.0, 3.0, 60, 100), NoteEvent(2.0, 2.5, 62, 100),
                          NoteEvent(2.03, 2.5, 64, 100)])
    clock.play(0.0)
    time.sleep(0.05)
    clock.seek(2.01)  # inside notes 60 and 62: chased (struck at once) unless chase is off
    time.sleep(0.08)
    played = [m for _, m in sink.messages]
    assert played[0] == (0x90, 60, 100)
    assert played[1:3] == [(0x80, 60, 0), (0xB0, CC123, 0)]
    chased = [(0x90, 60, 100), (0x90, 62, 100)] if chase else []
    assert played[3:] == [*chased, (0x90, 64, 100)]
    assert scheduler.sounding_notes() == ([(0, 60), (0, 62), (0, 64)] if chase else [(0, 64)])
    clock.seek(2.6)  # past 62 and 64; 60 is chased again
    time.sleep(0.05)
    assert scheduler.sounding_notes() == ([(0, 60)] if chase else [])
    clock.stop()
    assert scheduler.sounding_notes() == []
    assert sounding_after(sink.messages) == set()


def test_adjacent_notes_on_one_key_send_off_before_on(rig):
    sink, clock, scheduler = rig
    scheduler.set_events([NoteEvent(0.02, 0.05, 60, 100), NoteEvent(0.05, 0.08, 60, 70)])
    clock.play(0.0)
    time.sleep(0.15)
    assert [m for _, m in sink.messages] == [(0x90, 60, 100), (0x80, 60, 0), (0x90, 60, 70),
                                              (0x80, 60, 0)]


def test_loop_wrap_replays_the_loop_and_ends_notes_at_the_wrap(rig):
    sink, clock, scheduler = rig
    scheduler.set_events([NoteEvent(0.01, 0.02, 60, 100), NoteEvent(0.04, 0.5, 62, 100),
                          NoteEvent(0.07, 0.08, 64, 100)])
    clock.set_loop(0.0, 0.06)
    clock.play(0.0)
    time.sleep(0.15)  # about 2.5 passes
    clock.stop()
    pitches = [m[1] for _, m in note_ons(sink)]
    assert 64 not in pitches  # after the loop end
    assert pitches[:4] == [60, 62, 60, 62]
    # 62 sustains past the loop end: the wrap must end it before 60 starts again
    first_wrap = sink.messages.index(next(x for x in sink.messages[2:] if x[1] == (0x90, 60, 100)))
    assert (0x80, 62, 0) in [m for _, m in sink.messages[:first_wrap]]
    assert sounding_after(sink.messages) == set()


def test_new_events_and_panic_end_sounding_notes(rig):
    sink, clock, scheduler = rig
    scheduler.set_events([NoteEvent(0.0, 5.0, 60, 100)])
    clock.play(0.0)
    time.sleep(0.03)
    scheduler.set_events([NoteEvent(0.0, 5.0, 67, 100, ARP_CHANNEL)])
    assert [m for _, m in sink.messages[1:3]] == [(0x80, 60, 0), (0xB0, CC123, 0)]
    time.sleep(0.03)  # new events: nothing starting before the playhead is chased
    assert scheduler.sounding_notes() == []
    scheduler.set_events([NoteEvent(0.1, 5.0, 67, 100, ARP_CHANNEL)])
    time.sleep(0.1)
    assert scheduler.sounding_notes() == [(1, 67)]
    scheduler.panic()
    assert [m for _, m in sink.messages[-2:]] == [(0x81, 67, 0), (0xB1, CC123, 0)]
    assert scheduler.sounding_notes() == []


def test_port_loss_ends_notes_pauses_output_and_recovers(rig):
    sink, clock, scheduler = rig
    scheduler.set_events([NoteEvent(0.0, 5.0, 60, 100), NoteEvent(0.15, 0.2, 62, 100)])
    clock.play(0.0)
    time.sleep(0.03)
    sink.disconnect()
    assert scheduler.check_port() == "lost"
    assert sink.dropped == 2  # the note-off and the CC 123 were attempted
    assert scheduler.sounding_notes() == []
    assert scheduler.check_port() is None  # still gone
    assert not scheduler.port_ok
    sink.make_available()
    assert scheduler.check_port() == "restored"
    assert sink.messages[-1][1] == (0xB0, CC123, 0)
    time.sleep(0.2)
    assert (0x90, 62, 100) in [m for _, m in sink.messages]  # playback goes on


def test_shutdown_ends_notes_and_closes_the_port():
    sink, clock = MemorySink(), OwnClock()
    scheduler = Scheduler(sink, clock)
    scheduler.start()
    scheduler.set_events([NoteEvent(0.0, 5.0, 48, 100)])
    clock.play(0.0)
    time.sleep(0.03)
    scheduler.shutdown()
    assert [m for _, m in sink.messages] == [(0x90, 48, 100), (0x80, 48, 0), (0xB0, CC123, 0)]
    assert sink.closed


def test_scrubbing_a_stopped_transport_sends_nothing(rig):
    sink, clock, scheduler = rig
    scheduler.set_events([NoteEvent(0.0, 1.0, 60, 100)])
    for position in (1.0, 2.0, 0.5):
        clock.seek(position)
    time.sleep(0.03)
    assert sink.messages == []


def test_a_failing_clock_ends_notes_and_the_thread_survives(rig):
    sink, clock, scheduler = rig
    scheduler.set_events([NoteEvent(0.0, 5.0, 60, 100), NoteEvent(0.2, 0.3, 62, 100)])
    clock.play(0.0)
    time.sleep(0.03)
    real_snapshot = clock.snapshot
    failures = iter([RuntimeError("boom")])

    def flaky_snapshot(now=None):
        error = next(failures, None)
        if error is not None:
            raise error
        return real_snapshot(now)

    clock.snapshot = flaky_snapshot
    clock.seek(0.1)  # wakes the thread, which hits the failure once
    time.sleep(0.25)
    played = [m for _, m in sink.messages]
    assert played[:3] == [(0x90, 60, 100), (0x80, 60, 0), (0xB0, CC123, 0)]
    assert (0x90, 62, 100) in played  # still playing after the failure


def test_switching_clocks_back_and_forth_adds_no_listeners():
    """Issue 15 #2: each switch subscribed the scheduler again, so one /time cost 15 ms after
    20,000 switches. Now only the followed clock wakes it, once."""
    own, reaper = OwnClock(), ReaperClock()
    scheduler = Scheduler(MemorySink(), own)
    for _ in range(20_000):
        scheduler.set_clock(reaper)
        scheduler.set_clock(own)
    scheduler.set_clock(reaper)
    assert (own.listener_count, reaper.listener_count) == (0, 1)
    started = time.process_time()
    for i in range(1000):
        reaper.on_time(float(i))
    assert (time.process_time() - started) / 1000 < 0.002  # was 15 ms each

"""Transport clocks with a fake monotonic clock: Reaper OSC following, MTC decoding, own clock."""

from __future__ import annotations

import pytest

from v2m_bridge.daemon.transport import (
    HELD,
    PAUSED,
    PLAYING,
    STOPPED,
    MtcClock,
    MtcDecoder,
    OwnClock,
    ReaperClock,
    timecode_to_seconds,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    return FakeTime()


def test_own_clock_play_seek_stop(fake):
    clock = OwnClock(fake)
    clock.play(5.0)
    fake.now += 2.0
    assert clock.snapshot().position_at(fake.now) == pytest.approx(7.0)
    epoch = clock.snapshot().epoch
    clock.seek(1.0)
    assert clock.snapshot().epoch == epoch + 1
    fake.now += 0.5
    clock.stop()
    state = clock.snapshot()
    assert state.mode == STOPPED
    fake.now += 3.0
    assert state.position_at(fake.now) == pytest.approx(1.5)


def test_reaper_interpolates_between_time_updates(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    clock.on_time(10.0)
    fake.now += 0.02
    assert clock.snapshot().position_at(fake.now) == pytest.approx(10.02)
    epoch = clock.snapshot().epoch
    # updates that arrive a few ms late are slewed in, not treated as seeks
    for step in range(1, 10):
        fake.now += 0.033
        clock.on_time(10.02 + 0.033 * step - 0.004)
    state = clock.snapshot()
    assert state.epoch == epoch
    assert state.position_at(fake.now) == pytest.approx(10.02 + 0.033 * 9, abs=0.005)


def test_epoch_position_survives_slew_updates(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    clock.on_time(4.0)
    fake.now += 0.03
    clock.on_time(4.03)  # an update lands before the scheduler looked: the play began at 4.0
    state = clock.snapshot()
    assert state.anchor_position == pytest.approx(4.03)
    assert state.epoch_position == 4.0


def test_reaper_jump_is_a_seek(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    fake.now += 1.0
    epoch = clock.snapshot().epoch
    clock.on_time(30.0)
    state = clock.snapshot()
    assert state.epoch == epoch + 1
    assert state.position_at(fake.now) == 30.0
    fake.now += 0.03
    clock.on_time(25.0)  # backwards: a seek (or a wrap it did not foresee)
    assert clock.snapshot().epoch == epoch + 2


def test_reaper_pause_and_stop_flags(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    clock.on_time(0.0)
    assert clock.snapshot().mode == PLAYING
    clock.on_pause(1.0)
    clock.on_stop(1.0)  # Reaper reports stop=1 too when paused; stop resets both flags
    assert clock.snapshot().mode == STOPPED
    clock.on_play(1.0)
    clock.on_time(0.5)
    clock.on_pause(1.0)
    assert clock.snapshot().mode == PAUSED
    clock.on_pause(0.0)
    clock.on_time(0.5)
    assert clock.snapshot().mode == PLAYING
    clock.on_stop(0.0)  # a 0 is not a stop
    assert clock.snapshot().mode == PLAYING
    clock.on_play(0.0)
    assert clock.snapshot().mode == STOPPED


def test_reaper_play_rate_scales_time(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    clock.on_time(0.0)
    fake.now += 1.0
    clock.on_playrate(0.5)
    fake.now += 1.0
    assert clock.snapshot().position_at(fake.now) == pytest.approx(1.5)


def test_reaper_loop_wrap_is_predicted(fake):
    clock = ReaperClock(fake)
    clock.on_loop_start(2.0)
    clock.on_loop_end(3.0)
    clock.on_repeat(1.0)
    clock.on_play(1.0)
    clock.on_time(2.5)
    epoch = clock.snapshot().epoch
    fake.now += 0.75  # wrapped at 3.0 after 0.5 s, then 0.25 s into the loop again
    state = clock.snapshot()
    assert state.epoch == epoch + 1
    assert state.position_at(fake.now) == pytest.approx(2.25)
    assert state.anchor_position == 2.0
    assert state.anchor_mono == pytest.approx(fake.now - 0.25)
    clock.on_repeat(0.0)
    fake.now += 1.0
    assert clock.snapshot().position_at(fake.now) == pytest.approx(3.25)  # plays on through


def test_listeners_hear_every_change(fake):
    clock = ReaperClock(fake)
    calls = []
    clock.subscribe(lambda: calls.append(clock.snapshot().mode))
    clock.on_play(1.0)
    clock.on_time(1.0)
    clock.on_stop(1.0)
    assert calls == [PLAYING, STOPPED]  # /play alone changes nothing: the position is unknown


# --- what real clients send (issue 14) ------------------------------------------------------------

def test_play_before_the_first_time_waits_for_the_position(fake):
    """A Max [t i i] sends /play 1 before the movie's first /time: nothing may start at the
    stale position; the first /time starts playback there."""
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    fake.now += 0.005
    state = clock.snapshot()
    assert state.mode == STOPPED and state.epoch == 0
    clock.on_time(12.0)
    state = clock.snapshot()
    assert (state.mode, state.epoch_position, state.epoch) == (PLAYING, 12.0, 1)


def test_time_while_paused_or_stopped_is_the_cursor_and_ignored(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    clock.on_time(5.0)
    fake.now += 1.0
    clock.on_pause(1.0)
    epoch = clock.snapshot().epoch
    for cursor in (1.0, 2.0, 30.0):  # the user moves the edit cursor while paused
        clock.on_time(cursor)
    state = clock.snapshot()
    assert (state.mode, state.anchor_position, state.epoch) == (PAUSED, pytest.approx(6.0), epoch)
    clock.on_pause(0.0)  # resume: still nothing until REAPER reports the play position
    assert clock.snapshot().mode == PAUSED
    clock.on_time(6.01)
    state = clock.snapshot()
    assert (state.mode, state.epoch_position) == (PLAYING, 6.01)
    clock.on_stop(1.0)
    clock.on_time(0.0)
    assert clock.snapshot().anchor_position == pytest.approx(6.01)


def test_a_frozen_time_is_a_hold_not_a_stream_of_seeks(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    clock.on_time(29.9)
    epoch = clock.snapshot().epoch
    modes = []
    for _ in range(60):  # 2 s of the same /time every 33 ms: a movie at its end
        fake.now += 0.033
        clock.on_time(29.9)
        state = clock.snapshot()
        modes.append(state.mode)
    assert modes[:2] == [PLAYING, PLAYING] and modes[-1] == HELD
    # held at the reported position; one new epoch when the hold outlasts hold_release_s
    assert state.anchor_position == 29.9
    assert state.epoch == epoch + 1
    fake.now += 0.033
    clock.on_time(29.933)  # it moves on: play resumes there (a chase after the release)
    state = clock.snapshot()
    assert (state.mode, state.anchor_position, state.epoch) == (PLAYING, 29.933, epoch + 2)


def test_a_short_stall_resumes_without_a_new_epoch(fake):
    clock = ReaperClock(fake)
    clock.on_play(1.0)
    clock.on_time(3.0)
    for _ in range(6):  # 0.2 s stalled
        fake.now += 0.033
        clock.on_time(3.0)
    assert clock.snapshot().mode == HELD
    epoch = clock.snapshot().epoch
    fake.now += 0.033
    clock.on_time(3.033)
    state = clock.snapshot()
    assert (state.mode, state.epoch) == (PLAYING, epoch)
    fake.now += 0.033
    clock.on_time(10.0)  # a jump from the hold is a seek
    assert clock.snapshot().epoch == epoch + 1


# --- MTC -----------------------------------------------------------------------------------------

def quarter_frames(hours, minutes, seconds, frames, rate_code):
    pieces = [frames & 0xF, frames >> 4, seconds & 0xF, seconds >> 4, minutes & 0xF,
              minutes >> 4, hours & 0xF, (hours >> 4) | (rate_code << 1)]
    return [[0xF1, (n << 4) | value] for n, value in enumerate(pieces)]


def test_full_frame_example_from_the_spec():
    decoded = MtcDecoder().feed([0xF0, 0x7F, 0x7F, 0x01, 0x01, 0x61, 0x1E, 0x23, 0x14, 0xF7])
    assert decoded.full_frame
    assert decoded.fps == 30.0
    assert decoded.seconds == pytest.approx(3600 + 30 * 60 + 35 + 20 / 30)


def test_quarter_frames_decode_after_piece_seven():
    decoder = MtcDecoder()
    results = [decoder.feed(m) for m in quarter_frames(0, 1, 2, 10, 1)]
    assert results[:7] == [None] * 7
    assert results[7].seconds == pytest.approx(62 + 10 / 25 + 1.75 / 25)
    assert not results[7].full_frame


def test_quarter_frames_out_of_order_are_ignored():
    decoder = MtcDecoder()
    frames = quarter_frames(0, 0, 5, 0, 3)
    assert all(decoder.feed(m) is None for m in reversed(frames))  # reverse play
    assert decoder.feed([0x90, 60, 100]) is None


def test_drop_frame_seconds():
    # 29.97 drop-frame: frames 0 and 1 of each minute not divisible by 10 are skipped
    assert timecode_to_seconds(0, 1, 0, 2, 2) == pytest.approx(1800 / (30000 / 1001))
    assert timecode_to_seconds(0, 10, 0, 0, 2) == pytest.approx(17982 / (30000 / 1001))


def test_mtc_clock_chases_plays_locates_and_times_out(fake):
    clock = MtcClock(fake, timeout_s=0.25)
    clock.feed([0xF0, 0x7F, 0x7F, 0x01, 0x01, 0x20, 0x00, 0x0A, 0x00, 0xF7])  # 25 fps, 10 s
    state = clock.snapshot()
    assert (state.mode, state.anchor_position) == (STOPPED, 10.0)
    for message in quarter_frames(0, 0, 10, 0, 1):
        fake.now += 0.01
        clock.feed(message)
    state = clock.snapshot()
    assert state.mode == PLAYING
    assert state.position_at(fake.now) == pytest.approx(10.07)
    fake.now += 0.1
    assert clock.snapshot().mode == PLAYING
    fake.now += 0.3  # no quarter frame for 0.4 s: the master stopped
    state = clock.snapshot()
    assert state.mode == STOPPED
    assert state.anchor_position == pytest.approx(10.07)

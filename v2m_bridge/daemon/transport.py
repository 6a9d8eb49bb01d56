"""Transport clocks: where the DAW's playhead is, in project seconds, at any ``time.monotonic()``.

Three sources share one model (:class:`TransportState`: an anchor position at an anchor
monotonic time, a rate, and an ``epoch`` that changes on every discontinuity: start, stop, pause,
seek, loop wrap):

* :class:`OwnClock` is driven by ``/v2m/transport/play|stop|seek`` (Max, stand-alone use).
* :class:`ReaperClock` follows Reaper's OSC feedback (``/play``, ``/stop``, ``/pause``, ``/time``,
  ``/playrate/raw``, ``/repeat``, ``/loop/start/time``, ``/loop/end/time``), interpolating between
  ``/time`` updates (15-30 per second) and treating large jumps as seeks.
* :class:`MtcClock` chases MIDI Time Code (quarter frames and full-frame sysex).

The scheduler maps media time to project time with the video's timeline offset; clocks know only
project time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

STOPPED, PLAYING, PAUSED = "stopped", "playing", "paused"
HELD = "held"  # Reaper-style feedback froze while playing (see ReaperClock)
FROZEN_EPSILON_S = 1e-6  # two /time reports this close are the same position


@dataclass(frozen=True)
class TransportState:
    mode: str
    anchor_position: float
    anchor_mono: float
    rate: float
    epoch: int
    loop: tuple[float, float] | None = None
    epoch_position: float = 0.0  # where the current epoch began (kept through slew updates)

    @property
    def playing(self) -> bool:
        return self.mode == PLAYING

    def position_at(self, mono: float) -> float:
        if not self.playing:
            return self.anchor_position
        return self.anchor_position + (mono - self.anchor_mono) * self.rate

    def mono_at(self, position: float) -> float:
        """When (monotonic) the playhead reaches ``position``; only meaningful while playing."""
        return self.anchor_mono + (position - self.anchor_position) / self.rate


class TransportClock:
    """Thread-safe transport state with change listeners (the scheduler wakes on each change)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._state = TransportState(STOPPED, 0.0, monotonic(), 1.0, 0)
        self._loop_enabled = False
        self._loop_start = 0.0
        self._loop_end = 0.0
        self._listeners: list[Callable[[], None]] = []
        self.tempo_bpm: float | None = None

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every change; subscribing it again changes nothing."""
        with self._lock:
            if listener not in self._listeners:
                self._listeners = [*self._listeners, listener]

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners = [known for known in self._listeners if known != listener]

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def snapshot(self, now: float | None = None) -> TransportState:
        now = self.monotonic() if now is None else now
        with self._lock:
            self._before_snapshot(now)
            self._wrap_loop(now)
            return self._state

    def _before_snapshot(self, now: float) -> None:
        """Hook for clocks that change state with time alone (MTC timeout)."""

    def _wrap_loop(self, now: float) -> None:
        state = self._state
        if not state.playing or state.loop is None:
            return
        start, end = state.loop
        if not state.anchor_position < end <= state.position_at(now):
            return
        # Re-anchor exactly at the (last) wrap point, so no time is lost to the late check.
        length = end - start
        wraps = math.floor((state.position_at(now) - end) / length) + 1
        wrap_mono = state.mono_at(end) + (wraps - 1) * length / state.rate
        self._state = replace(state, anchor_position=start, anchor_mono=wrap_mono,
                              epoch=state.epoch + 1, epoch_position=start)

    def _update(self, *, mode: str | None = None, position: float | None = None,
                now: float | None = None, rate: float | None = None,
                discontinuity: bool) -> None:
        """Re-anchor the state at ``now`` (current position unless given); call under the lock."""
        now = self.monotonic() if now is None else now
        old = self._state
        new_mode = old.mode if mode is None else mode
        new_position = old.position_at(now) if position is None else position
        new_rate = old.rate if rate is None else rate
        loop = None
        if self._loop_enabled and new_mode == PLAYING and self._loop_end > self._loop_start:
            loop = (self._loop_start, self._loop_end)
        self._state = TransportState(
            new_mode, new_position, now, new_rate, old.epoch + 1 if discontinuity else old.epoch,
            loop, new_position if discontinuity else old.epoch_position)

    def _slew_towards(self, position: float, now: float, jump_back_s: float,
                      jump_forward_s: float, gain: float) -> None:
        """While playing: slew ``gain`` of the error between a reported ``position`` and the
        prediction into the clock, or treat a jump beyond the limits as a seek (lock held)."""
        error = position - self._state.position_at(now)
        if error < -jump_back_s or error > jump_forward_s:
            self._update(position=position, now=now, discontinuity=True)
        else:
            self._update(position=self._state.position_at(now) + gain * error, now=now,
                         discontinuity=False)

    def _notify(self) -> None:
        for listener in self._listeners:  # a copy-on-write list: safe against (un)subscribe
            listener()

    def _set_loop(self, enabled: bool | None = None, start: float | None = None,
                  end: float | None = None) -> None:
        with self._lock:
            if enabled is not None:
                self._loop_enabled = enabled
            if start is not None:
                self._loop_start = start
            if end is not None:
                self._loop_end = end
            self._update(discontinuity=False)
        self._notify()


class OwnClock(TransportClock):
    """The daemon's own transport, driven by ``/v2m/transport/*`` messages carrying project time."""

    # ``now``: when the command arrived (the OSC packet's receive time), default: now.
    def play(self, position: float, rate: float = 1.0, now: float | None = None) -> None:
        with self._lock:
            self._update(mode=PLAYING, position=position, rate=rate, now=now,
                         discontinuity=True)
        self._notify()

    def stop(self, now: float | None = None) -> None:
        with self._lock:
            self._update(mode=STOPPED, now=now, discontinuity=True)
        self._notify()

    def pause(self, now: float | None = None) -> None:
        with self._lock:
            self._update(mode=PAUSED, now=now, discontinuity=True)
        self._notify()

    def seek(self, position: float, now: float | None = None) -> None:
        with self._lock:
            self._update(position=position, now=now, discontinuity=True)
        self._notify()

    def set_loop(self, start: float, end: float, enabled: bool = True) -> None:
        self._set_loop(enabled, start, end)


class ReaperClock(TransportClock):
    """Follows Reaper's OSC control-surface feedback (or a Max/Pd patch that speaks it).

    Between ``/time`` updates the position is extrapolated with the play rate. Each update is
    compared with the prediction: small errors are slewed in (``slew_gain`` of the error per
    update, so arrival jitter does not shake the clock), a jump backwards beyond ``jump_back_s`` or
    forwards beyond ``jump_forward_s`` is a seek (or a loop wrap the clock did not foresee).
    With loop ("repeat") on and a loop range known, the wrap is predicted at the loop end.

    What real clients send, and what the clock makes of it:

    * ``/play 1`` does not start the clock: the position is not known yet (a Max ``[t i i]``
      sends ``/play 1`` before the movie's first ``/time``). Playback starts at the first
      ``/time`` after it, so nothing is struck at a stale position.
    * ``/time`` while stopped or paused is ignored: Reaper then reports the edit cursor
      (``csurf_osc.cpp`` ``Run()``), not where playback resumes.
    * A ``/time`` that repeats the same position for ``hold_after_s`` while playing (a movie
      that reached its end with the metro still running, a stalled decoder) is a hold: the
      clock stops at that position (mode ``held``) without a seek, so nothing is struck again.
      Sounding notes ring for ``hold_release_s``, then end. A ``/time`` that moves on from the
      held position resumes without a re-strike (or with one chase, after the release); one
      anywhere else is a seek.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, *,
                 jump_back_s: float = 0.1, jump_forward_s: float = 0.2,
                 slew_gain: float = 0.25, hold_after_s: float = 0.1,
                 hold_release_s: float = 1.0) -> None:
        super().__init__(monotonic)
        self.jump_back_s = jump_back_s
        self.jump_forward_s = jump_forward_s
        self.slew_gain = slew_gain
        self.hold_after_s = hold_after_s
        self.hold_release_s = hold_release_s
        self._flags = {"play": False, "pause": False}
        self._awaiting_position = False  # /play arrived, no /time since
        self._report: tuple[float, float] | None = None  # last new /time: (position, mono)
        self._held_since: float | None = None
        self._released = False  # a hold outlasted hold_release_s: its notes were ended

    # Reaper sends /play, /stop, /pause as 0/1 floats (or no argument for a trigger).
    # ``now`` everywhere: when the message arrived (the OSC packet's receive time), default: now.
    def on_play(self, value: float = 1.0, now: float | None = None) -> None:
        self._flags["play"] = bool(value)
        self._apply_flags(now)

    def on_stop(self, value: float = 1.0, now: float | None = None) -> None:
        if value:
            self._flags["play"] = False
            self._flags["pause"] = False
        self._apply_flags(now)

    def on_pause(self, value: float = 1.0, now: float | None = None) -> None:
        self._flags["pause"] = bool(value)
        self._apply_flags(now)

    def _apply_flags(self, now: float | None) -> None:
        mode = PAUSED if self._flags["pause"] else PLAYING if self._flags["play"] else STOPPED
        with self._lock:
            current = self._state.mode
            if mode == PLAYING:
                if current not in (PLAYING, HELD):
                    self._awaiting_position = True  # starts at the next /time
                    self._report = None
                return
            self._awaiting_position = False
            if mode == current:
                return
            self._update(mode=mode, now=now, discontinuity=True)
        self._notify()

    def on_time(self, position: float, now: float | None = None) -> None:
        now = self.monotonic() if now is None else now
        with self._lock:
            if not self._flags["play"] or self._flags["pause"]:
                return  # the edit cursor, not the play position
            self._wrap_loop(now)
            state = self._state
            report = self._report
            if self._awaiting_position:
                self._awaiting_position = False
                self._report = (position, now)
                self._update(mode=PLAYING, position=position, now=now, discontinuity=True)
            elif report is not None and abs(position - report[0]) <= FROZEN_EPSILON_S:
                if state.mode == HELD or now - report[1] < self.hold_after_s:
                    return  # no news (a metro faster than the movie's clock, or still held)
                self._held_since, self._released = now, False
                self._update(mode=HELD, position=position, now=now, discontinuity=False)
            else:
                self._report = (position, now)
                if state.mode == HELD:
                    moved_on = 0.0 <= position - state.anchor_position <= self.jump_forward_s
                    self._update(mode=PLAYING, position=position, now=now,
                                 discontinuity=self._released or not moved_on)
                    self._held_since = None
                else:
                    self._slew_towards(position, now, self.jump_back_s, self.jump_forward_s,
                                       self.slew_gain)
        self._notify()

    def _before_snapshot(self, now: float) -> None:
        held_since = self._held_since
        if (self._state.mode == HELD and not self._released and held_since is not None
                and now - held_since >= self.hold_release_s):
            self._released = True  # a new epoch: the scheduler ends the sounding notes
            self._update(mode=HELD, now=now, discontinuity=True)

    def on_playrate(self, rate: float, now: float | None = None) -> None:
        if not rate > 0:
            raise ValueError(f"play rate must be positive, got {rate}")
        with self._lock:
            self._update(rate=rate, now=now, discontinuity=False)
        self._notify()

    def on_tempo(self, bpm: float, now: float | None = None) -> None:
        self.tempo_bpm = bpm

    def on_repeat(self, value: float = 1.0, now: float | None = None) -> None:
        self._set_loop(enabled=bool(value))

    def on_loop_start(self, position: float, now: float | None = None) -> None:
        self._set_loop(start=position)

    def on_loop_end(self, position: float, now: float | None = None) -> None:
        self._set_loop(end=position)


# --- MIDI Time Code ------------------------------------------------------------------------------

MTC_FPS = {0: 24.0, 1: 25.0, 2: 30000 / 1001, 3: 30.0}  # rate code -> frames per second


def timecode_to_seconds(hours: int, minutes: int, seconds: int, frames: int, rate_code: int
                        ) -> float:
    """SMPTE time to seconds; rate code 2 is 29.97 drop-frame."""
    if rate_code == 2:
        total_minutes = hours * 60 + minutes
        frame_number = ((total_minutes * 60 + seconds) * 30 + frames
                        - 2 * (total_minutes - total_minutes // 10))
        return frame_number / MTC_FPS[2]
    return (hours * 60 + minutes) * 60 + seconds + frames / MTC_FPS[rate_code]


@dataclass(frozen=True)
class MtcTime:
    seconds: float
    fps: float
    full_frame: bool  # True for a locate (full-frame sysex), False for running quarter frames


class MtcDecoder:
    """Turns MTC bytes into times.

    Quarter frames (``F1 0nnndddd``) carry one nibble each; piece 0 is sent at the start of the
    frame it describes and the eight pieces span two frames, so when piece 7 arrives (in forward
    order) the playhead is 7/4 frames past the decoded time. Full frames
    (``F0 7F <dev> 01 01 hh mm ss ff F7``) are locates. Reverse play is ignored.
    """

    def __init__(self) -> None:
        self._pieces: list[int | None] = [None] * 8
        self._last_piece = -1

    def feed(self, message: Sequence[int]) -> MtcTime | None:
        if len(message) == 2 and message[0] == 0xF1:
            return self._quarter_frame(message[1])
        if (len(message) == 10 and message[0] == 0xF0 and message[1] == 0x7F
                and tuple(message[3:5]) == (0x01, 0x01) and message[9] == 0xF7):
            hh, mm, ss, ff = message[5:9]
            rate_code = (hh >> 5) & 0x03
            self._pieces = [None] * 8
            self._last_piece = -1
            return MtcTime(timecode_to_seconds(hh & 0x1F, mm, ss, ff, rate_code),
                           MTC_FPS[rate_code], True)
        return None

    def _quarter_frame(self, data: int) -> MtcTime | None:
        piece, value = (data >> 4) & 0x07, data & 0x0F
        if piece != self._last_piece + 1:
            self._pieces = [None] * 8  # out of order (reverse play or a dropped byte)
            if piece != 0:
                self._last_piece = -1
                return None
        self._pieces[piece] = value
        self._last_piece = piece
        if piece != 7:
            return None
        p = self._pieces
        self._last_piece = -1
        frames = p[0] | (p[1] << 4)
        seconds = p[2] | (p[3] << 4)
        minutes = p[4] | (p[5] << 4)
        hours = p[6] | ((p[7] & 0x01) << 4)
        rate_code = (p[7] >> 1) & 0x03
        fps = MTC_FPS[rate_code]
        base = timecode_to_seconds(hours, minutes, seconds, frames, rate_code)
        return MtcTime(base + 1.75 / fps, fps, False)


class MtcClock(TransportClock):
    """Chases MTC: quarter frames mean playing, a full frame is a locate, and silence for longer
    than ``timeout_s`` means the master stopped."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, *,
                 timeout_s: float = 0.12, jump_s: float = 0.1) -> None:
        super().__init__(monotonic)
        self.timeout_s = timeout_s
        self.jump_s = jump_s
        self.decoder = MtcDecoder()
        self._last_quarter_mono: float | None = None
        self.fps: float | None = None

    def feed(self, message: Sequence[int], now: float | None = None) -> None:
        now = self.monotonic() if now is None else now
        if len(message) == 2 and message[0] == 0xF1:
            self._last_quarter_mono = now
        decoded = self.decoder.feed(message)
        if decoded is None:
            return
        self.fps = decoded.fps
        with self._lock:
            state = self._state
            if decoded.full_frame:
                self._update(mode=STOPPED, position=decoded.seconds, now=now, discontinuity=True)
            elif not state.playing:
                self._update(mode=PLAYING, position=decoded.seconds, now=now, rate=1.0,
                             discontinuity=True)
            else:
                self._slew_towards(decoded.seconds, now, self.jump_s, self.jump_s, 0.5)
        self._notify()

    def _before_snapshot(self, now: float) -> None:
        last = self._last_quarter_mono
        if self._state.playing and last is not None and now - last > self.timeout_s:
            self._update(mode=STOPPED, position=self._state.position_at(last), now=now,
                         discontinuity=True)


# --- live media time -----------------------------------------------------------------------------


class LiveClock(TransportClock):
    """Follows the media time carried by live frames (``/v2m/live/frame``).

    The newest frame time drives the clock like Reaper's ``/time``: the first frame starts it,
    later ones are slewed in, a jump back beyond ``jump_back_s`` (the media was looped or
    scrubbed) or forward beyond ``jump_forward_s`` is a seek. Frames older than the newest one
    (out of order) do not move it. No frame for ``timeout_s`` means the sender went away: the
    clock stops, so the scheduler ends every sounding note.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, *,
                 timeout_s: float = 1.0, jump_back_s: float = 0.5, jump_forward_s: float = 0.5,
                 slew_gain: float = 0.25) -> None:
        super().__init__(monotonic)
        self.timeout_s = timeout_s
        self.jump_back_s = jump_back_s
        self.jump_forward_s = jump_forward_s
        self.slew_gain = slew_gain
        self._last_feed_mono: float | None = None
        self._newest: float | None = None
        self.timeouts = 0  # how often the frames stopped coming (the session reports each)

    def feed(self, media_time: float, now: float | None = None) -> None:
        now = self.monotonic() if now is None else now
        with self._lock:
            self._before_snapshot(now)
            state = self._state
            newest = self._newest
            if newest is not None and state.playing and (
                    newest - self.jump_back_s <= media_time <= newest):
                self._last_feed_mono = now  # out of order, but the sender is alive
                return
            self._newest = media_time
            self._last_feed_mono = now
            if not state.playing:
                self._update(mode=PLAYING, position=media_time, rate=1.0, now=now,
                             discontinuity=True)
            else:
                self._slew_towards(media_time, now, self.jump_back_s, self.jump_forward_s,
                                   self.slew_gain)
        self._notify()

    def stop(self, now: float | None = None) -> None:
        with self._lock:
            self._newest = None
            self._update(mode=STOPPED, now=now, discontinuity=True)
        self._notify()

    def _before_snapshot(self, now: float) -> None:
        last = self._last_feed_mono
        if self._state.playing and last is not None and now - last > self.timeout_s:
            self._newest = None
            self.timeouts += 1
            self._update(mode=STOPPED, position=self._state.position_at(last), now=now,
                         discontinuity=True)

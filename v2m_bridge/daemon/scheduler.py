"""The real-time scheduler: one thread that sends each note at its transport time.

The thread sleeps on a condition variable until the next message is due (at most ``max_sleep_s``,
so transport drift is picked up), on ``time.monotonic``. Anything that changes what should sound
(a transport change, new events, a panic) notifies the condition, so the thread re-plans at once.
OSC handling and model work happen elsewhere and only take the lock for a few microseconds.

No hanging notes: every sounding note is tracked, and stop, pause, seek, loop wrap, new events,
panic, port loss and shutdown send a note-off for each one, then All Notes Off (CC 123) on every
channel in use.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from v2m_bridge.daemon.clock_out import ClockOut
from v2m_bridge.daemon.midi_out import MidiSink, all_notes_off, note_off, note_on
from v2m_bridge.daemon.transport import TransportClock, TransportState
from v2m_bridge.music.events import NoteEvent

log = logging.getLogger(__name__)

PRUNE_AFTER_S = 5.0  # live updates forget notes that ended this long before the playhead


@dataclass(frozen=True)
class _Message:
    is_on: bool
    channel: int
    pitch: int
    velocity: int


def _timeline(events: Iterable[NoteEvent], offset: float) -> tuple[list[float], list[_Message]]:
    """Note-ons and note-offs in project time; at equal times note-offs come first, so a note that
    ends where the next one on the same key starts does not cut it off."""
    items = []
    for event in events:
        items.append((event.start + offset, 1, _Message(True, event.channel, event.pitch,
                                                         event.velocity)))
        items.append((event.end + offset, 0, _Message(False, event.channel, event.pitch, 0)))
    items.sort(key=lambda item: (item[0], item[1]))
    return [item[0] for item in items], [item[2] for item in items]


def merge_from(old: list[NoteEvent], new: Iterable[NoteEvent], start: float) -> list[NoteEvent]:
    """``old`` before ``start``, ``new`` from ``start`` on, joined without needless re-strikes.

    A note of ``old`` sounding across ``start`` goes on if ``new`` has the same note (channel,
    pitch and start); it takes the new end. Otherwise it ends at ``start``. Notes of ``new`` that
    began before ``start`` are not struck late: what was already played is not played again.
    """
    def same(event: NoteEvent) -> tuple[int, int, float]:
        return event.channel, event.pitch, round(event.start, 6)

    new = list(new)
    crossing_new = {same(e): e for e in new if e.start < start < e.end}
    merged: list[NoteEvent] = []
    for event in old:
        if event.start >= start:
            continue
        if event.end > start:
            match = crossing_new.pop(same(event), None)
            event = replace(event, end=match.end if match is not None else start)
        merged.append(event)
    merged += [e for e in new if e.start >= start]
    return sorted(merged)


class Scheduler:
    """Plays a list of :class:`NoteEvent` (media seconds) against a :class:`TransportClock`.

    ``timeline_offset`` is where media time 0 sits on the project timeline. Notes are chased, as
    a DAW does: when playback starts, seeks or wraps into the middle of a note, that note is
    struck at once and ends where it would have ended (``chase=False``: it stays silent).
    ``clock_out`` (``serve --clock-out``) sends MIDI clock for the same transport, from this
    thread.
    """

    def __init__(self, sink: MidiSink, clock: TransportClock, *, max_sleep_s: float = 0.02,
                 chase: bool = True, monotonic: Callable[[], float] = time.monotonic,
                 clock_out: ClockOut | None = None) -> None:
        self._sink = sink
        self.clock_out = clock_out
        self.chase = chase
        self._clock = clock
        self.max_sleep_s = max_sleep_s
        self.monotonic = monotonic
        self._cond = threading.Condition()
        self._events: list[NoteEvent] = []  # media seconds, kept for live updates
        self._offset = 0.0
        self._times: list[float] = []
        self._messages: list[_Message] = []
        self._processed_until = -math.inf  # project time up to which messages were handled
        self._channels: set[int] = set()
        self._cursor: int | None = None
        self._epoch: int | None = None
        self._active: Counter[tuple[int, int]] = Counter()
        self._sounding_possible = False
        self._port_ok = True
        self._closing = False
        self._thread: threading.Thread | None = None
        self.sent_count = 0
        clock.subscribe(self._wake)

    # --- control (any thread) ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="v2m-scheduler", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """End every sounding note, stop the thread and close the sink."""
        with self._cond:
            self._closing = True
            self._end_all_notes()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._sink.close()
        if self.clock_out is not None:
            self.clock_out.close()

    def set_events(self, events: Iterable[NoteEvent], timeline_offset: float = 0.0) -> None:
        """Replace what plays (a new video or a regenerated range); sounding notes end first."""
        events = sorted(events)
        times, messages = _timeline(events, timeline_offset)
        with self._cond:
            self._end_all_notes()
            self._events, self._offset = events, timeline_offset
            self._times, self._messages = times, messages
            self._channels = {m.channel for m in messages}
            self._cursor = None
            self._cond.notify_all()

    def replace_from(self, events: Iterable[NoteEvent], start: float) -> float:
        """Live updates: keep what is planned before ``start`` (media seconds), play ``events``
        from there on, without interrupting notes that both plans hold (see :func:`merge_from`).

        ``start`` moves later if the playhead has passed it (what was sent stays sent). Returns
        the start used.
        """
        with self._cond:
            handled = self._processed_until - self._offset
            start = max(start, math.nextafter(handled, math.inf))
            merged = merge_from(self._events, events, start)
            # notes that ended long before the playhead can go (a live session grows forever)
            self._events = [e for e in merged if e.end >= handled - PRUNE_AFTER_S]
            self._times, self._messages = _timeline(self._events, self._offset)
            self._channels |= {e.channel for e in self._events}
            if self._cursor is not None:
                self._cursor = bisect.bisect_right(self._times, self._processed_until)
            self._cond.notify_all()
        return start

    def set_clock(self, clock: TransportClock) -> None:
        """Follow another transport source; sounding notes end first. Only the clock followed
        wakes the scheduler (so switching back and forth adds no listeners)."""
        with self._cond:
            previous = self._clock
            self._end_all_notes()
            self._clock = clock
            self._epoch = None
            self._cond.notify_all()
        if previous is not clock:
            previous.unsubscribe(self._wake)
        clock.subscribe(self._wake)

    @property
    def clock(self) -> TransportClock:
        return self._clock

    def panic(self) -> None:
        with self._cond:
            self._end_all_notes(force=True)
            self._cursor = None  # notes already started stay silent; later notes play
            self._processed_until = -math.inf
            self._cond.notify_all()

    def sounding_notes(self) -> list[tuple[int, int]]:
        with self._cond:
            return sorted(key for key, count in self._active.items() if count > 0)

    def check_port(self) -> str | None:
        """Watchdog step (call every second or so): ``"lost"`` when the port just went away (all
        notes are ended and nothing is sent until it is back), ``"restored"`` when it came back,
        else None."""
        if self._port_ok:
            if self._sink.is_alive():
                return None
            with self._cond:
                self._end_all_notes(force=True)
                self._port_ok = False
            return "lost"
        if not (self._sink.is_alive() or self._sink.reopen()):
            return None
        with self._cond:
            self._port_ok = True
            for channel in sorted(self._channels):
                self._send(all_notes_off(channel))
            self._cursor = None
            self._cond.notify_all()
        return "restored"

    @property
    def port_ok(self) -> bool:
        return self._port_ok

    # --- the thread ----------------------------------------------------------------------------

    def _wake(self) -> None:
        """Clock callback: a stop, seek or loop jump ends sounding notes before it returns, so
        whoever moved the transport (and acknowledged it) never races the scheduler thread."""
        with self._cond:
            try:
                self._follow_epoch(self._clock.snapshot())
            except Exception:  # never let a scheduler bug reach the transport's caller
                self._recover()
            self._cond.notify_all()

    def _recover(self) -> None:
        """After an unexpected error (lock held): end every note and re-seek from the playhead."""
        log.exception("scheduler step failed; ending all notes")
        self._end_all_notes(force=True)
        self._cursor = None

    def _follow_epoch(self, state: TransportState) -> None:
        """On a new transport epoch (play, stop, seek, wrap): end notes, re-seek the cursor."""
        if state.epoch != self._epoch:
            self._epoch = state.epoch
            if self.clock_out is not None:
                self.clock_out.follow(state)
            self._end_all_notes()
            # from where the epoch began, so a note exactly at the play/seek position is not
            # missed (even if slew updates have moved the anchor since)
            self._seek_cursor(state.epoch_position)
            if state.playing and self.chase and self._port_ok:
                self._chase(state.epoch_position)

    def _chase(self, position: float) -> None:
        """Strike the notes that sound across ``position`` (project time); their note-offs are
        still ahead in the timeline (lock held)."""
        media = position - self._offset
        for event in self._events:
            if event.start >= media:
                break  # events are sorted by start
            if event.end > media:
                self._strike(event.channel, event.pitch, event.velocity)

    def _strike(self, channel: int, pitch: int, velocity: int) -> None:
        """Note-on, tracked so that its note-off (or an end-all) follows (lock held)."""
        self._active[(channel, pitch)] += 1
        self._sounding_possible = True
        self._send(note_on(channel, pitch, velocity))

    def _seek_cursor(self, position: float) -> None:
        """Next message: the first at or after ``position`` (lock held)."""
        self._cursor = bisect.bisect_left(self._times, position)
        self._processed_until = math.nextafter(position, -math.inf)

    def _run(self) -> None:
        with self._cond:
            while not self._closing:
                try:
                    timeout = self._step()
                except Exception:  # a bug must not leave notes on or stop the music for good
                    self._recover()
                    timeout = self.max_sleep_s
                if timeout > 0:
                    self._cond.wait(timeout)

    def _step(self) -> float:
        """Send what is due; return how long to wait before the next look (0: look again now)."""
        state = self._clock.snapshot()
        self._follow_epoch(state)
        wait = self._step_notes(state)
        if self.clock_out is not None:
            wait = min(wait, self.clock_out.step(state, self.monotonic()))
        return wait

    def _step_notes(self, state: TransportState) -> float:
        if not state.playing or not self._port_ok or not self._times:
            return self.max_sleep_s
        now = self.monotonic()
        if self._cursor is None:  # after new events or a panic: from the playhead on
            self._seek_cursor(state.position_at(now))
        if self._cursor >= len(self._times):
            return self.max_sleep_s
        due_time = self._times[self._cursor]
        if state.loop is not None and state.anchor_position < state.loop[1] <= due_time:
            return min(self.max_sleep_s, max(state.mono_at(state.loop[1]) - now, 0.0005))
        wait = state.mono_at(due_time) - now
        if wait > 0:
            return min(wait, self.max_sleep_s)
        self._send_due(state, now)
        return 0.0

    def _send_due(self, state: TransportState, now: float) -> None:
        position = state.position_at(now)
        # while looping, nothing at or after the loop end plays: the wrap comes first
        limit = position
        if state.loop is not None and state.anchor_position < state.loop[1] <= position:
            limit = math.nextafter(state.loop[1], -math.inf)
        assert self._cursor is not None
        self._processed_until = max(self._processed_until, limit)
        while self._cursor < len(self._times) and self._times[self._cursor] <= limit:
            message = self._messages[self._cursor]
            self._cursor += 1
            key = (message.channel, message.pitch)
            if message.is_on:
                self._strike(message.channel, message.pitch, message.velocity)
            elif self._active[key] > 0:  # its note-on was played (not skipped by a seek)
                self._active[key] -= 1
                self._send(note_off(message.channel, message.pitch))

    def _end_all_notes(self, force: bool = False) -> None:
        """Note-off for every sounding note, then All Notes Off on each used channel. Skipped when
        nothing can be sounding (so scrubbing a stopped transport does not spam the port)."""
        if not (self._sounding_possible or force):
            return
        channels = set(self._channels)
        for (channel, pitch), count in sorted(self._active.items()):
            for _ in range(count):
                self._send(note_off(channel, pitch))
            channels.add(channel)
        for channel in sorted(channels):
            self._send(all_notes_off(channel))
        self._active.clear()
        self._sounding_possible = False

    def _send(self, message: tuple[int, int, int]) -> None:
        if not self._port_ok:
            return
        try:
            self._sink.send(message)
            self.sent_count += 1
        except OSError as err:  # rtmidi errors are OSErrors; the watchdog reports the loss
            log.warning("MIDI send failed on %s: %s", self._sink.name, err)

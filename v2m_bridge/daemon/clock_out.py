"""MIDI clock out: 24 pulses per quarter note, Start/Stop/Continue and Song Position Pointer,
following the transport the scheduler follows (``serve --clock-out PORT``).

The scheduler thread drives it (:meth:`ClockOut.step` between notes, :meth:`ClockOut.follow` on
every transport change), so clock and notes come from one thread on one monotonic clock. Pulses
sit on the music's beats: pulse ``n`` is at beat ``n / 24`` of the :class:`BeatGrid` that
``grid()`` gives (the opened music's tempo map at its timeline offset, else a constant tempo from
project time 0), so a drum machine's bar starts where the chords' bar starts. A faster play rate
plays the pulses faster, as it plays the notes.

What a drum machine hears:

* play from the start: Start (``FA``), then pulses;
* play from elsewhere, or a seek while playing: (Stop,) Song Position Pointer (``F2``, in
  sixteenths) at the next sixteenth, Continue (``FB``), then pulses from that sixteenth;
* stop or pause: Stop (``FC``); a seek while stopped: Song Position Pointer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from v2m_bridge.daemon.midi_out import MidiSink
from v2m_bridge.daemon.transport import TransportState
from v2m_bridge.music.tempo_map import TempoMap

log = logging.getLogger(__name__)

PULSES_PER_BEAT = 24
PULSES_PER_SIXTEENTH = PULSES_PER_BEAT // 4
CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2
MAX_SONG_POSITION = (1 << 14) - 1  # sixteenths a Song Position Pointer can carry


def song_position(sixteenths: int) -> tuple[int, int, int]:
    """Song Position Pointer: 14 bits of sixteenths, low 7 bits first (clamped)."""
    value = max(0, min(sixteenths, MAX_SONG_POSITION))
    return (SONG_POSITION, value & 0x7F, value >> 7)


@dataclass(frozen=True)
class BeatGrid:
    """Beats on the project timeline: ``tempo_map`` (media time) with media 0 at ``offset``."""

    tempo_map: TempoMap
    offset: float = 0.0

    @classmethod
    def constant(cls, bpm: float, offset: float = 0.0) -> BeatGrid:
        return cls(TempoMap.constant(bpm), offset)

    def beat_at(self, position: float) -> float:
        return self.tempo_map.beat_at(position - self.offset)

    def position_at(self, beat: float) -> float:
        return self.tempo_map.time_at(beat) + self.offset


class ClockOut:
    """Sends MIDI clock for a transport; call from the scheduler thread (its lock held)."""

    def __init__(self, sink: MidiSink, grid: Callable[[], BeatGrid]) -> None:
        self.sink = sink
        self.grid = grid
        self._playing = False
        self._grid: BeatGrid | None = None
        self._next_pulse = 0  # index of the next pulse to send
        self.pulses_sent = 0

    def _pulse_at_or_after(self, grid: BeatGrid, position: float) -> int:
        return math.ceil(grid.beat_at(position) * PULSES_PER_BEAT - 1e-6)

    def follow(self, state: TransportState) -> None:
        """A transport change (a new epoch, or another clock followed): Start, Continue, Stop,
        Song Position as it asks."""
        grid = self._grid = self.grid()
        sixteenth = math.ceil(self._pulse_at_or_after(grid, state.epoch_position)
                              / PULSES_PER_SIXTEENTH)
        sixteenth = max(sixteenth, 0)
        self._next_pulse = sixteenth * PULSES_PER_SIXTEENTH
        if not state.playing:
            if self._playing:
                self._send((STOP,))
            self._playing = False
            self._send(song_position(sixteenth))
            return
        if self._playing:
            self._send((STOP,))
        self._playing = True
        if sixteenth == 0:
            self._send((START,))
        else:
            self._send(song_position(sixteenth))
            self._send((CONTINUE,))

    def step(self, state: TransportState, now: float) -> float:
        """Send the pulses that are due; return how long until the next one."""
        if not (self._playing and state.playing):
            return math.inf
        grid = self.grid()
        if grid != self._grid:  # new music or tempo: go on from the next pulse of the new grid
            self._grid = grid
            self._next_pulse = self._pulse_at_or_after(grid, state.position_at(now))
        while True:
            position = grid.position_at(self._next_pulse / PULSES_PER_BEAT)
            if state.loop is not None and state.anchor_position < state.loop[1] <= position:
                # the loop wraps first (a new epoch: Stop, then Start or Continue)
                return max(state.mono_at(state.loop[1]) - now, 0.0005)
            due = state.mono_at(position)
            if due > now:
                return due - now
            self._send((CLOCK,))
            self._next_pulse += 1
            self.pulses_sent += 1

    def _send(self, message: tuple[int, ...]) -> None:
        try:
            self.sink.send(message)
        except OSError as err:  # a port that went away: the notes go on
            log.debug("MIDI clock send failed: %s", err)

    def close(self) -> None:
        if self._playing:
            self._send((STOP,))
            self._playing = False
        self.sink.close()

"""Tempo maps: where the beats of the music fall in media seconds.

A :class:`TempoMap` is a list of constant-tempo segments. Beat 0 is media time 0; every segment
starts on a whole beat. Bar lines fall every ``beats_per_bar`` beats from 0, or, with a pickup
(an anacrusis of ``pickup`` beats, written as a short first bar of ``pickup``/4), at 0 and then
every ``beats_per_bar`` beats from ``pickup``: the bars a DAW draws from the MIDI file's tempo and
time-signature events. A single fixed tempo is a one-segment map, and every conversion in the
arranger, the MIDI writer and the cue sheet goes through the map.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from v2m_bridge.config import MAX_TEMPO_BPM, MIN_TEMPO_BPM
from v2m_bridge.errors import V2MError

GENTLE_RATIO = 1.10  # adjacent tempos of a "gentle" map differ by at most 10 %


def midi_exact_bpm(bpm: float) -> float:
    """``bpm`` rounded to a whole number of microseconds per beat (a MIDI set_tempo)."""
    return 60_000_000 / round(60_000_000 / bpm)


class TempoMapError(V2MError, ValueError):
    """A tempo map that cannot be played (unordered segments, tempo out of range...)."""


@dataclass(frozen=True)
class TempoSegment:
    """From ``start`` seconds (= ``beat`` beats) on, ``bpm`` beats per minute."""

    start: float
    beat: float
    bpm: float

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm


@dataclass(frozen=True)
class TempoMap:
    segments: tuple[TempoSegment, ...]
    beats_per_bar: int = 4
    pickup: int = 0  # beats of a short first bar (0: bar 1 is a full bar)
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False, default=())
    _beats: tuple[float, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(s.start for s in self.segments))
        object.__setattr__(self, "_beats", tuple(s.beat for s in self.segments))
        if not self.segments:
            raise TempoMapError("a tempo map needs at least one tempo")
        first = self.segments[0]
        if first.start != 0.0 or first.beat != 0.0:
            raise TempoMapError("a tempo map starts at 0 s, beat 0")
        for segment in self.segments:
            if not (math.isfinite(segment.bpm) and MIN_TEMPO_BPM <= segment.bpm <= MAX_TEMPO_BPM):
                raise TempoMapError(f"tempo {segment.bpm!r} is outside {MIN_TEMPO_BPM:g}.."
                                    f"{MAX_TEMPO_BPM:g} bpm")
        for before, after in zip(self.segments, self.segments[1:], strict=False):
            expected = before.beat + (after.start - before.start) / before.seconds_per_beat
            if after.start <= before.start or abs(after.beat - expected) > 1e-6:
                raise TempoMapError("tempo segments must be in time order and continuous")
        if not 1 <= self.beats_per_bar <= 16:
            raise TempoMapError(f"beats per bar must be 1..16, got {self.beats_per_bar}")
        if not 0 <= self.pickup < self.beats_per_bar:
            raise TempoMapError(f"a pickup has 0..{self.beats_per_bar - 1} beats, got "
                                f"{self.pickup}")

    # construction ---------------------------------------------------------------------------
    @classmethod
    def constant(cls, bpm: float, beats_per_bar: int = 4) -> TempoMap:
        return cls((TempoSegment(0.0, 0.0, float(bpm)),), beats_per_bar)

    @classmethod
    def from_beats(cls, changes: Sequence[tuple[float, float]], beats_per_bar: int = 4,
                   pickup: int = 0) -> TempoMap:
        """From ``(beat, bpm)`` pairs (the first at beat 0), as a MIDI tempo track has them."""
        segments: list[TempoSegment] = []
        for beat, bpm in changes:
            if segments:
                last = segments[-1]
                if bpm == last.bpm:
                    continue
                start = last.start + (beat - last.beat) * last.seconds_per_beat
            else:
                start = 0.0
            segments.append(TempoSegment(float(start), float(beat), float(bpm)))
        return cls(tuple(segments), beats_per_bar, pickup)

    def midi_exact(self) -> TempoMap:
        """The same beats with every tempo rounded to what a MIDI file can store (whole
        microseconds per beat), so a map written and read back is the same map."""
        changes = [(segment.beat, midi_exact_bpm(segment.bpm)) for segment in self.segments]
        exact = TempoMap.from_beats(changes, self.beats_per_bar, self.pickup)
        return self if exact == self else exact

    # queries --------------------------------------------------------------------------------
    @property
    def is_constant(self) -> bool:
        return len(self.segments) == 1

    @property
    def is_plain(self) -> bool:
        """One tempo and full bars from 0: what a plain ``--tempo N`` gives."""
        return self.is_constant and not self.pickup

    @property
    def tempos(self) -> list[float]:
        return [segment.bpm for segment in self.segments]

    def main_bpm(self, duration: float | None = None) -> float:
        """The tempo that covers the most time (the first one if there is a tie)."""
        if self.is_constant:
            return self.segments[0].bpm
        ends = [s.start for s in self.segments[1:]] + [
            max(duration or 0.0, self.segments[-1].start + 60.0)]
        lengths = [end - s.start for s, end in zip(self.segments, ends, strict=True)]
        return self.segments[int(np.argmax(lengths))].bpm

    def _segment_for_time(self, time_s: float) -> TempoSegment:
        return self.segments[max(bisect.bisect_right(self._starts, time_s + 1e-12) - 1, 0)]

    def _segment_for_beat(self, beat: float) -> TempoSegment:
        return self.segments[max(bisect.bisect_right(self._beats, beat + 1e-12) - 1, 0)]

    def beat_at(self, time_s: float) -> float:
        """Beats since 0 at media time ``time_s``."""
        segment = self._segment_for_time(time_s)
        return segment.beat + (time_s - segment.start) / segment.seconds_per_beat

    def time_at(self, beat: float) -> float:
        """Media seconds of beat position ``beat``."""
        segment = self._segment_for_beat(beat)
        return segment.start + (beat - segment.beat) * segment.seconds_per_beat

    def beats_at(self, times: np.ndarray) -> np.ndarray:
        """:meth:`beat_at` for an array of times."""
        times = np.asarray(times, dtype=np.float64)
        starts = np.array([s.start for s in self.segments])
        index = np.clip(np.searchsorted(starts, times + 1e-12, side="right") - 1, 0, None)
        beats = np.array([s.beat for s in self.segments])[index]
        spb = np.array([s.seconds_per_beat for s in self.segments])[index]
        return beats + (times - starts[index]) / spb

    def times_at(self, beats: np.ndarray) -> np.ndarray:
        """:meth:`time_at` for an array of beat positions."""
        beats = np.asarray(beats, dtype=np.float64)
        starts_b = np.array([s.beat for s in self.segments])
        index = np.clip(np.searchsorted(starts_b, beats + 1e-12, side="right") - 1, 0, None)
        starts = np.array([s.start for s in self.segments])[index]
        spb = np.array([s.seconds_per_beat for s in self.segments])[index]
        return starts + (beats - starts_b[index]) * spb

    def tempo_at(self, time_s: float) -> float:
        return self._segment_for_time(time_s).bpm

    def seconds_per_beat_at(self, time_s: float) -> float:
        return self._segment_for_time(time_s).seconds_per_beat

    def bar_beat(self, beat: float) -> tuple[int, float]:
        """(bar, beat in bar), both 1-based, as a DAW shows them: beat position 0 is bar 1,
        beat 1; with a pickup, bar 1 is the short first bar and bar 2 starts at ``pickup``."""
        if self.pickup and beat < self.pickup - 1e-9:
            return 1, beat + 1
        bar, within = divmod(beat - self.pickup, self.beats_per_bar)
        return int(bar) + 1 + (1 if self.pickup else 0), within + 1

    def is_downbeat(self, beat: float) -> bool:
        """Whether beat position ``beat`` starts a bar."""
        return abs(beat) < 1e-9 or abs((beat - self.pickup) / self.beats_per_bar
                                       - round((beat - self.pickup) / self.beats_per_bar)) < 1e-9

    def bar_line_beats(self, last_beat: float) -> list[float]:
        """Beat positions of every bar line from 0 up to (not including) ``last_beat``."""
        lines = [0.0] if self.pickup else []
        beat = float(self.pickup)
        while beat < last_beat - 1e-9:
            lines.append(beat)
            beat += self.beats_per_bar
        return lines

    def bar_start_beat(self, bar: int) -> float:
        """Beat position where 1-based ``bar`` starts (see :meth:`bar_beat`)."""
        if self.pickup:
            return 0.0 if bar <= 1 else float(self.pickup + (bar - 2) * self.beats_per_bar)
        return float((bar - 1) * self.beats_per_bar)

    def bar_beat_label(self, beat: float) -> str:
        """"9.1" for a downbeat; "9.2.50" for half-way through beat 2 (hundredths)."""
        bar, within = self.bar_beat(round(beat * 100) / 100)
        whole = math.floor(within + 1e-9)
        fraction = within - whole
        label = f"{bar}.{whole}"
        return label if fraction < 0.005 else f"{label}.{round(fraction * 100):02d}"

    def beat_times(self, duration: float, step: float = 1.0) -> np.ndarray:
        """Times of every ``step``-th beat from 0 up to (not including) ``duration``."""
        last = self.beat_at(duration)
        positions = np.arange(0.0, last - 1e-9, step)
        return self.times_at(positions)

    def max_adjacent_change(self) -> float:
        """Largest ratio between adjacent tempos, minus 1 (0.1 = 10 %)."""
        ratios = [max(a.bpm, b.bpm) / min(a.bpm, b.bpm) - 1.0
                  for a, b in zip(self.segments, self.segments[1:], strict=False)]
        return max(ratios, default=0.0)

    @property
    def lead_in_beats(self) -> float:
        """Beats of a lead-in: a short first tempo (up to five bars) before one steady tempo."""
        if len(self.segments) == 2 and self.segments[1].beat <= 5 * self.beats_per_bar:
            return self.segments[1].beat
        return 0.0

    def describe(self) -> str:
        text = self._describe_tempos()
        return f"{text}, {self.pickup}-beat pickup bar" if self.pickup else text

    def _describe_tempos(self) -> str:
        if self.is_constant:
            return f"{self.segments[0].bpm:.2f} bpm"
        if self.lead_in_beats:
            first, main = self.segments
            beats = self.lead_in_beats
            return (f"{main.bpm:.2f} bpm after {beats:g} beat{'' if beats == 1 else 's'} at "
                    f"{first.bpm:.2f} bpm")
        tempos = self.tempos
        return (f"tempo map: {len(tempos)} tempos {min(tempos):.2f}-{max(tempos):.2f} bpm, "
                f"adjacent changes <= {100 * self.max_adjacent_change():.1f} %")

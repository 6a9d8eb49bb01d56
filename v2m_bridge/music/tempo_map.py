"""Tempo maps: where the beats of the music fall in media seconds. **The one owner of musical
time**: every conversion between media seconds and beats, bars, MIDI ticks or score offsets
goes through a :class:`TempoMap` (``tests/test_architecture.py`` fails when a module outside
this one and :mod:`v2m_bridge.music.tempo_fit` does the arithmetic on its own).

A :class:`TempoMap` is a list of constant-tempo segments (the tempi), a metre
(``beats_per_bar`` beats of ``beat_unit`` notes: 3/4, 4/4, 6/8...), a pickup and, as its first
short segment, an optional lead-in. Beat 0 is media time 0; every segment starts on a whole
beat. A beat is one ``beat_unit`` note (an eighth in 6/8), and the tempo counts those beats per
minute; MIDI and MusicXML count quarter notes, so the map converts (:meth:`quarters_at`,
:meth:`tick_at`). Bar lines fall every ``beats_per_bar`` beats from 0, or, with a pickup (an
anacrusis of ``pickup`` beats, written as a short first bar of ``pickup``/``beat_unit``), at 0
and then every ``beats_per_bar`` beats from ``pickup``: the bars a DAW draws from the MIDI file's
tempo and time-signature events. A single fixed tempo is a one-segment map.
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


BEAT_UNITS = (2, 4, 8, 16)  # time-signature denominators a map may have


def midi_exact_bpm(bpm: float, quarters_per_beat: float = 1.0) -> float:
    """``bpm`` (beats of ``quarters_per_beat`` quarter notes) rounded to a whole number of
    microseconds per quarter note (a MIDI set_tempo)."""
    per_quarter = round(60_000_000 / (bpm * quarters_per_beat))
    return 60_000_000 / (per_quarter * quarters_per_beat)


def bpm_of_midi_tempo(microseconds_per_quarter: float) -> float:
    """Quarter notes per minute of a MIDI set_tempo value."""
    return 60_000_000 / microseconds_per_quarter


def seconds_per_midi_tick(microseconds_per_quarter: float, ticks_per_quarter: int) -> float:
    """Seconds one tick lasts under a MIDI set_tempo value (reading any MIDI file)."""
    return microseconds_per_quarter / 1_000_000 / ticks_per_quarter


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
    beat_unit: int = 4  # the metre's denominator: a beat is a quarter (4) or an eighth (8)...
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
        if self.beat_unit not in BEAT_UNITS:
            raise TempoMapError(f"the metre's beat unit must be one of {BEAT_UNITS}, got "
                                f"{self.beat_unit!r}")
        if not 0 <= self.pickup < self.beats_per_bar:
            raise TempoMapError(f"a pickup has 0..{self.beats_per_bar - 1} beats, got "
                                f"{self.pickup}")

    # construction ---------------------------------------------------------------------------
    @classmethod
    def constant(cls, bpm: float, beats_per_bar: int = 4, pickup: int = 0,
                 beat_unit: int = 4) -> TempoMap:
        return cls((TempoSegment(0.0, 0.0, float(bpm)),), beats_per_bar, pickup, beat_unit)

    @classmethod
    def from_beats(cls, changes: Sequence[tuple[float, float]], beats_per_bar: int = 4,
                   pickup: int = 0, beat_unit: int = 4) -> TempoMap:
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
        return cls(tuple(segments), beats_per_bar, pickup, beat_unit)

    def midi_exact(self) -> TempoMap:
        """The same beats with every tempo rounded to what a MIDI file can store (whole
        microseconds per quarter note), so a map written and read back is the same map."""
        changes = [(segment.beat, midi_exact_bpm(segment.bpm, self.quarters_per_beat))
                   for segment in self.segments]
        exact = TempoMap.from_beats(changes, self.beats_per_bar, self.pickup, self.beat_unit)
        return self if exact == self else exact

    def with_bars(self, beats_per_bar: int, pickup: int, beat_unit: int | None = None,
                  ) -> TempoMap:
        """The same tempi (beats at the same seconds) with another bar structure: how a re-roll
        at a new tempo keeps the kept file's metre and pickup."""
        return TempoMap(self.segments, beats_per_bar, pickup,
                        self.beat_unit if beat_unit is None else beat_unit)

    # MIDI files: ticks count quarter notes ---------------------------------------------------
    @property
    def quarters_per_beat(self) -> float:
        """Quarter notes per beat: 1 in x/4, 0.5 in x/8."""
        return 4.0 / self.beat_unit

    def quarters_at(self, time_s: float) -> float:
        """Quarter notes since 0 at media time ``time_s`` (a MusicXML offset)."""
        return self.beat_at(time_s) * self.quarters_per_beat

    def tick_at(self, time_s: float, ticks_per_quarter: int) -> int:
        """The MIDI tick of media time ``time_s``."""
        return round(self.beat_at(time_s) * self.quarters_per_beat * ticks_per_quarter)

    def beat_of_tick(self, tick: float, ticks_per_quarter: int) -> float:
        """The beat position of a MIDI tick."""
        return tick / ticks_per_quarter / self.quarters_per_beat

    def time_of_tick(self, tick: float, ticks_per_quarter: int) -> float:
        """Media seconds of a MIDI tick."""
        return self.time_at(self.beat_of_tick(tick, ticks_per_quarter))

    def midi_tempo_events(self, ticks_per_quarter: int) -> list[tuple[int, int]]:
        """``(tick, microseconds per quarter note)`` of every tempo, as MIDI set_tempo events."""
        return [(round(segment.beat * self.quarters_per_beat * ticks_per_quarter),
                 round(60_000_000 / (segment.bpm * self.quarters_per_beat)))
                for segment in self.segments]

    def midi_time_signatures(self, ticks_per_quarter: int) -> list[tuple[int, int, int]]:
        """``(tick, numerator, denominator)``: the pickup bar's signature at 0 (if any), then
        the metre where the pickup ends."""
        start = round(self.pickup * self.quarters_per_beat * ticks_per_quarter)
        pickup = [(0, self.pickup, self.beat_unit)] if self.pickup else []
        return [*pickup, (start, self.beats_per_bar, self.beat_unit)]

    @property
    def metre_text(self) -> str:
        """``"4/4, 3-beat pickup"``: written into every MIDI file, so a file shorter than its
        pickup bar (whose main time signature cannot be written) still reads back right."""
        text = f"{self.beats_per_bar}/{self.beat_unit}"
        return f"{text}, {self.pickup}-beat pickup" if self.pickup else text

    @classmethod
    def from_midi(cls, tempo_events: Sequence[tuple[int, int]],
                  signatures: Sequence[tuple[int, int, int]], ticks_per_quarter: int,
                  metre_text: str | None = None) -> TempoMap:
        """The map of a MIDI file from its set_tempo ``(tick, microseconds per quarter)`` and
        time_signature ``(tick, numerator, denominator)`` events; ``metre_text`` (a
        v2m-bridge file's :attr:`metre_text`) wins when the signatures end inside the pickup."""
        signatures = sorted(signatures)
        beats_per_bar, beat_unit = (signatures[0][1], signatures[0][2]) if signatures else (4, 4)
        pickup = 0
        if len(signatures) >= 2 and signatures[0][0] == 0 and signatures[0][1] < \
                signatures[1][1] and signatures[1][2] == signatures[0][2] and \
                signatures[1][0] == round(signatures[0][1] * 4 / signatures[0][2]
                                          * ticks_per_quarter):
            pickup, beats_per_bar = signatures[0][1], signatures[1][1]  # a pickup bar
        parsed = _parse_metre_text(metre_text) if metre_text else None
        if parsed is not None and len(signatures) <= 1:
            beats_per_bar, beat_unit, pickup = parsed
        quarters = 4.0 / beat_unit
        changes = [(tick / ticks_per_quarter / quarters, 60_000_000 / (tempo * quarters))
                   for tick, tempo in sorted(tempo_events)] or [(0.0, 120.0)]
        if changes[0][0] > 0:
            changes.insert(0, (0.0, 120.0))  # MIDI's default tempo until the first set_tempo
        return cls.from_beats(changes, beats_per_bar, pickup, beat_unit)

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
        """The tempo that covers the most of ``[0, duration)`` (the first one on a tie). Without
        a duration the last tempo is open-ended, so it wins (a lead-in's main tempo)."""
        if self.is_constant:
            return self.segments[0].bpm
        end = math.inf if duration is None else float(duration)
        ends = [s.start for s in self.segments[1:]] + [end]
        lengths = [max(0.0, min(stop, end) - s.start)
                   for s, stop in zip(self.segments, ends, strict=True)]
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

    def seconds_per_bar_at(self, time_s: float = 0.0) -> float:
        """How long a full bar lasts at the tempo of ``time_s``."""
        return self.beats_per_bar * self.seconds_per_beat_at(time_s)

    def bar_beat(self, beat: float) -> tuple[int, float]:
        """(bar, beat in bar), both 1-based, as a DAW shows them: beat position 0 is bar 1,
        beat 1; with a pickup, bar 1 is the short first bar and bar 2 starts at ``pickup``.
        Positions are taken to a millionth of a beat (times are kept to the microsecond), so a
        bar line is never read as the end of the bar before it."""
        beat = round(beat, 6)
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

    def bar_times(self, duration: float) -> list[float]:
        """Media seconds of every bar line inside ``[0, duration)``, 0 included."""
        lines = self.bar_line_beats(self.beat_at(duration))
        return [float(t) for t in self.times_at(np.asarray(lines, dtype=np.float64))]

    def snap_time(self, time_s: float, step_beats: float, origin_s: float = 0.0) -> float:
        """``time_s`` moved to the nearest multiple of ``step_beats`` beats counted from
        ``origin_s`` (a hit point on the sixteenth grid)."""
        origin = self.beat_at(origin_s)
        steps = round((self.beat_at(time_s) - origin) / step_beats)
        return self.time_at(origin + steps * step_beats)

    def position_label(self, time_s: float) -> str:
        """``"13.1"`` or ``"13.2.50"``: the bar.beat of media time ``time_s``."""
        return self.bar_beat_label(self.beat_at(time_s))

    def whole_bar_period(self, max_seconds: int) -> int | None:
        """The fewest whole seconds (below ``max_seconds``) that hold a whole number of bars of
        a constant map (2 at 120 bpm in 4/4, 12 at 100 bpm); None if there is none."""
        if not self.is_constant:
            return None
        bar = self.beats_per_bar * self.segments[0].seconds_per_beat
        for seconds in range(1, max_seconds):
            bars = seconds / bar
            if abs(bars - round(bars)) < 1e-6:
                return seconds
        return None

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
        if self.beats_per_bar != 4 or self.beat_unit != 4:
            text = f"{text} in {self.beats_per_bar}/{self.beat_unit}"
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


def _parse_metre_text(text: str) -> tuple[int, int, int] | None:
    """``"4/4, 3-beat pickup"`` -> (4, 4, 3); None if it does not read as one."""
    head, _, rest = text.partition(",")
    numerator, slash, denominator = head.strip().partition("/")
    try:
        pickup = int(rest.strip().split("-")[0]) if rest.strip() else 0
        values = (int(numerator), int(denominator), pickup)
    except ValueError:
        return None
    return values if slash and 1 <= values[0] <= 16 and values[1] in BEAT_UNITS \
        and 0 <= values[2] < values[0] else None

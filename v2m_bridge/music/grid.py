"""The musical grid: tempo (map), chord spans on the harmonic rhythm, hit points and accents.

The model gives one chord per second; the grid says *when* chords change, the model says *which*:

* **Harmonic rhythm in bars.** Chords change on a musical grid: every beat, half bar, bar
  (default) or two bars, counted on the tempo map from bar 1 at 0 s. Each grid span takes the
  model chord that sounds longest inside it (the earliest on a tie).
* **Hit points.** Each detected cut is snapped to the nearest sixteenth of the tempo map (with a
  tempo fitted by :mod:`v2m_bridge.music.tempo_fit`, that is usually the beat itself) and
  becomes a chord change, or a re-strike of the chord when it does not change. Grid lines closer
  than ``min_chord_beats`` to a hit point give way to it. Chords change nowhere else.
* **Phrases.** Every ``phrase_bars`` bars (4 by default) from bar 1, a phrase starts; the
  arranger re-strikes and accents the pad there, so 4-bar phrases are heard where no cut breaks
  them.
* **Motion accents.** Seconds whose motion is a clear local peak become accents on the nearest
  beat (the arranger raises velocities and re-strikes the pad there).

``cut_align=False`` gives the official behaviour: one chord per second, changes on whole
seconds, no hit points, phrases or accents.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2m_bridge.config import (
    DEFAULT_HARMONIC_RHYTHM,
    DEFAULT_TEMPO_BPM,
    MAX_TEMPO_BPM,
    MIN_TEMPO_BPM,
)
from v2m_bridge.errors import V2MError
from v2m_bridge.music.harmonic_plan import ChangePoint, HarmonicRhythm, plan_changes
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.vocab import Chord

# --harmonic-rhythm names -> bars between chord changes
HARMONIC_RHYTHMS: dict[str, float] = {"beat": 0.0, "half": 0.5, "bar": 1.0, "2bars": 2.0}


class GridError(V2MError, ValueError):
    """Impossible grid settings (tempo, duration, empty chord list)."""


@dataclass(frozen=True)
class GridOptions:
    """Settings of the musical grid; the defaults are the CLI defaults."""

    tempo_bpm: float = DEFAULT_TEMPO_BPM
    beats_per_bar: int = 4
    cut_align: bool = True
    cut_snap_beats: float = 0.25  # cuts snap to the nearest sixteenth note
    min_chord_beats: float = 1.0  # grid lines this close to a hit point give way to it
    accent_min_motion: float = 6.0  # a motion peak must reach this (0..255 scale) ...
    accent_z: float = 1.5  # ... and stand this many standard deviations above the mean
    harmonic_rhythm: str = DEFAULT_HARMONIC_RHYTHM  # beat, half, bar or 2bars
    tempo_map: TempoMap | None = None  # None: tempo_bpm throughout
    phrase_bars: int = 4

    def __post_init__(self) -> None:
        if self.harmonic_rhythm not in HARMONIC_RHYTHMS:
            raise GridError(f"--harmonic-rhythm must be one of {', '.join(HARMONIC_RHYTHMS)}, "
                            f"got {self.harmonic_rhythm!r}")
        if self.tempo_map is not None and self.tempo_map.beats_per_bar != self.beats_per_bar:
            raise GridError("the tempo map's metre differs from the grid's")
        if not (isinstance(self.tempo_bpm, (int, float)) and math.isfinite(self.tempo_bpm)
                and MIN_TEMPO_BPM <= self.tempo_bpm <= MAX_TEMPO_BPM):
            # the one tempo check of a render; named after the CLI option that sets it
            raise GridError(f"--tempo must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} "
                            f"bpm, got {self.tempo_bpm!r}")
        if not 1 <= self.beats_per_bar <= 16:
            raise GridError(f"beats per bar must be 1..16, got {self.beats_per_bar}")

    @property
    def tempo(self) -> TempoMap:
        """The tempo map (a constant one for a fixed tempo): ask it for every beat and bar."""
        return self.tempo_map or TempoMap.constant(self.tempo_bpm, self.beats_per_bar)

    @property
    def rhythm_beats(self) -> float:
        """Beats between chord changes of the harmonic rhythm."""
        bars = HARMONIC_RHYTHMS[self.harmonic_rhythm]
        return float(self.beats_per_bar) * bars if bars else 1.0


@dataclass(frozen=True)
class ChordSpan:
    """A chord sounding from ``start`` to ``end`` (media seconds)."""

    start: float
    end: float
    chord: Chord
    at_cut: bool = False  # this span starts on a detected cut


@dataclass(frozen=True)
class HarmonicGrid:
    tempo_bpm: float
    beats_per_bar: int
    duration: float
    spans: tuple[ChordSpan, ...]
    cut_times: tuple[float, ...]  # hit points: cuts as snapped onto the grid (empty when off)
    accents: tuple[float, ...]  # motion accents, on beats
    tempo_map: TempoMap | None = None  # None: tempo_bpm throughout
    harmonic_rhythm: str = DEFAULT_HARMONIC_RHYTHM
    phrase_starts: tuple[float, ...] = ()  # times where a phrase starts (pad accents)

    @property
    def tempo(self) -> TempoMap:
        """The tempo map of the grid (a constant one for a fixed tempo)."""
        return self.tempo_map or TempoMap.constant(self.tempo_bpm, self.beats_per_bar)

    def bar_times(self) -> list[float]:
        """Times of every bar line inside the duration, 0 included."""
        return self.tempo.bar_times(self.duration)

    def span_index(self, time_s: float) -> int:
        """Index of the span sounding at ``time_s`` (clamped to the first and last span)."""
        starts = [span.start for span in self.spans]
        return max(bisect.bisect_right(starts, time_s + 1e-9) - 1, 0)

    @property
    def change_times(self) -> list[float]:
        """Start times of spans whose chord differs from the one before (the chord changes)."""
        return [span.start for i, span in enumerate(self.spans)
                if i == 0 or span.chord != self.spans[i - 1].chord]


@dataclass
class _Change:
    time: float
    chord: Chord
    at_cut: bool = False


def _validate(chords: Sequence[Chord], duration: float) -> None:
    if not chords:
        raise GridError("no chords to arrange: the chord list is empty")
    if not (isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0):
        raise GridError(f"duration must be a positive number of seconds, got {duration!r}")


def _chord_at_second(chords: Sequence[Chord], time_s: float) -> Chord:
    return chords[min(int(time_s + 1e-9), len(chords) - 1)]


def _per_second_changes(chords: Sequence[Chord], duration: float) -> list[_Change]:
    changes: list[_Change] = []
    for second in range(math.ceil(duration)):
        chord = _chord_at_second(chords, second)
        if not changes or chord != changes[-1].chord:
            changes.append(_Change(float(second), chord))
    return changes


def _longest_chord(chords: Sequence[Chord], start: float, end: float) -> Chord:
    """The model chord sounding longest in ``[start, end)`` seconds (the earliest on a tie)."""
    totals: dict[Chord, float] = {}
    second = math.floor(start + 1e-9)
    while second < end - 1e-9:
        overlap = min(end, second + 1) - max(start, second)
        chord = _chord_at_second(chords, float(second))
        totals[chord] = totals.get(chord, 0.0) + overlap
        second += 1
    if not totals:
        return _chord_at_second(chords, start)
    best = max(totals.values())
    return next(chord for chord, total in totals.items() if total >= best - 1e-9)


def _snap(time_s: float, step: float) -> float:
    return round(time_s / step) * step


def _change_lines(duration: float, cuts_beats: Sequence[float], tempo: TempoMap,
                  options: GridOptions) -> dict[float, bool]:
    """Beat -> at a hit point: the lines of the harmonic rhythm and the hit points, where grid
    lines too close to a hit point give way to it."""
    total = tempo.beat_at(duration)
    lines = {round(beat, 6): False for beat in rhythm_lines(tempo, total,
                                                            options.harmonic_rhythm)}
    for hit in cuts_beats:
        for line in [line for line, at_cut in lines.items() if not at_cut and line > 0
                     and abs(line - hit) < options.min_chord_beats - 1e-9]:
            del lines[line]
        lines[round(hit, 6)] = True
    return dict(sorted(lines.items()))


def _grid_changes(chords: Sequence[Chord], duration: float, cuts_beats: Sequence[float],
                  tempo: TempoMap, options: GridOptions) -> list[_Change]:
    """Chord changes on the harmonic rhythm and at the hit points (all in beats, then timed),
    each span taking the model chord that sounds longest in it."""
    lines = _change_lines(duration, cuts_beats, tempo, options)
    beats = list(lines)
    ends = [*beats[1:], tempo.beat_at(duration)]
    changes = []
    for beat, end in zip(beats, ends, strict=True):
        start_s, end_s = tempo.time_at(beat), min(tempo.time_at(end), duration)
        changes.append(_Change(start_s, _longest_chord(chords, start_s, end_s), lines[beat]))
    _changes_onto_hits(changes)
    return changes


def _planned_changes(chords: Sequence[Chord], duration: float, cuts_beats: Sequence[float],
                     tempo: TempoMap, change_times: Sequence[float]) -> list[_Change]:
    """The sampler's plan as spans: each planned time starts the chord the model chose for its
    second; hit points that are not planned changes re-strike the sounding chord."""
    hits = {round(tempo.time_at(beat), 6) for beat in cuts_beats}
    starts = sorted({round(float(t), 6) for t in change_times if 0 <= t < duration} | {0.0})
    changes = [_Change(t, _chord_at_second(chords, t), t in hits) for t in starts]
    for hit in sorted(hits - set(starts)):
        index = bisect.bisect_right(starts, hit) - 1
        changes.append(_Change(hit, changes[index].chord, True))
    return sorted(changes, key=lambda change: change.time)


def _snapped_cut_beats(tempo: TempoMap, duration: float, cut_times: Sequence[float],
                       snap: float) -> list[float]:
    total = tempo.beat_at(duration)
    beats = sorted({_snap(tempo.beat_at(float(cut)), snap) for cut in cut_times
                    if math.isfinite(cut)} - {0.0})
    return [beat for beat in beats if 0.0 < beat < total - 1e-9]


def change_points(duration: float, cut_times: Sequence[float],
                  options: GridOptions) -> list[ChangePoint]:
    """Where the grid lets a chord change, in media seconds: the harmonic rhythm's lines and
    the hit points (what :func:`build_grid` uses), for the sampler's change plan."""
    tempo = options.tempo
    cuts_beats = _snapped_cut_beats(tempo, duration, cut_times, options.cut_snap_beats)
    return [ChangePoint(round(tempo.time_at(beat), 6), beat, tempo.is_downbeat(beat), at_cut)
            for beat, at_cut in _change_lines(duration, cuts_beats, tempo, options).items()]


def plan_chord_changes(duration: float, cut_times: Sequence[float], scene_offset: np.ndarray,
                       motion: np.ndarray, options: GridOptions | None = None,
                       rhythm: HarmonicRhythm | None = None,
                       seed: int | None = None) -> tuple[float, ...]:
    """When chords change (media seconds), decided on the grid: :func:`change_points` thinned
    by the picture (:func:`~v2m_bridge.music.harmonic_plan.plan_changes`). The sampler picks
    which chord starts at each; :func:`build_grid` given the same times starts them there."""
    options = options or GridOptions()
    points = change_points(duration, cut_times, options)
    return plan_changes(points, scene_offset, motion, rhythm or HarmonicRhythm(), seed)


def rhythm_lines(tempo: TempoMap, total_beats: float, harmonic_rhythm: str) -> list[float]:
    """Beat positions where the harmonic rhythm lets chords change: every beat, half bar, bar or
    second bar, counted from the bar lines (a pickup bar is a line of its own)."""
    bars = HARMONIC_RHYTHMS[harmonic_rhythm]
    bar_lines = tempo.bar_line_beats(total_beats)
    if bars >= 2:  # every other full bar, and the pickup bar
        full = [b for b in bar_lines if b >= tempo.pickup]
        return sorted({0.0, *full[::int(bars)]})
    step = tempo.beats_per_bar * bars if bars else 1.0
    lines: set[float] = set()
    ends = [*bar_lines[1:], total_beats]
    for start, end in zip(bar_lines, ends, strict=True):
        position = start
        while position < end - 1e-9:
            lines.add(round(position, 6))
            position += step
    return sorted(lines)


def _changes_onto_hits(changes: list[_Change]) -> None:
    """Where a hit point would only re-strike the chord, move the nearest chord change of the
    grid line just before or just after it onto the hit (the earlier one on a tie)."""
    for k, change in enumerate(changes):
        if not change.at_cut or k == 0 or changes[k - 1].chord != change.chord:
            continue
        before = changes[k - 1]  # the grid line before: delay its change to the hit
        delay = (k >= 2 and not before.at_cut and changes[k - 2].chord != before.chord)
        after = changes[k + 1] if k + 1 < len(changes) else None  # anticipate the next one
        anticipate = after is not None and not after.at_cut and after.chord != change.chord
        if delay and (not anticipate or change.time - before.time
                      <= after.time - change.time + 1e-9):
            before.chord = changes[k - 2].chord
        elif anticipate:
            change.chord = after.chord


def _merge_repeats(changes: list[_Change]) -> list[_Change]:
    merged: list[_Change] = []
    for change in changes:
        if merged and change.chord == merged[-1].chord and not change.at_cut:
            continue
        merged.append(change)
    return merged


def motion_accents(motion: np.ndarray, tempo: TempoMap, duration: float,
                   options: GridOptions, avoid: Sequence[float] = ()) -> list[float]:
    """Beats at clear local peaks of the per-second motion, away from ``avoid`` (cut) times."""
    values = np.asarray(motion, dtype=np.float64)
    if values.size < 3:
        return []
    threshold = max(options.accent_min_motion, values.mean() + options.accent_z * values.std())
    accents: list[float] = []
    for second in range(1, values.size):
        left = values[second - 1]
        right = values[second + 1] if second + 1 < values.size else -np.inf
        if values[second] < threshold or values[second] < left or values[second] <= right:
            continue
        time_s = round(tempo.time_at(round(tempo.beat_at(float(second)))), 6)
        if time_s >= duration or any(abs(time_s - cut) < 1.0 for cut in avoid):
            continue
        if not accents or tempo.beat_at(time_s) - tempo.beat_at(accents[-1]) >= 1 - 1e-6:
            accents.append(time_s)
    return accents


def build_grid(chords: Sequence[Chord], duration: float, cut_times: Sequence[float] = (),
               motion: np.ndarray | None = None, options: GridOptions | None = None,
               change_times: Sequence[float] | None = None) -> HarmonicGrid:
    """Chord spans on the harmonic rhythm and the hit points, unless ``options.cut_align`` is
    off (then one chord per second, the official behaviour).

    With ``change_times`` (the musical sampler's plan, chosen among :func:`change_points`),
    chords change exactly there, each to the chord chosen for its second; otherwise each grid
    span takes the model chord sounding longest in it.

    Args:
        chords: one chord per second (the model's output, already in the target key).
        duration: media length in seconds; spans cover exactly ``[0, duration)``.
        cut_times: detected cut times in seconds.
        motion: (T,) per-second motion for accents; ``None`` gives no accents.
    """
    options = options or GridOptions()
    _validate(chords, duration)
    tempo = options.tempo
    phrases: list[float] = []
    if not options.cut_align:
        changes = _per_second_changes(chords, duration)
        cuts: list[float] = []
        accents: list[float] = []
    else:
        total = tempo.beat_at(duration)
        cuts_beats = _snapped_cut_beats(tempo, duration, cut_times, options.cut_snap_beats)
        if change_times is not None:
            changes = _planned_changes(chords, duration, cuts_beats, tempo, change_times)
        else:
            changes = _grid_changes(chords, duration, cuts_beats, tempo, options)
        changes = _merge_repeats(changes)
        cuts = [round(tempo.time_at(beat), 6) for beat in cuts_beats]
        accents = motion_accents(motion, tempo, duration, options, cuts) \
            if motion is not None else []
        bar_lines = tempo.bar_line_beats(total)
        full = [beat for beat in bar_lines if beat >= tempo.pickup]
        phrases = [round(tempo.time_at(beat), 6)
                   for beat in full[options.phrase_bars::options.phrase_bars]]
    ends = [change.time for change in changes[1:]] + [float(duration)]
    spans = tuple(ChordSpan(round(change.time, 6), round(end, 6), change.chord, change.at_cut)
                  for change, end in zip(changes, ends, strict=True) if end > change.time)
    return HarmonicGrid(tempo_bpm=float(options.tempo_bpm), beats_per_bar=options.beats_per_bar,
                        duration=float(duration), spans=spans, cut_times=tuple(cuts),
                        accents=tuple(accents), tempo_map=options.tempo_map,
                        harmonic_rhythm=options.harmonic_rhythm, phrase_starts=tuple(phrases))

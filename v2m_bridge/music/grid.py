"""The musical grid: tempo, chord spans on beats, cut-aligned harmony and motion accents.

The model gives one chord per second. :func:`build_grid` turns that into chord spans a composer
can work with:

* **Chord changes on beats.** Each beat takes the chord of the second it falls in, so at the
  default 120 bpm every change lands on a beat exactly where the official renderer put it.
* **Cut-aligned harmony.** Each detected cut is snapped to the nearest sixteenth note; the
  nearest chord change within ``cut_window_s`` moves onto it. When no change is near, the chord
  is re-struck on the cut instead. Either way the harmony articulates the edit.
* **Motion accents.** Seconds whose motion is a clear local peak become accents (the arranger
  raises velocities and re-strikes the pad there).

``cut_align=False`` gives the official behaviour: one chord per second, changes on whole
seconds, no cut moves and no accents.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2m_bridge.config import DEFAULT_TEMPO_BPM, MAX_TEMPO_BPM, MIN_TEMPO_BPM
from v2m_bridge.errors import V2MError
from v2m_bridge.vocab import Chord


class GridError(V2MError, ValueError):
    """Impossible grid settings (tempo, duration, empty chord list)."""


@dataclass(frozen=True)
class GridOptions:
    """Settings of the musical grid; the defaults are the CLI defaults."""

    tempo_bpm: float = DEFAULT_TEMPO_BPM
    beats_per_bar: int = 4
    cut_align: bool = True
    cut_snap_beats: float = 0.25  # cuts snap to the nearest sixteenth note
    cut_window_s: float = 2.0  # how far a chord change may move to land on a cut
    min_chord_beats: float = 1.0  # shorter spans (other than at cuts) are merged away
    accent_min_motion: float = 6.0  # a motion peak must reach this (0..255 scale) ...
    accent_z: float = 1.5  # ... and stand this many standard deviations above the mean

    def __post_init__(self) -> None:
        if not (isinstance(self.tempo_bpm, (int, float)) and math.isfinite(self.tempo_bpm)
                and MIN_TEMPO_BPM <= self.tempo_bpm <= MAX_TEMPO_BPM):
            # the one tempo check of a render; named after the CLI option that sets it
            raise GridError(f"--tempo must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} "
                            f"bpm, got {self.tempo_bpm!r}")
        if not 1 <= self.beats_per_bar <= 16:
            raise GridError(f"beats per bar must be 1..16, got {self.beats_per_bar}")

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo_bpm


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
    cut_times: tuple[float, ...]  # cuts as snapped onto the grid (empty when not aligned)
    accents: tuple[float, ...]  # motion accents, on beats

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo_bpm

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


def _per_beat_changes(chords: Sequence[Chord], duration: float, beat: float) -> list[_Change]:
    changes: list[_Change] = []
    for index in range(math.ceil(duration / beat)):
        time_s = index * beat
        chord = _chord_at_second(chords, time_s)
        if not changes or chord != changes[-1].chord:
            changes.append(_Change(time_s, chord))
    return changes


def _snap(time_s: float, step: float) -> float:
    return round(time_s / step) * step


def _align_to_cut(changes: list[_Change], cut: float, window: float) -> None:
    """Move the nearest unlocked chord change onto ``cut``, or re-strike the chord there."""
    movable = [change for change in changes[1:] if not change.at_cut]
    nearest = min(movable, key=lambda change: (abs(change.time - cut), change.time), default=None)
    if nearest is not None and abs(nearest.time - cut) <= window + 1e-9 and not any(
            change.at_cut and min(nearest.time, cut) < change.time < max(nearest.time, cut)
            for change in changes):  # never move a change across one already on a cut
        nearest.time = cut
        nearest.at_cut = True
        changes.sort(key=lambda change: change.time)
        return
    current = max((change for change in changes if change.time <= cut),
                  key=lambda change: change.time)
    if current.time == cut:
        current.at_cut = True
        return
    changes.append(_Change(cut, current.chord, at_cut=True))
    changes.sort(key=lambda change: change.time)


def _drop_short_spans(changes: list[_Change], duration: float, min_length: float) -> None:
    """Merge away spans shorter than ``min_length``, never losing a change that sits on a cut."""
    index = 0
    while index < len(changes):
        end = changes[index + 1].time if index + 1 < len(changes) else duration
        if end - changes[index].time >= min_length - 1e-9 or len(changes) == 1:
            index += 1
            continue
        if not changes[index].at_cut and index > 0:
            del changes[index]  # the previous chord lasts longer
        elif index + 1 < len(changes) and not changes[index + 1].at_cut:
            del changes[index + 1]  # this chord lasts longer
        else:
            index += 1  # both ends are cuts (or the first span): keep the short span


def _merge_repeats(changes: list[_Change]) -> list[_Change]:
    merged: list[_Change] = []
    for change in changes:
        if merged and change.chord == merged[-1].chord and not change.at_cut:
            continue
        merged.append(change)
    return merged


def motion_accents(motion: np.ndarray, beat: float, duration: float,
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
        time_s = _snap(float(second), beat)
        if time_s >= duration or any(abs(time_s - cut) < 1.0 for cut in avoid):
            continue
        if not accents or time_s - accents[-1] >= beat:
            accents.append(time_s)
    return accents


def build_grid(chords: Sequence[Chord], duration: float, cut_times: Sequence[float] = (),
               motion: np.ndarray | None = None,
               options: GridOptions | None = None) -> HarmonicGrid:
    """Chord spans on the tempo grid, aligned to cuts unless ``options.cut_align`` is off.

    Args:
        chords: one chord per second (the model's output, already in the target key).
        duration: media length in seconds; spans cover exactly ``[0, duration)``.
        cut_times: detected cut times in seconds.
        motion: (T,) per-second motion for accents; ``None`` gives no accents.
    """
    options = options or GridOptions()
    _validate(chords, duration)
    beat = options.seconds_per_beat
    if not options.cut_align:
        changes = _per_second_changes(chords, duration)
        cuts: list[float] = []
        accents: list[float] = []
    else:
        changes = _per_beat_changes(chords, duration, beat)
        snap = options.cut_snap_beats * beat
        cuts = sorted({_snap(float(cut), snap) for cut in cut_times
                       if math.isfinite(cut)} - {0.0})
        cuts = [cut for cut in cuts if 0.0 < cut < duration - 1e-9]
        for cut in cuts:
            _align_to_cut(changes, cut, options.cut_window_s)
        _drop_short_spans(changes, duration, options.min_chord_beats * beat)
        changes = _merge_repeats(changes)
        accents = motion_accents(motion, beat, duration, options, cuts) \
            if motion is not None else []
    ends = [change.time for change in changes[1:]] + [float(duration)]
    spans = tuple(ChordSpan(round(change.time, 6), round(end, 6), change.chord, change.at_cut)
                  for change, end in zip(changes, ends, strict=True) if end > change.time)
    return HarmonicGrid(tempo_bpm=float(options.tempo_bpm), beats_per_bar=options.beats_per_bar,
                        duration=float(duration), spans=spans, cut_times=tuple(cuts),
                        accents=tuple(accents))

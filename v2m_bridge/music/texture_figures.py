"""Texture figures of a piano part: what separates a part a pianist wrote from pad + arpeggio.

Every figure works on notes in **beats** (not seconds), so a real part read from a MIDI file with
its beat file and one of our renders (through its tempo map) are measured the same way. These are
the figures of issue 23, measured on the POP909 PIANO tracks and on our renders by
``benchmarks/bench_texture.py``:

* ``mean_pitch``, ``range_5_95`` (5th to 95th percentile, semitones), ``below_c3`` (share of notes
  under MIDI 48);
* ``sounding_at_onset``: notes sounding (struck or held) at each distinct onset, averaged;
* ``pc_changes_per_beat``: how often the set of sounding pitch classes changes from one beat to
  the next (figuration and passing tones change it; a held pad does not);
* ``top_step`` / ``top_leap_3_7``: of the moves of the top voice (the highest note sounding on
  each beat; repeats left out), the share of steps (1-2 semitones) and of leaps of 3-7;
* ``bar_repetition``: Jaccard similarity of the 16th-note onset patterns of consecutive bars;
* ``downbeat_accent``: mean velocity of notes struck on a bar line minus that of the others;
* ``velocity_std``; ``grid16`` (share of onsets within 1/20 beat of a sixteenth);
* ``notes_per_beat``; ``bass_under_beats`` (share of beats with a note under MIDI 55 sounding on
  the beat or struck during it);
* ``voice_leading``: at each chord change, the mean distance of each note sounding just before
  to the nearest one sounding just after (and back), the lowest note of each left out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

C3 = 48
BASS_CEILING = 55  # a note under this (G3) counts as a bass note for "bass under every beat"
GRID_TOLERANCE_BEATS = 0.05
_EPS = 1e-6


@dataclass(frozen=True)
class BeatNote:
    """One note in beats from the start of the part."""

    start: float
    end: float
    pitch: int
    velocity: int


FIGURE_NAMES: tuple[str, ...] = (
    "mean_pitch", "range_5_95", "below_c3", "sounding_at_onset", "pc_changes_per_beat",
    "top_step", "top_leap_3_7", "bar_repetition", "downbeat_accent", "velocity_std", "grid16",
    "notes_per_beat", "bass_under_beats", "voice_leading",
)  # fmt: skip


def _onsets(notes: Sequence[BeatNote]) -> list[float]:
    """Distinct onsets (rounded to 1/96 beat), ascending."""
    return sorted({round(n.start * 96) / 96 for n in notes})


def _sounding_matrix(starts: np.ndarray, ends: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """(len(beats), len(notes)) booleans: is the note sounding just after the beat?"""
    probe = beats[:, None] + 1 / 192
    return (starts[None, :] <= probe) & (ends[None, :] > probe)


def _top_voice_moves(pitches: np.ndarray, sounding: np.ndarray) -> list[int]:
    """Intervals between the top voice on consecutive beats (repeated notes left out)."""
    tops = [int(pitches[row].max()) for row in sounding if row.any()]
    return [b - a for a, b in itertools.pairwise(tops) if b != a]


def _bar_repetition(notes: Sequence[BeatNote], downbeats: Sequence[float]) -> float:
    patterns: list[set[int]] = []
    starts = np.array(sorted(n.start for n in notes))
    for first, last in itertools.pairwise(downbeats):
        inside = starts[(starts >= first - _EPS) & (starts < last - _EPS)]
        patterns.append({round((s - first) * 4) for s in inside})
    scores = [len(a & b) / len(a | b) for a, b in itertools.pairwise(patterns)
              if a and b]
    return float(np.mean(scores)) if scores else math.nan


def _voice_leading(starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray,
                   changes: Sequence[float]) -> float:
    distances: list[float] = []
    for change in changes:
        before = sorted(set(pitches[(starts <= change - 0.01) & (ends > change - 0.01)]))[1:]
        after = sorted(set(pitches[(starts <= change + 0.01) & (ends > change + 0.01)]))[1:]
        if not before or not after:  # the lowest note (the bass) moves by its own rules
            continue
        forward = [min(abs(p - q) for q in after) for p in before]
        backward = [min(abs(p - q) for q in before) for p in after]
        distances.append((sum(forward) + sum(backward)) / (len(forward) + len(backward)))
    return float(np.mean(distances)) if distances else math.nan


def texture_figures(notes: Sequence[BeatNote], downbeats: Sequence[float],
                    chord_changes: Sequence[float] = ()) -> dict[str, float]:
    """Every figure of the module docstring for one part.

    Args:
        notes: the part's notes in beats.
        downbeats: beats where bars start, ascending (the last one closes the last bar).
        chord_changes: beats where the chord changes (for the voice-leading figure).
    """
    if not notes:
        return {name: math.nan for name in FIGURE_NAMES}
    pitches = np.array([n.pitch for n in notes], dtype=np.float64)
    velocities = np.array([n.velocity for n in notes], dtype=np.float64)
    starts = np.array([n.start for n in notes], dtype=np.float64)
    ends = np.array([n.end for n in notes], dtype=np.float64)
    onsets = np.array(_onsets(notes))
    first, last = float(onsets[0]), float(ends.max())
    beats = max(last - first, 1.0)

    sounding_counts = _sounding_matrix(starts, ends, onsets).sum(axis=1)
    whole_beats = np.arange(math.ceil(first - _EPS), math.floor(last - _EPS) + 1, dtype=float)
    at_beats = _sounding_matrix(starts, ends, whole_beats)
    classes = np.zeros((whole_beats.size, 12), dtype=bool)
    for pitch_class in range(12):
        classes[:, pitch_class] = (at_beats & (pitches % 12 == pitch_class)[None, :]).any(axis=1)
    pc_changes = int(np.any(classes[1:] != classes[:-1], axis=1).sum())
    moves = _top_voice_moves(pitches, at_beats)
    bar_lines = np.asarray(downbeats, dtype=np.float64)
    on_downbeat = np.array([bar_lines.size > 0 and np.min(np.abs(bar_lines - n.start)) < 0.125
                            for n in notes])
    accent = (float(velocities[on_downbeat].mean() - velocities[~on_downbeat].mean())
              if on_downbeat.any() and (~on_downbeat).any() else math.nan)
    grid = np.array([abs(o * 4 - round(o * 4)) / 4 <= GRID_TOLERANCE_BEATS for o in onsets])
    low = pitches < BASS_CEILING
    struck_in_beat = ((starts[None, :] >= whole_beats[:, None] - 0.01)
                      & (starts[None, :] < whole_beats[:, None] + 0.99))
    bass = ((at_beats | struck_in_beat) & low[None, :]).any(axis=1)
    return {
        "mean_pitch": float(pitches.mean()),
        "range_5_95": float(np.percentile(pitches, 95) - np.percentile(pitches, 5)),
        "below_c3": float(np.mean(pitches < C3)),
        "sounding_at_onset": float(np.mean(sounding_counts)),
        "pc_changes_per_beat": pc_changes / beats,
        "top_step": float(np.mean([abs(m) <= 2 for m in moves])) if moves else math.nan,
        "top_leap_3_7": float(np.mean([3 <= abs(m) <= 7 for m in moves])) if moves else math.nan,
        "bar_repetition": _bar_repetition(notes, downbeats),
        "downbeat_accent": accent,
        "velocity_std": float(velocities.std()),
        "grid16": float(grid.mean()),
        "notes_per_beat": len(notes) / beats,
        "bass_under_beats": float(np.mean(bass)) if bass.size else math.nan,
        "voice_leading": _voice_leading(starts, ends, pitches, chord_changes),
    }


BANDS: dict[str, tuple[float, float]] = {
    "mean_pitch": (52, 62), "range_5_95": (18, 32), "below_c3": (0.07, 0.30),
    "sounding_at_onset": (2.5, 4.5), "pc_changes_per_beat": (0.45, math.inf),
    "top_step": (0.22, 1.0), "top_leap_3_7": (0.0, 0.60), "bar_repetition": (0.60, 0.85),
    "downbeat_accent": (0.5, math.inf), "velocity_std": (9, math.inf), "grid16": (0.95, 1.0),
    "bass_under_beats": (0.90, 1.0), "voice_leading": (0.0, 2.25),
}  # fmt: skip
"""Issue 23's done-when bands for default renders (``notes_per_beat`` has none)."""

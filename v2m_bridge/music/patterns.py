"""The bar patterns learned from real piano parts, and how one is played on a chord.

``texture_patterns.json`` (beside this module) is written by
:mod:`v2m_bridge.data.texture_patterns` from the POP909 PIANO tracks (MIT, Music X Lab; training
split only; the attribution is inside the file). Each note of a pattern says where it sits in
the bar (sixteenths), how long it lasts, how far above the chord's root it is (octave kept) and
what it is: a chord tone by position (root, third, fifth, seventh) or a passing/neighbour tone.
Played on another chord (:func:`chord_pitch`), the bass takes that chord's tone of the same
position, the upper voices the nearest chord tones, and passing tones keep their place on the
key's scale.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from v2m_bridge.vocab import QUALITY_INTERVALS, Chord, Key

TABLE_PATH = Path(__file__).with_name("texture_patterns.json")
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the leading tone


@dataclass(frozen=True)
class PatternNote:
    position: int  # sixteenths from the bar line
    length: int  # sixteenths
    above_root: int  # semitones above the chord root (root taken as -6..+5)
    degree: int  # 0..3 root, third, fifth, seventh; -1 a passing or neighbour tone
    velocity: int  # against the bar's mean velocity


@dataclass(frozen=True)
class Pattern:
    index: int
    notes: tuple[PatternNote, ...]
    count: int  # bars of the training parts that played exactly this

    @functools.cached_property
    def onsets(self) -> frozenset[int]:
        return frozenset(note.position for note in self.notes)

    @functools.cached_property
    def mean_above_root(self) -> float:
        return sum(note.above_root for note in self.notes) / len(self.notes)

    @functools.cached_property
    def wrap_movement(self) -> float:
        """How far the upper voices of the bar's last beat are from those of its first onset:
        small for a pattern that flows into its own repeat over the bar line."""
        upper = [(i, n) for i, n in enumerate(self.notes) if i not in self.bass_notes]
        if not upper:
            return 0.0
        first = min(n.position for _, n in upper)
        opening = [n.above_root for _, n in upper if n.position == first]
        ending = [n.above_root for _, n in upper if n.position >= 12] or [
            n.above_root for _, n in upper if n.position == max(m.position for _, m in upper)]
        forward = sum(min(abs(a - b) for b in opening) for a in ending)
        backward = sum(min(abs(a - b) for b in ending) for a in opening)
        return (forward + backward) / (len(ending) + len(opening))

    @functools.cached_property
    def bass_notes(self) -> frozenset[int]:
        """Indices of the notes that make the bass: within a fifth of the lowest."""
        lowest = min(note.above_root for note in self.notes)
        return frozenset(i for i, note in enumerate(self.notes) if note.above_root <= lowest + 7)

    @functools.cached_property
    def on_eighths(self) -> float:
        """Share of onsets on eighth notes (driving patterns are near 1)."""
        return sum(position % 2 == 0 for position in self.onsets) / len(self.onsets)


@functools.cache
def load_patterns() -> tuple[Pattern, ...]:
    """The 4/4 patterns of the shipped table, most frequent first within each density band."""
    table = json.loads(TABLE_PATH.read_text())
    rows = table["patterns"]["4"]
    return tuple(Pattern(i, tuple(PatternNote(*note) for note in row["notes"]), row["count"])
                 for i, row in enumerate(rows))


def root_offset(root: int) -> int:
    """The root as a signed offset -6..+5 from C (the table's frame)."""
    return root if root < 6 else root - 12


def scale_of(key: Key) -> frozenset[int]:
    steps = _MINOR_SCALE if key.is_minor else _MAJOR_SCALE
    return frozenset((key.tonic + step) % 12 for step in steps)


@functools.lru_cache(maxsize=4096)
def _nearest_step(pitch_class: int, classes: frozenset[int]) -> int:
    """The smallest move (lower on a tie) from ``pitch_class`` onto one of ``classes``."""
    return min((step for step in range(-6, 7) if (pitch_class + step) % 12 in classes),
               key=lambda step: (abs(step), step))


def _nearest(reference: int, classes: frozenset[int]) -> int:
    """The pitch nearest ``reference`` whose pitch class is in ``classes`` (lower on a tie)."""
    return reference + _nearest_step(reference % 12, classes)


@functools.lru_cache(maxsize=512)
def _classes(chord: Chord) -> tuple[frozenset[int], tuple[int, ...]]:
    """The chord's pitch classes and its intervals above the root."""
    assert chord.root is not None
    intervals = QUALITY_INTERVALS[chord.quality]
    return frozenset((chord.root + i) % 12 for i in intervals), intervals


def chord_pitch(note: PatternNote, chord: Chord, key_scale: frozenset[int], anchor: int,
                is_bass: bool) -> int:
    """The pitch that ``note`` becomes over ``chord`` (which must have a root).

    ``anchor`` places the pattern: the note's written place is ``above_root + anchor``. A bass
    note takes the chord tone of its own position (root, fifth...) nearest that place, so the
    bass follows the roots; an upper chord tone takes the nearest tone of the chord, so the
    upper voices move as little as possible from chord to chord; a passing tone keeps its place,
    moved onto the key's scale (or the chord) if it is off both.
    """
    assert chord.root is not None
    chord_classes, intervals = _classes(chord)
    place = note.above_root + anchor
    if note.degree >= 0 and is_bass:
        interval = intervals[note.degree] if note.degree < len(intervals) else intervals[2]
        return _nearest(place, frozenset({(chord.root + interval) % 12}))
    if note.degree >= 0:
        return _nearest(place, chord_classes)
    if place % 12 in key_scale or place % 12 in chord_classes:
        return place
    return _nearest(place, key_scale | chord_classes)

"""An excerpt's progression: what a listing shows and what the temp track plays, the same thing.

* :func:`progression` turns per-second chord ids into the chords as heard: "no chord" seconds
  belong to the chord before them (or after, at the start), repeats merged, each with its length.
* :func:`spell` writes a chord in a key the way a musician would: the root's letter follows the
  scale degree (in C major a flat sixth is Ab, never G#).
* :func:`lay_out` puts a progression into a media range on a tempo map: every chord kept, in
  order, lengths in proportion, the first at the range's start (a cut) and every later change on
  a beat (on half or quarter beats only when the range has fewer beats than chords).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from v2m_bridge.errors import V2MError
from v2m_bridge.music.grid import ChordSpan
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.vocab import Chord, Key, chord_from_id, pitch_class_name

_LETTERS = "CDEFGAB"
_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# semitones above the tonic -> letter steps above the tonic's letter: major b2 2 b3 3 4 #4 5 b6 6
# b7 7; minor b2 2 3 #3 4 #4 5 6 #6 7 #7 (the same letters)
_STEPS = (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6)
_SUBDIVISIONS = (1.0, 0.5, 0.25, 0.125, 0.0625)  # beats between possible changes


class ProgressionError(V2MError, ValueError):
    """A progression that cannot be laid out (no chords, or a range too short for them)."""


Progression = list[tuple[Chord, float]]  # (chord, seconds it lasts in the source)


def progression(chord_ids: Sequence[int] | np.ndarray) -> Progression:
    """The chords as heard: N dropped (its seconds go to the chord before, or after at the
    start), repeats merged."""
    chords: Progression = []
    leading = 0.0
    for chord_id in chord_ids:
        chord = chord_from_id(int(chord_id))
        if chord.is_none:
            if chords:
                chords[-1] = (chords[-1][0], chords[-1][1] + 1.0)
            else:
                leading += 1.0
        elif chords and chords[-1][0] == chord:
            chords[-1] = (chord, chords[-1][1] + 1.0)
        else:
            chords.append((chord, 1.0 + leading))
            leading = 0.0
    return chords


def trimmed(chords: Progression, most: int) -> Progression:
    """The first ``most`` chords (at least one)."""
    return chords[:max(1, most)]


def piece_key(target: Key, mode: str) -> Key:
    """Where a piece in the C major / A minor frame lands in ``target``: its own tonic there."""
    home = Chord(9 if mode == "minor" else 0, "min" if mode == "minor" else "maj")
    return Key(target.from_normalised(home).root or 0, mode)


def spell(chord: Chord, key: Key, signature: Key | None = None) -> str:
    """``chord`` (already in ``key``) named with the root letter of its scale degree; flats or
    sharps of the key ``signature`` (default ``key``) for the tonic itself."""
    if chord.root is None:
        return "N"
    tonic_name = pitch_class_name(key.tonic, (signature or key).prefers_flats)
    letter = _LETTERS[(_LETTERS.index(tonic_name[0]) + _STEPS[(chord.root - key.tonic) % 12]) % 7]
    alter = (chord.root - _NATURAL[letter] + 6) % 12 - 6
    if abs(alter) > 1:  # a double sharp or flat: the plain enharmonic reads better
        return chord.name(key.prefers_flats)
    root = letter + {-1: "b", 0: "", 1: "#"}[alter]
    return root + chord.name()[len(pitch_class_name(chord.root)):]


def progression_names(chords: Progression, target: Key, mode: str) -> list[str]:
    """The progression's chords (C major / A minor frame) moved to ``target`` and spelt there."""
    key = piece_key(target, mode)
    return [spell(target.from_normalised(chord), key, target) for chord, _ in chords]


def lay_out(chords: Progression, start: float, end: float, tempo: TempoMap) -> list[ChordSpan]:
    """Spans for every chord of ``chords`` over media ``[start, end)`` on ``tempo``'s beats.

    Raises:
        ProgressionError: no chords, or fewer sixteenth-beat slots in the range than chords.
    """
    if not chords:
        raise ProgressionError("the excerpt has no chords (only 'no chord' seconds)")
    first, last = tempo.beat_at(start), tempo.beat_at(end)
    lengths = np.array([seconds for _, seconds in chords], dtype=np.float64)
    targets = first + (last - first) * np.cumsum(lengths)[:-1] / lengths.sum()
    for step in _SUBDIVISIONS:
        lines = [k * step for k in range(math.floor(first / step) + 1, math.ceil(last / step))
                 if first + 1e-6 < k * step < last - 1e-6]
        if len(lines) >= len(targets):
            break
    else:
        raise ProgressionError(f"{end - start:.2f} s is too short for the excerpt's "
                               f"{len(chords)} chords; choose a longer range")
    chosen: list[int] = []
    for number, target in enumerate(targets):
        nearest = int(np.argmin([abs(line - target) for line in lines]))
        lowest = chosen[-1] + 1 if chosen else 0
        highest = len(lines) - (len(targets) - number)
        chosen.append(min(max(nearest, lowest), highest))
    times = [start, *(tempo.time_at(lines[i]) for i in chosen), end]
    return [ChordSpan(round(a, 6), round(b, 6), chord, at_cut=number == 0)
            for number, ((chord, _), a, b) in enumerate(zip(chords, times[:-1], times[1:],
                                                             strict=True))]

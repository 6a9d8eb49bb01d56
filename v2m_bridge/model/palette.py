"""Which chord at a planned change: a palette, not a filter (issue 22).

The change plan (:mod:`v2m_bridge.model.musical`) decides *when* a chord changes; at each change
the sampler asks this module for nats to add to the model's logits, then samples at a
temperature close to 1 so the model's own spread of chords survives. Four terms, each small
enough that the model still decides:

* **Key as a palette** (:func:`key_penalties`): diatonic chords cost nothing; the chords real
  songs borrow get :attr:`Palette.borrowed_bonus` (in major: iv, ♭III, ♭VI, ♭VII, IV7, v and
  the secondary dominants V/ii, V/iii, V/IV, V/V, V/vi; in minor: V and V7, the Neapolitan ♭II,
  vii°7, the Dorian IV and the Picardy I), because a small model trained on them under-uses
  them (held-out songs: 89 % diatonic, 9 % borrowed, 2.5 % other seconds); any other chord
  costs :attr:`Palette.key_penalty`. A tense or fearful picture lifts part of that penalty
  (:attr:`Palette.tension_relief`), so such scenes leave the key more. Borrowed chords are
  colour, not a new home: every chord outside the key costs :attr:`Palette.home_pull` nats
  times the share of the last :attr:`Palette.recent_changes` changes that were outside it, so
  an excursion returns and a long video keeps its key (the model, reading its own chords,
  would otherwise follow them into a new key).
* **Colour** (:func:`colour_bias`): the official quality↔emotion table (spec §5.5, the AMT's own
  training target) adds :attr:`Palette.colour_strength` nats to the qualities of the second's
  emotion, weighted by each emotion's probability relative to the strongest one (neutral adds
  nothing). It reads the emotion of the very second being chosen, so a cut into a new scene is
  coloured at once. The table names qualities on every root, so colour also reaches chords
  outside the key: an exciting scene (maj, sus4, 7) plays secondary dominants and IV7 often
  and leaves the key more than a tense one (`bench_musicality.py`: 69 % vs 87 % in key).
* **No loops** (:func:`loop_penalties`): like the repeated n-gram blocking of text generation,
  but soft and phrase-aware. Over the chord *changes* so far, the chord that would make
  A-B-A-**B** loses :attr:`Palette.pingpong_penalty`; a chord that would carry a 3- or 4-chord
  progression past one full repeat (A-B-C-A-B-C-**A**) loses :attr:`Palette.loop_penalty` per
  chord beyond it. A 4-chord progression played twice is left alone.
* **Variety** (:func:`loop_penalties`): each arrival of a chord among the last
  :attr:`Palette.recent_changes` changes costs :attr:`Palette.frequency_penalty` nats (the
  frequency penalty of text generation), half for the tonic, which songs return to most.

All arrays are over chord ids 0..156 in the model's normalised frame (C major / A minor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from v2m_bridge.data.emotion_map import emotion_chord_matrix
from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.vocab import END_CHORD_ID, N_CHORD_ID, Chord, chord_from_id

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)

# Borrowed chords and secondary dominants as (semitones above the major tonic, quality), in the
# major key and in its relative minor (whose tonic is 9 semitones above the major tonic).
BORROWED_IN_MAJOR: tuple[tuple[int, str], ...] = (
    (5, "min"), (5, "min6"), (5, "min7"),  # iv
    (3, "maj"), (8, "maj"), (8, "maj7"), (10, "maj"), (10, "7"),  # bIII, bVI, bVII
    (2, "hdim7"),  # ii half-diminished (from minor)
    (5, "7"), (7, "min"), (7, "min7"), (10, "maj6"),  # IV7 (blues), v (Mixolydian), bVII6
    (9, "maj"), (9, "7"), (11, "7"), (0, "7"), (2, "maj"), (2, "7"), (4, "maj"), (4, "7"),
)  # fmt: skip  (the last row: V/ii, V/iii, V/IV, V/V, V/vi)
BORROWED_IN_MINOR: tuple[tuple[int, str], ...] = (
    (4, "maj"), (4, "7"), (4, "sus4"),  # V, V7 (harmonic minor)
    (10, "maj"), (10, "maj7"),  # Neapolitan bII (of A minor: Bb)
    (8, "dim7"), (8, "dim"),  # vii°7, vii° (G#)
    (2, "maj"), (2, "7"),  # Dorian IV (D)
    (9, "maj"), (9, "7"),  # Picardy I, V/iv
)  # fmt: skip
TENSION_LABELS = ("tense", "fearful")


@dataclass(frozen=True)
class Palette:
    """Strengths of the four terms, in nats (see the module docstring). Defaults were chosen
    with ``benchmarks/bench_musicality.py`` against held-out songs (``models/README.md``)."""

    key_penalty: float = 2.0  # nats off a chord neither diatonic nor borrowed
    borrowed_bonus: float = 0.6  # nats given to borrowed chords (the model under-uses them)
    tension_relief: float = 0.6  # share of the key penalty lifted at full tense/fearful
    home_pull: float = 4.0  # nats off outside chords when all recent changes were outside
    colour_strength: float = 2.0
    pingpong_penalty: float = 3.0
    loop_penalty: float = 2.0
    frequency_penalty: float = 0.2
    recent_changes: int = 8

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"palette {name} must be a finite number >= 0, got {value}")
        if not 0 <= self.tension_relief <= 1:
            raise ValueError(f"tension_relief must be within 0..1, got {self.tension_relief}")


_CHORDS: tuple[Chord, ...] = tuple(chord_from_id(i) for i in range(END_CHORD_ID))
_EMOTION_CHORDS = emotion_chord_matrix()[:, :END_CHORD_ID]  # (6, 157)
_NEUTRAL = EMOTION_LABELS.index("neutral")
_TENSION = [EMOTION_LABELS.index(label) for label in TENSION_LABELS]


@lru_cache(maxsize=48)
def key_tiers(major_tonic: int, minor: bool) -> np.ndarray:
    """``(157,)`` int: 0 diatonic, 1 borrowed or secondary dominant, 2 any other chord (N: 0).

    ``major_tonic`` is the pitch class of the kept scale's major tonic (0 in the normalised
    frame); ``minor`` picks the borrowed set of the relative minor."""
    scale = {(major_tonic + p) % 12 for p in MAJOR_SCALE}
    borrowed = {Chord((major_tonic + step) % 12, quality)
                for step, quality in (BORROWED_IN_MINOR if minor else BORROWED_IN_MAJOR)}
    tiers = np.full(END_CHORD_ID, 2, dtype=np.int64)
    for index, chord in enumerate(_CHORDS):
        if chord.is_none or set(chord.pitch_classes()) <= scale:
            tiers[index] = 0
        elif chord in borrowed:
            tiers[index] = 1
    return tiers


def tension(emotion_row: np.ndarray | None) -> float:
    """0..1: the probability mass of tense and fearful in one second's emotion row."""
    if emotion_row is None:
        return 0.0
    return float(np.clip(np.asarray(emotion_row)[_TENSION].sum(), 0.0, 1.0))


def key_penalties(palette: Palette, major_tonic: int, minor: bool,
                  emotion_row: np.ndarray | None = None, outside_recent: float = 0.0
                  ) -> np.ndarray:
    """``(157,)`` nats to subtract: nothing for diatonic chords, a bonus (negative) for borrowed
    ones, and a key penalty for the rest, smaller when the second is tense or fearful; every
    chord outside the key also pays the home pull for ``outside_recent`` (0..1), the share of
    recent changes that left the key."""
    relief = 1.0 - palette.tension_relief * tension(emotion_row)
    pull = palette.home_pull * outside_recent
    costs = np.array([0.0, pull - palette.borrowed_bonus, pull + palette.key_penalty * relief])
    return costs[key_tiers(major_tonic % 12, minor)]


def outside_share(palette: Palette, history: Sequence[Chord], major_tonic: int,
                  minor: bool) -> float:
    """Share of the last :attr:`Palette.recent_changes` changes (arrivals) outside the key."""
    recent = changes_of(history)[-palette.recent_changes:]
    if not recent:
        return 0.0
    tiers = key_tiers(major_tonic % 12, minor)
    return float(np.mean([tiers[chord_id] > 0 for chord_id in recent]))


def colour_bias(palette: Palette, emotion_row: np.ndarray | None) -> np.ndarray:
    """``(157,)`` nats to add: the official table's qualities of the second's emotions, each
    emotion weighted by its probability over the strongest one's (neutral adds nothing)."""
    if emotion_row is None or palette.colour_strength == 0:
        return np.zeros(END_CHORD_ID)
    row = np.clip(np.asarray(emotion_row, dtype=np.float64), 0.0, None)
    if row.max() <= 0:
        return np.zeros(END_CHORD_ID)
    weights = row / row.max()
    weights[_NEUTRAL] = 0.0
    weights = weights ** 2  # the leading emotion dominates a mixed reading
    return palette.colour_strength * np.minimum(weights @ _EMOTION_CHORDS, 1.0)


def changes_of(history: Sequence[Chord]) -> list[int]:
    """Chord ids of the arrivals so far: runs of one chord collapsed, N dropped."""
    out: list[int] = []
    for chord in history:
        if chord.is_none or chord.id >= END_CHORD_ID:
            continue
        if not out or out[-1] != chord.id:
            out.append(chord.id)
    return out


def _periodic_tail(sequence: Sequence[int], period: int) -> int:
    """How many trailing elements repeat the element ``period`` places before them."""
    tail = 0
    for index in range(len(sequence) - 1, period - 1, -1):
        if sequence[index] != sequence[index - period]:
            break
        tail += 1
    return tail


def loop_penalties(palette: Palette, history: Sequence[Chord], tonic_id: int) -> np.ndarray:
    """``(157,)`` nats to subtract from each candidate for the next change: ping-pong, short
    loops beyond one repeat, and recent use (see the module docstring). The chord now sounding
    is left alone (choosing it means no change)."""
    changes = changes_of(history)
    penalties = np.zeros(END_CHORD_ID)
    if not changes:
        return penalties
    current = changes[-1]
    recent = changes[-palette.recent_changes:]
    for chord_id in set(recent):
        weight = 0.5 if chord_id == tonic_id else 1.0
        penalties[chord_id] += palette.frequency_penalty * weight * recent.count(chord_id)
    for candidate in set(changes[-4:]):  # loops can only return to a recent chord
        if candidate == current:
            continue
        extended = [*changes, candidate]
        if _periodic_tail(extended, 2) >= 2:  # A-B-A-B
            penalties[candidate] += palette.pingpong_penalty
        for period in (3, 4):  # beyond one full repeat of a 3- or 4-chord progression
            excess = _periodic_tail(extended, period) - period
            if excess > 0:
                penalties[candidate] += palette.loop_penalty * excess
    penalties[current] = 0.0
    penalties[N_CHORD_ID] = 0.0
    return penalties


def palette_logits(palette: Palette, history: Sequence[Chord], major_tonic: int, minor: bool,
                   emotion_row: np.ndarray | None) -> np.ndarray:
    """``(157,)`` nats to add to the model's logits at a planned change: colour minus the key
    and loop penalties."""
    tonic = Chord((major_tonic + 9) % 12, "min") if minor else Chord(major_tonic % 12, "maj")
    outside = outside_share(palette, history, major_tonic, minor)
    return (colour_bias(palette, emotion_row)
            - key_penalties(palette, major_tonic, minor, emotion_row, outside)
            - loop_penalties(palette, history, tonic.id))

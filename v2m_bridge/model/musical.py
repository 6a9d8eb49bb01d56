"""The musical sampler: the picture and the grid decide *when* the harmony changes, the model
decides *which* chord comes next, and the key is kept.

The official sampler (spec §6) draws a chord every second and forbids a third repeat, so with a
small model it changes every 2–3 s, at random places, often onto tail chords. This module keeps
the AMT and its inputs untouched (official checkpoints load and, with ``--sampler official``,
sample exactly as the paper's code) and changes only how chords are drawn:

* **When** is not decided here: the grid plans the changes in musical time on the render's
  tempo map (:mod:`v2m_bridge.music.harmonic_plan`: bar lines, busy half bars, every cut) and
  hands them over as media times; :func:`plan_for_seconds` turns them into the model's
  per-second steps (a new chord, or hold).
* **Which**: at a planned change the previous chord is excluded, N is excluded, and the
  palette (:mod:`v2m_bridge.model.palette`: the kept key as a palette with borrowed chords,
  colour from the second's emotion, penalties for ping-pong and short loops) reweights the
  model's chords; then temperature and nucleus (top-p) sampling trim only the far tail.
  Without a palette, chords with a tone outside the kept key lose ``key_penalty`` nats
  (:func:`in_scale_mask`), the behaviour before issue 22.
* **Asked-for emotion**: when the user overrides the emotion (``--emotion sad``), the chords
  whose quality the official quality↔emotion table links to that emotion (spec §5.5; sad: min,
  min7, sus2) get :data:`MUSICAL_OVERRIDE_BIAS` extra nats, on top of what the model does with
  the emotion input and on top of the palette's colour (which reads the video's emotion, or
  the override where one is given).
* **Key**: the scale of the key the user asked for (the model works in C major / A minor, so
  that is the white keys), or, when a primer is given, the major scale its chords fit best
  (:func:`scale_of_chords`): the first window establishes the key, and every later window keeps
  it, so a long video does not drift.

The defaults (:data:`MUSICAL_TOP_P`, :data:`MUSICAL_TEMPERATURE`, the change probabilities) were
chosen by measurement with ``benchmarks/bench_musicality.py``; see ``models/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# the change plan's settings live with the grid that plans the changes; named here too for
# callers of the sampler
from v2m_bridge.music.harmonic_plan import HarmonicRhythm as HarmonicRhythm
from v2m_bridge.music.harmonic_plan import activity as activity
from v2m_bridge.vocab import END_CHORD_ID, Chord, chord_from_id

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
"""Pitch classes of C major, which is also A natural minor: the model's normalised key."""

MUSICAL_TOP_P = 0.95
MUSICAL_TEMPERATURE = 1.0
MUSICAL_KEY_PENALTY = 5.0  # nats off a chord outside the key when no palette is used
MUSICAL_OVERRIDE_BIAS = 1.5  # nats given to the qualities of a user's --emotion (official table)


def plan_for_seconds(change_times: Sequence[float], n_seconds: int) -> tuple[int, ...]:
    """The sampler's per-second plan from the grid's change times (media seconds): 1 where a
    planned change falls in that second (the model picks a new chord there), 0 where the chord
    holds. Second 0 is always 1. The grid plans at most one change per second
    (:func:`v2m_bridge.music.harmonic_plan.plan_changes`), so every chord picked here is
    heard from its change time on."""
    plan = [0] * n_seconds
    for time_s in change_times:
        second = math.floor(float(time_s) + 1e-9)
        if 0 <= second < n_seconds:
            plan[second] = 1
    if n_seconds:
        plan[0] = 1
    return tuple(plan)


def _chord_tables() -> list[Chord]:
    return [chord_from_id(i) for i in range(END_CHORD_ID)]


_CHORDS = _chord_tables()


def in_scale_mask(scale: Sequence[int] = MAJOR_SCALE) -> np.ndarray:
    """``(157,)`` bool over chord ids 0..156: every chord tone lies in ``scale`` (N: False)."""
    pitch_set = {p % 12 for p in scale}
    return np.array([bool(c.pitch_classes()) and set(c.pitch_classes()) <= pitch_set
                     for c in _CHORDS])


def scale_of_chords(chords: Sequence[Chord]) -> tuple[int, ...]:
    """The transposition of :data:`MAJOR_SCALE` holding most of the chords' tones.

    Ties go to the smallest move from C (the normalised key itself first), so chords that fit
    the normalised key keep it.
    """
    tones = [p for chord in chords for p in chord.pitch_classes()]
    if not tones:
        return MAJOR_SCALE

    def fit(shift: int) -> tuple[int, int]:
        scale = {(p + shift) % 12 for p in MAJOR_SCALE}
        return sum(t in scale for t in tones), -min(shift, 12 - shift)

    best = max(range(12), key=fit)
    return tuple(sorted((p + best) % 12 for p in MAJOR_SCALE))


def in_key_share(chords: Sequence[Chord], scale: Sequence[int] = MAJOR_SCALE) -> float:
    """Share of chords (seconds, when one per second) whose tones all lie in ``scale``."""
    if not chords:
        return float("nan")
    pitch_set = {p % 12 for p in scale}
    return sum(bool(c.pitch_classes()) and set(c.pitch_classes()) <= pitch_set
               for c in chords) / len(chords)

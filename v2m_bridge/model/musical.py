"""The musical sampler: the picture and the grid decide *when* the harmony changes, the model
decides *which* chord comes next, and the key is kept.

The official sampler (spec §6) draws a chord every second and forbids a third repeat, so with a
small model it changes every 2–3 s, at random places, often onto tail chords. This module keeps
the AMT and its inputs untouched (official checkpoints load and, with ``--sampler official``,
sample exactly as the paper's code) and changes only how chords are drawn:

* **When** (:func:`change_plan`): a chord may change only on a bar line, on a half bar when the
  picture is busy (activity above 0.5), or on a detected cut. Every cut gets a new chord. At a
  bar line the chord changes with a probability that grows with the picture's activity (motion
  and cut rate around it): ``calm_change_prob`` for a still, single shot, ``busy_change_prob``
  for action. A chord never lasts longer than ``max_hold_bars``. So a calm shot can hold a
  chord for many seconds, and a cut-heavy scene moves with its edits.
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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2m_bridge.vocab import END_CHORD_ID, Chord, chord_from_id

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
"""Pitch classes of C major, which is also A natural minor: the model's normalised key."""

MUSICAL_TOP_P = 0.95
MUSICAL_TEMPERATURE = 1.0
MUSICAL_KEY_PENALTY = 5.0  # nats off a chord outside the key when no palette is used
MUSICAL_OVERRIDE_BIAS = 1.5  # nats given to the qualities of a user's --emotion (official table)


@dataclass(frozen=True)
class HarmonicRhythm:
    """Where chord changes may happen and how often, from the picture (see module docstring)."""

    tempo_bpm: float = 120.0
    beats_per_bar: int = 4
    calm_change_prob: float = 0.5  # change probability at a bar line of a still, single shot
    busy_change_prob: float = 0.9  # ... of busy, cut-heavy footage
    half_bar_prob: float = 0.5  # change probability at a half bar of fully busy footage
    max_hold_bars: int = 4  # a chord is changed at the first bar line after this many bars
    change_at_cuts: bool = True  # every detected cut gets a new chord
    motion_saturation: float = 40.0  # motion (0-255 scale) at which the motion term is 1
    cuts_for_full_activity: float = 3.0  # cuts within ±4 s that make the cut term 1

    def __post_init__(self) -> None:
        for name in ("calm_change_prob", "busy_change_prob", "half_bar_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        if not (self.tempo_bpm > 0 and self.beats_per_bar >= 1 and self.max_hold_bars >= 1):
            raise ValueError("tempo, beats per bar and max hold must be positive")

    @property
    def seconds_per_bar(self) -> float:
        return self.beats_per_bar * 60.0 / self.tempo_bpm


def activity(scene_offset: np.ndarray, motion: np.ndarray,
             rhythm: HarmonicRhythm = HarmonicRhythm()) -> np.ndarray:
    """``(T,)`` in 0..1: how busy the picture is around each second (motion and cut rate).

    Motion term: ``log(1 + motion) / log(1 + saturation)`` smoothed over ±2 s, ignoring the
    motion spike of the cut itself. Cut term: cuts within ±4 s over ``cuts_for_full_activity``.
    The activity is the larger of the two.
    """
    offsets = np.asarray(scene_offset, dtype=np.float64)
    moving = np.asarray(motion, dtype=np.float64).copy()
    n = len(moving)
    if n == 0:
        return np.zeros(0)
    cuts = (offsets == 1.0) & (np.arange(n) > 0)
    moving[cuts] = np.nan  # a cut's frame difference measures the edit, not the action
    level = np.clip(np.log1p(np.maximum(moving, 0.0)) / np.log1p(rhythm.motion_saturation),
                    0.0, 1.0)
    smoothed = np.array([np.nanmean(level[max(0, s - 2):s + 3])
                         if np.isfinite(level[max(0, s - 2):s + 3]).any() else 0.0
                         for s in range(n)])
    cut_counts = np.array([cuts[max(0, s - 4):s + 5].sum() for s in range(n)], dtype=np.float64)
    cut_term = np.clip(cut_counts / rhythm.cuts_for_full_activity, 0.0, 1.0)
    return np.maximum(smoothed, cut_term)


def _grid_seconds(n_seconds: int, period: float, phase: float = 0.0) -> set[int]:
    """Seconds that contain a grid line ``phase + k * period`` (k >= 0)."""
    seconds = set()
    time_s = phase
    while time_s < n_seconds:
        seconds.add(int(time_s + 1e-9))
        time_s += period
    return seconds


def change_plan(scene_offset: np.ndarray, motion: np.ndarray, rhythm: HarmonicRhythm,
                seed: int | None) -> np.ndarray:
    """``(T,)`` bool: True where a new chord starts (second 0 always, the primer's place).

    Deterministic for a given seed; see :class:`HarmonicRhythm` for the rules.
    """
    offsets = np.asarray(scene_offset, dtype=np.float64)
    n = len(offsets)
    plan = np.zeros(n, dtype=bool)
    if n == 0:
        return plan
    plan[0] = True
    rng = np.random.default_rng(None if seed is None else [int(seed) & 0xFFFFFFFF, 7919])
    busy = activity(offsets, motion, rhythm)
    bar = rhythm.seconds_per_bar
    bars = _grid_seconds(n, bar)
    halves = _grid_seconds(n, bar, bar / 2) - bars
    cuts = {s for s in range(1, n) if offsets[s] == 1.0} if rhythm.change_at_cuts else set()
    last_change = 0
    for second in range(1, n):
        if second in cuts:
            change = True
        elif second in bars:
            held = second - last_change
            p = rhythm.calm_change_prob + (rhythm.busy_change_prob
                                           - rhythm.calm_change_prob) * busy[second]
            change = held >= rhythm.max_hold_bars * bar - 1e-9 or rng.random() < p
        elif second in halves:
            # half bars only for busy footage (activity above 0.5), growing to half_bar_prob
            change = rng.random() < rhythm.half_bar_prob * max(0.0, 2 * busy[second] - 1)
        else:
            change = False
        if change:
            plan[second] = True
            last_change = second
    return plan


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

"""When the harmony changes: the change plan of the musical sampler, in musical time.

The grid (:func:`v2m_bridge.music.grid.change_points`) offers the places where a chord may
change: the lines of the harmonic rhythm on the tempo map (bar lines, half bars, beats...) and
the hit points (cuts snapped to the map). :func:`plan_changes` picks among them, from the
picture:

* every hit point gets a new chord (``change_at_cuts``);
* at a bar line the chord changes with a probability that grows with the picture's activity
  (:func:`activity`: motion and cut rate around it), ``calm_change_prob`` for a still, single
  shot, ``busy_change_prob`` for action; a chord never lasts past ``max_hold_bars`` bar lines;
* at a line inside a bar (a half bar or a beat, when the harmonic rhythm offers them) only busy
  footage changes, with up to ``half_bar_prob``.

The model samples one chord per second, so at most one change is planned per second (a cut
wins over a line of the rhythm; the earlier wins otherwise). The plan is a list of media times;
the sampler (:func:`v2m_bridge.model.musical.plan_for_seconds`) picks *which* chord starts at
each, and the arranger starts each chord exactly there, so no chosen chord is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HarmonicRhythm:
    """How often chords change, from the picture (see the module docstring)."""

    calm_change_prob: float = 0.5  # change probability at a bar line of a still, single shot
    busy_change_prob: float = 0.9  # ... of busy, cut-heavy footage
    half_bar_prob: float = 0.5  # change probability inside a bar, for fully busy footage
    max_hold_bars: int = 4  # a chord is changed at the first bar line after this many bars
    change_at_cuts: bool = True  # every hit point gets a new chord
    motion_saturation: float = 40.0  # motion (0-255 scale) at which the motion term is 1
    cuts_for_full_activity: float = 3.0  # cuts within ±4 s that make the cut term 1

    def __post_init__(self) -> None:
        for name in ("calm_change_prob", "busy_change_prob", "half_bar_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        if self.max_hold_bars < 1:
            raise ValueError("max hold must be at least one bar")


@dataclass(frozen=True)
class ChangePoint:
    """A place where the grid lets the chord change."""

    time: float  # media seconds
    beat: float  # beat position on the tempo map
    on_bar: bool  # a bar line (or the line of a 2-bar rhythm)
    at_cut: bool  # a hit point (a cut snapped onto the map)


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


def _wants_change(point: ChangePoint, busy: float, bars_held: int, rhythm: HarmonicRhythm,
                  rng: np.random.Generator) -> bool:
    """One draw per offered point (so a seed gives the same plan whatever is decided)."""
    draw = rng.random()
    if point.at_cut and rhythm.change_at_cuts:
        return True
    if point.on_bar:
        if bars_held >= rhythm.max_hold_bars:
            return True
        p = rhythm.calm_change_prob + (rhythm.busy_change_prob - rhythm.calm_change_prob) * busy
        return draw < p
    # inside a bar: only for busy footage (activity above 0.5), growing to half_bar_prob
    return draw < rhythm.half_bar_prob * max(0.0, 2 * busy - 1)


def plan_changes(points: Sequence[ChangePoint], scene_offset: np.ndarray, motion: np.ndarray,
                 rhythm: HarmonicRhythm, seed: int | None) -> tuple[float, ...]:
    """Media times where a new chord starts, chosen among ``points``; 0 always comes first.

    Deterministic for a given seed; at most one change per whole second (see the module
    docstring)."""
    rng = np.random.default_rng(None if seed is None else [int(seed) & 0xFFFFFFFF, 7919])
    busy = activity(scene_offset, motion, rhythm)
    chosen: dict[int, ChangePoint] = {}  # second -> the change planned in it
    bars_held = 0
    last_second = 0
    for point in sorted(points, key=lambda p: p.time):
        second = math.floor(point.time + 1e-9)
        if point.time <= 1e-9 or second >= len(busy):
            continue
        if point.on_bar:
            bars_held += 1
        level = float(busy[second])
        if not _wants_change(point, level, bars_held, rhythm, rng):
            continue
        if second == 0 or (second == last_second and not (
                point.at_cut and not chosen[second].at_cut)):
            continue  # this second already starts a chord (at 0, or at an earlier line or cut)
        chosen[second] = point
        last_second = second
        bars_held = 0
    return (0.0, *(chosen[second].time for second in sorted(chosen)))

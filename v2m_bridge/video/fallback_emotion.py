"""A lightweight emotion estimate for when CLIP weights are missing.

This is a documented heuristic, not a learned model, and it is not calibrated against CLIP. It
follows two lines of affective video and colour research:

- **Arousal** from the picture's *activity* (Hanjalic & Xu, "Affective video content
  representation and modeling", IEEE Trans. Multimedia 2005): motion activity and the rate of
  shot cuts, each smoothed over a few seconds (their third cue, the soundtrack's energy, is not
  decoded here). Motion is the official per-second frame difference on the 0–255 scale, on a log
  scale saturating at :data:`MOTION_FOR_FULL_AROUSAL`; the cut rate counts cuts within
  ±:data:`CUT_WINDOW_S` seconds, full at :data:`CUTS_FOR_FULL_AROUSAL`. Saturation adds a little
  (Valdez & Mehrabian: arousal rises with saturation).
- **Valence** from colour (Valdez & Mehrabian, "Effects of color on emotions", J. Exp. Psychol.
  Gen. 1994: pleasure ≈ 0.69 brightness + 0.22 saturation), plus colour warmth (red over blue).
  Brightness counts around a mid level, so dark pictures are unpleasant and bright ones pleasant.
  Saturation only *adds* pleasantness above a typical level: a black-and-white picture is not
  thereby sad (desaturation alone is not sadness).

The six official classes sit at fixed points of the valence/arousal plane
(:data:`EMOTION_PROTOTYPES`, Russell's circumplex); neutral sits at the calm centre with the
widest basin, so ordinary, still, unremarkable footage reads neutral. The probabilities are a
softmax over negative squared distances, so every row sums to 1 and the nearest class dominates.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from v2m_bridge.emotion import EMOTION_PROTOTYPES
from v2m_bridge.features import EMOTION_LABELS

FALLBACK_EMOTION_VERSION = "2"  # part of the feature cache key: bump when the reading changes
ANALYSIS_WIDTH_PX = 64  # colour statistics barely change below this size and cost nothing
MOTION_FOR_FULL_AROUSAL = 30.0  # frame difference (0-255) at which the motion term is 1
CUT_WINDOW_S = 3.0  # cuts within this many seconds either side count towards the cut rate
CUTS_FOR_FULL_AROUSAL = 3.0  # that many cuts in the window: the cut term is 1
MID_BRIGHTNESS = 0.33  # brightness (HSV value, 0..1) that is neither pleasant nor unpleasant
TYPICAL_SATURATION = 0.25  # saturation above this adds pleasantness; below it, nothing
WARMTH_FOR_FULL = 0.15  # red minus blue (0..1 scale) that counts fully warm (or cold)
DISTANCE_TEMPERATURE = 0.3
_PROTOTYPE_POINTS = np.array([EMOTION_PROTOTYPES[label] for label in EMOTION_LABELS])
COLOUR_STAT_NAMES = ("brightness", "saturation", "warmth", "contrast")


def frame_colour_stats(frame_bgr: np.ndarray) -> np.ndarray:
    """(brightness, saturation, warmth, contrast) of a BGR frame; warmth in [-1, 1], rest [0, 1]."""
    height, width = frame_bgr.shape[:2]
    if width > ANALYSIS_WIDTH_PX:
        small_height = max(1, round(height * ANALYSIS_WIDTH_PX / width))
        frame_bgr = cv2.resize(frame_bgr, (ANALYSIS_WIDTH_PX, small_height),
                               interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2HSV)
    value = hsv[..., 2].astype(np.float64) / 255.0
    saturation = hsv[..., 1].astype(np.float64) / 255.0
    blue, _, red = (frame_bgr[..., c].astype(np.float64).mean() / 255.0 for c in range(3))
    return np.array([value.mean(), saturation.mean(), red - blue, value.std()], dtype=np.float32)


def _smooth(values: np.ndarray, half: int = 1) -> np.ndarray:
    if values.size <= 1 or half < 1:
        return values
    return np.array([values[max(0, i - half):i + half + 1].mean() for i in range(values.size)])


def cut_rate(n_seconds: int, cut_times: Sequence[float]) -> np.ndarray:
    """``(T,)`` in 0..1: cuts within ±CUT_WINDOW_S of each second's middle, over the full count."""
    cuts = np.asarray([c for c in cut_times if np.isfinite(c)], dtype=np.float64)
    centres = np.arange(n_seconds) + 0.5
    if cuts.size == 0:
        return np.zeros(n_seconds)
    counts = (np.abs(centres[:, None] - cuts[None, :]) <= CUT_WINDOW_S).sum(axis=1)
    return np.clip(counts / CUTS_FOR_FULL_AROUSAL, 0.0, 1.0)


def valence_arousal(colour_stats: np.ndarray, motion: np.ndarray,
                    cut_times: Sequence[float] = ()) -> np.ndarray:
    """(T, 4) colour statistics, (T,) motion and cut times → (T, 2) valence, arousal in [-1, 1].

    ``valence = 0.69 b + 0.22 s + 0.3 w`` with ``b`` the brightness around
    :data:`MID_BRIGHTNESS` (±0.3 is full), ``s`` the saturation above
    :data:`TYPICAL_SATURATION` (0..1) and ``w`` the warmth (±1); ``arousal = -0.7 + 1.6 (0.5 m +
    0.35 c + 0.15 S)`` with ``m`` the log motion term and ``c`` the cut rate (both smoothed over
    ±1 s) and ``S`` the raw saturation.
    """
    stats = np.asarray(colour_stats, dtype=np.float64).reshape(-1, len(COLOUR_STAT_NAMES))
    brightness, saturation, warmth, _contrast = stats.T
    n = len(brightness)
    motion = np.asarray(motion, dtype=np.float64)[:n]
    moving = np.clip(np.log1p(np.maximum(motion, 0.0)) / np.log1p(MOTION_FOR_FULL_AROUSAL),
                     0.0, 1.0)
    activity = (0.5 * _smooth(moving) + 0.35 * _smooth(cut_rate(n, cut_times))
                + 0.15 * saturation)
    arousal = -0.7 + 1.6 * activity
    bright = np.clip((brightness - MID_BRIGHTNESS) / 0.3, -1.0, 1.0)
    colourful = np.clip((saturation - TYPICAL_SATURATION) / 0.3, 0.0, 1.0)
    warm = np.clip(warmth / WARMTH_FOR_FULL, -1.0, 1.0)
    valence = 0.69 * bright + 0.22 * colourful + 0.3 * warm
    return np.clip(np.stack([valence, arousal], axis=1), -1.0, 1.0)


def estimate_emotion(colour_stats: np.ndarray, motion: np.ndarray,
                     cut_times: Sequence[float] = ()) -> np.ndarray:
    """(T, 6) probabilities over EMOTION_LABELS from colour statistics, motion and cuts."""
    points = valence_arousal(colour_stats, motion, cut_times)
    squared = ((points[:, None, :] - _PROTOTYPE_POINTS[None, :, :]) ** 2).sum(axis=-1)
    logits = -squared / DISTANCE_TEMPERATURE
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    probabilities = weights / weights.sum(axis=1, keepdims=True)
    return probabilities.astype(np.float32)

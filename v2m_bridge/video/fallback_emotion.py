"""A lightweight emotion estimate for when CLIP weights are missing.

This is a documented heuristic, not a learned model, and it is not calibrated against CLIP. Each
sampled frame gives colour statistics (brightness, saturation, warmth, contrast); with the
second's motion they map to a point in the valence/arousal plane (Russell's circumplex, both in
[-1, 1]):

- arousal rises with motion (saturating at ``MOTION_FOR_FULL_AROUSAL`` on the 0-255 scale),
  saturation and contrast;
- valence rises with brightness, saturation and warm colours (red over blue).

The six official classes sit at fixed points of that plane (:data:`EMOTION_PROTOTYPES`); the
probabilities are a softmax over negative squared distances to them, so every row sums to 1 and
the nearest class dominates.
"""

from __future__ import annotations

import cv2
import numpy as np

from v2m_bridge.features import EMOTION_LABELS

ANALYSIS_WIDTH_PX = 64  # colour statistics barely change below this size and cost nothing
MOTION_FOR_FULL_AROUSAL = 30.0
DISTANCE_TEMPERATURE = 0.3
# (valence, arousal) of each class.
EMOTION_PROTOTYPES: dict[str, tuple[float, float]] = {
    "exciting": (0.6, 0.7),    # pleasant, energetic
    "fearful": (-0.7, 0.7),    # unpleasant, energetic
    "tense": (-0.4, 0.3),      # unpleasant, somewhat energetic
    "sad": (-0.6, -0.6),       # unpleasant, calm
    "relaxing": (0.6, -0.6),   # pleasant, calm
    "neutral": (0.0, 0.0),     # the centre
}
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


def valence_arousal(colour_stats: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """(T, 4) colour statistics and (T,) motion → (T, 2) valence, arousal in [-1, 1]."""
    stats = np.asarray(colour_stats, dtype=np.float64).reshape(-1, len(COLOUR_STAT_NAMES))
    brightness, saturation, warmth, contrast = stats.T
    motion_level = np.clip(np.asarray(motion, dtype=np.float64) / MOTION_FOR_FULL_AROUSAL, 0, 1)
    arousal = 0.6 * motion_level + 0.25 * saturation + 0.15 * np.clip(contrast / 0.3, 0, 1)
    valence = 0.5 * brightness + 0.2 * saturation + 0.3 * (warmth + 1.0) / 2.0
    return np.clip(np.stack([2.0 * valence - 1.0, 2.0 * arousal - 1.0], axis=1), -1.0, 1.0)


def estimate_emotion(colour_stats: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """(T, 6) probabilities over EMOTION_LABELS from colour statistics and motion."""
    points = valence_arousal(colour_stats, motion)
    squared = ((points[:, None, :] - _PROTOTYPE_POINTS[None, :, :]) ** 2).sum(axis=-1)
    logits = -squared / DISTANCE_TEMPERATURE
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    probabilities = weights / weights.sum(axis=1, keepdims=True)
    return probabilities.astype(np.float32)

"""The documented colour/motion emotion estimate used when CLIP weights are missing."""

from __future__ import annotations

import numpy as np
import pytest

from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.video.fallback_emotion import estimate_emotion, frame_colour_stats


def solid_frame(bgr: tuple[int, int, int], size: tuple[int, int] = (90, 160)) -> np.ndarray:
    frame = np.empty((*size, 3), np.uint8)
    frame[:] = bgr
    return frame


def test_colour_stats_of_known_frames():
    red = frame_colour_stats(solid_frame((0, 0, 255)))
    brightness, saturation, warmth, contrast = red
    assert (brightness, saturation, warmth, contrast) == pytest.approx((1.0, 1.0, 1.0, 0.0))
    blue_warmth = frame_colour_stats(solid_frame((255, 0, 0)))[2]
    assert blue_warmth == pytest.approx(-1.0)
    grey = frame_colour_stats(solid_frame((128, 128, 128)))
    assert grey[1] == pytest.approx(0.0) and grey[2] == pytest.approx(0.0)


def test_rows_are_probabilities():
    rng = np.random.default_rng(1)
    stats = np.column_stack([rng.random(20), rng.random(20), rng.uniform(-1, 1, 20),
                             rng.random(20) * 0.5])
    emotion = estimate_emotion(stats, rng.random(20) * 80)
    assert emotion.shape == (20, 6) and emotion.dtype == np.float32
    assert np.allclose(emotion.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(emotion >= 0)


@pytest.mark.parametrize(("stats", "motion", "expected"), [
    # bright, saturated, warm, still: pleasant and calm
    ((0.9, 0.7, 0.5, 0.1), 0.0, "relaxing"),
    # bright, saturated, warm, lots of motion: pleasant and energetic
    ((0.9, 0.8, 0.5, 0.3), 40.0, "exciting"),
    # dark, grey, cold, still
    ((0.1, 0.05, -0.3, 0.05), 0.0, "sad"),
    # dark, cold, lots of motion
    ((0.1, 0.3, -0.5, 0.3), 60.0, "fearful"),
    # mid grey (the new mid brightness, 0.33), little motion
    ((0.35, 0.3, 0.0, 0.15), 6.0, "neutral"),
])
def test_dominant_class_follows_valence_and_arousal(stats, motion, expected):
    emotion = estimate_emotion(np.array([stats]), np.array([motion]))
    assert EMOTION_LABELS[int(emotion[0].argmax())] == expected


def test_more_motion_means_more_arousal():
    stats = np.array([(0.6, 0.5, 0.2, 0.2)] * 2)
    # rows are one clip's seconds and get smoothed together: score each apart
    calm = estimate_emotion(stats[:1], np.array([0.0]))[0]
    busy = estimate_emotion(stats[1:], np.array([50.0]))[0]
    high_arousal = [EMOTION_LABELS.index(name) for name in ("exciting", "fearful", "tense")]
    assert busy[high_arousal].sum() > calm[high_arousal].sum()

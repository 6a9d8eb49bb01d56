"""Velocity curve (checked against the official post-processing run) and the heuristic dynamics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shared_data import SHARED, needs_shared

from v2m_bridge.errors import FeatureError
from v2m_bridge.music.dynamics import (
    dynamics_from_regression,
    heuristic_dynamics,
    loudness_level,
    velocity_from_loudness,
)

POSTPROC = SHARED / "fixtures" / "official_amt" / "postproc_public.json"


@needs_shared(POSTPROC)
def test_loudness_level_and_velocity_match_the_official_run():
    case = json.loads(POSTPROC.read_text())["cases"]["public"]
    output = np.array(case["regression_output"])
    assert loudness_level(output[:, 1]).tolist() == case["loudness_level"]
    assert velocity_from_loudness(output[:, 1]).tolist() == case["velocity"]
    dynamics = dynamics_from_regression(output)
    assert dynamics.note_density.astype(int).tolist() == case["note_density_rounded"]
    assert dynamics.source == "regression"


def test_velocity_curve_spans_49_to_112():
    assert velocity_from_loudness(np.array([-1.0, 0.0, 0.5, 3.0])).tolist() == [49, 49, 112, 112]


def _features(seconds=10, motion=2.0, emotion_index=5):
    emotion = np.zeros((seconds, 6))
    emotion[:, emotion_index] = 1.0
    offsets = np.arange(1, seconds + 1, dtype=float)
    return np.full(seconds, motion), offsets, emotion


def test_more_motion_means_denser_and_louder():
    calm = heuristic_dynamics(*_features(motion=1.0))
    busy = heuristic_dynamics(*_features(motion=25.0))
    assert np.all(busy.note_density > calm.note_density)
    assert np.all(busy.loudness > calm.loudness)
    assert calm.source == "heuristic"


def test_exciting_is_denser_and_louder_than_relaxing():
    exciting = heuristic_dynamics(*_features(emotion_index=0))
    relaxing = heuristic_dynamics(*_features(emotion_index=4))
    assert np.all(exciting.note_density > relaxing.note_density + 5)
    assert np.all(velocity_from_loudness(exciting.loudness)
                  > velocity_from_loudness(relaxing.loudness))


def test_new_shot_lifts_density_then_decays():
    motion, _, emotion = _features(seconds=12)
    offsets = np.array([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6], dtype=float)
    dynamics = heuristic_dynamics(motion, offsets, emotion)
    assert dynamics.note_density[6] > dynamics.note_density[4]
    assert dynamics.note_density[6] > dynamics.note_density[10]


def test_heuristic_is_deterministic_and_in_range():
    rng = np.random.default_rng(3)
    motion = rng.uniform(0, 255, 40)
    emotion = rng.dirichlet(np.ones(6), 40)
    offsets = np.arange(1, 41, dtype=float)
    first = heuristic_dynamics(motion, offsets, emotion)
    second = heuristic_dynamics(motion, offsets, emotion)
    assert np.array_equal(first.note_density, second.note_density)
    assert first.note_density.min() >= 0 and first.note_density.max() <= 40
    assert first.loudness.min() >= 0 and first.loudness.max() <= 0.5


def test_bad_features_are_clear_errors():
    motion, offsets, emotion = _features()
    motion[3] = np.nan
    with pytest.raises(FeatureError, match="NaN"):
        heuristic_dynamics(motion, offsets, emotion)
    with pytest.raises(FeatureError, match="emotion must have shape"):
        heuristic_dynamics(*_features()[:2], np.ones((10, 5)) / 5)
    with pytest.raises(FeatureError, match=r"\(T, 2\)"):
        dynamics_from_regression(np.zeros((4, 3)))

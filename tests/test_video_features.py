"""The features record and the official per-second rules (sampling, scene offset, motion)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from v2m_bridge.errors import FeatureError
from v2m_bridge.features import (
    EMOTION_LABELS,
    VideoFeatures,
    check_per_second,
    one_hot_emotion,
    scene_offsets_from_cuts,
)
from v2m_bridge.video.motion import MotionMeter
from v2m_bridge.video.sampling import OneSecondSampler


def make_features(n_seconds: int = 4, **overrides) -> VideoFeatures:
    emotion = np.full((n_seconds, 6), 1 / 6, np.float32)
    fields = dict(
        source="clip.mp4", fps=25.0, duration=float(n_seconds),
        semantic=np.zeros((n_seconds, 768), np.float32), emotion=emotion,
        scene_offset=np.arange(1, n_seconds + 1, dtype=np.float32),
        motion=np.zeros(n_seconds, np.float32), cut_times=[], provenance="fallback",
    )
    fields.update(overrides)
    return VideoFeatures(**fields)


# --- scene offset (spec §1.4) -----------------------------------------------------------------

def test_scene_offsets_reset_at_the_montage_cuts():
    offsets = scene_offsets_from_cuts([5.0, 11.0, 17.0], 22)
    # Seconds 0-4 are scene 0 (offset+1 = 1..5); the cut at 5.0 s owns second 5, and so on.
    expected = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5]
    assert offsets.tolist() == expected
    assert offsets.dtype == np.float32


def test_a_cut_inside_a_second_takes_effect_at_the_next_whole_second():
    # A cut at 5.792 s: the instant 5.0 is still in the old scene, 6.0 is in the new one.
    offsets = scene_offsets_from_cuts([5.792], 8)
    assert offsets.tolist() == [1, 2, 3, 4, 5, 6, 1, 2]


def test_a_scene_shorter_than_a_second_inside_one_second_owns_no_second():
    # Scenes start at 5.2 and 5.7; only the second one contains a whole second (6).
    assert scene_offsets_from_cuts([5.2, 5.7], 8).tolist() == [1, 2, 3, 4, 5, 6, 1, 2]


def test_no_cuts_counts_up_from_one():
    assert scene_offsets_from_cuts([], 4).tolist() == [1, 2, 3, 4]


def test_timestamp_rounding_below_a_whole_second_still_resets_there():
    assert scene_offsets_from_cuts([4.9999999], 7).tolist() == [1, 2, 3, 4, 5, 1, 2]


# --- 1 fps sampling (spec §1.1) -------------------------------------------------------------

def test_sampler_keeps_one_frame_per_second_at_24_fps():
    sampler = OneSecondSampler()
    kept = [t for t in (k / 24 for k in range(720)) if sampler.accept(t)]
    assert len(kept) == 30  # ceil(30 s)
    assert np.allclose(kept, np.arange(30))


def test_sampler_drifts_like_ffmpeg_select_at_29_97_fps():
    sampler = OneSecondSampler()
    times = [k * 1001 / 30000 for k in range(150)]  # 150 frames = 5.005 s
    kept = [t for t in times if sampler.accept(t)]
    # Frame 30 is at 1.001 s, the next kept must be >= 2.002 s (frame 60), ...; 5.005 is absent.
    assert np.allclose(kept, [0, 1.001, 2.002, 3.003, 4.004])


def test_sampler_follows_timestamps_of_variable_frame_rate_video():
    sampler = OneSecondSampler()
    times = [0.0, 0.1, 0.2, 0.95, 1.0, 1.5, 4.0, 4.5, 5.0, 5.2]  # a 2.5 s frame hold
    kept = [t for t in times if sampler.accept(t)]
    assert kept == [0.0, 1.0, 4.0, 5.0]


# --- motion (spec §1.5) ---------------------------------------------------------------------

def test_motion_is_a_consecutive_frame_difference_sampled_once_per_second():
    meter = MotionMeter()
    levels = {0: 0, 1: 50, 2: 50, 3: 60}  # frame k at t = k * 0.5 s
    for k, level in levels.items():
        meter.add(np.full((4, 4, 3), level, np.uint8), k * 0.5)
    motion = meter.per_second(2)
    # t=1.0 (frame 2) vs the frame just before (t=0.5, level 50): 0, not |50-0|.
    assert motion.tolist() == [0.0, 0.0]
    meter = MotionMeter()
    for k, level in {0: 0, 1: 10, 2: 40}.items():
        meter.add(np.full((4, 4, 3), level, np.uint8), k * 0.5)
    assert meter.per_second(2).tolist() == [0.0, 30.0]


def test_motion_of_a_second_without_frames_stays_zero():
    meter = MotionMeter()
    for t, level in [(0.0, 0), (0.5, 10), (3.0, 90)]:
        meter.add(np.full((2, 2, 3), level, np.uint8), t)
    assert meter.per_second(4).tolist() == [0.0, 0.0, 0.0, 80.0]


# --- the record -----------------------------------------------------------------------------

def test_record_converts_to_float32_and_counts_seconds():
    features = make_features(5, motion=np.arange(5, dtype=np.float64))
    assert features.n_seconds == 5
    assert features.motion.dtype == np.float32


@pytest.mark.parametrize(("name", "value", "message"), [
    ("semantic", np.zeros((4, 512)), "semantic must have shape"),
    ("emotion", np.zeros((3, 6)), "emotion must have shape"),
    ("motion", np.array([0, 1, np.nan, 2]), "NaN or infinite"),
    ("semantic", np.full((4, 768), np.inf), "NaN or infinite"),
    ("emotion", np.full((4, 6), 0.5), "probabilities"),
    ("scene_offset", np.array([0, 1, 2, 3]), r"\+1 convention"),
    ("motion", np.array([0, 300, 1, 1]), "0-255"),
    ("provenance", "guess", "provenance"),
    ("cut_times", [3.0, 1.0], "increasing"),
    ("duration", float("nan"), "duration"),
])
def test_record_rejects_inconsistent_values(name, value, message):
    with pytest.raises(FeatureError, match=message):
        make_features(4, **{name: value})


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    emotion = rng.random((4, 6)).astype(np.float32)
    emotion /= emotion.sum(axis=1, keepdims=True)
    original = make_features(
        4, semantic=rng.normal(size=(4, 768)), emotion=emotion, cut_times=[2.0],
        scene_offset=np.array([1, 2, 1, 2]), motion=np.array([0, 3.5, 40, 2]),
        provenance="clip", settings={"detector": "adaptive"})
    loaded = VideoFeatures.load(original.save(tmp_path / "f.npz"))
    for name in ("semantic", "emotion", "scene_offset", "motion"):
        assert np.array_equal(getattr(loaded, name), getattr(original, name))
    assert (loaded.cut_times, loaded.provenance, loaded.settings, loaded.fps) == \
        ([2.0], "clip", {"detector": "adaptive"}, 25.0)


def test_load_refuses_other_files(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not numpy")
    with pytest.raises(FeatureError, match="not a v2m-bridge features file"):
        VideoFeatures.load(text)
    other = tmp_path / "other.npz"
    np.savez(other, semantic=np.zeros((1, 768)))
    with pytest.raises(FeatureError):
        VideoFeatures.load(other)


def test_load_refuses_another_format_version(tmp_path):
    path = make_features().save(tmp_path / "f.npz")
    with np.load(path) as data:
        arrays = dict(data)
    metadata = json.loads(str(arrays["metadata"]))
    metadata["format_version"] = 999
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(path, **arrays)
    with pytest.raises(FeatureError, match="format version 999"):
        VideoFeatures.load(path)


def test_scene_segments_report_the_dominant_emotion_of_each_scene():
    emotion = np.zeros((5, 6), np.float32)
    emotion[:3, EMOTION_LABELS.index("sad")] = 1
    emotion[3:, EMOTION_LABELS.index("exciting")] = 1
    features = make_features(5, emotion=emotion, scene_offset=np.array([1, 2, 3, 1, 2]),
                             cut_times=[3.0])
    segments = [(s.start_second, s.end_second, s.dominant_emotion)
                for s in features.scene_segments()]
    assert segments == [(0, 3, "sad"), (3, 5, "exciting")]


# --- the shared per-second conventions ------------------------------------------------------

def test_whole_second_cuts_restart_the_offset_and_a_cut_at_zero_changes_nothing():
    assert scene_offsets_from_cuts([0, 3, 5], 7).tolist() == [1, 2, 3, 1, 2, 1, 2]
    assert scene_offsets_from_cuts([3, 5], 7).tolist() == [1, 2, 3, 1, 2, 1, 2]


def test_one_hot_emotion_follows_the_column_order():
    assert one_hot_emotion("sad").tolist() == [0, 0, 0, 1, 0, 0]
    assert one_hot_emotion("neutral")[EMOTION_LABELS.index("neutral")] == 1.0


def test_check_per_second_ranges_and_lengths_are_optional():
    loose = {"emotion": np.zeros((3, 6)), "motion": np.full(2, 300.0)}
    checked = check_per_second(loose, same_length=False)
    assert checked["emotion"].dtype == np.float32 and set(checked) == {"emotion", "motion"}
    with pytest.raises(FeatureError, match="same seconds"):
        check_per_second(loose)
    with pytest.raises(FeatureError, match="probabilities"):
        check_per_second(loose, same_length=False, ranges=True)
    assert check_per_second({"semantic": None}) == {}


def test_the_live_second_record_is_checked_too():
    from v2m_bridge.daemon.live_frames import SecondFeatures

    with pytest.raises(FeatureError, match="probabilities"):
        SecondFeatures(0, 1.0, np.full(6, 0.5), np.zeros(768, np.float32), 1)
    with pytest.raises(FeatureError, match="semantic must have shape"):
        SecondFeatures(0, 1.0, np.full(6, 1 / 6), np.zeros(10, np.float32), 1)

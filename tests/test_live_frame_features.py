"""Live frame features (the Max patch's Jitter features, computed with OpenCV): exact values on
synthetic frames, the cut rule, real videos with known cuts, bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from v2m_bridge.errors import V2MError
from v2m_bridge.osc.frame_features import (
    CUT_MOTION_THRESHOLD,
    MIN_CUT_GAP_S,
    FrameFeatureMeter,
    FrameFeatures,
    iter_video_frame_features,
)

FPS = 25
SIZE = (360, 640)  # height, width: 10x the 64x36 feature size


def solid(blue: int, green: int, red: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    frame = np.empty((*size, 3), dtype=np.uint8)
    frame[...] = (blue, green, red)
    return frame


def luma_of(blue: float, green: float, red: float) -> float:
    return (0.299 * red + 0.587 * green + 0.114 * blue) / 255


def run_meter(frames: list[np.ndarray], fps: float = FPS) -> list[FrameFeatures]:
    meter = FrameFeatureMeter()
    return [meter.add(frame, index / fps) for index, frame in enumerate(frames)]


def cut_times(features: list[FrameFeatures]) -> list[float]:
    return [f.media_time for f in features if f.cut == 1.0]


def test_solid_frames_give_exact_luma_colour_and_motion():
    first, second = run_meter([solid(50, 100, 200), solid(10, 20, 30)])
    assert first == FrameFeatures(0.0, pytest.approx(luma_of(50, 100, 200), abs=1e-6), 0.0,
                                  pytest.approx(200 / 255), pytest.approx(100 / 255),
                                  pytest.approx(50 / 255), 0.0)
    assert second.media_time == pytest.approx(1 / FPS)
    assert (second.r, second.g, second.b) == pytest.approx((30 / 255, 20 / 255, 10 / 255))
    expected_motion = luma_of(50, 100, 200) - luma_of(10, 20, 30)
    assert second.motion == pytest.approx(expected_motion, abs=1e-6)
    assert second.cut == (1.0 if expected_motion >= CUT_MOTION_THRESHOLD else 0.0)


def test_white_and_black_stay_within_0_and_1():
    white, black = run_meter([solid(255, 255, 255), solid(0, 0, 0)])
    assert white.as_osc_args() == (0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0)
    assert black.as_osc_args() == (1 / FPS, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def test_textured_frame_matches_full_resolution_means():
    """Area downsampling by an integer factor keeps the means (up to uint8 rounding)."""
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, size=(*SIZE, 3), dtype=np.uint8)
    [features] = run_meter([frame])
    blue, green, red = (frame[..., i].astype(np.float64).mean() for i in range(3))
    assert features.luma == pytest.approx(luma_of(blue, green, red), abs=0.5 / 255)
    assert (features.r, features.g, features.b) == pytest.approx(
        (red / 255, green / 255, blue / 255), abs=0.5 / 255)


def test_motion_is_the_mean_luma_difference_of_the_downsampled_frames():
    left = solid(0, 0, 0)
    left[:, : SIZE[1] // 2] = 255  # left half white
    right = left[:, ::-1].copy()  # right half white: every pixel's luma changes by 255
    quarter = solid(0, 0, 0)
    quarter[:, : SIZE[1] // 4] = 255  # a quarter of the pixels white
    features = run_meter([left, right, quarter])
    assert [f.motion for f in features] == pytest.approx([0.0, 1.0, 0.75], abs=1e-6)


def test_hard_cut_is_flagged_once_and_only_on_the_cut_frame():
    frames = [solid(30, 40, 50)] * FPS + [solid(200, 190, 180)] * FPS
    features = run_meter(frames)
    assert cut_times(features) == [pytest.approx(1.0)]
    assert features[FPS].motion > CUT_MOTION_THRESHOLD


def test_second_cut_within_the_minimum_gap_is_suppressed():
    dark, bright = solid(20, 20, 20), solid(220, 220, 220)
    frames = [dark] * 10 + [bright] * 10 + [dark] * 14 + [bright] * 5
    features = run_meter(frames)
    # changes at 0.40 s (cut), 0.80 s (0.40 s after it: suppressed), 1.36 s (0.96 s: cut)
    assert 0.8 - 0.4 < MIN_CUT_GAP_S <= 1.36 - 0.4
    assert features[20].motion > CUT_MOTION_THRESHOLD
    assert cut_times(features) == pytest.approx([0.4, 1.36])


def test_fades_and_dissolves_are_not_cuts():
    black, white = solid(0, 0, 0), solid(255, 255, 255)
    red, blue = solid(0, 0, 255), solid(255, 0, 0)
    fade = [(black * (1 - a) + white * a).astype(np.uint8) for a in np.linspace(0, 1, FPS)]
    dissolve = [(red * (1 - a) + blue * a).astype(np.uint8) for a in np.linspace(0, 1, FPS // 2)]
    for clip in ([*fade, *fade[::-1]], dissolve):
        features = run_meter(clip)
        assert cut_times(features) == []
        assert max(f.motion for f in features) > 0.015  # they did change


def test_reset_forgets_the_previous_frame_and_cut():
    meter = FrameFeatureMeter()
    meter.add(solid(0, 0, 0), 0.0)
    assert meter.add(solid(255, 255, 255), 0.1).cut == 1.0
    meter.reset()
    after_reset = meter.add(solid(0, 0, 0), 0.2)
    assert (after_reset.motion, after_reset.cut) == (0.0, 0.0)
    assert meter.add(solid(255, 255, 255), 0.3).cut == 1.0  # no gap remembered from 0.1


@pytest.mark.parametrize("frame", [
    np.zeros((36, 64), np.uint8), np.zeros((36, 64, 4), np.uint8),
    np.zeros((36, 64, 3), np.float32), np.zeros((0, 64, 3), np.uint8), [[1, 2, 3]]])
def test_frames_of_the_wrong_shape_or_type_are_refused(frame):
    with pytest.raises(ValueError, match="expected a"):
        FrameFeatureMeter().add(frame, 0.0)


def test_non_finite_media_time_is_refused():
    with pytest.raises(ValueError, match="media_time"):
        FrameFeatureMeter().add(solid(0, 0, 0), math.nan)


def test_montage_cuts_are_found_at_5_11_17_seconds_and_nowhere_else(videos):
    features = list(iter_video_frame_features(videos / "montage_cc0_4shots.mp4"))
    assert len(features) == 22 * 25
    times = [f.media_time for f in features]
    assert times[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(times))
    assert times[-1] == pytest.approx(21.96, abs=1e-3)
    found = cut_times(features)
    assert len(found) == 3
    for cut, expected in zip(found, (5.0, 11.0, 17.0), strict=True):
        assert abs(cut - expected) <= 0.2
    for f in features:
        assert all(0.0 <= value <= 1.0 for value in f.as_osc_args()[1:])


def test_handheld_drift_and_zoom_give_no_cut(videos):
    features = list(iter_video_frame_features(videos / "crystal.mp4"))
    assert len(features) > 300
    assert cut_times(features) == []
    assert max(f.motion for f in features) < CUT_MOTION_THRESHOLD / 2


def test_max_seconds_stops_before_that_media_time(videos):
    features = list(iter_video_frame_features(videos / "montage_cc0_4shots.mp4", max_seconds=2))
    assert len(features) == 50
    assert features[-1].media_time < 2.0


def test_missing_file_fails_at_the_call(tmp_path):
    with pytest.raises(V2MError, match="not found"):
        iter_video_frame_features(tmp_path / "nope.mp4")


def test_text_file_named_mp4_is_not_a_video(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    with pytest.raises(V2MError, match="cannot be opened as a video"):
        iter_video_frame_features(fake)


@pytest.mark.parametrize("max_seconds", [0, -1, math.nan, math.inf])
def test_bad_max_seconds_is_refused(videos, max_seconds):
    with pytest.raises(V2MError, match="max_seconds"):
        iter_video_frame_features(videos / "flower.mp4", max_seconds=max_seconds)

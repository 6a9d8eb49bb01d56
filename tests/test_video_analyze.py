"""analyze_video on the real test videos, on bad input, with the cache and with a (tiny) CLIP."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from shared_data import VIDEOS, needs_shared

from v2m_bridge.errors import V2MError
from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.video import VideoFeatures, analyze_video
from v2m_bridge.video import analyze as analyze_module
from v2m_bridge.video.decode import VideoInputError, decode_video

MONTAGE = VIDEOS / "montage_cc0_4shots.mp4"
needs_videos = needs_shared(MONTAGE)
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


@pytest.fixture(scope="module")
def fallback_analysis():
    """Analyse each real video once, without CLIP weights and without the cache."""
    results: dict[str, VideoFeatures] = {}

    def run(name: str, detector: str = "adaptive") -> VideoFeatures:
        if (name, detector) not in results:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(analyze_module, "find_clip_weights", lambda explicit=None: None)
                results[(name, detector)] = analyze_video(VIDEOS / name, detector=detector,
                                                          use_cache=False)
        return results[(name, detector)]

    return run


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No CLIP weights, and a private feature cache."""
    monkeypatch.setattr(analyze_module, "find_clip_weights", lambda explicit=None: None)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def write_video(path: Path, n_frames: int, fps: float, size=(64, 48), fourcc="mp4v",
                levels=None) -> Path:
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    for k in range(n_frames):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[:] = levels[k] if levels is not None else (k * 7) % 256
        writer.write(frame)
    writer.release()
    return path


# --- the real videos (cut times from shared/data/videos/README.md) ----------------------------

@needs_videos
def test_montage_scene_offsets_reset_at_the_known_cuts(fallback_analysis):
    features = fallback_analysis(MONTAGE.name)
    assert features.cut_times == pytest.approx([5.0, 11.0, 17.0], abs=0.01)
    assert features.n_seconds == 22 and features.duration == pytest.approx(22.0)
    assert np.flatnonzero(features.scene_offset == 1).tolist() == [0, 5, 11, 17]
    assert features.scene_offset[4] == 5 and features.scene_offset[16] == 6


@needs_videos
def test_montage_motion_follows_the_official_definition(fallback_analysis):
    motion = fallback_analysis(MONTAGE.name).motion
    assert motion[0] == 0
    # The frames sampled at seconds 5, 11 and 17 are the first of a new shot, so the
    # consecutive-frame difference jumps there and nowhere else.
    jumps = set(np.flatnonzero(motion > 5 * np.median(motion)).tolist())
    assert jumps == {5, 11, 17}


@needs_videos
def test_fallback_features_are_labelled_and_well_formed(fallback_analysis):
    features = fallback_analysis(MONTAGE.name)
    assert features.provenance == "fallback"
    assert not features.semantic.any()
    assert np.allclose(features.emotion.sum(axis=1), 1.0, atol=1e-5)
    assert features.settings["detector"] == "adaptive"
    assert features.settings["clip_model"] == "none"


@needs_videos
def test_crystal_has_no_cut_despite_camera_motion(fallback_analysis):
    features = fallback_analysis("crystal.mp4")
    assert features.cut_times == []
    assert features.scene_offset.tolist() == list(range(1, 13))  # 11.97 s → 12 seconds
    assert features.motion[1:].min() > 0  # the handheld camera moves all the time


@needs_videos
def test_big_buck_bunny_cuts_including_adaptives_fade_in_cut(fallback_analysis):
    features = fallback_analysis("bbb_0_30.webm")
    # 1.292 is AdaptiveDetector's (official) false cut during the fade-in from black.
    assert features.cut_times == pytest.approx([1.292, 5.792, 11.792, 15.667, 22.958], abs=0.05)
    assert features.n_seconds == 30
    # A cut at 5.79 s makes second 6 the first whole second of the new scene.
    assert np.flatnonzero(features.scene_offset == 1).tolist() == [0, 2, 6, 12, 16, 23]


@needs_videos
def test_content_detector_is_an_option(fallback_analysis):
    # ContentDetector misses 17.0 (both shots are brownish wood tables), see the README.
    assert fallback_analysis(MONTAGE.name, "content").cut_times == pytest.approx([5.0, 11.0])


@needs_videos
def test_progress_reports_increasing_fractions_and_finishes(isolated):
    calls = []
    analyze_video(MONTAGE, use_cache=False, progress=lambda f, stage: calls.append((f, stage)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] >= 0 and len(calls) > 10
    assert calls[-1] == (1.0, "done")
    assert {stage for _, stage in calls} >= {"decode", "done"}


# --- bad input ------------------------------------------------------------------------------

def test_missing_path(tmp_path):
    with pytest.raises(VideoInputError, match="not found"):
        analyze_video(tmp_path / "nope.mp4", use_cache=False)


def test_directory(tmp_path):
    with pytest.raises(VideoInputError, match="is a directory"):
        analyze_video(tmp_path, use_cache=False)


def test_text_file(isolated):
    text = isolated / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoInputError, match="cannot be opened as a video"):
        analyze_video(text, use_cache=False)


def test_empty_file(isolated):
    empty = isolated / "empty.mp4"
    empty.touch()
    with pytest.raises(VideoInputError, match="empty"):
        analyze_video(empty, use_cache=False)


@pytest.mark.parametrize(("name", "fourcc", "message"), [
    ("zero.mp4", "mp4v", "cannot be opened as a video"),  # header only, no stream info
    ("zero.avi", "MJPG", "no decodable video frames"),  # opens, but has nothing to read
])
def test_zero_frame_video(isolated, name, fourcc, message):
    path = write_video(isolated / name, 0, 10)
    if not path.exists() or path.stat().st_size == 0:
        pytest.skip("this OpenCV build writes no file for zero frames")
    with pytest.raises(VideoInputError, match=message):
        analyze_video(path, use_cache=False)


@needs_videos
def test_truncated_file_gives_the_decodable_part_and_says_so(isolated, caplog):
    truncated = isolated / "cut.mp4"
    truncated.write_bytes(MONTAGE.read_bytes()[: int(MONTAGE.stat().st_size * 0.4)])
    with caplog.at_level(logging.WARNING, logger="v2m_bridge.video.decode"):
        features = analyze_video(truncated, use_cache=False)
    assert 1 <= features.n_seconds < 22
    assert "incomplete_decode" in features.settings
    assert "truncated" in caplog.text


def test_video_shorter_than_one_second(isolated):
    features = analyze_video(write_video(isolated / "short.mp4", 5, 10), use_cache=False)
    assert features.n_seconds == 1
    assert features.motion.tolist() == [0.0] and features.scene_offset.tolist() == [1.0]
    assert features.duration == pytest.approx(0.5)


def test_video_longer_than_300_seconds_is_not_truncated(isolated):
    path = write_video(isolated / "long.avi", 2 * 301, 2, size=(16, 16), fourcc="MJPG")
    features = analyze_video(path, use_cache=False)
    assert features.n_seconds == 301  # frames at 0, 0.5, ..., 300.5 s
    assert features.emotion.shape == (301, 6) and features.semantic.shape == (301, 768)


@needs_ffmpeg
def test_rotation_metadata_is_applied_to_the_frames(isolated):
    plain = write_video(isolated / "plain.mp4", 12, 10, size=(64, 32))
    rotated = isolated / "rotated.mp4"
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(plain), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(rotated)], check=True)
    shapes = []
    decode_video(rotated, on_sample=lambda frame, second: shapes.append(frame.shape))
    assert shapes == [(64, 32, 3), (64, 32, 3)]  # displayed upright: 32 wide, 64 high


@needs_ffmpeg
def test_variable_frame_rate_video_is_sampled_by_timestamp(isolated):
    source = write_video(isolated / "cfr.mp4", 20, 10)
    vfr = isolated / "vfr.mkv"
    # Frames 0-9 at 10 fps, then one frame every 0.7 s: 0.0 … 0.9, 1.0, 1.7, 2.4, 3.1, ...
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(source), "-vf",
                    "setpts='if(lt(N,10),N*0.1,1+(N-10)*0.7)/TB'", "-fps_mode", "vfr",
                    "-c:v", "mjpeg", str(vfr)], check=True)
    times = []
    decode_video(vfr, on_sample=lambda frame, second: times.append(second))
    features = analyze_video(vfr, use_cache=False)
    # Kept: 0.0, 1.0, then first frame >= 2.0 (2.4), >= 3.4 (3.8), >= 4.8 (5.2), >= 6.2 (6.6),
    # >= 7.6 (none: the last frame is at 7.3).
    assert features.n_seconds == len(times) == 6


def test_unknown_detector_is_a_clear_error(isolated):
    with pytest.raises(V2MError, match="unknown scene detector"):
        analyze_video(write_video(isolated / "a.mp4", 3, 10), detector="magic", use_cache=False)


# --- cache ----------------------------------------------------------------------------------

def test_second_analysis_comes_from_the_cache(isolated, monkeypatch):
    video = write_video(isolated / "a.mp4", 25, 10)
    first = analyze_video(video)
    assert len(list((isolated / "cache").glob("*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(analyze_module, "decode_video", no_decoding)
    copy = shutil.copy(video, isolated / "b.mp4")  # same content, other name: still a hit
    second = analyze_video(copy)
    assert second.source == str(copy)
    assert np.array_equal(second.motion, first.motion)
    assert second.scene_offset.tolist() == first.scene_offset.tolist()


def test_cache_key_includes_the_settings_and_can_be_bypassed(isolated):
    video = write_video(isolated / "a.mp4", 25, 10)
    analyze_video(video, use_cache=False)
    assert not (isolated / "cache").exists()
    analyze_video(video)
    analyze_video(video, detector="content")
    assert len(list((isolated / "cache").glob("*.npz"))) == 2


def test_a_corrupt_cache_entry_is_replaced(isolated):
    video = write_video(isolated / "a.mp4", 25, 10)
    analyze_video(video)
    (entry,) = (isolated / "cache").glob("*.npz")
    entry.write_text("garbage")
    features = analyze_video(video)
    assert features.n_seconds == 3
    assert VideoFeatures.load(entry).n_seconds == 3


# --- the CLIP path, with a tiny model standing in for ViT-L-14-336 ---------------------------

@needs_videos
def test_clip_path_gives_semantic_and_emotion_per_second(tmp_path, monkeypatch):
    import open_clip
    import torch

    from v2m_bridge.video.clip_features import CLIP_MODEL_NAME, ClipEncoder

    torch.manual_seed(0)
    tiny = open_clip.CLIP(
        embed_dim=768,
        vision_cfg=dict(image_size=336, layers=1, width=64, patch_size=48, head_width=32),
        text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=1))
    encoder = ClipEncoder(tiny, open_clip.get_tokenizer(CLIP_MODEL_NAME), "cpu", batch_size=4)
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"stand-in")
    monkeypatch.setattr(analyze_module, "build_clip_encoder", lambda weights, device: encoder)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    features = analyze_video(MONTAGE, clip_weights=weights)
    assert features.provenance == "clip"
    assert features.semantic.shape == (22, 768) and features.semantic.any()
    assert np.allclose(features.emotion.sum(axis=1), 1.0, atol=1e-4)
    assert features.settings["clip_model"] == CLIP_MODEL_NAME
    assert str(weights.resolve()) in features.settings["clip_weights"]
    assert len(EMOTION_LABELS) == features.emotion.shape[1]


def test_named_weights_that_do_not_load_are_an_error_not_a_silent_fallback(tmp_path,
                                                                          monkeypatch):
    from v2m_bridge.video.clip_features import ClipWeightsError

    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    video = write_video(tmp_path / "a.mp4", 5, 10)
    bad = tmp_path / "weights.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(ClipWeightsError, match="not a PyTorch"):
        analyze_video(video, clip_weights=bad)
    with pytest.raises(ClipWeightsError, match="not found"):
        analyze_video(video, clip_weights=tmp_path / "missing.pt")

"""MuVi-Sync dataset export and the ``analyze`` / ``export-dataset`` commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shared_data import VIDEOS, needs_shared

import v2m_bridge.cli as top_cli
from v2m_bridge.data.muvi_sync import ExportError, export_dataset, find_videos
from v2m_bridge.video import VideoFeatures, analyze_video
from v2m_bridge.video import analyze as analyze_module

MONTAGE = VIDEOS / "montage_cc0_4shots.mp4"
pytestmark = needs_shared(MONTAGE)


@pytest.fixture
def no_clip(tmp_path, monkeypatch):
    monkeypatch.setattr(analyze_module, "find_clip_weights", lambda explicit=None: None)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def video_folder(tmp_path) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "b_montage.mp4").symlink_to(MONTAGE)
    (folder / "a_flower.mp4").symlink_to(VIDEOS / "flower.mp4")
    (folder / "readme.txt").write_text("not a video")
    return folder


def test_export_writes_the_muvi_sync_layout(no_clip, video_folder):
    root = no_clip / "dataset"
    ids = export_dataset(find_videos(video_folder), root, analyze_video, allow_fallback=True)
    assert ids == ["001", "002"]  # file-name order: a_flower, b_montage; the .txt is skipped
    semantic = np.load(root / "vevo_semantic/all/2d/clip_l14p/002.npy")
    assert semantic.shape == (22, 768) and semantic.dtype == np.float32
    emotion_lines = (root / "vevo_emotion/6c_l14p/all/002.lab").read_text().splitlines()
    assert emotion_lines[0] == ("time exciting_prob fearful_prob tense_prob sad_prob "
                                "relaxing_prob neutral_prob")
    emotion = np.loadtxt(emotion_lines[1:])
    assert emotion.shape == (22, 7) and emotion[:, 0].tolist() == list(range(22))
    assert np.allclose(emotion[:, 1:].sum(axis=1), 1.0, atol=5e-4)  # %.4f rounding
    offsets = np.loadtxt(root / "vevo_scene_offset/all/002.lab")
    # Raw offsets (the official loader adds 1): 0 at the first second of each scene.
    assert np.flatnonzero(offsets[:, 1] == 0).tolist() == [0, 5, 11, 17]
    motion = np.loadtxt(root / "vevo_motion/all/002.lab")
    assert motion.shape == (22, 2) and motion[0, 1] == 0
    assert (root / "vevo_meta/idlist.txt").read_text().splitlines() == [
        "001-a_flower\ta_flower.mp4", "002-b_montage\tb_montage.mp4"]


def test_export_refuses_fallback_features_unless_allowed(no_clip, video_folder):
    with pytest.raises(ExportError, match="without CLIP weights"):
        export_dataset(find_videos(video_folder), no_clip / "dataset", analyze_video)


def test_a_folder_without_videos_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ExportError, match="no video files"):
        find_videos(tmp_path)
    with pytest.raises(ExportError, match="not a folder"):
        find_videos(tmp_path / "notes.txt")


def run_cli(monkeypatch, *argv: str) -> int:
    return top_cli.main(list(argv))


def test_analyze_command_prints_a_summary_and_writes_features(no_clip, monkeypatch, capsys):
    output = no_clip / "montage.npz"
    assert run_cli(monkeypatch, "analyze", str(MONTAGE), "-o", str(output), "--no-cache") == 0
    printed = capsys.readouterr().out
    assert "22.00 s at 25 fps, 22 seconds of features" in printed
    assert "cuts (3): 5.00 11.00 17.00" in printed
    assert "provenance: fallback" in printed
    scene_lines = [line for line in printed.splitlines() if line.startswith("  ")]
    assert [line.split()[0] for line in scene_lines] == ["0-5", "5-11", "11-17", "17-22"]
    assert VideoFeatures.load(output).n_seconds == 22
    assert not (no_clip / "cache").exists()


def test_analyze_command_reports_bad_input_without_a_traceback(no_clip, monkeypatch, capsys):
    assert run_cli(monkeypatch, "analyze", str(no_clip / "missing.mp4")) == 1
    assert "v2m-bridge analyze: error: video file not found" in capsys.readouterr().err


def test_export_command(no_clip, video_folder, monkeypatch, capsys):
    root = no_clip / "dataset"
    assert run_cli(monkeypatch, "export-dataset", str(video_folder), str(root),
                   "--allow-fallback", "--detector", "content") == 0
    assert "exported 2 video(s)" in capsys.readouterr().out
    assert (root / "vevo_motion/all/001.lab").is_file()
    assert run_cli(monkeypatch, "export-dataset", str(video_folder), str(root)) == 1
    assert "without CLIP weights" in capsys.readouterr().err

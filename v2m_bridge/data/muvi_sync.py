"""Write features of a folder of videos in the MuVi-Sync layout (spec §4), for training.

Per video id (``001``, ``002``, ... in file-name order) this writes the four video-feature files the
official dataset loader reads::

    vevo_semantic/all/2d/clip_l14p/<id>.npy   (T, 768) float32
    vevo_emotion/6c_l14p/all/<id>.lab         header + "<sec> p0 .. p5" (%.4f)
    vevo_motion/all/<id>.lab                  "<sec> <motion>" (%.4f)
    vevo_scene_offset/all/<id>.lab            "<sec> <offset>" raw offset (the loader adds 1)

plus ``vevo_meta/idlist.txt`` (``<id>-<title>\\t<file name>``) and ``vevo_meta/v2m_features.json``
(source, provenance and settings of each id). The music targets (chords, loudness, note
density) come from the music, not the video, so they are not written here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from v2m_bridge.errors import V2MError
from v2m_bridge.features import EMOTION_LABELS, VideoFeatures

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg"})
SEMANTIC_DIR = Path("vevo_semantic/all/2d/clip_l14p")
EMOTION_DIR = Path("vevo_emotion/6c_l14p/all")
MOTION_DIR = Path("vevo_motion/all")
SCENE_OFFSET_DIR = Path("vevo_scene_offset/all")
META_DIR = Path("vevo_meta")
EMOTION_HEADER = "time " + " ".join(f"{label}_prob" for label in EMOTION_LABELS)


class ExportError(V2MError):
    """A dataset export that cannot proceed (no videos, fallback features not allowed...)."""


def find_videos(folder: Path) -> list[Path]:
    """Video files directly inside ``folder``, sorted by name."""
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder; expected a folder of video files")
    videos = sorted(p for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise ExportError(f"no video files ({', '.join(sorted(VIDEO_SUFFIXES))}) in {folder}")
    return videos


def write_muvi_sync(features: VideoFeatures, root: Path, video_id: str) -> None:
    """Write one video's four feature files under ``root``."""
    seconds = np.arange(features.n_seconds)
    for directory in (SEMANTIC_DIR, EMOTION_DIR, MOTION_DIR, SCENE_OFFSET_DIR):
        (root / directory).mkdir(parents=True, exist_ok=True)
    np.save(root / SEMANTIC_DIR / f"{video_id}.npy", features.semantic.astype(np.float32))
    emotion_lines = [EMOTION_HEADER] + [
        f"{s} " + " ".join(f"{p:.4f}" for p in row) for s, row in zip(seconds, features.emotion,
                                                                      strict=True)]
    _write_lines(root / EMOTION_DIR / f"{video_id}.lab", emotion_lines)
    _write_lines(root / MOTION_DIR / f"{video_id}.lab",
                 [f"{s} {m:.4f}" for s, m in zip(seconds, features.motion, strict=True)])
    _write_lines(root / SCENE_OFFSET_DIR / f"{video_id}.lab",
                 [f"{s} {round(o) - 1}" for s, o in zip(seconds, features.scene_offset,
                                                              strict=True)])


def export_dataset(
    videos: Iterable[Path],
    root: Path,
    analyze: Callable[[Path], VideoFeatures],
    *,
    allow_fallback: bool = False,
) -> list[str]:
    """Analyse each video with ``analyze`` and write it under ``root``; returns the ids written.

    Fallback features have all-zero semantic vectors, useless for training, so they are refused
    unless ``allow_fallback``.
    """
    videos = list(videos)
    width = max(3, len(str(len(videos))))
    manifest: dict[str, dict] = {}
    id_lines = []
    for index, video in enumerate(videos, start=1):
        video_id = f"{index:0{width}d}"
        features = analyze(video)
        if features.provenance != "clip" and not allow_fallback:
            raise ExportError(
                f"{video} was analysed without CLIP weights (fallback features, semantic = 0); "
                "provide CLIP weights or pass allow_fallback / --allow-fallback")
        write_muvi_sync(features, root, video_id)
        id_lines.append(f"{video_id}-{video.stem}\t{video.name}")
        manifest[video_id] = {"source": str(video), "provenance": features.provenance,
                              "seconds": features.n_seconds, "duration": features.duration,
                              "cut_times": features.cut_times, "settings": features.settings}
        logger.info("exported %s as %s (%d s, %s)", video.name, video_id, features.n_seconds,
                    features.provenance)
    (root / META_DIR).mkdir(parents=True, exist_ok=True)
    _write_lines(root / META_DIR / "idlist.txt", id_lines)
    (root / META_DIR / "v2m_features.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return list(manifest)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")

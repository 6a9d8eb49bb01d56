"""Helpers of the batch tests: short clips cut from the shared videos, and a tiny CLIP that Ray
workers can build (this module is importable by them: the test cluster puts tests/ on their
PYTHONPATH)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# (source video, start second): 11 distinct clips of two seconds, 160 px wide.
CLIP_SOURCES = [("montage_cc0_4shots.mp4", 0), ("montage_cc0_4shots.mp4", 4),
                ("montage_cc0_4shots.mp4", 9), ("montage_cc0_4shots.mp4", 14),
                ("bbb_0_30.webm", 0), ("bbb_0_30.webm", 10), ("bbb_0_30.webm", 20),
                ("crystal.mp4", 0), ("crystal.mp4", 6), ("flower.mp4", 0), ("friday.mp4", 0)]
CORRUPT = "clip99_corrupt.mp4"
DUPLICATE = "zz_same_as_clip01.mp4"
NOT_A_VIDEO = "notes.txt"


def cut_clip(source: Path, start: float, seconds: float, target: Path, width: int = 160) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(seconds), "-i",
                    str(source), "-vf", f"scale={width}:-2", "-an", "-c:v", "libx264",
                    "-preset", "ultrafast", str(target)], check=True, timeout=120)
    return target


def make_clip_folder(videos: Path, folder: Path) -> Path:
    """11 clips, a duplicate of the first under another name, a corrupt .mp4 and a text file."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, (name, start) in enumerate(CLIP_SOURCES, start=1):
        cut_clip(videos / name, start, 2, folder / f"clip{number:02d}.mp4")
    shutil.copyfile(folder / "clip01.mp4", folder / DUPLICATE)
    (folder / CORRUPT).write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    (folder / NOT_A_VIDEO).write_text("not a video\n")
    return folder


class TinyClip:
    """A tiny randomly initialised open_clip model in a ClipEncoder (batch size 4), the same
    every time it is built (seeded), so separate processes get the same numbers."""

    batch_size = 4

    def __call__(self):
        import open_clip
        import torch

        from v2m_bridge.video.clip_features import CLIP_MODEL_NAME, ClipEncoder

        torch.manual_seed(0)
        model = open_clip.CLIP(
            embed_dim=768,
            vision_cfg=dict(image_size=336, layers=1, width=64, patch_size=48, head_width=32),
            text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=1))
        return ClipEncoder(model, open_clip.get_tokenizer(CLIP_MODEL_NAME), "cpu",
                           batch_size=self.batch_size)


class BrokenClip:
    """A CLIP factory whose weights do not load."""

    def __call__(self):
        from v2m_bridge.video.clip_features import ClipWeightsError

        raise ClipWeightsError("stand-in weights do not load")

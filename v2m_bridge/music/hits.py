"""Hit points: the picture's cuts as musical data (strength, beat position, frames off).

Cut detection gives times only, so each cut's **strength** is derived from the per-second motion
(mean absolute luma change between the 1 fps samples, 0..255) around it: the bigger the picture
change across the cut, the stronger the cut. Strengths are scaled to 0.3..1 within a video, so
the tempo fit weighs clear cuts more without ignoring subtle ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from v2m_bridge.music.tempo_fit import CutScore
from v2m_bridge.music.tempo_map import TempoMap

MIN_STRENGTH = 0.3


def cut_strengths(cut_times: Sequence[float], motion: np.ndarray) -> list[float]:
    """A 0.3..1 strength per cut from the motion of the seconds on either side of it."""
    values = np.asarray(motion, dtype=np.float64)
    raw = []
    for cut in cut_times:
        second = math.floor(cut)
        around = [values[s] for s in (second, second + 1) if 0 <= s < values.size]
        raw.append(max(around, default=0.0))
    top = max(raw, default=0.0)
    if top <= 0:
        return [1.0] * len(raw)
    return [round(MIN_STRENGTH + (1 - MIN_STRENGTH) * value / top, 3) for value in raw]


def hit_label(cut: CutScore, tempo_map: TempoMap) -> str:
    """Where the cut sits: its beat ("9.1") for hits and near misses, else its exact position
    ("9.2.37")."""
    return tempo_map.bar_beat_label(cut.nearest_beat if cut.kind != "miss" else cut.beat)


def marker_text(cut: CutScore, tempo_map: TempoMap) -> str:
    """The MIDI marker of a cut: ``cut 12 (bar 9.1)``."""
    return f"cut {cut.index} (bar {hit_label(cut, tempo_map)})"


def cue_text(cut: CutScore) -> str:
    """The MIDI cue point beside the marker: strength, hit or miss, and frames off."""
    kind = {"hit": "hit", "near": "near miss", "miss": "miss"}[cut.kind]
    return (f"cut {cut.index}: strength {cut.strength:.2f}, {kind}, "
            f"{cut.frames_off:+.1f} frames off")


def smpte(time_s: float, fps: float) -> str:
    """``HH:MM:SS:FF`` of the frame nearest ``time_s`` (cuts fall on frame starts, stored to the
    millisecond), at the video's frame rate (non-drop: 29.97 counts 30 frame labels a second)."""
    nominal = max(1, round(fps))
    frame = round(time_s * fps)
    seconds, frames = divmod(frame, nominal)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"

"""The six emotion classes and user emotion overrides (a global mood or a per-second curve)."""

from __future__ import annotations

import re

import numpy as np

from v2m_bridge.errors import V2MError

EMOTIONS: tuple[str, ...] = ("exciting", "fearful", "tense", "sad", "relaxing", "neutral")
"""Column order of every emotion array: the official CLIP zero-shot prompts."""


class EmotionError(V2MError, ValueError):
    """An emotion name or curve that cannot be read."""


def emotion_vector(name: str) -> np.ndarray:
    """One-hot ``(6,)`` float32 vector for an emotion name (case-insensitive)."""
    key = name.strip().lower()
    if key not in EMOTIONS:
        raise EmotionError(f"unknown emotion {name!r}; choose one of {', '.join(EMOTIONS)}")
    vector = np.zeros(len(EMOTIONS), dtype=np.float32)
    vector[EMOTIONS.index(key)] = 1.0
    return vector


def parse_emotion_curve(text: str, n_seconds: int) -> np.ndarray:
    """Per-second ``(n_seconds, 6)`` override from ``"sad"`` or ``"0:tense,20:relaxing"``.

    In a curve each ``SECONDS:EMOTION`` holds from its time until the next one; the first
    entry also covers the seconds before it.
    """
    if n_seconds < 0:
        raise EmotionError(f"n_seconds must be >= 0, got {n_seconds}")
    text = text.strip()
    if ":" not in text:
        return np.tile(emotion_vector(text), (n_seconds, 1))
    points: list[tuple[float, np.ndarray]] = []
    for item in filter(None, re.split(r"[,\s]+", text)):
        time_text, _, name = item.partition(":")
        try:
            time = float(time_text)
        except ValueError:
            raise EmotionError(f"bad emotion curve item {item!r}: write SECONDS:EMOTION, "
                               f"e.g. '0:tense,20:relaxing'") from None
        if not np.isfinite(time) or time < 0:
            raise EmotionError(f"emotion curve time must be a number >= 0, got {time_text!r}")
        points.append((time, emotion_vector(name)))
    points.sort(key=lambda point: point[0])
    curve = np.tile(points[0][1], (n_seconds, 1))
    for time, vector in points[1:]:
        curve[int(np.ceil(time)):] = vector
    return curve

"""The six emotion classes and user emotion overrides (a global mood or a per-second curve)."""

from __future__ import annotations

import math
import re

import numpy as np

from v2m_bridge.errors import V2MError
from v2m_bridge.features import EMOTION_LABELS, one_hot_emotion

EMOTIONS = EMOTION_LABELS
"""The emotion column order, :data:`v2m_bridge.features.EMOTION_LABELS` (this name is kept for
the callers that read emotion names from this module)."""


EMOTION_PROTOTYPES: dict[str, tuple[float, float]] = {
    "exciting": (0.5, 0.75),    # pleasant, energetic
    "fearful": (-0.75, 0.75),   # unpleasant, energetic
    "tense": (-0.2, 0.6),       # a little unpleasant, energetic
    "sad": (-0.7, -0.7),        # unpleasant, calm
    "relaxing": (0.6, -0.6),    # pleasant, calm
    "neutral": (0.0, -0.2),     # the calm centre
}
"""(valence, arousal) of each class on Russell's circumplex: where the fallback reading places
them (:mod:`v2m_bridge.video.fallback_emotion`) and how ``--key auto`` reads them back."""

MAX_CURVE_TIME_S = 1e6  # 11.6 days: beyond any video; a bigger time is a typo or an attack


class EmotionError(V2MError, ValueError):
    """An emotion name or curve that cannot be read."""


def emotion_vector(name: str) -> np.ndarray:
    """One-hot ``(6,)`` float32 vector for an emotion name (case-insensitive)."""
    key = name.strip().lower()
    if key not in EMOTION_LABELS:
        raise EmotionError(f"unknown emotion {name!r}; choose one of {', '.join(EMOTION_LABELS)}")
    return one_hot_emotion(key)


def parse_emotion_points(text: str) -> list[tuple[float, str]]:
    """Parse ``"tense"`` (whole video) or ``"0:tense,20:relaxing"`` (from 0 s, from 20 s ...).

    Returns ``(start_second, emotion)`` pairs with increasing starts; the first applies from 0 s.
    """
    if not isinstance(text, str) or not text.strip():
        raise EmotionError("an emotion override needs an emotion name or a curve such as "
                           "'0:tense,20:relaxing'")
    points: list[tuple[float, str]] = []
    for item in (part.strip() for part in text.split(",")):
        match = re.fullmatch(r"(?:(\d+(?:\.\d*)?)\s*:\s*)?([A-Za-z]+)", item)
        if not match:
            raise EmotionError(f"emotion item {item!r} is not 'SECONDS:EMOTION' or 'EMOTION'")
        seconds_text, name = match.groups()
        name = name.lower()
        if name not in EMOTION_LABELS:
            raise EmotionError(f"unknown emotion {name!r}; choose from {', '.join(EMOTION_LABELS)}")
        if seconds_text is None and points:
            raise EmotionError(f"emotion item {item!r} needs a start time ('SECONDS:EMOTION') "
                               "after the first item")
        start = float(seconds_text) if seconds_text is not None else 0.0
        if not start <= MAX_CURVE_TIME_S:  # also catches inf (a 400-digit number)
            raise EmotionError(f"emotion curve time {seconds_text[:20]}"
                               f"{'...' if len(seconds_text) > 20 else ''} is beyond "
                               f"{MAX_CURVE_TIME_S:g} seconds")
        if points and start <= points[-1][0]:
            raise EmotionError(f"emotion curve times must increase, got {start:g} after "
                               f"{points[-1][0]:g}")
        points.append((start, name))
    return points


def emotion_curve(points: list[tuple[float, str]], n_seconds: int) -> np.ndarray:
    """One-hot ``(n_seconds, 6)`` rows: each point holds from the first whole second at or
    after its start until the next point; the first point also covers the seconds before it."""
    if n_seconds < 0:
        raise EmotionError(f"n_seconds must be >= 0, got {n_seconds}")
    rows = np.zeros((n_seconds, len(EMOTION_LABELS)), dtype=np.float32)
    for index, (start, name) in enumerate(points):
        first = 0 if index == 0 else math.ceil(start)
        stop = math.ceil(points[index + 1][0]) if index + 1 < len(points) else n_seconds
        rows[first:stop] = one_hot_emotion(name)
    return rows


def parse_emotion_curve(text: str, n_seconds: int) -> np.ndarray:
    """``(n_seconds, 6)`` override from ``"sad"`` or ``"0:tense,20:relaxing"``."""
    return emotion_curve(parse_emotion_points(text), n_seconds)

"""Scene cuts (PySceneDetect) and the per-second scene-offset feature (spec §1.4)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from v2m_bridge.errors import V2MError

DETECTORS: tuple[str, ...] = ("adaptive", "content")
DEFAULT_DETECTOR = "adaptive"


def make_detector(name: str):
    """A PySceneDetect detector with library defaults, as the official features use.

    ``adaptive`` (default, official parity) is ``AdaptiveDetector()``; ``content`` is
    ``ContentDetector()``, which ignores slow fades (Adaptive reports a cut at 1.29 s inside the
    fade-in of ``bbb_0_30.webm``; that is the official behaviour and is kept).
    """
    from scenedetect import AdaptiveDetector, ContentDetector

    if name == "adaptive":
        return AdaptiveDetector()
    if name == "content":
        return ContentDetector()
    raise V2MError(f"unknown scene detector {name!r}; expected one of {', '.join(DETECTORS)}")


def scene_offsets_from_cuts(cut_times: Sequence[float], n_seconds: int) -> np.ndarray:
    """Per-second scene offset in the official loader convention (offset + 1).

    Official rule (spec §1.4): second ``s`` belongs to the scene that contains the instant ``s``;
    the offset counts seconds since that scene's first whole second and resets when the scene
    changes. A scene that starts and ends inside one second never owns a second.
    """
    # A cut at time c (a scene start) owns every second s >= c; the tolerance absorbs timestamps
    # such as 4.999999 for a cut on frame 125 at 25 fps.
    cuts = np.asarray(sorted(cut_times), dtype=np.float64)
    seconds = np.arange(n_seconds)
    scene_ids = np.searchsorted(cuts - 1e-6, seconds, side="right")
    offsets = np.zeros(n_seconds, dtype=np.float32)
    for s in range(1, n_seconds):
        offsets[s] = 0.0 if scene_ids[s] != scene_ids[s - 1] else offsets[s - 1] + 1.0
    return offsets + 1.0

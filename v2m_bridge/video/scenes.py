"""Scene cuts (PySceneDetect).

The per-second scene-offset rule lives in :func:`v2m_bridge.features.scene_offsets_from_cuts`;
it is re-exported here for callers that import it with the detector.
"""

from __future__ import annotations

from v2m_bridge.errors import V2MError
from v2m_bridge.features import scene_offsets_from_cuts

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "make_detector", "scene_offsets_from_cuts"]

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

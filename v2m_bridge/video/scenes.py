"""Scene cuts (PySceneDetect).

The per-second scene-offset rule lives in :func:`v2m_bridge.features.scene_offsets_from_cuts`;
the detector names in :mod:`v2m_bridge.config`.
"""

from __future__ import annotations

from v2m_bridge.config import DEFAULT_SCENE_DETECTOR as DEFAULT_DETECTOR
from v2m_bridge.config import SCENE_DETECTORS as DETECTORS
from v2m_bridge.errors import V2MError

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "make_detector"]


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

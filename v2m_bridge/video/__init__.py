"""Video analysis: per-second features (CLIP semantic + emotion, scene offset, motion) of a video.

::

    from v2m_bridge.video import analyze_video, VideoFeatures
    features = analyze_video("clip.mp4")          # one decode pass, cached
    features.save("clip.features.npz")

``analyze_video`` is imported lazily so that importing :class:`VideoFeatures` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from v2m_bridge.features import EMOTION_LABELS, VideoFeatures

if TYPE_CHECKING:
    from v2m_bridge.video.analyze import analyze_video

__all__ = ["EMOTION_LABELS", "VideoFeatures", "analyze_video"]


def __getattr__(name: str) -> Any:
    if name == "analyze_video":
        from v2m_bridge.video.analyze import analyze_video

        return analyze_video
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

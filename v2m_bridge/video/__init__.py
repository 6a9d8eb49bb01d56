"""Video analysis: per-second features (CLIP semantic + emotion, scene offset, motion) of a video.

::

    from v2m_bridge.video import analyze_video, VideoFeatures
    features = analyze_video("clip.mp4")          # one decode pass, cached
    features.save("clip.features.npz")

The record itself lives in :mod:`v2m_bridge.features`, which imports only numpy.
"""

from __future__ import annotations

from v2m_bridge.features import EMOTION_LABELS, VideoFeatures
from v2m_bridge.video.analyze import analyze_video

__all__ = ["EMOTION_LABELS", "VideoFeatures", "analyze_video"]

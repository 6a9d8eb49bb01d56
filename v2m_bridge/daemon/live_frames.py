"""Live frames: check what Max sends with ``/v2m/live/frame`` and fold it into per-second features.

A frame is ``media_time luma motion r g b cut`` (numbers in 0..1 except the time; Jitter's char
means divided by 255), optionally followed by the 6 emotion probabilities and/or a 768-d CLIP
semantic vector. Frames arrive at any rate, out of order or with gaps. :class:`SecondFolder`
collects them per media second; a second is *complete* once a frame at or after its end arrives,
and only complete seconds (plus, at a cut, the part of the current second seen so far) reach the
model, so nothing is ever generated from future frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from v2m_bridge.errors import V2MError
from v2m_bridge.features import EMOTION_DIM, SEMANTIC_DIM, check_per_second
from v2m_bridge.features import EMOTION_LABELS as EMOTIONS
from v2m_bridge.osc.protocol import FRAME_FIELDS, FRAME_LAYOUTS, MIN_CUT_GAP_S
from v2m_bridge.video.fallback_emotion import estimate_emotion

MOTION_SCALE = 255.0  # live motion is 0..1; the model's motion feature is on the 0-255 scale
# Contrast is not in a live frame; the fallback emotion rule gets this typical value instead.
TYPICAL_CONTRAST = 0.2
MAX_GAP_S = 10  # a jump forward longer than this is a seek, not seconds to fill
SEEK_BACK_S = 0.5  # frames further behind the newest one mean the media jumped back


class FrameError(V2MError, ValueError):
    """A live frame that cannot be used (wrong count, out-of-range values)."""


@dataclass(frozen=True)
class LiveFrame:
    media_time: float
    luma: float  # checked; the emotion estimate uses the colour means, which carry it too
    motion: float
    rgb: tuple[float, float, float]
    cut: bool
    emotion: np.ndarray | None = None  # (6,), sums to 1
    semantic: np.ndarray | None = None  # (768,)


def parse_frame(args: Sequence[float]) -> LiveFrame:
    """Check the numbers of one ``/v2m/live/frame`` (already known to be finite)."""
    layout = FRAME_LAYOUTS.get(len(args))
    if layout is None:
        counts = ", ".join(str(n) for n in FRAME_LAYOUTS)
        raise FrameError(f"/v2m/live/frame takes {counts} numbers ({' '.join(FRAME_FIELDS)}, "
                         f"then optionally {EMOTION_DIM} emotion values and/or {SEMANTIC_DIM} "
                         f"semantic values), got {len(args)}")
    has_emotion, has_semantic = layout
    media_time, luma, motion, red, green, blue, cut = (float(v) for v in args[:7])
    if media_time < 0:
        raise FrameError(f"media_time must be >= 0 seconds, got {media_time:g}")
    for name, value in zip(FRAME_FIELDS[1:], (luma, motion, red, green, blue, cut), strict=True):
        if not 0.0 <= value <= 1.0:
            raise FrameError(f"{name} must be in 0..1, got {value:g} (divide Jitter's 0-255 char "
                             "means by 255)" if name != "cut" else
                             f"cut must be 0 or 1, got {value:g}")
    emotion = semantic = None
    rest = np.asarray(args[7:], dtype=np.float64)
    if has_emotion:
        emotion, rest = rest[:EMOTION_DIM], rest[EMOTION_DIM:]
        if np.any(emotion < 0) or emotion.sum() <= 0:
            raise FrameError("the 6 emotion values must be >= 0 and not all 0 (order: "
                             f"{' '.join(EMOTIONS)})")
        emotion = emotion / emotion.sum()
    if has_semantic:
        semantic = rest.astype(np.float32)
    return LiveFrame(media_time, luma, motion, (red, green, blue), cut >= 0.5, emotion, semantic)


@dataclass
class SecondFeatures:
    """The model's features for one media second (official conventions, see video.features)."""

    second: int
    motion: float  # 0-255 scale
    emotion: np.ndarray  # (6,)
    semantic: np.ndarray  # (768,), zeros when Max sent none and no image was encoded
    frames: int  # how many frames went in (0 for a second filled across a gap)

    def __post_init__(self) -> None:
        check_per_second({"semantic": [self.semantic], "emotion": [self.emotion],
                          "motion": [self.motion]}, ranges=True)


def neutral_second(second: int) -> SecondFeatures:
    """A second nothing is known about: still, every emotion equally likely, no semantics."""
    return SecondFeatures(second, 0.0, np.full(EMOTION_DIM, 1 / EMOTION_DIM),
                          np.zeros(SEMANTIC_DIM, np.float32), 0)


@dataclass
class _Accumulator:
    second: int
    frames: int = 0
    motion: float = 0.0
    rgb: np.ndarray = field(default_factory=lambda: np.zeros(3))
    emotion: np.ndarray = field(default_factory=lambda: np.zeros(EMOTION_DIM))
    emotion_frames: int = 0
    semantic: np.ndarray = field(default_factory=lambda: np.zeros(SEMANTIC_DIM))
    semantic_frames: int = 0

    def add(self, frame: LiveFrame) -> None:
        self.frames += 1
        self.motion += frame.motion
        self.rgb += frame.rgb
        if frame.emotion is not None:
            self.emotion += frame.emotion
            self.emotion_frames += 1
        if frame.semantic is not None:
            self.semantic += frame.semantic
            self.semantic_frames += 1


@dataclass
class FoldResult:
    completed: list[SecondFeatures] = field(default_factory=list)  # in second order
    seek_to: int | None = None  # the media jumped: restart from this second
    late: bool = False  # the frame's second was already complete: dropped
    cut_at: float | None = None  # a new cut flagged by this frame


class SecondFolder:
    """Folds frames into per-second features. ``min_cut_gap_s`` merges flags of one edit."""

    def __init__(self, min_cut_gap_s: float = MIN_CUT_GAP_S) -> None:
        self.min_cut_gap_s = min_cut_gap_s
        self._current: _Accumulator | None = None
        self._newest = -math.inf
        self._last_cut = -math.inf
        self._previous: SecondFeatures | None = None
        # the latest CLIP image result; it stands for every second until the next image
        self._image: tuple[np.ndarray, np.ndarray] | None = None
        self.late_frames = 0

    @property
    def current_second(self) -> int | None:
        return None if self._current is None else self._current.second

    def add(self, frame: LiveFrame) -> FoldResult:
        result = FoldResult()
        second = math.floor(frame.media_time)
        current = self._current
        if current is None or frame.media_time < self._newest - SEEK_BACK_S or (
                second > current.second + MAX_GAP_S):
            if current is not None:
                result.seek_to = second
            self._restart(second)
        elif second < current.second:
            self.late_frames += 1
            result.late = True
            return result
        elif second > current.second:
            result.completed = self._complete_until(second)
        self._newest = max(self._newest, frame.media_time)
        assert self._current is not None
        self._current.add(frame)
        if frame.cut and frame.media_time - self._last_cut >= self.min_cut_gap_s:
            self._last_cut = frame.media_time
            result.cut_at = frame.media_time
        return result

    def set_image_features(self, semantic: np.ndarray, emotion: np.ndarray) -> None:
        """A CLIP result: used for the current second and those after it, until the next."""
        self._image = (np.asarray(semantic, np.float32), np.asarray(emotion, np.float64))

    def partial(self) -> SecondFeatures | None:
        """The current, incomplete second as seen so far (used at a cut)."""
        return None if self._current is None else self._features(self._current)

    def _restart(self, second: int) -> None:
        self._current = _Accumulator(second)
        self._newest = -math.inf
        self._last_cut = -math.inf
        self._previous = None

    def _complete_until(self, second: int) -> list[SecondFeatures]:
        """Complete the current second, hold it across any gap, and start ``second``."""
        assert self._current is not None
        done = [self._features(self._current)]
        for missing in range(self._current.second + 1, second):
            held = done[-1]
            done.append(SecondFeatures(missing, 0.0, held.emotion, held.semantic, 0))
        self._previous = done[-1]
        self._current = _Accumulator(second)
        return done

    def _features(self, acc: _Accumulator) -> SecondFeatures:
        if acc.frames == 0:  # only possible for a partial second with no frame yet
            if self._previous is not None:
                return SecondFeatures(acc.second, 0.0, self._previous.emotion,
                                      self._previous.semantic, 0)
            return neutral_second(acc.second)
        motion = MOTION_SCALE * acc.motion / acc.frames
        if acc.emotion_frames:
            emotion = acc.emotion / acc.emotion_frames
        elif self._image is not None:
            emotion = self._image[1]
        else:
            emotion = estimate_emotion(self._colour_stats(acc)[None, :], np.array([motion]))[0]
        if acc.semantic_frames:
            semantic = (acc.semantic / acc.semantic_frames).astype(np.float32)
        elif self._image is not None:
            semantic = self._image[0]
        else:
            semantic = np.zeros(SEMANTIC_DIM, np.float32)
        return SecondFeatures(acc.second, float(motion), np.asarray(emotion, np.float64),
                              semantic, acc.frames)

    @staticmethod
    def _colour_stats(acc: _Accumulator) -> np.ndarray:
        """(brightness, saturation, warmth, contrast) from the second's mean colour, as
        :func:`v2m_bridge.video.fallback_emotion.frame_colour_stats` measures them on pixels."""
        red, green, blue = acc.rgb / acc.frames
        brightest = max(red, green, blue)
        saturation = (brightest - min(red, green, blue)) / brightest if brightest > 0 else 0.0
        return np.array([brightest, saturation, red - blue, TYPICAL_CONTRAST])

"""The per-frame live features that the Max patch computes in Jitter, computed with OpenCV.

Definition (docs: the live interface, "Frame features"): on the frame downsampled to 64x36,
``luma`` is the mean of 0.299 R + 0.587 G + 0.114 B, ``motion`` the mean absolute difference
between this frame's luma and the previous frame's, ``r``/``g``/``b`` the colour-plane means, all
divided by 255; ``cut`` is 1 when ``motion >= CUT_MOTION_THRESHOLD``, but never twice within
``MIN_CUT_GAP_S`` seconds of media time. The Max patch uses the same constants, so a change here
must be made there too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from v2m_bridge.osc import protocol
from v2m_bridge.video.decode import VideoInputError, check_video_path

FEATURE_SIZE = (64, 36)  # (width, height) of the downsampled frame, as jit.matrix 4 char 64 36
# On the shared test videos, hard cuts measure 0.13-0.34 and everything else (pans, zooms, fades,
# title cards) at most 0.07; a cut between two shots of the same colours can stay below 0.01.
CUT_MOTION_THRESHOLD = protocol.CUT_MOTION_THRESHOLD
MIN_CUT_GAP_S = protocol.MIN_CUT_GAP_S

# ITU-R BT.601 luma weights, applied to (B, G, R) planes in OpenCV's channel order.
_LUMA_WEIGHTS_BGR = np.array([[0.114, 0.587, 0.299]], dtype=np.float32)


@dataclass(frozen=True)
class FrameFeatures:
    """The features of one video frame, each in 0..1 except ``media_time`` (seconds)."""

    media_time: float
    luma: float
    motion: float
    r: float
    g: float
    b: float
    cut: float  # 1.0 on the first frame of a new shot, else 0.0

    def as_osc_args(self) -> tuple[float, ...]:
        """The 7 arguments of ``/v2m/live/frame``, in wire order (:data:`protocol.FRAME_FIELDS`)."""
        return tuple(getattr(self, name) for name in protocol.FRAME_FIELDS)


class FrameFeatureMeter:
    """Feed the frames of one video in decoding order; each :meth:`add` returns its features."""

    def __init__(self, cut_threshold: float = CUT_MOTION_THRESHOLD,
                 min_cut_gap_s: float = MIN_CUT_GAP_S) -> None:
        self.cut_threshold = cut_threshold
        self.min_cut_gap_s = min_cut_gap_s
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame and the last cut (a new video, or a seek)."""
        self._previous_luma: np.ndarray | None = None
        self._last_cut_time: float | None = None

    def add(self, frame_bgr: np.ndarray, media_time: float) -> FrameFeatures:
        """Features of ``frame_bgr`` (H x W x 3 uint8, OpenCV's BGR order) shown at
        ``media_time`` seconds."""
        if not math.isfinite(media_time):
            raise ValueError(f"media_time must be a finite number of seconds, got {media_time!r}")
        small = _downsample(frame_bgr)
        luma_plane = cv2.transform(small, _LUMA_WEIGHTS_BGR)  # float32 (36, 64), 0-255
        mean_b, mean_g, mean_r, _ = cv2.mean(small)
        previous, self._previous_luma = self._previous_luma, luma_plane
        motion = 0.0 if previous is None else cv2.mean(cv2.absdiff(luma_plane, previous))[0]
        return FrameFeatures(
            media_time=float(media_time),
            luma=_unit(cv2.mean(luma_plane)[0]),
            motion=_unit(motion),
            r=_unit(mean_r),
            g=_unit(mean_g),
            b=_unit(mean_b),
            cut=1.0 if self._is_cut(motion / 255, media_time) else 0.0,
        )

    def _is_cut(self, motion: float, media_time: float) -> bool:
        if motion < self.cut_threshold:
            return False
        if self._last_cut_time is not None and \
                abs(media_time - self._last_cut_time) < self.min_cut_gap_s:
            return False
        self._last_cut_time = media_time
        return True


def _unit(mean_0_255: float) -> float:
    """A 0-255 mean as 0..1; clipped because float32 weights can sum a white frame to 1+1e-7,
    which the daemon would refuse."""
    return min(1.0, max(0.0, float(mean_0_255) / 255))


def _downsample(frame_bgr: np.ndarray) -> np.ndarray:
    """The frame as float32 64x36 BGR (area averaging), after checking its type and shape."""
    if not isinstance(frame_bgr, np.ndarray) or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 \
            or frame_bgr.shape[0] == 0 or frame_bgr.shape[1] == 0:
        shape = getattr(frame_bgr, "shape", type(frame_bgr).__name__)
        raise ValueError(f"expected a BGR frame of shape (height, width, 3), got {shape}")
    if frame_bgr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 BGR frame, got dtype {frame_bgr.dtype}")
    return cv2.resize(frame_bgr, FEATURE_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def iter_video_frame_features(path: str | Path, *,
                              max_seconds: float | None = None) -> Iterator[FrameFeatures]:
    """The features of every decoded frame of the video at ``path``, in order; with
    ``max_seconds``, only frames shown before that media time.

    The file is opened at once, so a missing or undecodable file raises
    :class:`VideoInputError` (a :class:`V2MError`) here, not at the first ``next()``.
    """
    if max_seconds is not None and not (
            isinstance(max_seconds, (int, float)) and math.isfinite(max_seconds)
            and max_seconds > 0):
        raise VideoInputError(f"max_seconds must be a positive number of seconds, "
                              f"got {max_seconds!r}")
    path = check_video_path(path)
    return _read_features(open_video(path), path, max_seconds)


def open_video(path: str | Path) -> cv2.VideoCapture:
    """An opened ``cv2.VideoCapture`` for ``path`` (the caller releases it), or a clear
    :class:`VideoInputError`."""
    path = check_video_path(path)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise VideoInputError(
            f"{path} cannot be opened as a video (OpenCV/FFmpeg found no decodable video "
            "stream); expected a video file such as mp4, webm, mkv or mov")
    return capture


def _read_features(capture: cv2.VideoCapture, path: Path,
                   max_seconds: float | None) -> Iterator[FrameFeatures]:
    meter = FrameFeatureMeter()
    n_frames = 0
    last_time = 0.0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            media_time = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
            if not math.isfinite(media_time) or media_time < last_time:
                media_time = last_time  # broken timestamps: keep the clock monotonic
            if max_seconds is not None and media_time >= max_seconds:
                break
            n_frames += 1
            last_time = media_time
            yield meter.add(frame, media_time)
    finally:
        capture.release()
    if n_frames == 0:
        raise VideoInputError(f"{path} contains no decodable video frames; expected a video "
                              "with at least one frame")

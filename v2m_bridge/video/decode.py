"""One decode pass that feeds scene detection, motion and the 1 fps frame samples.

PySceneDetect's :class:`SceneManager` drives the pass (it decodes in a background thread,
downscales and runs the detector, exactly as the official ``detect_scenes`` call does). Our
:class:`_TeeVideoStream` hands every full-resolution frame it decodes, with its presentation
timestamp, to the motion meter and the 1 fps sampler on the way, so the file is decoded once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scenedetect import SceneManager
from scenedetect.backends.opencv import VideoStreamCv2
from scenedetect.video_stream import FrameRateUnavailable, VideoOpenFailure

from v2m_bridge.errors import V2MError
from v2m_bridge.video.motion import MotionMeter
from v2m_bridge.video.sampling import OneSecondSampler
from v2m_bridge.video.scenes import DEFAULT_DETECTOR, make_detector

logger = logging.getLogger(__name__)

# (frame in BGR uint8 at full resolution, index of the second it stands for)
SampleSink = Callable[[np.ndarray, int], None]
# (fraction of the file decoded, in [0, 1])
DecodeProgress = Callable[[float], None]

# Decoding that stops before this fraction of the container's announced length is reported.
_TRUNCATION_WARNING_FRACTION = 0.9


class VideoInputError(V2MError):
    """A path that is not a readable, decodable video file."""


@dataclass(frozen=True)
class DecodeResult:
    """What one pass over the file measured. ``motion`` has one value per sampled second."""

    fps: float
    duration: float  # seconds, end of the last decoded frame
    announced_duration: float  # what the container claims (0.0 when unknown)
    n_frames: int
    sample_times: list[float]  # timestamp of the frame kept for each second
    motion: np.ndarray  # (T,) float32, 0-255 scale
    cut_times: list[float]  # scene starts in seconds, excluding 0

    @property
    def n_seconds(self) -> int:
        return len(self.sample_times)

    @property
    def looks_truncated(self) -> bool:
        """Decoding stopped well before the length the container announces."""
        return bool(self.announced_duration) and \
            self.duration < _TRUNCATION_WARNING_FRACTION * self.announced_duration


def check_video_path(path: str | Path) -> Path:
    """Reject paths that cannot be a video before OpenCV gets to guess."""
    path = Path(path)
    if not path.exists():
        raise VideoInputError(f"video file not found: {path}")
    if path.is_dir():
        raise VideoInputError(f"{path} is a directory; expected a video file")
    if not path.is_file():
        raise VideoInputError(f"{path} is not a regular file; expected a video file")
    if path.stat().st_size == 0:
        raise VideoInputError(f"{path} is empty (0 bytes); expected a video file")
    return path


def decode_video(
    path: str | Path,
    *,
    detector: str = DEFAULT_DETECTOR,
    on_sample: SampleSink | None = None,
    progress: DecodeProgress | None = None,
) -> DecodeResult:
    """Decode ``path`` once; return motion, scene cuts and sample times, calling ``on_sample``
    for each of the ~1 fps frames (official selection rule). Callbacks run in the decode thread.
    """
    path = Path(path)  # checked by the caller: analyze_video or check_video_path
    scene_detector = make_detector(detector)
    try:
        stream = _TeeVideoStream(path)
    except FrameRateUnavailable as err:
        raise VideoInputError(f"{path} has no usable frame rate; expected a video file with a "
                              "frame rate in its header (re-encode it with ffmpeg)") from err
    except (VideoOpenFailure, OSError, ValueError) as err:
        raise VideoInputError(
            f"{path} cannot be opened as a video (OpenCV/FFmpeg found no decodable video "
            "stream); expected a video file such as mp4, webm, mkv or mov") from err

    fps = float(stream.frame_rate)
    announced_duration = _announced_duration(stream, fps)
    sampler = OneSecondSampler()
    motion = MotionMeter()
    n_frames = 0
    last_timestamp = 0.0

    def on_frame(frame: np.ndarray, timestamp_s: float) -> None:
        nonlocal n_frames, last_timestamp
        if not math.isfinite(timestamp_s) or timestamp_s < last_timestamp:
            timestamp_s = last_timestamp if n_frames else 0.0
        n_frames += 1
        last_timestamp = timestamp_s
        motion.add(frame, timestamp_s)
        if sampler.accept(timestamp_s):
            if on_sample is not None:
                on_sample(frame, sampler.n_seconds - 1)
            if progress is not None and announced_duration:
                progress(min(1.0, timestamp_s / announced_duration))

    stream.on_frame = on_frame
    manager = SceneManager()
    manager.add_detector(scene_detector)
    try:
        manager.detect_scenes(video=stream)
    finally:
        stream.capture.release()
    if n_frames == 0:
        raise VideoInputError(f"{path} contains no decodable video frames; expected a video "
                              "with at least one frame")

    cut_times = [start.seconds for start, _ in manager.get_scene_list()[1:]]
    if progress is not None:
        progress(1.0)
    result = DecodeResult(
        fps=fps,
        duration=last_timestamp + 1.0 / fps,
        announced_duration=announced_duration,
        n_frames=n_frames,
        sample_times=list(sampler.kept_times),
        motion=motion.per_second(sampler.n_seconds),
        cut_times=[t for t in cut_times if t > 0],
    )
    if result.looks_truncated:
        logger.warning("decoding of %s stopped at %.2f s although the file announces %.2f s; "
                       "it may be truncated or corrupt, features cover the decoded part only",
                       path, result.duration, announced_duration)
    return result


def _announced_duration(stream: VideoStreamCv2, fps: float) -> float:
    frame_count = stream.capture.get(cv2.CAP_PROP_FRAME_COUNT)
    if not math.isfinite(frame_count) or frame_count <= 0:
        return 0.0
    return frame_count / fps


class _TeeVideoStream(VideoStreamCv2):
    """OpenCV stream that shows each decoded frame and its timestamp to ``on_frame``."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.on_frame: Callable[[np.ndarray, float], None] | None = None

    def read(self, decode: bool = True) -> np.ndarray | bool:
        frame = super().read(decode)
        if isinstance(frame, np.ndarray) and self.on_frame is not None:
            self.on_frame(frame, self.position_ms / 1000.0)
        return frame

"""The official motion feature (spec §1.5).

For every decoded frame after the first, at timestamp ``t``: when ``t - last >= 1`` the value of
second ``int(t)`` is the mean absolute difference between this frame and the frame decoded just
before it (all pixels, all 3 channels, uint8 scale 0-255), and ``last = int(t)``. So it is a
consecutive-frame difference sampled about once per second; second 0 is always 0. A second with
no decoded frame at all (a long still frame in variable-frame-rate video) keeps 0: nothing moved.
"""

from __future__ import annotations

import cv2
import numpy as np

from v2m_bridge.video.sampling import TIMESTAMP_TOLERANCE_S


class MotionMeter:
    """Feed every decoded frame in order with its timestamp; read :meth:`per_second` at the end."""

    def __init__(self) -> None:
        self._previous_frame: np.ndarray | None = None
        self._last_second = 0
        self._values: dict[int, float] = {0: 0.0}

    def add(self, frame: np.ndarray, timestamp_s: float) -> None:
        previous, self._previous_frame = self._previous_frame, frame
        if previous is None or previous.shape != frame.shape:
            return
        if timestamp_s - self._last_second >= 1.0 - TIMESTAMP_TOLERANCE_S:
            second = int(timestamp_s + TIMESTAMP_TOLERANCE_S)
            self._values[second] = mean_abs_difference(frame, previous)
            self._last_second = second

    def per_second(self, n_seconds: int) -> np.ndarray:
        motion = np.zeros(n_seconds, dtype=np.float32)
        for second, value in self._values.items():
            if 0 <= second < n_seconds:
                motion[second] = value
        return motion


def mean_abs_difference(frame: np.ndarray, previous: np.ndarray) -> float:
    """Mean of ``|frame - previous|`` over all pixels and channels (0-255 scale)."""
    per_channel = cv2.mean(cv2.absdiff(frame, previous))[: frame.shape[2] if frame.ndim == 3 else 1]
    return float(np.mean(per_channel))

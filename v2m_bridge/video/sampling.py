"""The official ~1 frame-per-second selection rule (spec §1.1).

The official pipeline runs ffmpeg with
``select=bitor(gte(t-prev_selected_t,1),isnan(prev_selected_t))``: keep the first frame, then the
first frame at least 1.0 s after the previously kept one. Frame k of the selection stands for
second k, and the number of kept frames (≈ ceil(duration)) is the number of per-second rows ``T``.
Using presentation timestamps makes the rule correct for variable-frame-rate video too.
"""

from __future__ import annotations

# Timestamps come from the container as floating-point milliseconds; 1 µs absorbs rounding such
# as 0.999999999 s for a frame that sits exactly on a second.
TIMESTAMP_TOLERANCE_S = 1e-6


class OneSecondSampler:
    """Feed frame timestamps in decode order; :meth:`accept` says whether a frame is kept."""

    def __init__(self) -> None:
        self._last_kept: float | None = None
        self.kept_times: list[float] = []

    def accept(self, timestamp_s: float) -> bool:
        if self._last_kept is None or \
                timestamp_s - self._last_kept >= 1.0 - TIMESTAMP_TOLERANCE_S:
            self._last_kept = timestamp_s
            self.kept_times.append(timestamp_s)
            return True
        return False

    @property
    def n_seconds(self) -> int:
        return len(self.kept_times)

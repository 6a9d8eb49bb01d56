"""Live frame features as a Pure Data ``[qlist]`` file, for the Pd patch.

Vanilla Pd cannot decode video, so ``max_patch/v2m_bridge.pd`` streams frame features that
``v2m-bridge replay VIDEO --qlist FRAMES.txt`` computed beforehand (the same features the Max
patch computes in Jitter). Each line is ``DELAY_MS v2m.frame media_time luma motion r g b cut;``:
``[qlist]`` waits DELAY_MS (relative to the previous line) and sends the rest to the receiver
``v2m.frame``, so the frames leave Pd at the pace they were filmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from v2m_bridge.osc.frame_features import FrameFeatures

RECEIVER = "v2m.frame"


def qlist_lines(frames: Iterable[FrameFeatures], receiver: str = RECEIVER) -> list[str]:
    lines, previous = [], 0.0
    for frame in frames:
        delay_ms = max(frame.media_time - previous, 0.0) * 1000.0
        previous = max(previous, frame.media_time)
        values = " ".join(f"{value:.6g}" for value in frame.as_osc_args())
        lines.append(f"{delay_ms:.3f} {receiver} {values};")
    return lines


def write_qlist(frames: Iterable[FrameFeatures], path: str | Path,
                receiver: str = RECEIVER) -> int:
    """Write the file; returns the number of frames."""
    lines = qlist_lines(frames, receiver)
    Path(path).write_text("".join(line + "\n" for line in lines))
    return len(lines)

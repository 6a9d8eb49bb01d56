"""Live mode: how fast a completed second becomes scheduled notes, and whether timing drifts.

A sender process plays the frame features of a real video (looped to the asked length) into the
daemon's ``/v2m/live/frame`` at real-time pace: the frame of media time ``t`` leaves at
``base + t`` on the system-wide monotonic clock. The daemon runs in this process with the
shipped starter model and the in-memory MIDI sink, which stamps each message when the scheduler
sends it. Measured in one run:

* **update latency**: from the arrival of the frame that completes a second (kernel receive
  stamp) until that second's notes are in the scheduler (target: <= 20 ms);
* **note timing**: each pad note-on against ``base + its media time + latency`` (pad notes sit
  on the sixteenth grid, so the media time is the nearest grid point): median and p99 error,
  and **drift**, the change of the per-minute median from the first to the last minute, plus
  the least-squares slope over the whole run (target: no drift over 10 minutes).

    python benchmarks/bench_live.py [--minutes 10] [--video PATH] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from v2m_bridge.osc.wire import osc_message

# The daemon and OpenCV are imported inside main() and looped_frames(): the spawned sender process
# imports this module again and must stay light (no torch, no OpenCV) to send on time.

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "bbb_0_30.webm"
SIXTEENTH_S = 0.125  # at the default 120 bpm


def send_frames(port: int, frames: list[tuple[float, ...]], base: float) -> None:
    """The sender process: each frame at ``base + media_time``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for args in frames:
        while (wait := base + args[0] - time.monotonic()) > 0:
            time.sleep(wait)
        sock.sendto(osc_message("/v2m/live/frame", *args).dgram, ("127.0.0.1", port))


def looped_frames(video: Path, seconds: float) -> list[tuple[float, ...]]:
    from v2m_bridge.osc.frame_features import iter_video_frame_features

    one_pass = [f.as_osc_args() for f in iter_video_frame_features(video)]
    length = one_pass[-1][0] + (one_pass[-1][0] - one_pass[-2][0])
    frames, loop = [], 0
    while True:
        for args in one_pass:
            t = args[0] + loop * length
            if t >= seconds:
                return frames
            frames.append((t, *args[1:]))
        loop += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from v2m_bridge.daemon.app import Daemon, DaemonConfig
    from v2m_bridge.daemon.backend import ModelBackend
    from v2m_bridge.daemon.midi_out import MemorySink
    from v2m_bridge.model.loading import load_chord_model

    seconds = args.minutes * 60
    frames = looped_frames(args.video, seconds)
    print(f"{len(frames)} frames, {seconds:.0f} s of {args.video.name} (looped)", flush=True)
    sink = MemorySink()
    daemon = Daemon(DaemonConfig(port=0), ModelBackend(load_chord_model(None)), sink=sink)
    daemon.start()
    port = daemon.server.address[1]
    control = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    control.sendto(osc_message("/v2m/live/start", args.latency, 1.0).dgram, ("127.0.0.1", port))
    time.sleep(0.5)
    base = time.monotonic() + 1.0
    sender = multiprocessing.get_context("spawn").Process(target=send_frames,
                                                          args=(port, frames, base))
    sender.start()
    sender.join()
    time.sleep(args.latency + 0.5)
    control.sendto(osc_message("/v2m/live/stop").dgram, ("127.0.0.1", port))
    time.sleep(0.3)
    latencies_ms = np.array(daemon.session.live.update_latencies) * 1000
    daemon.close()

    pad_on = [t for t, m in sink.messages if m[0] == 0x90 and m[2] > 0]
    media = np.array(pad_on) - base - args.latency
    nominal = np.round(media / SIXTEENTH_S) * SIXTEENTH_S
    error_ms = (media - nominal) * 1000
    minutes = (nominal // 60).astype(int)
    per_minute = [float(np.median(error_ms[minutes == m])) for m in np.unique(minutes)]
    slope_ms_per_min = float(np.polyfit(nominal / 60, error_ms, 1)[0])
    figures = {
        "seconds": seconds,
        "update_latency_ms": {"median": float(np.median(latencies_ms)),
                              "p99": float(np.percentile(latencies_ms, 99)),
                              "max": float(latencies_ms.max()), "count": len(latencies_ms)},
        "pad_note_error_ms": {"median": float(np.median(error_ms)),
                              "p99": float(np.percentile(np.abs(error_ms), 99)),
                              "max": float(np.abs(error_ms).max()), "count": len(error_ms)},
        "per_minute_median_ms": per_minute,
        "drift_first_to_last_minute_ms": per_minute[-1] - per_minute[0],
        "drift_slope_ms_per_minute": slope_ms_per_min,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"update latency median {statistics.median(latencies_ms):.1f} ms, p99 "
          f"{figures['update_latency_ms']['p99']:.1f} ms (target <= 20); drift "
          f"{figures['drift_first_to_last_minute_ms']:+.2f} ms first->last minute, slope "
          f"{slope_ms_per_min:+.3f} ms/min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``v2m-bridge replay VIDEO``: play a video's frame features into the daemon's live mode.

For trying live mode without Max: the features the Max patch computes in Jitter are computed with
OpenCV and sent as ``/v2m/live/frame`` at real-time pace (or ``--speed`` times faster).
Exit codes: 0 replayed, 1 bad input, no daemon, a refused start or errors reported by the daemon
during the replay, 130 interrupted (the live session is stopped first).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from v2m_bridge.config import (
    DEFAULT_HOST,
    DEFAULT_LIVE_LATENCY_S,
    DEFAULT_LIVE_TIMEOUT_S,
    DEFAULT_PORT,
)
from v2m_bridge.osc.ports import port_argument

DEFAULT_CONFIRM_S = 2.0

_EPILOG = """\
examples:
  v2m-bridge serve &                       # the daemon, live mode on 127.0.0.1:9000
  v2m-bridge replay clip.mp4               # start a live session, replay, stop
  v2m-bridge replay clip.mp4 --seconds 10 --speed 2 --latency 0.2
  v2m-bridge replay clip.mp4 --join        # frames only, into a session already started
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay", help="play a video's live frame features into the daemon at real-time pace",
        description="Compute the live frame features (luma, motion, colour means, cut flag; the "
        "same as the Max patch) of VIDEO and send them to `v2m-bridge serve` as "
        "/v2m/live/frame at real-time pace, between /v2m/live/start and /v2m/live/stop.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(func=run_replay)


def _number(text: str, *, minimum: float, inclusive: bool, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    in_range = value >= minimum if inclusive else value > minimum
    if not (math.isfinite(value) and in_range):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise argparse.ArgumentTypeError(f"expected {what} {bound}, got {text!r}")
    return value


def _positive(what: str):
    def parse(text: str) -> float:
        return _number(text, minimum=0.0, inclusive=False, what=what)
    return parse


def _non_negative_seconds(text: str) -> float:
    return _number(text, minimum=0.0, inclusive=True, what="a number of seconds")


def add_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("video", type=Path, metavar="VIDEO", help="video file to replay")
    parser.add_argument("--host", default=DEFAULT_HOST, help="daemon host (default: %(default)s)")
    parser.add_argument("--port", type=port_argument, default=DEFAULT_PORT,
                        help="daemon OSC port (default: %(default)s)")
    parser.add_argument("--latency", type=_non_negative_seconds, default=DEFAULT_LIVE_LATENCY_S,
                        help="seconds between a frame's media time and its notes "
                        "(default: %(default)s)")
    parser.add_argument("--timeout", type=_positive("a number of seconds"),
                        default=DEFAULT_LIVE_TIMEOUT_S,
                        help="seconds without frames after which the daemon ends the session's "
                        "notes (default: %(default)s)")
    parser.add_argument("--speed", type=_positive("a speed factor"), default=1.0,
                        help="playback speed, 1 = real time (default: %(default)s)")
    parser.add_argument("--seconds", type=_positive("a number of seconds"), metavar="N",
                        help="replay only the first N seconds of the video")
    parser.add_argument("--join", action="store_true",
                        help="send frames into a live session that is already running: no "
                        "/v2m/live/start or /v2m/live/stop")
    parser.add_argument("--no-confirm", action="store_true",
                        help="do not wait for the daemon's /v2m/ok to /v2m/live/start (needed "
                        "when the daemon sends its replies elsewhere, with --reply-port)")


def run_replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from v2m_bridge.osc.replay import replay_video

    total = _replay_length_s(args.video, args.seconds)
    counter = "{n:.1f}/{total:.1f} s |{bar}|" if total else "{n:.1f} s"
    with tqdm(total=total, desc=args.video.name, unit="s", file=sys.stderr, leave=False,
              disable=None, dynamic_ncols=True,
              bar_format="{desc}: " + counter + " {elapsed}") as bar:
        def progress(frame) -> None:
            bar.update(max(0.0, round(frame.media_time, 2) - bar.n))

        summary = replay_video(
            args.video, (args.host, args.port), latency=args.latency, timeout=args.timeout,
            speed=args.speed, start_session=not args.join, max_seconds=args.seconds,
            confirm_s=None if args.no_confirm or args.join else DEFAULT_CONFIRM_S,
            progress=progress)
    print(f"replayed {summary.frames_sent} frames ({summary.media_seconds:.2f} s of media) "
          f"in {summary.wall_seconds:.2f} s; send lateness max "
          f"{1000 * summary.max_lateness_s:.1f} ms, mean {1000 * summary.mean_lateness_s:.2f} ms")
    if summary.stop_acknowledged is False:
        print("v2m-bridge replay: the daemon did not acknowledge /v2m/live/stop",
              file=sys.stderr)
    if summary.error_count:
        print(f"v2m-bridge replay: the daemon reported {summary.error_count} error(s), e.g.:",
              file=sys.stderr)
        for error in summary.errors:
            print(f"  /v2m/error {error}", file=sys.stderr)
        return 1
    return 0


def _replay_length_s(path: Path, max_seconds: float | None) -> float | None:
    """Seconds the progress bar counts to: the container's announced length, capped by
    ``--seconds``; None when neither is known. Opening the file here also reports a missing or
    undecodable video before any message is sent."""
    import cv2

    from v2m_bridge.osc.frame_features import open_video

    capture = open_video(path)
    try:
        frames, fps = capture.get(cv2.CAP_PROP_FRAME_COUNT), capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    if not (math.isfinite(frames) and math.isfinite(fps) and frames > 0 and fps > 0):
        return max_seconds
    announced = frames / fps
    return announced if max_seconds is None else min(announced, max_seconds)

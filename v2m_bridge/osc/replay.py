"""Play a video file into the daemon's live mode at real-time pace, as the Max patch would.

The frame features (:mod:`v2m_bridge.osc.frame_features`) are decoded ahead in a background
thread while the sender waits for each frame's moment: the frame shown at media time ``t`` is
sent at ``start + t / speed`` on the monotonic clock. Decoding runs many times faster than real
time, so the thread soon finishes and the sender sleeps undisturbed; the first frames go out at
once instead of after a full decoding pass.

Everything goes out from one UDP socket connected to the daemon, so the daemon's replies (the
``/v2m/ok`` for start and stop, a ``/v2m/error`` about a frame) come back to it.
"""

from __future__ import annotations

import math
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pythonosc.osc_packet import OscPacket

from v2m_bridge.config import (
    DEFAULT_HOST,
    DEFAULT_LIVE_LATENCY_S,
    DEFAULT_LIVE_TIMEOUT_S,
    DEFAULT_PORT,
)
from v2m_bridge.errors import V2MError
from v2m_bridge.osc import protocol
from v2m_bridge.osc.client import (
    ERROR_ADDRESS,
    OK_ADDRESS,
    Outcome,
    Reply,
    nothing_listens,
    resolve_ipv4,
    wait_for_reply,
)
from v2m_bridge.osc.frame_features import FrameFeatures, iter_video_frame_features
from v2m_bridge.osc.ports import check_port
from v2m_bridge.osc.wire import osc_message

START_ADDRESS = "/v2m/live/start"
STOP_ADDRESS = "/v2m/live/stop"
FRAME_ADDRESS = "/v2m/live/frame"
assert {START_ADDRESS, STOP_ADDRESS, FRAME_ADDRESS} <= set(protocol.MESSAGES)
MAX_ERRORS_KEPT = 10

ProgressCallback = Callable[[FrameFeatures], None]


class ReplayError(V2MError, ValueError):
    """A replay that cannot run as asked: bad settings, no daemon, a refused live start."""


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay did. Lateness is how long after its due time a frame left (seconds of the
    monotonic clock); ``errors`` holds the first ``/v2m/error`` messages the daemon sent back."""

    frames_sent: int
    media_seconds: float  # media time of the last frame sent
    wall_seconds: float  # from the first frame's due time to the last frame sent
    max_lateness_s: float
    mean_lateness_s: float
    error_count: int = 0
    errors: tuple[str, ...] = ()
    stop_acknowledged: bool | None = None  # None when stop was not sent or not checked


def replay_video(
    path: str | Path,
    target: tuple[str, int] = (DEFAULT_HOST, DEFAULT_PORT),
    *,
    latency: float = DEFAULT_LIVE_LATENCY_S,
    timeout: float = DEFAULT_LIVE_TIMEOUT_S,
    speed: float = 1.0,
    start_session: bool = True,
    max_seconds: float | None = None,
    confirm_s: float | None = None,
    progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplaySummary:
    """Replay the video at ``path`` into live mode at ``target`` and return a summary.

    With ``start_session`` (default) the replay sends ``/v2m/live/start f:latency f:timeout``
    first and ``/v2m/live/stop`` at the end (also after an error or Ctrl-C, so no note hangs);
    without it only frames are sent, into a live session someone else started and will stop.
    ``confirm_s`` waits that long for the daemon's ``/v2m/ok`` to the start (and stop) and
    raises :class:`ReplayError` when it refuses or does not answer. ``max_seconds`` replays only
    the frames before that media time. ``clock`` and ``sleep`` are injectable for tests.
    """
    features = iter_video_frame_features(path, max_seconds=max_seconds)  # fails early
    with _DecodeAhead(features) as decoded:
        return replay_features(decoded, target, latency=latency, timeout=timeout, speed=speed,
                               start_session=start_session, confirm_s=confirm_s,
                               progress=progress, clock=clock, sleep=sleep)


def replay_features(
    frames: Iterable[FrameFeatures],
    target: tuple[str, int] = (DEFAULT_HOST, DEFAULT_PORT),
    *,
    latency: float = DEFAULT_LIVE_LATENCY_S,
    timeout: float = DEFAULT_LIVE_TIMEOUT_S,
    speed: float = 1.0,
    start_session: bool = True,
    confirm_s: float | None = None,
    progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplaySummary:
    """:func:`replay_video` for features computed elsewhere (in media-time order)."""
    _check_settings(target, latency, timeout, speed, confirm_s)
    with _LiveLink(target) as link:
        if start_session:
            link.request(osc_message(START_ADDRESS, float(latency), float(timeout)), confirm_s)
        stop_acknowledged = None
        try:
            pacing = _send_paced(link, frames, speed, progress, clock, sleep)
        finally:
            if start_session:
                stop_acknowledged = link.stop(confirm_s)
        return ReplaySummary(
            frames_sent=pacing.frames_sent,
            media_seconds=pacing.last_media_time,
            wall_seconds=pacing.wall_seconds,
            max_lateness_s=pacing.max_lateness,
            mean_lateness_s=pacing.total_lateness / max(1, pacing.frames_sent),
            error_count=link.error_count,
            errors=tuple(link.errors),
            stop_acknowledged=stop_acknowledged,
        )


def _check_settings(target: tuple[str, int], latency: float, timeout: float, speed: float,
                    confirm_s: float | None) -> None:
    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value)

    if not (number(latency) and latency >= 0):
        raise ReplayError(f"latency must be a number of seconds >= 0, got {latency!r}")
    if not (number(timeout) and timeout > 0):
        raise ReplayError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not (number(speed) and speed > 0):
        raise ReplayError(f"speed must be a positive number (1 = real time), got {speed!r}")
    if confirm_s is not None and not (number(confirm_s) and confirm_s > 0):
        raise ReplayError(f"confirm_s must be a positive number of seconds, got {confirm_s!r}")
    host, port = target
    check_port(port, "port", error=ReplayError)
    if not isinstance(host, str) or not host:
        raise ReplayError(f"host must be a host name or IPv4 address, got {host!r}")


@dataclass
class _Pacing:
    frames_sent: int = 0
    last_media_time: float = 0.0
    wall_seconds: float = 0.0
    max_lateness: float = 0.0
    total_lateness: float = 0.0


def _send_paced(link: _LiveLink, frames: Iterable[FrameFeatures], speed: float,
                progress: ProgressCallback | None, clock: Callable[[], float],
                sleep: Callable[[float], None]) -> _Pacing:
    """Send each frame at ``start + media_time / speed``; the first frame fixes ``start``."""
    pacing = _Pacing()
    start = None
    first_time = 0.0
    for frame in frames:
        if start is None:
            start, first_time = clock(), frame.media_time
        due = start + (frame.media_time - first_time) / speed
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        sent_at = clock()
        link.send(osc_message(FRAME_ADDRESS, *frame.as_osc_args()))
        lateness = max(0.0, sent_at - due)
        pacing.frames_sent += 1
        pacing.last_media_time = frame.media_time
        pacing.wall_seconds = sent_at - start
        pacing.max_lateness = max(pacing.max_lateness, lateness)
        pacing.total_lateness += lateness
        link.collect_errors()
        if progress is not None:
            progress(frame)
    return pacing


class _LiveLink:
    """One UDP socket connected to the daemon: send, read its replies, remember its errors."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = (resolve_ipv4(target[0]), target[1])
        self.errors: list[str] = []
        self.error_count = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def __enter__(self) -> _LiveLink:
        try:
            self._socket.connect(self.target)
        except OSError as err:
            self._socket.close()
            raise ReplayError(f"cannot send to {self._where()}: {err}") from err
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()

    def _where(self) -> str:
        return f"{self.target[0]}:{self.target[1]}"

    def send(self, message) -> None:
        try:
            self._socket.send(message.dgram)
        except ConnectionRefusedError:  # an earlier datagram met a closed port
            raise ReplayError(nothing_listens(self.target)) from None
        except OSError as err:
            raise ReplayError(f"cannot send to {self._where()}: {err}") from err

    def request(self, message, confirm_s: float | None) -> None:
        """Send ``message``; with ``confirm_s``, wait for its ``/v2m/ok``."""
        self.send(message)
        if confirm_s is None:
            return
        outcome = self._wait_for_ok(message.address, confirm_s)
        if outcome.status == "timeout":
            raise ReplayError(
                f"no answer to {message.address} from {self._where()} within {confirm_s:g} s; "
                "is `v2m-bridge serve` running there, with live mode (and not started with "
                "--reply-port)?")
        if outcome.status == "error":
            raise ReplayError(f"the daemon refused {message.address}: {outcome.detail}")

    def stop(self, confirm_s: float | None) -> bool | None:
        """Send ``/v2m/live/stop``; True/False whether it was acknowledged, None if not checked
        or nothing listens any more."""
        try:
            self.send(osc_message(STOP_ADDRESS))
            if confirm_s is None:
                return None
            return self._wait_for_ok(STOP_ADDRESS, confirm_s).status == "reply"
        except ReplayError:
            return None

    def collect_errors(self) -> None:
        """Read, without waiting, whatever the daemon sent back since the last call."""
        for message in self._receive(0.0):
            self._note(Reply(message.address, tuple(message.params)))

    def _wait_for_ok(self, address: str, wait_s: float) -> Outcome:
        """The daemon's ``/v2m/ok`` or ``/v2m/error`` about ``address``, or a timeout; other
        messages meanwhile are noted."""
        outcome = wait_for_reply(self._socket, self.target, address, OK_ADDRESS, wait_s,
                                 self._note)
        if outcome.status == "refused":
            raise ReplayError(outcome.detail)
        return outcome

    def _note(self, reply: Reply) -> None:
        if reply.address == ERROR_ADDRESS:
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(" ".join(str(value) for value in reply.args))

    def _receive(self, wait_s: float) -> list:
        """The messages of one datagram (waiting up to ``wait_s``), or of all queued ones when
        ``wait_s`` is 0; unreadable packets are skipped."""
        messages = []
        self._socket.settimeout(wait_s if wait_s > 0 else 0.0)  # 0.0: non-blocking
        while True:
            try:
                data = self._socket.recv(65536)
            except (BlockingIOError, TimeoutError):
                break
            except ConnectionRefusedError:
                raise ReplayError(nothing_listens(self.target)) from None
            try:
                messages.extend(timed.message for timed in OscPacket(data).messages)
            except Exception:  # untrusted bytes: python-osc raises more than ParseError
                continue
            if wait_s > 0:
                break
        return messages


class _DecodeAhead:
    """Iterate ``features`` in a background thread; the consumer gets them through a queue
    (features are a few floats each, so the queue needs no bound). Decoding errors are re-raised
    in the consumer; leaving the ``with`` block stops the thread."""

    _DONE = object()

    def __init__(self, features: Iterator[FrameFeatures]) -> None:
        self._features = features
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="v2m-replay-decode", daemon=True)

    def _run(self) -> None:
        try:
            for frame in self._features:
                if self._stop.is_set():
                    return
                self._queue.put(frame)
        except BaseException as err:  # handed to the consumer
            self._queue.put(err)
        finally:
            close = getattr(self._features, "close", None)
            if close is not None:
                close()
        self._queue.put(self._DONE)

    def __enter__(self) -> Iterator[FrameFeatures]:
        self._thread.start()
        return self._iterate()

    def _iterate(self) -> Iterator[FrameFeatures]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

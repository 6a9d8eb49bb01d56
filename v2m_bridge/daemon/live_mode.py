"""Live mode: ``/v2m/live/*`` — timecoded frame features in, chords and notes out as they come.

Frames are handled on the OSC thread: folding is cheap, and the model step for a completed second
(a few milliseconds with the starter model) runs right there, so a second's notes are scheduled
as soon as its last frame arrives. Only CLIP (``/v2m/live/image``, seconds per image on a CPU)
runs on a worker thread. Notes play at media time + ``latency`` on the :class:`LiveClock`, which
follows the frames' media time; when frames stop for ``timeout`` seconds the clock stops and every
note ends.
"""

from __future__ import annotations

import collections
import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from v2m_bridge.config import DEFAULT_LIVE_LATENCY_S, DEFAULT_LIVE_TIMEOUT_S
from v2m_bridge.daemon.live_composer import LiveComposer, LiveUpdate
from v2m_bridge.daemon.live_frames import FoldResult, SecondFolder, parse_frame
from v2m_bridge.daemon.server import OscRequestError, Request, Route
from v2m_bridge.daemon.transport import LiveClock
from v2m_bridge.errors import V2MError

if TYPE_CHECKING:
    from v2m_bridge.daemon.session import Session

log = logging.getLogger(__name__)

MAX_LATENCY_S = 10.0
FRAME_SIGNATURES = tuple("f" * n for n in (7, 13, 775, 781))
LIVE_ADDRESS = "(live)"  # the address of live-session errors that answer no single request


@dataclass
class LiveRun:
    """One live session, from ``/v2m/live/start`` to ``/v2m/live/stop``."""

    latency: float
    folder: SecondFolder
    generator: torch.Generator
    torch_threads: int  # torch's thread count before the session, restored after it
    composer: LiveComposer | None = None
    timeouts_reported: int = 0
    sender: tuple[str, int] | None = None  # of the latest frame: told when frames stop


class LiveMode:
    """The ``/v2m/live/*`` handlers; state lives in :attr:`run` while a session is on."""

    def __init__(self, session: Session, clock: LiveClock) -> None:
        self.session = session
        self.clock = clock
        self.run: LiveRun | None = None
        self.update_latencies: collections.deque[float] = collections.deque(maxlen=100_000)
        self._image_worker: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.run is not None

    def routes(self) -> dict[str, Route]:
        return {
            "/v2m/live/start": Route(("", "f", "ff"), self.on_start,
                                     "start a live session [latency_s [timeout_s]]"),
            "/v2m/live/stop": Route(("",), self.on_stop, "end the live session"),
            "/v2m/live/frame": Route(FRAME_SIGNATURES, self.on_frame,
                                     "media_time luma motion r g b cut [emotion×6] [semantic×768]"),
            "/v2m/live/image": Route(("sf",), self.on_image, "CLIP features of a frame image"),
        }

    # --- handlers (OSC thread) -----------------------------------------------------------------

    def on_start(self, request: Request) -> None:
        args = [float(value) for value in request.args]
        latency = args[0] if args else DEFAULT_LIVE_LATENCY_S
        timeout = args[1] if len(args) > 1 else DEFAULT_LIVE_TIMEOUT_S
        if self.run is not None:
            raise OscRequestError("a live session is already running; send /v2m/live/stop first")
        if self.session.busy is not None:
            raise OscRequestError(f"busy {self.session.busy}; wait for /v2m/ready first")
        if not 0.0 <= latency <= MAX_LATENCY_S:
            raise OscRequestError(f"latency must be 0..{MAX_LATENCY_S:g} s, got {latency:g}")
        if not 0.05 <= timeout <= 60.0:
            raise OscRequestError(f"timeout must be 0.05..60 s, got {timeout:g}")
        self.session.options()  # the current settings must parse before anything changes
        seed = self.session.settings["seed"]
        generator = torch.Generator()
        generator.manual_seed(seed if seed is not None else random.randrange(2**31))
        self.clock.timeout_s = timeout
        self.clock.stop(now=request.received)
        # one step is a small forward pass: handing it to a second thread costs more than it
        # saves, and the scheduler thread keeps the other core (restored at stop)
        run_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        scheduler = self.session.scheduler
        scheduler.chase = False  # live notes are never struck late: a seek starts afresh
        scheduler.set_clock(self.clock)
        scheduler.set_events([], latency)
        self.run = LiveRun(latency, SecondFolder(), generator, torch_threads=run_threads,
                           timeouts_reported=self.clock.timeouts)
        log.info("live session started (latency %.3f s, timeout %.2f s)", latency, timeout)
        self.session.reply(request, "/v2m/ok", request.address)

    def on_stop(self, request: Request) -> None:
        if self.run is None:
            raise OscRequestError("no live session is running")
        self.stop()
        self.session.reply(request, "/v2m/ok", request.address)

    def stop(self) -> None:
        """End the session and every note; the offline composition (if any) plays again."""
        if self.run is not None:
            torch.set_num_threads(self.run.torch_threads)
        self.run = None
        self.clock.stop()
        session = self.session
        session.scheduler.chase = True
        session.scheduler.set_clock(session.own_clock)
        composition = session.composition
        session.scheduler.set_events(composition.events if composition else [],
                                     session.timeline_offset)
        log.info("live session stopped")

    def on_frame(self, request: Request) -> None:
        run = self.run
        if run is None:
            raise OscRequestError("no live session; send /v2m/live/start first")
        frame = parse_frame(request.args)
        run.sender = request.sender
        self.clock.feed(frame.media_time, now=request.received)
        previous = run.folder.current_second
        fold = run.folder.add(frame)
        if fold.seek_to is not None:
            self.session.reply(request, "/v2m/error", request.address, (
                f"media time jumped from second {previous} to {frame.media_time:.3f} s; "
                "treated as a seek: notes ended, the music restarts there"))
        self._compose(run, fold, frame.media_time, request.received)

    def on_image(self, request: Request) -> None:
        path, media_time = request.args[0], float(request.args[1])
        run = self.run
        if run is None:
            raise OscRequestError("no live session; send /v2m/live/start first")
        if not Path(path).is_file():
            raise OscRequestError(f"no image file at {path!r} (an absolute path is expected)")
        if self._image_worker is not None and self._image_worker.is_alive():
            raise OscRequestError("still encoding the previous image; this one was dropped")

        def encode() -> None:
            try:
                semantic, emotion = self.session.backend.encode_image(path)
            except V2MError as err:
                self.session.reply(request, "/v2m/error", request.address, str(err))
                return
            except Exception as err:  # a bug in CLIP work must not kill the daemon
                log.exception("encoding %s failed", path)
                self.session.reply(request, "/v2m/error", request.address,
                                   f"internal error: {err!r}")
                return
            run.folder.set_image_features(semantic, emotion)
            log.info("CLIP features of %s (media %.2f s) in use", path, media_time)
            self.session.reply(request, "/v2m/ok", request.address)

        self._image_worker = threading.Thread(target=encode, name="v2m-clip", daemon=True)
        self._image_worker.start()

    # --- the work ------------------------------------------------------------------------------

    def _compose(self, run: LiveRun, fold: FoldResult, media_time: float,
                 received: float) -> None:
        updates: list[LiveUpdate] = []
        if run.composer is None or fold.seek_to is not None:
            second = math.floor(media_time)
            run.composer = LiveComposer(self._amt(), self.session.options(), second,
                                        run.generator)
            self.session.scheduler.set_events([], run.latency)
            updates.append(run.composer.begin())
        if fold.completed:
            update = run.composer.complete(fold.completed)
            if update is not None:
                updates.append(update)
        if fold.cut_at is not None:
            partial = run.folder.partial()
            assert partial is not None
            updates.append(run.composer.cut(fold.cut_at, partial))
        for update in updates:
            start = self.session.scheduler.replace_from(update.events, update.start)
            for chord_start, name in update.chords:
                if chord_start >= start - 1e-6:
                    self.session.broadcast("/v2m/chord", name, float(chord_start))
        if updates:
            self.update_latencies.append(time.monotonic() - received)

    def _amt(self):
        return self.session.backend.chord_model.amt

    def tick(self) -> None:
        """Housekeeping on the OSC thread: report frames that stopped coming."""
        run = self.run
        if run is not None and self.clock.timeouts > run.timeouts_reported:
            run.timeouts_reported = self.clock.timeouts
            self.session.tell(run.sender, "/v2m/error", LIVE_ADDRESS, (
                f"no live frame for {self.clock.timeout_s:g} s: every note was ended; the "
                "session goes on when frames come back (/v2m/live/stop ends it)"))

"""Live mode: ``/v2m/live/*`` — timecoded frame features in, chords and notes out as they come.

The OSC thread only checks each frame, folds it into its media second (cheap) and, when a second
completes, a cut is flagged or the media jumped, queues a composition job. The model worker
(:class:`~v2m_bridge.daemon.worker.ModelWorker`) runs the jobs in order: the model step for the
completed second, the arrangement, and the hand-over of the new notes to the scheduler. CLIP
(``/v2m/live/image``, seconds per image on a CPU) runs on a thread of its own so it never holds
up the music. Notes play at media time + ``latency`` on the :class:`LiveClock`, which follows the
frames' media time; when frames stop for ``timeout`` seconds the clock stops and every note ends.
While the daemon follows an Ableton Link session, each chord change waits for the session's next
bar line (:mod:`~v2m_bridge.daemon.live_bars`).
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from v2m_bridge.config import DEFAULT_LIVE_LATENCY_S, DEFAULT_LIVE_TIMEOUT_S
from v2m_bridge.daemon.clients import Clients
from v2m_bridge.daemon.clock_control import check_position
from v2m_bridge.daemon.link_clock import LinkClock
from v2m_bridge.daemon.live_bars import BarGrid, align_update, keep_or_replace, measure_grid
from v2m_bridge.daemon.live_composer import LiveComposer, LiveUpdate, warm_up
from v2m_bridge.daemon.live_frames import FoldResult, SecondFeatures, SecondFolder, parse_frame
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.server import OscRequestError, OscStateError, Request
from v2m_bridge.daemon.state import Settings
from v2m_bridge.daemon.transport import LiveClock
from v2m_bridge.daemon.worker import ModelWorker
from v2m_bridge.errors import V2MError
from v2m_bridge.model.amt import AMT
from v2m_bridge.options import RenderOptions
from v2m_bridge.output.places import check_input_file

log = logging.getLogger(__name__)

MAX_LATENCY_S = 10.0
# Composition jobs a session may have waiting on the model worker. Frames that would queue more
# (sent faster than the model follows, or made-up media times) restart the music at the newest
# frame instead, so neither the queue nor the CPU spent on it can grow without bound.
MAX_QUEUED_JOBS = 8
LIVE_ADDRESS = "(live)"  # the address of live-session errors that answer no single request


@dataclass(frozen=True)
class LiveContext:
    """What live mode uses of the daemon, and nothing more."""

    scheduler: Scheduler
    clients: Clients
    worker: ModelWorker
    amt: Callable[[], AMT]
    encode_image: Callable[[str], tuple[np.ndarray, np.ndarray]]
    settings: Callable[[], Settings]  # the current settings, read at the first frame
    busy: Callable[[], str | None]  # what offline model work runs, if any
    hand_back: Callable[[], None]  # after a session: the transport and offline music return
    # the Ableton Link session the daemon follows, if any: chord changes wait for its bar lines
    link_clock: Callable[[], LinkClock | None] = lambda: None


@dataclass
class LiveRun:
    """One live session, from ``/v2m/live/start`` to ``/v2m/live/stop``."""

    latency: float
    folder: SecondFolder
    generator: torch.Generator
    torch_threads: int  # torch's thread count before the session, restored after it
    composer: LiveComposer | None = None  # the model worker's; None until the first frame
    started: bool = False  # a first frame was queued (OSC thread)
    epoch: int = 0  # counts seeks: jobs queued before the latest one are dropped
    queued: int = 0  # composition jobs waiting or running on the model worker
    overloaded: bool = False  # frames are being dropped until the queue drains (said once)
    timeouts_reported: int = 0
    sender: tuple[str, int] | None = None  # of the latest frame: told when frames stop
    last_frame_time: float | None = None  # media time of the latest frame in order
    submitted: int = 0  # jobs submitted so far (OSC thread): newer work skips a prepare
    bar_grid: BarGrid | None = None  # the Link session's bar lines in media time (live_bars)


@dataclass(frozen=True)
class ComposeJob:
    """What one frame changed, for the model worker."""

    epoch: int
    media_time: float
    received: float
    restart_options: RenderOptions | None  # set when the composition (re)starts here
    completed: list[SecondFeatures]
    cut_at: float | None
    partial: SecondFeatures | None  # the current second as seen at the cut


class LiveMode:
    """The ``/v2m/live/*`` handlers; state lives in :attr:`run` while a session is on."""

    def __init__(self, context: LiveContext, clock: LiveClock) -> None:
        self.context = context
        self.clock = clock
        self.run: LiveRun | None = None
        self.update_latencies: collections.deque[float] = collections.deque(maxlen=100_000)
        self._image_worker: threading.Thread | None = None
        self._lock = threading.Lock()  # the current run vs. the worker handing over notes

    @property
    def active(self) -> bool:
        return self.run is not None

    def handlers(self) -> dict[str, Callable[[Request], None]]:
        return {"/v2m/live/start": self.on_start, "/v2m/live/stop": self.on_stop,
                "/v2m/live/frame": self.on_frame, "/v2m/live/image": self.on_image}

    # --- handlers (OSC thread) -----------------------------------------------------------------

    def on_start(self, request: Request) -> None:
        args = [float(value) for value in request.args]
        latency = args[0] if args else DEFAULT_LIVE_LATENCY_S
        timeout = args[1] if len(args) > 1 else DEFAULT_LIVE_TIMEOUT_S
        if self.run is not None:
            raise OscStateError("a live session is already running; send /v2m/live/stop first")
        busy = self.context.busy()
        if busy is not None:
            raise OscStateError(f"busy {busy}; wait for /v2m/ready first")
        if not 0.0 <= latency <= MAX_LATENCY_S:
            raise OscRequestError(f"latency must be 0..{MAX_LATENCY_S:g} s, got {latency:g}")
        if not 0.05 <= timeout <= 60.0:
            raise OscRequestError(f"timeout must be 0.05..60 s, got {timeout:g}")
        generator = torch.Generator()
        generator.manual_seed(self.context.settings().run_seed())
        self.clock.timeout_s = timeout
        self.clock.stop(now=request.received)
        # one step is a small forward pass: spreading it over threads costs more than it saves,
        # and the scheduler and OSC threads keep the other cores (restored at stop). torch's
        # thread count is per thread once a thread has used torch, so the worker sets its own.
        run_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        self.context.worker.submit(lambda: torch.set_num_threads(1))
        options = self.context.settings().options
        self.context.worker.submit(lambda: warm_up(self.context.amt(), options))
        scheduler = self.context.scheduler
        scheduler.chase = False  # live notes are never struck late: a seek starts afresh
        scheduler.set_clock(self.clock)
        scheduler.set_events([], latency)
        with self._lock:
            self.run = LiveRun(latency, SecondFolder(), generator, torch_threads=run_threads,
                               timeouts_reported=self.clock.timeouts)
        log.info("live session started (latency %.3f s, timeout %.2f s)", latency, timeout)

    def on_stop(self, request: Request) -> None:
        if self.run is None:
            raise OscStateError("no live session is running")
        self.stop()

    def stop(self) -> None:
        """End the session and every note; the offline composition (if any) plays again."""
        with self._lock:  # a composition job still running hands nothing over after this
            if self.run is not None:
                threads = self.run.torch_threads
                torch.set_num_threads(threads)
                self.context.worker.submit(lambda: torch.set_num_threads(threads))
            self.run = None
            self.clock.stop()
            self.context.hand_back()
        log.info("live session stopped")

    def on_frame(self, request: Request) -> None:
        run = self.run
        if run is None:
            raise OscRequestError("no live session; send /v2m/live/start first")
        frame = parse_frame(request.args)
        run.sender = request.sender
        self.clock.feed(frame.media_time, now=request.received)
        previous = run.folder.current_second
        if run.queued >= MAX_QUEUED_JOBS:  # the model is behind: drop frames until it is not
            self._overloaded(run, request, frame.media_time)
            return
        run.overloaded = False
        fold = run.folder.add(frame)
        if fold.seek_to is not None:
            with self._lock:  # the notes end now, not when the worker gets to the new start
                run.epoch += 1
                self.context.scheduler.set_events([], run.latency)
            self.context.clients.reply(request, "/v2m/error", request.address, (
                f"media time jumped from second {previous} to {frame.media_time:.3f} s; "
                "treated as a seek: notes ended, the music restarts there"))
        job = self._job(run, fold, frame.media_time, request.received)
        if job is not None:
            with self._lock:
                run.queued += 1
            run.submitted += 1
            self.context.worker.submit(lambda: self._compose_counted(run, job))
        self._prepare_if_last(run, fold, frame.media_time)

    def _overloaded(self, run: LiveRun, request: Request, media_time: float) -> None:
        """Frames come faster than the model follows: the queued jobs are dropped (a new
        epoch), the notes end, and the first frame after the queue drains restarts the music
        (the folder starts afresh there). Said once per episode."""
        run.folder.reset()
        run.started = False
        if run.overloaded:
            return
        run.overloaded = True
        with self._lock:
            run.epoch += 1
            self.context.scheduler.set_events([], run.latency)
        self.context.clients.reply(request, "/v2m/error", request.address, (
            f"frames come faster than the model can follow (at {media_time:.3f} s): notes "
            "ended; frames are dropped until it catches up, then the music restarts"))

    def on_image(self, request: Request) -> None:
        path, media_time = request.args[0], float(request.args[1])
        run = self.run
        if run is None:
            raise OscStateError("no live session; send /v2m/live/start first")
        check_position(media_time, "media_time")
        try:
            check_input_file(path, "image file")
        except V2MError as err:
            raise OscRequestError(str(err)) from None
        if self._image_worker is not None and self._image_worker.is_alive():
            raise OscStateError("still encoding the previous image; this one was dropped")
        reply = self.context.clients.reply

        def encode() -> None:
            try:
                semantic, emotion = self.context.encode_image(path)
            except V2MError as err:
                reply(request, "/v2m/error", request.address, str(err))
                return
            except Exception as err:  # a bug in CLIP work must not kill the daemon
                log.exception("encoding %s failed", path)
                reply(request, "/v2m/error", request.address, f"internal error: {err!r}")
                return
            run.folder.set_image_features(semantic, emotion)
            log.info("CLIP features of %s (media %.2f s) in use", path, media_time)
            reply(request, "/v2m/ok", request.address)

        self._image_worker = threading.Thread(target=encode, name="v2m-clip", daemon=True)
        self._image_worker.start()

    def tick(self) -> None:
        """Housekeeping on the OSC thread: report frames that stopped coming."""
        run = self.run
        if run is not None and self.clock.timeouts > run.timeouts_reported:
            run.timeouts_reported = self.clock.timeouts
            self.context.clients.tell(run.sender, "/v2m/error", LIVE_ADDRESS, (
                f"no live frame for {self.clock.timeout_s:g} s: every note was ended; the "
                "session goes on when frames come back (/v2m/live/stop ends it)"))

    # --- the work ------------------------------------------------------------------------------

    def _job(self, run: LiveRun, fold: FoldResult, media_time: float, received: float
             ) -> ComposeJob | None:
        """The composition work this frame calls for (OSC thread), or None."""
        restart = not run.started or fold.seek_to is not None
        run.started = True
        partial = run.folder.partial() if fold.cut_at is not None else None
        if not (restart or fold.completed or fold.cut_at is not None):
            return None
        return ComposeJob(run.epoch, media_time, received,
                          self.context.settings().options if restart else None,
                          fold.completed, fold.cut_at, partial)

    def _prepare_if_last(self, run: LiveRun, fold: FoldResult, media_time: float) -> None:
        """(OSC thread) A frame whose successor is due in the next second is likely the last of
        its second: the worker works out the next chord and notes now, from this second as it
        stands (:meth:`LiveComposer.prepare`), and the frame that completes it only checks that
        nothing changed. Only past frames go in; what is prepared is the same as what would be
        computed at completion, or thrown away."""
        if fold.late:
            return
        previous, run.last_frame_time = run.last_frame_time, media_time
        second = run.folder.current_second
        if fold.seek_to is not None or fold.cut_at is not None or previous is None or (
                second is None):
            return
        step = media_time - previous
        if not 0.0 < step <= 1.0 or media_time + 1.25 * step < second + 1:
            return
        partial = run.folder.partial()
        if partial is not None:
            run.submitted += 1
            ticket = run.submitted
            self.context.worker.submit(lambda: self._prepare(run, ticket, partial))

    def _prepare(self, run: LiveRun, ticket: int, partial: SecondFeatures) -> None:
        """(model worker) See :meth:`_prepare_if_last`. Skipped when a later job is queued
        already: a prepare never holds up the work of a frame that came after it."""
        if self.run is run and run.submitted == ticket and run.composer is not None:
            run.composer.prepare(partial)

    def _compose_counted(self, run: LiveRun, job: ComposeJob) -> None:
        try:
            self._compose(run, job)
        except Exception as err:  # said, never silent; the worker logs it (issue 21, case 2)
            self.context.clients.tell(run.sender, "/v2m/error", LIVE_ADDRESS,
                                      f"the live step failed: {err!r}")
            raise
        finally:
            with self._lock:
                run.queued -= 1

    def _compose(self, run: LiveRun, job: ComposeJob) -> None:
        """Model step and arrangement (model worker), then the notes to the scheduler."""
        if not self._current(run, job):
            return  # the session ended or the media jumped while this waited
        updates: list[LiveUpdate] = []
        if job.restart_options is not None:
            run.composer = LiveComposer(self.context.amt(), job.restart_options,
                                        math.floor(job.media_time), run.generator)
            updates.append(run.composer.begin())
        assert run.composer is not None
        if job.completed:
            update = run.composer.complete(job.completed)
            if update is not None:
                updates.append(update)
        if job.cut_at is not None:
            assert job.partial is not None
            updates.append(run.composer.cut(job.cut_at, job.partial))
        with self._lock:
            if self._current(run, job):
                self._hand_over(run, updates)
                if updates:
                    self.update_latencies.append(time.monotonic() - job.received)

    def _current(self, run: LiveRun, job: ComposeJob) -> bool:
        return self.run is run and run.epoch == job.epoch

    def _hand_over(self, run: LiveRun, updates: list[LiveUpdate]) -> None:
        scheduler = self.context.scheduler
        link = self.context.link_clock()
        for update in updates:
            if link is not None and run.composer is not None:
                update = self._on_bar_lines(run, link, update)
            start = scheduler.replace_from(update.events, update.start)
            for chord_start, name in update.chords:
                if chord_start >= start - 1e-6:
                    self.context.clients.broadcast("/v2m/chord", name, float(chord_start))

    def _on_bar_lines(self, run: LiveRun, link: LinkClock, update: LiveUpdate) -> LiveUpdate:
        """``update`` with its chord changes on the Link session's bar lines (lock held)."""
        assert run.composer is not None
        now = time.monotonic()
        fresh = measure_grid(link, self.clock.snapshot(), run.latency,
                             float(run.composer.arrange_options.beats_per_bar), now)
        run.bar_grid = keep_or_replace(run.bar_grid, fresh)
        return update if run.bar_grid is None else align_update(update, run.bar_grid)

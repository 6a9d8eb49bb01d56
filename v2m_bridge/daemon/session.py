"""The daemon's state and its OSC request handlers.

A :class:`Session` holds the current video, its features and composition, the generation settings
(key, primer, emotion, seed) and the registered clients. Model work (analysis, generation) runs in
one worker thread at a time; the OSC thread only validates, starts work and answers. A failed
request leaves the state as it was: a video that does not open keeps the previous one playing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from v2m_bridge.config import DEFAULT_KEY
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.server import Address, OscRequestError, OscServer, Request, Route
from v2m_bridge.daemon.transport import LiveClock, MtcClock, OwnClock, ReaperClock
from v2m_bridge.errors import V2MError
from v2m_bridge.music.events import NoteEvent
from v2m_bridge.music.grid import ChordSpan

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]
FEATURES_SHARE = 0.6  # of the progress bar, as in music.compose
STATUS_INTERVAL_S = 0.1


class ModelBackend:
    """The real pipeline: video features once per video, then chords and arrangement per request.

    ``chord_model`` is loaded once by ``serve``
    (:func:`v2m_bridge.model.loading.load_chord_model`).
    """

    def __init__(self, chord_model, *, clip_weights: str | None = None,
                 device: str | None = None) -> None:
        self.chord_model = chord_model
        self.clip_weights = clip_weights
        self.device = device
        self._clip = None  # the CLIP encoder, loaded by the first /v2m/live/image

    def analyse(self, path: str, progress: ProgressCallback):
        from v2m_bridge.video import analyze_video

        return analyze_video(path, clip_weights=self.clip_weights, device=self.device,
                             progress=lambda f, stage: progress(FEATURES_SHARE * f, stage))

    def compose(self, features, options, progress: ProgressCallback):
        from v2m_bridge.pipeline import compose_features

        return compose_features(features, options, progress, self.chord_model)

    def encode_image(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        """CLIP semantic (768,) and emotion (6,) of one image (live mode); loads CLIP once."""
        import cv2

        from v2m_bridge.video.clip_features import (
            ClipWeights,
            build_clip_encoder,
            find_clip_weights,
        )

        if self._clip is None:
            found = find_clip_weights(self.clip_weights)
            if found is None:
                raise V2MError("no CLIP ViT-L/14@336px weights found: start serve with "
                               "--clip-weights PATH or set V2M_CLIP_WEIGHTS (live frames work "
                               "without them)")
            self._clip = build_clip_encoder(ClipWeights(found), self.device)
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        if frame is None:
            raise V2MError(f"cannot read an image at {path!r} (PNG, JPEG, TIFF... expected)")
        semantic, emotion = self._clip.encode(self._clip.preprocess(frame).unsqueeze(0))
        return semantic[0], emotion[0]


def splice_events(old: list[NoteEvent], new: list[NoteEvent], start: float, end: float
                  ) -> list[NoteEvent]:
    """``old`` outside ``[start, end)``, ``new`` inside; notes crossing a boundary are cut there."""
    kept = []
    for event in old:
        if event.start < start:
            kept.append(dataclasses.replace(event, end=min(event.end, start))
                        if event.end > start else event)
        elif event.start >= end:
            kept.append(event)
    for event in new:
        if start <= event.start < end:
            kept.append(dataclasses.replace(event, end=min(event.end, end)))
    return sorted(kept)


def splice_spans(old: tuple[ChordSpan, ...], new: tuple[ChordSpan, ...], start: float,
                 end: float) -> tuple[ChordSpan, ...]:
    """Chord spans spliced like :func:`splice_events`."""
    spans = [dataclasses.replace(s, end=min(s.end, start)) for s in old if s.start < start]
    spans += [dataclasses.replace(s, start=max(s.start, start), end=min(s.end, end))
              for s in new if s.start < end and s.end > start]
    spans += [dataclasses.replace(s, start=max(s.start, end)) for s in old if s.end > end]
    return tuple(sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, s.end)))


class Session:
    """Daemon state plus the ``/v2m/*`` and Reaper handlers (see :meth:`routes`)."""

    def __init__(self, backend, scheduler: Scheduler, *, own_clock: OwnClock,
                 reaper_clock: ReaperClock, mtc_clock: MtcClock | None = None,
                 live_clock: LiveClock | None = None, reply_port: int | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.scheduler = scheduler
        self.own_clock = own_clock
        self.reaper_clock = reaper_clock
        self.mtc_clock = mtc_clock
        self.reply_port = reply_port
        self.monotonic = monotonic
        self.server: OscServer | None = None
        self.clients: dict[str, Address] = {}
        self.video: str | None = None
        self.timeline_offset = 0.0
        self.features = None
        self.composition = None
        self.settings: dict[str, object] = {"key": DEFAULT_KEY, "primer": "", "emotion": None,
                                            "seed": None}
        self.busy: str | None = None  # what the worker is doing, or None
        self.follow_reaper = True
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._next_status = 0.0
        from v2m_bridge.daemon.live_mode import LiveMode  # here: it loads torch

        self.live = LiveMode(self, live_clock or LiveClock(monotonic))

    # --- wiring --------------------------------------------------------------------------------

    def attach(self, server: OscServer) -> None:
        self.server = server

    def reply_targets(self, sender: Address) -> list[Address]:
        """The sender (at ``--reply-port`` when given) and every client registered with hello."""
        first = (sender[0], self.reply_port) if self.reply_port else sender
        return [first, *self.clients.values()]

    def reply(self, request: Request, address: str, *args: object) -> None:
        assert self.server is not None
        self.server.reply(request.sender, address, *args)

    def routes(self) -> dict[str, Route]:
        on = self._reaper_handler
        return {
            "/v2m/hello": Route(("si",), self.on_hello, "register for replies and /v2m/status"),
            "/v2m/status": Route(("",), self.on_status, "ask for /v2m/status now"),
            "/v2m/video/open": Route(("s", "sf"), self.on_video_open,
                                     "analyse and compose; progress, then /v2m/ready"),
            "/v2m/key": Route(("s",), self.on_setting("key"), "key for the next generation"),
            "/v2m/primer": Route(("s",), self.on_setting("primer"), "first chords"),
            "/v2m/emotion": Route(("s",), self.on_setting("emotion"), "emotion or curve"),
            "/v2m/seed": Route(("i",), self.on_seed, "random seed"),
            "/v2m/regenerate": Route(("ff",), self.on_regenerate, "re-roll a media range"),
            "/v2m/render": Route(("s",), self.on_render, "write the composition as MIDI"),
            "/v2m/panic": Route(("",), self.on_panic, "end every sounding note"),
            "/v2m/transport/play": Route(("f", "ff"), self.on_transport_play, "play from pos"),
            "/v2m/transport/stop": Route(("",), self.on_transport_stop, "stop"),
            "/v2m/transport/seek": Route(("f",), self.on_transport_seek, "seek to pos"),
            "/v2m/transport/follow": Route(("i",), self.on_transport_follow,
                                           "1: follow Reaper's transport (default), 0: ignore it"),
            **self.live.routes(),
            # Reaper's control-surface feedback (see reaper_scripts/v2m.ReaperOSC)
            "/play": Route(("", "f"), on(ReaperClock.on_play)),
            "/stop": Route(("", "f"), on(ReaperClock.on_stop)),
            "/pause": Route(("", "f"), on(ReaperClock.on_pause)),
            "/repeat": Route(("", "f"), on(ReaperClock.on_repeat)),
            "/time": Route(("f",), on(ReaperClock.on_time)),
            "/playrate/raw": Route(("f",), on(ReaperClock.on_playrate)),
            "/tempo/raw": Route(("f",), on(ReaperClock.on_tempo)),
            "/loop/start/time": Route(("f",), on(ReaperClock.on_loop_start)),
            "/loop/end/time": Route(("f",), on(ReaperClock.on_loop_end)),
        }

    # --- status and housekeeping (OSC thread) --------------------------------------------------

    def status_args(self) -> tuple[str, float, float, str]:
        clock = self.scheduler.clock
        state = clock.snapshot()
        tempo = clock.tempo_bpm or (self.composition.tempo_bpm if self.composition else 0.0)
        phase = self.busy or ("live" if self.live.active else
                              "ready" if self.composition is not None else "idle")
        return state.mode, float(state.position_at(self.monotonic())), float(tempo), phase

    def check_port(self) -> None:
        """Watchdog step (its own thread: a JACK liveness probe takes tens of ms)."""
        change = self.scheduler.check_port()
        if change == "lost":
            self.broadcast("/v2m/error", "(midi)", "the MIDI output port went away; all notes "
                            "were ended and output waits for the port to come back")
        elif change == "restored":
            self.broadcast("/v2m/status", *self.status_args())

    def tick(self) -> None:
        self.live.tick()
        now = self.monotonic()
        if self.clients and now >= self._next_status:
            self._next_status = now + STATUS_INTERVAL_S
            assert self.server is not None
            self.server.send_to(self.clients.values(), "/v2m/status", *self.status_args())

    def broadcast(self, address: str, *args: object) -> None:
        """To every client registered with /v2m/hello."""
        self.tell(None, address, *args)

    def tell(self, sender: Address | None, address: str, *args: object) -> None:
        """To ``sender`` (as a reply would go) and the registered clients."""
        if self.server is not None:
            targets = self.reply_targets(sender) if sender else self.clients.values()
            self.server.send_to(targets, address, *args)

    # --- handlers ------------------------------------------------------------------------------

    def on_hello(self, request: Request) -> None:
        name, port = request.args
        if not 1 <= port <= 65535:
            raise OscRequestError(f"reply port must be 1..65535, got {port}")
        self.clients[name] = (request.sender[0], port)
        log.info("client %r registered at %s:%d", name, request.sender[0], port)
        self.reply(request, "/v2m/status", *self.status_args())

    def on_status(self, request: Request) -> None:
        self.reply(request, "/v2m/status", *self.status_args())

    def on_video_open(self, request: Request) -> None:
        self._refuse_while_live()
        path = request.args[0]
        offset = float(request.args[1]) if len(request.args) > 1 else 0.0
        if not Path(path).is_file():
            raise OscRequestError(f"no video file at {path!r} (an absolute path is expected)")
        options = self.options()

        def work(progress: ProgressCallback) -> tuple:
            features = self.backend.analyse(path, progress)
            composition = self.backend.compose(features, options, progress)
            with self._lock:
                self.video, self.timeline_offset = path, offset
                self.features, self.composition = features, composition
            self.scheduler.set_events(composition.events, offset)
            return "/v2m/ready", path, float(composition.duration)

        self._start_work(request, f"analysing {Path(path).name}", work)

    def on_setting(self, name: str) -> Callable[[Request], None]:
        def handler(request: Request) -> None:
            value = request.args[0]
            if name == "emotion" and not value.strip():
                value = None  # an empty emotion clears the override
            self.options(**{name: value})  # raises a clear V2MError if it does not parse
            self.settings[name] = value
            self.reply(request, "/v2m/ok", request.address)
        return handler

    def on_seed(self, request: Request) -> None:
        seed = request.args[0]
        if not 0 <= seed < 2**31:
            raise OscRequestError(f"seed must be 0..2147483647, got {seed}")
        self.settings["seed"] = seed
        self.reply(request, "/v2m/ok", request.address)

    def on_regenerate(self, request: Request) -> None:
        self._refuse_while_live()
        start, end = (float(v) for v in request.args)
        if self.features is None or self.composition is None:
            raise OscRequestError("no video is open; send /v2m/video/open first")
        if not 0 <= start < end:
            raise OscRequestError(f"range must satisfy 0 <= start < end, got {start:g}..{end:g}")
        seed = self.settings["seed"]
        options = self.options(seed=seed if seed is not None else random.randrange(2**31))
        features, old = self.features, self.composition

        def work(progress: ProgressCallback) -> tuple:
            new = self.backend.compose(features, options, progress)
            composition = dataclasses.replace(
                old, events=splice_events(old.events, new.events, start, end),
                grid=dataclasses.replace(old.grid, spans=splice_spans(
                    old.chord_spans, new.chord_spans, start, end)))
            with self._lock:
                self.composition = composition
            self.scheduler.set_events(composition.events, self.timeline_offset)
            return "/v2m/ready", self.video, float(composition.duration)

        self._start_work(request, "regenerating", work)

    def on_render(self, request: Request) -> None:
        from v2m_bridge.output.midi_file import write_midi

        if self.composition is None:
            raise OscRequestError("no composition yet; send /v2m/video/open first")
        path = write_midi(self.composition, request.args[0], inputs=(self.video,))
        self.reply(request, "/v2m/render/done", str(path))

    def on_panic(self, request: Request) -> None:
        self.scheduler.panic()
        self.reply(request, "/v2m/ok", request.address)

    def on_transport_play(self, request: Request) -> None:
        position = float(request.args[0])
        rate = float(request.args[1]) if len(request.args) > 1 else 1.0
        if not 0.0 < rate <= 16.0:
            raise OscRequestError(f"play rate must be in (0, 16], got {rate:g}")
        self._own_transport().play(position, rate, now=request.received)
        self.reply(request, "/v2m/ok", request.address)

    def on_transport_stop(self, request: Request) -> None:
        self._own_transport().stop(now=request.received)
        self.reply(request, "/v2m/ok", request.address)

    def on_transport_seek(self, request: Request) -> None:
        self._own_transport().seek(float(request.args[0]), now=request.received)
        self.reply(request, "/v2m/ok", request.address)

    def on_transport_follow(self, request: Request) -> None:
        self._refuse_while_live()
        value = request.args[0]
        if value not in (0, 1):
            raise OscRequestError(f"/v2m/transport/follow expects 1 (follow Reaper) or 0, got "
                                  f"{value}")
        self.follow_reaper = bool(value)
        if not self.follow_reaper and self.scheduler.clock is self.reaper_clock:
            self.own_clock.stop()
            self.scheduler.set_clock(self.own_clock)  # ends every sounding note
        self.reply(request, "/v2m/ok", request.address)

    def _reaper_handler(self, method: Callable) -> Callable[[Request], None]:
        def handler(request: Request) -> None:
            if not self.follow_reaper or self.live.active:
                return
            if self.scheduler.clock is not self.reaper_clock:
                log.info("following Reaper's transport")
                self.scheduler.set_clock(self.reaper_clock)
            try:
                method(self.reaper_clock, *(float(a) for a in request.args),
                       now=request.received)
            except ValueError as err:  # e.g. a play rate of 0: Reaper needs no answer
                log.info("ignored %s %s: %s", request.address, request.args, err)
        return handler

    def follow_mtc(self) -> None:
        """Called when MTC arrives: make the MTC clock the transport source."""
        if self.mtc_clock is not None and self.scheduler.clock is not self.mtc_clock:
            log.info("following MIDI Time Code")
            self.scheduler.set_clock(self.mtc_clock)

    # --- helpers -------------------------------------------------------------------------------

    def _refuse_while_live(self) -> None:
        if self.live.active:
            raise OscRequestError("a live session is running; send /v2m/live/stop first")

    def _own_transport(self) -> OwnClock:
        self._refuse_while_live()
        if self.composition is None:
            raise OscRequestError("no video is open; send /v2m/video/open first")
        if self.scheduler.clock is not self.own_clock:
            self.scheduler.set_clock(self.own_clock)
        return self.own_clock

    def options(self, **changes):
        from v2m_bridge.options import RenderOptions

        values = {**self.settings, **changes}
        return RenderOptions(key=values["key"], primer=values["primer"] or "",
                             emotion=values["emotion"], seed=values["seed"])

    def _start_work(self, request: Request, what: str, work: Callable[[ProgressCallback], tuple]
                    ) -> None:
        """Run ``work`` on the worker thread; it returns the final reply (address, *args)."""
        with self._lock:
            if self.busy is not None:
                raise OscRequestError(f"busy {self.busy}; wait for /v2m/ready (or /v2m/error) "
                                      "before sending another")
            self.busy = what

        def progress(fraction: float, stage: str) -> None:
            if math.isfinite(fraction):
                self.reply(request, "/v2m/progress", stage, float(fraction))

        def run() -> None:
            try:
                reply = work(progress)
            except V2MError as err:
                reply = ("/v2m/error", request.address, str(err))
            except Exception as err:  # a bug in model work must not kill the daemon
                log.exception("%s failed", what)
                reply = ("/v2m/error", request.address, f"internal error: {err!r}")
            with self._lock:
                self.busy = None  # before replying, so the client may send the next request
            self.reply(request, *reply)

        progress(0.0, "queued")
        self._worker = threading.Thread(target=run, name="v2m-worker", daemon=True)
        self._worker.start()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no model work runs (tests, shutdown)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return self.busy is None

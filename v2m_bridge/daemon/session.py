"""The daemon's session: the opened video and its composition, the generation settings, the
registered clients, and the handlers of the requests about them.

Model work (analysis, generation) runs on the model worker, one job at a time; the OSC thread
only checks, queues and answers. A failed request leaves the state as it was: a video that does
not open keeps the previous one playing. Transport handling is :mod:`.clock_control`'s, live mode
:mod:`.live_mode`'s; :meth:`Session.routes` joins them into the protocol's routes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from v2m_bridge.config import MAX_POSITION_S, MAX_TEMPO_BPM, MIN_TEMPO_BPM
from v2m_bridge.daemon.backend import ModelBackend, ProgressCallback
from v2m_bridge.daemon.clients import Clients
from v2m_bridge.daemon.clock_control import ClockControl, check_position
from v2m_bridge.daemon.library import MAX_TOP, LibraryMatcher, listing
from v2m_bridge.daemon.link_clock import LinkClock
from v2m_bridge.daemon.live_mode import LiveContext, LiveMode
from v2m_bridge.daemon.routes import build_routes
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.server import OscRequestError, OscStateError, Request, Route
from v2m_bridge.daemon.splice import splice
from v2m_bridge.daemon.state import Opened, Settings
from v2m_bridge.daemon.transport import LiveClock, MtcClock, OwnClock, ReaperClock
from v2m_bridge.daemon.worker import ModelWorker
from v2m_bridge.errors import V2MError
from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.reroll import RerollRequest, kept_from_composition
from v2m_bridge.osc import protocol
from v2m_bridge.output.midi_file import composition_to_midi
from v2m_bridge.output.places import OutputPlaces, check_input_file
from v2m_bridge.retrieval.temp_track import use_excerpt

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 0.1
Work = Callable[[ProgressCallback], tuple]  # model work; returns the final reply


class Session:
    """Daemon state plus the ``/v2m/*`` and Reaper handlers (see :meth:`routes`)."""

    def __init__(self, backend: ModelBackend, scheduler: Scheduler, *, own_clock: OwnClock,
                 reaper_clock: ReaperClock, mtc_clock: MtcClock | None = None,
                 live_clock: LiveClock | None = None, reply_port: int | None = None,
                 output: OutputPlaces | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 matcher: LibraryMatcher | None = None) -> None:
        self.backend = backend
        self.output = output if output is not None else OutputPlaces()
        self.matcher = matcher or LibraryMatcher()
        self.scheduler = scheduler
        self.monotonic = monotonic
        self.clients = Clients(reply_port)
        self.worker = ModelWorker()
        self.settings = Settings()  # replaced whole on every change
        self.opened = Opened()  # replaced whole when a video opens or is regenerated
        self.busy: str | None = None  # the offline model work queued or running, or None
        self._lock = threading.Lock()
        self._next_status = 0.0
        self.clocks = ClockControl(
            scheduler, own_clock=own_clock, reaper_clock=reaper_clock, mtc_clock=mtc_clock,
            live_active=lambda: self.live.active,
            has_composition=lambda: self.opened.composition is not None)
        self.live = LiveMode(LiveContext(
            scheduler=scheduler, clients=self.clients, worker=self.worker,
            amt=lambda: backend.chord_model.amt, encode_image=lambda p: backend.encode_image(p),
            settings=lambda: self.settings, busy=lambda: self.busy,
            hand_back=self._play_offline, link_clock=self._followed_link),
            live_clock or LiveClock(monotonic))

    @property
    def composition(self) -> Composition | None:
        return self.opened.composition

    @property
    def timeline_offset(self) -> float:
        return self.opened.timeline_offset

    def routes(self) -> dict[str, Route]:
        clocks = self.clocks
        return build_routes({
            "/v2m/hello": self.on_hello,
            "/v2m/status": self.on_status,
            "/v2m/video/open": self.on_video_open,
            "/v2m/key": self.on_setting("key"),
            "/v2m/primer": self.on_setting("primer"),
            "/v2m/emotion": self.on_setting("emotion"),
            "/v2m/seed": self.on_seed,
            "/v2m/tempo": self.on_setting("tempo"),
            "/v2m/rhythm": self.on_setting("harmonic_rhythm"),
            "/v2m/regenerate": self.on_regenerate,
            "/v2m/render": self.on_render,
            "/v2m/match": self.on_match,
            "/v2m/use": self.on_use,
            "/v2m/panic": lambda request: self.scheduler.panic(),
            "/v2m/transport/play": clocks.on_play,
            "/v2m/transport/stop": clocks.on_stop,
            "/v2m/transport/seek": clocks.on_seek,
            "/v2m/transport/follow": clocks.on_follow,
            **self.live.handlers(),
            **clocks.reaper_routes(),
        }, self.clients.reply)

    # --- status and housekeeping (OSC thread) --------------------------------------------------

    def status_args(self) -> tuple[str, float, float, str, str]:
        """Transport, position, bpm, phase and the bar.beat of the position: the DAW's tempo
        when one is followed, else the opened music's tempo map at that point."""
        clock = self.scheduler.clock
        state = clock.snapshot()
        position = float(state.position_at(self.monotonic()))
        composition = self.opened.composition
        tempo, bar_beat = clock.tempo_bpm or 0.0, "-"
        if composition is not None:
            media = max(position - self.opened.timeline_offset, 0.0)
            tempo = tempo or composition.tempo_map.tempo_at(media)
            bar_beat = composition.tempo_map.position_label(media)
        phase = self.busy or ("live" if self.live.active else
                              "ready" if composition is not None else "idle")
        return state.mode, position, float(tempo), phase, bar_beat

    def daw_tempo(self) -> float | None:
        """The tempo of the DAW whose transport is followed (Reaper's /tempo/raw), if usable."""
        clock = self.scheduler.clock
        bpm = getattr(clock, "tempo_bpm", None)
        if clock is not self.clocks.reaper_clock or not bpm:
            return None
        return float(bpm) if MIN_TEMPO_BPM <= bpm <= MAX_TEMPO_BPM else None

    def check_port(self) -> None:
        """Watchdog step (its own thread: a JACK liveness probe takes tens of ms)."""
        change = self.scheduler.check_port()
        if change == "lost":
            self.clients.broadcast(protocol.ERROR, "(midi)", "the MIDI output port went away; "
                                   "all notes were ended and output waits for the port to come "
                                   "back")
        elif change == "restored":
            self.clients.broadcast(protocol.STATUS, *self.status_args())

    def tick(self) -> None:
        self.live.tick()
        self.clients.expire()
        now = self.monotonic()
        if self.clients.registered and now >= self._next_status:
            self._next_status = now + STATUS_INTERVAL_S
            self.clients.broadcast(protocol.STATUS, *self.status_args())

    def close(self) -> None:
        self.worker.close()

    # --- handlers ------------------------------------------------------------------------------

    def on_hello(self, request: Request) -> None:
        name, port = request.args
        self.clients.register(name, request.sender, port)
        self.on_status(request)

    def on_status(self, request: Request) -> None:
        self.clients.reply(request, protocol.STATUS, *self.status_args())

    def on_video_open(self, request: Request) -> None:
        self.clocks.refuse_while_live()
        path = request.args[0]
        offset = float(request.args[1]) if len(request.args) > 1 else 0.0
        check_position(offset, "timeline_offset")
        try:
            check_input_file(path, "video file")
        except V2MError as err:
            raise OscRequestError(str(err)) from None
        if len(request.args) > 2:  # a tempo for this video and the next (raises if bad)
            self.settings = self.settings.changed(tempo=request.args[2])
        options = self.settings.options_following(self.daw_tempo())

        def work(progress: ProgressCallback) -> tuple:
            features = self.backend.analyse(path, progress)
            composition = self.backend.compose(features, options, progress)
            self.opened = Opened(path, offset, features, composition)
            self.scheduler.set_events(composition.events, offset)
            partial = getattr(features, "settings", {}).get("incomplete_decode")
            if partial:  # truncated, or cut short while it was read: it plays, but say so
                self.clients.reply(request, protocol.WARNING, request.address, (
                    f"{Path(path).name}: {partial}; the music covers the decoded part only "
                    "(the file may be truncated or still being written)"))
            return protocol.READY, path, float(composition.duration)

        self._start_work(request, f"analysing {Path(path).name}", work)

    def on_setting(self, name: str) -> Callable[[Request], None]:
        def handler(request: Request) -> None:
            value = request.args[0]
            if name == "emotion" and not value.strip():
                value = None  # an empty emotion clears the override
            self.settings = self.settings.changed(**{name: value})  # raises if it won't parse
        return handler

    def on_seed(self, request: Request) -> None:
        seed = request.args[0]
        if not 0 <= seed < 2**31:
            raise OscRequestError(f"seed must be 0..2147483647, got {seed}")
        self.settings = self.settings.changed(seed=seed)

    def _opened_range(self, start: float, end: float) -> Opened:
        """The opened video with its music, for a request about media ``[start, end)``."""
        opened = self.opened
        if opened.features is None or opened.composition is None:
            raise OscStateError("no video is open; send /v2m/video/open first")
        if not 0 <= start < end <= MAX_POSITION_S:
            raise OscRequestError(f"range must satisfy 0 <= start < end <= {MAX_POSITION_S:g}, "
                                  f"got {start:g}..{end:g}")
        return opened

    def _replace_composition(self, opened: Opened, composition: Composition) -> None:
        """(model worker) The opened video's new music, and the scheduler plays it."""
        self.opened = Opened(opened.video, opened.timeline_offset, opened.features, composition)
        self.scheduler.set_events(composition.events, opened.timeline_offset)

    def on_regenerate(self, request: Request) -> None:
        self.clocks.refuse_while_live()
        start, end = (float(v) for v in request.args)
        opened = self._opened_range(start, end)
        # like render --keep --reroll: the opened music's key and tempo map, primed with its
        # chords before the range; the settings' seed and emotion apply
        kept = kept_from_composition(opened.composition)
        options = dataclasses.replace(self.settings.seeded_options(), key=kept.key, primer="")

        def work(progress: ProgressCallback) -> tuple:
            composition = self.backend.compose(opened.features, options, progress,
                                               RerollRequest(kept, (start, end)))
            self._replace_composition(opened, composition)
            first_bar, last_bar = composition.rerolled_bars or (0, 0)
            return (protocol.READY, opened.video, float(composition.duration), first_bar,
                    last_bar)

        self._start_work(request, "regenerating", work)

    def on_match(self, request: Request) -> None:
        """Top library excerpts per scene of the opened video (see :mod:`.library`)."""
        self.clocks.refuse_while_live()
        top = int(request.args[0]) if request.args else 5
        library = request.args[1] if len(request.args) > 1 and request.args[1] else None
        opened = self.opened
        if opened.features is None:
            raise OscStateError("no video is open; send /v2m/video/open first")
        if not 1 <= top <= MAX_TOP:
            raise OscRequestError(f"top must be 1..{MAX_TOP}, got {top}")
        if library is not None and not (Path(library).is_absolute() and Path(library).is_dir()):
            raise OscRequestError(f"no library folder at {library!r}: the absolute path of a "
                                  "folder is expected (leave it out, or send '', for the "
                                  "default library)")
        if library is not None and Path(library).resolve() == Path(library).resolve().parent:
            raise OscRequestError(f"{library!r} is the root of the file system: name the folder "
                                  "that holds your music (indexing a whole disk would keep the "
                                  "daemon busy for a long time)")

        arrangement = self.settings.options.arrange_options
        composition = opened.composition  # chords spelt in its key, fit to its beats
        key = composition.key if composition is not None else arrangement.key
        tempo = (composition.tempo_map if composition is not None else
                 arrangement.grid_options().tempo)
        hits = composition.cut_times if composition is not None else ()

        def work(progress: ProgressCallback) -> tuple:
            result = self.matcher.match(opened.features, top, library, progress, key, tempo,
                                        hits)
            for number, scene in enumerate(result.scenes, start=1):
                for c in scene.candidates:
                    why = (f"{c.name}; mood: {c.explanation.mood}; pace: {c.explanation.pace}; "
                           f"harmonic rhythm: {c.explanation.harmonic_rhythm}")
                    self.clients.reply(request, protocol.MATCH_EXCERPT, number,
                                       float(scene.start), float(scene.end), c.rank,
                                       c.excerpt_id, float(c.score), c.chords, why)
            return protocol.MATCH_DONE, len(result.scenes), result.label, listing(result)

        self._start_work(request, "matching the library", work)

    def on_use(self, request: Request) -> None:
        """An excerpt's chords over a media range, spliced in as ``/v2m/regenerate`` does."""
        self.clocks.refuse_while_live()
        excerpt, start, end = request.args[0], float(request.args[1]), float(request.args[2])
        opened = self._opened_range(start, end)
        options = self.settings.options.arrange_options

        def work(progress: ProgressCallback) -> tuple:
            index = self.matcher.index or self.matcher.load_index(None, progress)
            new = use_excerpt(opened.composition, opened.features, index, excerpt, start, end,
                              options, self.matcher.label)
            composition = splice(opened.composition, new, start, end)
            old = composition.provenance
            composition.provenance = dataclasses.replace(
                old, notes=(*old.notes, *(n for n in new.provenance.notes if n not in old.notes)),
                facts={**old.facts, **new.provenance.facts})
            self._replace_composition(opened, composition)
            return protocol.READY, opened.video, float(composition.duration)

        self._start_work(request, "using a library excerpt", work)

    def on_render(self, request: Request) -> None:
        opened = self.opened
        if opened.composition is None:
            raise OscStateError("no composition yet; send /v2m/video/open first")
        overwrite = bool(request.args[1]) if len(request.args) > 1 else False
        midi = composition_to_midi(opened.composition)
        with self.output.open(request.args[0], opened.video, overwrite=overwrite) as (handle,
                                                                                     path):
            midi.save(file=handle)
        self.clients.reply(request, protocol.RENDER_DONE, str(path))

    # --- model work ----------------------------------------------------------------------------

    def _followed_link(self) -> LinkClock | None:
        """The Ableton Link session the daemon follows (live mode puts chords on its bars)."""
        link_clock = self.clocks.link_clock
        return link_clock if link_clock is not None and link_clock.enabled else None

    def _play_offline(self) -> None:
        """After live mode: the own clock and the opened composition (if any) again."""
        self.clocks.hand_back()
        opened = self.opened
        self.scheduler.set_events(opened.composition.events if opened.composition else [],
                                  opened.timeline_offset)

    def _start_work(self, request: Request, what: str, work: Work) -> None:
        """Queue ``work`` on the model worker; it returns the final reply (address, *args)."""
        with self._lock:
            if self.busy is not None:
                raise OscStateError(f"busy {self.busy}; wait for /v2m/ready (or /v2m/error) "
                                      "before sending another")
            self.busy = what

        def progress(fraction: float, stage: str) -> None:
            if math.isfinite(fraction):
                self.clients.reply(request, protocol.PROGRESS, stage, float(fraction))

        def run() -> None:
            try:
                reply = work(progress)
            except V2MError as err:
                reply = (protocol.ERROR, request.address, str(err))
            except Exception as err:  # a bug in model work must not kill the daemon
                log.exception("%s failed", what)
                reply = (protocol.ERROR, request.address, f"internal error: {err!r}")
            with self._lock:
                self.busy = None  # before replying, so the client may send the next request
            self.clients.reply(request, *reply)

        progress(0.0, "queued")
        self.worker.submit(run)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no model work runs (tests, shutdown)."""
        self.worker.wait_idle(timeout)
        return self.busy is None

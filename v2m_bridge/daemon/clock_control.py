"""Which clock drives the scheduler: the daemon's own (``/v2m/transport/*``), Reaper's feedback,
MIDI Time Code, or an Ableton Link session. Live mode takes the scheduler over with its own clock
while it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from v2m_bridge.config import MAX_PLAY_RATE, MAX_POSITION_S
from v2m_bridge.daemon.link_clock import LinkClock
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.server import OscRequestError, OscStateError, Request
from v2m_bridge.daemon.transport import MtcClock, OwnClock, ReaperClock
from v2m_bridge.errors import V2MError

log = logging.getLogger(__name__)

REAPER_TEMPO_RANGE = (1.0, 960.0)  # what Reaper's tempo can be set to


def check_position(value: float, name: str = "position") -> float:
    """A position in seconds within +-:data:`MAX_POSITION_S` (so every later sum, and the
    float32 in /v2m/status, stays finite), else :class:`OscRequestError`."""
    if not -MAX_POSITION_S <= value <= MAX_POSITION_S:
        raise OscRequestError(f"{name} must be within +-{MAX_POSITION_S:g} s, got {value:g}")
    return value


def _check_feedback(address: str, values: tuple[float, ...]) -> None:
    """Reaper's feedback values within sane bounds (a ValueError is logged and ignored)."""
    if not values:
        return
    value = values[0]
    if address in ("/time", "/loop/start/time", "/loop/end/time"):
        check_position(value, address)
    elif address == "/tempo/raw" and not REAPER_TEMPO_RANGE[0] <= value <= REAPER_TEMPO_RANGE[1]:
        raise ValueError(f"tempo must be {REAPER_TEMPO_RANGE[0]:g}..{REAPER_TEMPO_RANGE[1]:g} "
                         f"bpm, got {value:g}")
    elif address == "/playrate/raw" and not 0.0 < value <= MAX_PLAY_RATE:
        raise ValueError(f"play rate must be in (0, {MAX_PLAY_RATE:g}], got {value:g}")


class ClockControl:
    """The transport handlers. ``live_active`` tells when a live session owns the scheduler;
    ``has_composition`` when there is something for the own clock to play."""

    def __init__(self, scheduler: Scheduler, *, own_clock: OwnClock, reaper_clock: ReaperClock,
                 mtc_clock: MtcClock | None, live_active: Callable[[], bool],
                 has_composition: Callable[[], bool]) -> None:
        self.scheduler = scheduler
        self.own_clock = own_clock
        self.reaper_clock = reaper_clock
        self.mtc_clock = mtc_clock
        self.follow_reaper = True
        # Ableton Link: made on first use (serve --link or /v2m/transport/follow link)
        self.link_factory: Callable[[], LinkClock] | None = None
        self.link_clock: LinkClock | None = None
        self._live_active = live_active
        self._has_composition = has_composition

    def refuse_while_live(self) -> None:
        if self._live_active():
            raise OscStateError("a live session is running; send /v2m/live/stop first")

    def hand_back(self) -> None:
        """After live mode: the own clock (or the Link session followed) drives the scheduler
        again."""
        self.scheduler.chase = True
        self.scheduler.set_clock(self.link_clock if self.link_clock is not None
                                 and self.link_clock.enabled else self.own_clock)

    # --- /v2m/transport/* ----------------------------------------------------------------------

    @property
    def following_link(self) -> bool:
        return self.link_clock is not None and self.scheduler.clock is self.link_clock

    def on_play(self, request: Request) -> None:
        position = check_position(float(request.args[0]))
        rate = float(request.args[1]) if len(request.args) > 1 else 1.0
        if not 0.0 < rate <= MAX_PLAY_RATE:
            raise OscRequestError(f"play rate must be in (0, {MAX_PLAY_RATE:g}], got {rate:g}")
        if self.following_link:  # the session's beats give the position; start the session
            self.refuse_while_live()
            self.link_clock.play(now=request.received)
            return
        self._own_transport().play(position, rate, now=request.received)

    def on_stop(self, request: Request) -> None:
        if self.following_link:
            self.refuse_while_live()
            self.link_clock.stop(now=request.received)
            return
        self._own_transport().stop(now=request.received)

    def on_seek(self, request: Request) -> None:
        position = check_position(float(request.args[0]))
        if self.following_link:
            raise OscStateError("following Ableton Link: the position comes from the session's "
                                "beats; send /v2m/transport/follow 0 to use the own transport")
        self._own_transport().seek(position, now=request.received)

    def on_follow(self, request: Request) -> None:
        self.refuse_while_live()
        value = request.args[0]
        if value == "link":
            self.follow_link()
            return
        if value not in (0, 1):
            raise OscRequestError(f"/v2m/transport/follow expects 1 (follow Reaper), 0 or link, "
                                  f"got {value}")
        self.follow_reaper = bool(value)
        if self.link_clock is not None:
            self.link_clock.disable()  # leave the session
        if self.following_link or (not self.follow_reaper
                                   and self.scheduler.clock is self.reaper_clock):
            self.own_clock.stop()
            self.scheduler.set_clock(self.own_clock)  # ends every sounding note

    def follow_link(self) -> LinkClock:
        """Join the Link session (once) and follow it; Reaper's feedback is ignored meanwhile."""
        if self.link_clock is None:
            if self.link_factory is None:
                raise OscStateError("Ableton Link is not available: pip install "
                                    "\"v2m-bridge[live]\" (LinkPython-extern)")
            try:
                self.link_clock = self.link_factory()
            except V2MError as err:
                raise OscStateError(str(err)) from None
        self.link_clock.enable()
        self.follow_reaper = False
        if self.scheduler.clock is not self.link_clock:
            log.info("following the Ableton Link session")
            self.scheduler.set_clock(self.link_clock)
        return self.link_clock

    def _own_transport(self) -> OwnClock:
        self.refuse_while_live()
        if not self._has_composition():
            raise OscStateError("no video is open; send /v2m/video/open first")
        if self.scheduler.clock is not self.own_clock:
            self.scheduler.set_clock(self.own_clock)
        return self.own_clock

    # --- Reaper's feedback and MTC -------------------------------------------------------------

    def reaper_handler(self, method: Callable[..., None]) -> Callable[[Request], None]:
        """A handler that feeds ``method`` of the Reaper clock (unbound), switching to it."""
        def handler(request: Request) -> None:
            if not self.follow_reaper or self._live_active():
                return
            values = tuple(float(a) for a in request.args)
            try:
                _check_feedback(request.address, values)
                if self.scheduler.clock is not self.reaper_clock:
                    log.info("following Reaper's transport")
                    self.scheduler.set_clock(self.reaper_clock)
                method(self.reaper_clock, *values, now=request.received)
            except ValueError as err:  # e.g. a play rate of 0: Reaper needs no answer
                log.debug("ignored %s %s: %s", request.address, request.args, err)
        return handler

    def reaper_routes(self) -> dict[str, Callable[[Request], None]]:
        on = self.reaper_handler
        return {
            "/play": on(ReaperClock.on_play),
            "/stop": on(ReaperClock.on_stop),
            "/pause": on(ReaperClock.on_pause),
            "/repeat": on(ReaperClock.on_repeat),
            "/time": on(ReaperClock.on_time),
            "/playrate/raw": on(ReaperClock.on_playrate),
            "/tempo/raw": on(ReaperClock.on_tempo),
            "/loop/start/time": on(ReaperClock.on_loop_start),
            "/loop/end/time": on(ReaperClock.on_loop_end),
        }

    def follow_mtc(self) -> None:
        """Called when MTC arrives: make the MTC clock the transport source."""
        if self.mtc_clock is not None and self.scheduler.clock is not self.mtc_clock:
            log.info("following MIDI Time Code")
            self.scheduler.set_clock(self.mtc_clock)

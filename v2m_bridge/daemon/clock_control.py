"""Which clock drives the scheduler: the daemon's own (``/v2m/transport/*``), Reaper's feedback,
or MIDI Time Code. Live mode takes the scheduler over with its own clock while it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.server import OscRequestError, Request
from v2m_bridge.daemon.transport import MtcClock, OwnClock, ReaperClock

log = logging.getLogger(__name__)


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
        self._live_active = live_active
        self._has_composition = has_composition

    def refuse_while_live(self) -> None:
        if self._live_active():
            raise OscRequestError("a live session is running; send /v2m/live/stop first")

    def hand_back(self) -> None:
        """After live mode: the own clock drives the scheduler again."""
        self.scheduler.chase = True
        self.scheduler.set_clock(self.own_clock)

    # --- /v2m/transport/* ----------------------------------------------------------------------

    def on_play(self, request: Request) -> None:
        position = float(request.args[0])
        rate = float(request.args[1]) if len(request.args) > 1 else 1.0
        if not 0.0 < rate <= 16.0:
            raise OscRequestError(f"play rate must be in (0, 16], got {rate:g}")
        self._own_transport().play(position, rate, now=request.received)

    def on_stop(self, request: Request) -> None:
        self._own_transport().stop(now=request.received)

    def on_seek(self, request: Request) -> None:
        self._own_transport().seek(float(request.args[0]), now=request.received)

    def on_follow(self, request: Request) -> None:
        self.refuse_while_live()
        value = request.args[0]
        if value not in (0, 1):
            raise OscRequestError(f"/v2m/transport/follow expects 1 (follow Reaper) or 0, got "
                                  f"{value}")
        self.follow_reaper = bool(value)
        if not self.follow_reaper and self.scheduler.clock is self.reaper_clock:
            self.own_clock.stop()
            self.scheduler.set_clock(self.own_clock)  # ends every sounding note

    def _own_transport(self) -> OwnClock:
        self.refuse_while_live()
        if not self._has_composition():
            raise OscRequestError("no video is open; send /v2m/video/open first")
        if self.scheduler.clock is not self.own_clock:
            self.scheduler.set_clock(self.own_clock)
        return self.own_clock

    # --- Reaper's feedback and MTC -------------------------------------------------------------

    def reaper_handler(self, method: Callable[..., None]) -> Callable[[Request], None]:
        """A handler that feeds ``method`` of the Reaper clock (unbound), switching to it."""
        def handler(request: Request) -> None:
            if not self.follow_reaper or self._live_active():
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

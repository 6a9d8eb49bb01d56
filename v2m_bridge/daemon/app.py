"""Putting the daemon together: MIDI out, clocks, scheduler, session, OSC server (and MTC in)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass

from v2m_bridge.config import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_TEMPO_BPM
from v2m_bridge.daemon.clock_out import BeatGrid, ClockOut
from v2m_bridge.daemon.discovery import Discovery, setting_values
from v2m_bridge.daemon.link_clock import LinkClock, link_available
from v2m_bridge.daemon.midi_in import MidiInput
from v2m_bridge.daemon.midi_out import MidiSink, RtMidiSink, auto_api_names, open_sink
from v2m_bridge.daemon.scheduler import Scheduler
from v2m_bridge.daemon.server import OscServer, Request, Route, is_loopback
from v2m_bridge.daemon.session import Session
from v2m_bridge.daemon.transport import MtcClock, OwnClock, ReaperClock
from v2m_bridge.errors import V2MError
from v2m_bridge.output.places import OutputPlaces

log = logging.getLogger(__name__)

PORT_CHECK_INTERVAL_S = 1.0


@dataclass(frozen=True)
class DaemonConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    reply_port: int | None = None
    midi_backend: str = "auto"
    mtc_in: str | None = None  # "virtual" or the name of an existing MIDI source
    client_name: str = "v2m_bridge"
    output_dir: str | None = None  # where /v2m/render writes (default: the user's data dir)
    token: str | None = None  # a shared secret every /v2m/ request must carry first
    discovery: bool = True  # OSCQuery over HTTP (TCP, the OSC port's number) + mDNS
    clock_out: str | None = None  # MIDI clock out: "virtual" or an existing destination port
    link: bool = False  # join and follow the Ableton Link session from the start


def check_bind(host: str, token: str | None) -> None:
    """Listening beyond this machine needs ``--token``: without one, anyone who can reach the
    port could drive the daemon and write files where it writes."""
    if not is_loopback(host) and not token:
        raise V2MError(f"refusing to listen on {host}: beyond 127.0.0.1 every request must carry "
                       "a shared secret; start serve with --token SECRET (and send it as the "
                       "first argument of every /v2m/ request), or use --host 127.0.0.1")


class Daemon:
    """Owns the threads; ``close()`` ends every note, then stops OSC and closes the ports."""

    def __init__(self, config: DaemonConfig, backend, sink: MidiSink | None = None) -> None:
        self.config = config
        check_bind(config.host, config.token)
        output = OutputPlaces(config.output_dir)
        self.sink = sink if sink is not None else open_sink(config.midi_backend,
                                                            config.client_name)
        self.own_clock, self.reaper_clock, self.mtc_clock = OwnClock(), ReaperClock(), MtcClock()
        try:
            clock_out = (ClockOut(self._open_port(config.clock_out, "clock_out"), self.beat_grid)
                         if config.clock_out else None)
        except BaseException:
            self.sink.close()
            raise
        self.scheduler = Scheduler(self.sink, self.own_clock, clock_out=clock_out)
        self.session = Session(backend, self.scheduler, own_clock=self.own_clock,
                               reaper_clock=self.reaper_clock, mtc_clock=self.mtc_clock,
                               reply_port=config.reply_port, output=output)
        self.mtc_input: MidiInput | None = None
        self.discovery: Discovery | None = None
        self._led_with = None  # the composition whose fitted tempo was proposed to Link
        clocks = self.session.clocks
        if link_available():
            clocks.link_factory = lambda: LinkClock(self.music_bpm)
        try:
            if config.link:
                clocks.follow_link()
            self.server = OscServer(config.host, config.port, self._routes(),
                                    reply_targets=self.session.clients.reply_targets,
                                    tick=self._tick,
                                    on_unreachable=self.session.clients.unreachable,
                                    on_sender=self.session.clients.heard_from,
                                    token=config.token)
            if config.mtc_in:
                self.mtc_input = self._open_mtc(config.mtc_in)
            if config.discovery:
                self.discovery = self._open_discovery()
        except BaseException:
            if self.mtc_input is not None:
                self.mtc_input.close()
            if getattr(self, "server", None) is not None:
                self.server.close()
            self.session.close()
            self.sink.close()
            if clock_out is not None:
                clock_out.close()
            if clocks.link_clock is not None:
                clocks.link_clock.close()
            raise
        self.session.clients.attach(self.server)
        self._closed = threading.Event()

    def _open_mtc(self, spec: str) -> MidiInput:
        api = self.sink.api_name if isinstance(self.sink, RtMidiSink) else auto_api_names()[0]
        target = None if spec == "virtual" else spec

        def on_message(message: list[int]) -> None:
            if message and message[0] in (0xF0, 0xF1):
                self.session.clocks.follow_mtc()
                self.mtc_clock.feed(message)

        return MidiInput(api, target, on_message, self.config.client_name)

    def _open_port(self, spec: str, port_name: str) -> RtMidiSink:
        """Another output beside the notes' one: a virtual port (``virtual``) or an existing
        destination port by name, on the notes' MIDI API."""
        api = self.sink.api_name if isinstance(self.sink, RtMidiSink) else auto_api_names()[0]
        return RtMidiSink(api, None if spec == "virtual" else spec,
                          f"{self.config.client_name}_{port_name.split('_')[0]}", port_name)

    def beat_grid(self) -> BeatGrid:
        """Where the beats are (for MIDI clock out): the opened music's tempo map at its timeline
        offset, else Reaper's tempo, else the tempo set. Following Link, project time is
        already in the music's beats (see link_clock)."""
        composition = self.session.composition
        if composition is not None:
            return BeatGrid(composition.tempo_map, self.session.timeline_offset)
        clock = self.scheduler.clock
        if clock.tempo_bpm and not isinstance(clock, LinkClock):
            return BeatGrid.constant(float(clock.tempo_bpm))
        return BeatGrid.constant(self.music_bpm())

    def music_bpm(self) -> float:
        """The music's tempo: the opened music's (its main tempo), else the tempo set."""
        composition = self.session.composition
        if composition is not None:
            return float(composition.tempo_bpm)
        setting = self.session.settings.options.tempo_bpm
        return float(setting) if isinstance(setting, (int, float)) else DEFAULT_TEMPO_BPM

    def _routes(self) -> dict[str, Route]:
        """The session's routes; with Link followed, a tempo set with /v2m/tempo is also
        proposed to the session (the daemon leads)."""
        routes = self.session.routes()
        tempo = routes["/v2m/tempo"]

        def set_tempo(request: Request) -> None:
            tempo.handler(request)
            link_clock = self.session.clocks.link_clock
            setting = self.session.settings.options.tempo_bpm
            if (link_clock is not None and link_clock.enabled
                    and isinstance(setting, (int, float))):
                link_clock.propose_tempo(float(setting))

        routes["/v2m/tempo"] = dataclasses.replace(tempo, handler=set_tempo)
        return routes

    def _tick(self) -> None:
        link_clock = self.session.clocks.link_clock
        if link_clock is not None and link_clock.enabled:
            link_clock.poll()
            self._lead_with_a_fitted_tempo(link_clock)
        self.session.tick()

    def _lead_with_a_fitted_tempo(self, link_clock: LinkClock) -> None:
        """Music whose tempo was fitted to the video (``/v2m/tempo auto``) proposes that tempo
        to the Link session once, so the session plays the music at its own pace."""
        composition = self.session.composition
        if composition is None or composition is self._led_with:
            return
        self._led_with = composition
        fit = composition.tempo_fit
        fell_back = fit is not None and fit.reason is not None  # no cuts: nothing to lead with
        if self.session.settings.options.tempo_auto and not fell_back:
            link_clock.propose_tempo(float(composition.tempo_bpm))

    def _open_discovery(self) -> Discovery:
        """OSCQuery on TCP at the OSC port's number (any free port if that one is taken)."""
        host, port = self.server.address
        session = self.session
        return Discovery(host, port, port, lambda: setting_values(
            session.settings, session.clocks.follow_reaper), name=self.config.client_name)

    def start(self) -> None:
        self.scheduler.start()
        self.server.start()
        if self.discovery is not None:
            self.discovery.start()
        threading.Thread(target=self._watch_port, name="v2m-port-watchdog", daemon=True).start()

    def _watch_port(self) -> None:
        while not self._closed.wait(PORT_CHECK_INTERVAL_S):
            try:
                self.session.check_port()
                if self.mtc_input is not None:
                    self.mtc_input.check()
            except Exception:  # the watchdog must outlive any backend hiccup
                log.exception("MIDI port check failed")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        if self.discovery is not None:
            self.discovery.close()
        if self.mtc_input is not None:
            self.mtc_input.close()
        self.server.close()
        self.session.close()
        self.scheduler.shutdown()  # ends every sounding note and closes the sink
        if self.session.clocks.link_clock is not None:
            self.session.clocks.link_clock.close()

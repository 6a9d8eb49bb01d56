"""Ableton Link as a transport clock (``serve --link``, ``/v2m/transport/follow link``).

Link shares a beat timeline (tempo and bar phase) among the peers of a local network: Live,
Bitwig, Max, TouchDesigner, SuperCollider's ``LinkClock``... This clock reads it through the
``LinkPython-extern`` binding (``import link``, the ``[live]`` extra) and presents it as the
playhead the scheduler follows, like Reaper's ``/time`` or MTC:

* project position = (session beat - origin) x 60 / the music's tempo (``music_bpm()``), rate =
  session tempo / the music's tempo. The origin is the session's first bar line (every
  ``quantum`` beats) at or after the session started playing, so the music starts on a bar line
  and its bar lines (at timeline offset 0) fall on the session's; a tempo change in the session
  speeds up or slows down the music without a seek (no note is cut or struck twice).
* Start/stop sync: the clock plays while the session plays (peers with start/stop sync on share
  it); :meth:`play` and :meth:`stop` start and stop the session.
* The daemon can lead: :meth:`propose_tempo` sets the session's tempo for every peer.
* When the last peer leaves, the session (and this clock) keeps its tempo and phase.

There is no thread: each :meth:`snapshot` (the scheduler looks at least every 20 ms) captures
the session state, which is a cheap, lock-free copy in Link. Link's clock and
``time.monotonic`` are mapped at each capture (on Linux Link counts ``CLOCK_MONOTONIC_RAW``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from v2m_bridge.daemon.transport import PLAYING, STOPPED, TransportClock
from v2m_bridge.errors import V2MError
from v2m_bridge.music.tempo_map import TempoMap

try:  # optional: the [live] extra
    import link as ableton_link
except ImportError:  # pragma: no cover - depends on the environment
    ableton_link = None

log = logging.getLogger(__name__)

QUANTUM = 4.0  # beats per bar for phase alignment (the session's bar lines)
JUMP_S = 0.25  # a position this far from the prediction is a jump (another peer re-aligned)
SLEW_S = 0.0002  # smaller differences leave the anchor alone
BAR_TOLERANCE = 0.02  # bars: a start this close after a bar line starts on it (chased)


def link_available() -> bool:
    return ableton_link is not None


class LinkClock(TransportClock):
    """The Link session's timeline as project time (see the module's notes)."""

    def __init__(self, music_bpm: Callable[[], float], *, quantum: float = QUANTUM,
                 monotonic: Callable[[], float] = time.monotonic,
                 start_stop_sync: bool = True) -> None:
        if ableton_link is None:
            raise V2MError("Ableton Link needs the LinkPython-extern package: "
                           "pip install \"v2m-bridge[live]\"")
        super().__init__(monotonic)
        self.music_bpm = music_bpm
        self.quantum = quantum
        self._link = ableton_link.Link(120.0)
        self._link.startStopSyncEnabled = start_stop_sync
        self._enabled = False
        self._origin_beat = 0.0  # the session beat where the music's beat 0 sits
        self.tempo_bpm = None
        self.peers = 0

    # --- joining and leaving -------------------------------------------------------------------

    def enable(self) -> None:
        """Join the session (discovery on every network interface, loopback included)."""
        if not self._enabled:
            self._link.enabled = True
            self._enabled = True
            log.info("joined the Ableton Link session")

    def disable(self) -> None:
        if self._enabled:
            self._link.enabled = False
            self._enabled = False

    @property
    def enabled(self) -> bool:
        return self._enabled

    # --- time mapping --------------------------------------------------------------------------

    def _link_micros(self, mono: float) -> int:
        """Link's clock (microseconds) at monotonic time ``mono``, mapped just now."""
        return int(self._link.clock().micros() + (mono - self.monotonic()) * 1e6)

    def link_time_at_beat(self, beat: float) -> float:
        """Monotonic time when the session reaches ``beat`` (for tests and measurements)."""
        session = self._link.captureAppSessionState()
        micros = session.timeAtBeat(beat, self.quantum)
        return self.monotonic() + (micros - self._link.clock().micros()) / 1e6

    def session_tempo(self) -> float:
        return self._link.captureAppSessionState().tempo()

    def beat_at(self, mono: float) -> float:
        session = self._link.captureAppSessionState()
        return session.beatAtTime(self._link_micros(mono), self.quantum)

    def bar_lines(self, mono: float, quantum: float) -> tuple[float, float]:
        """Monotonic times of the session's first bar line (phase 0 at ``quantum`` beats a
        bar) at or after ``mono``, and of the bar line after it."""
        session = self._link.captureAppSessionState()
        now_mono, now_micros = self.monotonic(), self._link.clock().micros()
        at = int(now_micros + (mono - now_mono) * 1e6)
        beat, phase = session.beatAtTime(at, quantum), session.phaseAtTime(at, quantum)
        bar = beat - phase + (quantum if phase > 1e-9 else 0.0)
        first, second = (session.timeAtBeat(b, quantum) for b in (bar, bar + quantum))
        return (now_mono + (first - now_micros) / 1e6, now_mono + (second - now_micros) / 1e6)

    # --- the transport ------------------------------------------------------------------------

    def _before_snapshot(self, now: float) -> None:
        if not self._enabled:
            return
        session = self._link.captureAppSessionState()
        tempo = session.tempo()
        music = float(self.music_bpm()) or tempo
        link_now = self._link_micros(now)
        playing = session.isPlaying()
        state = self._state
        if playing and state.mode != PLAYING:
            # the music starts at the session's first bar line at or after the start (a start
            # request keeps the session's phase, so it is usually a count-in to the next bar)
            started = max(session.timeForIsPlaying(), link_now - 60_000_000)
            first = session.beatAtTime(started, self.quantum) / self.quantum
            self._origin_beat = math.ceil(first - BAR_TOLERANCE) * self.quantum
        beat = session.beatAtTime(link_now, self.quantum) - self._origin_beat
        position, rate = TempoMap.constant(music).time_at(beat), tempo / music
        self.tempo_bpm = tempo
        mode = PLAYING if playing else STOPPED
        if mode != state.mode:
            self._update(mode=mode, position=position, rate=rate, now=now, discontinuity=True)
        elif mode == PLAYING:
            error = position - state.position_at(now)
            if abs(error) > JUMP_S:
                self._update(position=position, rate=rate, now=now, discontinuity=True)
            elif abs(error) > SLEW_S or rate != state.rate:
                self._update(position=position, rate=rate, now=now, discontinuity=False)

    def poll(self) -> None:
        """Catch up with the session and wake the scheduler (call every few ms from a tick)."""
        before = self._state
        after = self.snapshot()
        self.peers = self._link.numPeers()
        if after.epoch != before.epoch or after.rate != before.rate:
            self._notify()

    def play(self, now: float | None = None) -> None:
        """Start the session at the next bar line (peers with start/stop sync start too)."""
        now = self.monotonic() if now is None else now
        session = self._link.captureAppSessionState()
        session.setIsPlayingAndRequestBeatAtTime(True, self._link_micros(now), 0.0,
                                                 self.quantum)
        self._link.commitAppSessionState(session)
        self.poll()

    def stop(self, now: float | None = None) -> None:
        now = self.monotonic() if now is None else now
        session = self._link.captureAppSessionState()
        session.setIsPlaying(False, self._link_micros(now))
        self._link.commitAppSessionState(session)
        self.poll()

    def propose_tempo(self, bpm: float) -> None:
        """Lead: set the session's tempo for every peer."""
        session = self._link.captureAppSessionState()
        session.setTempo(float(bpm), self._link.clock().micros())
        self._link.commitAppSessionState(session)
        self.poll()

    def close(self) -> None:
        self.disable()

"""MIDI input for MTC chase: a virtual input port we create, or an existing source port by name."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from v2m_bridge.daemon.midi_out import (
    CLIENT_NAME,
    JACK_PROBE_INTERVAL_S,
    MidiPortError,
    api_from_name,
    find_port,
    jack_output_ports,
    load_rtmidi,
    set_aside,
)

log = logging.getLogger(__name__)

MTC_PORT_NAME = "mtc_in"
INPUT_CLIENT_SUFFIX = "_in"  # JACK client names are unique; the output has the plain one


class MidiInput:
    """Calls ``callback(message_bytes)`` for every message, sysex and MTC included (raw rtmidi
    filters those by default).

    Messages are polled from rtmidi's queue on our own thread rather than delivered by an rtmidi
    callback: with JACK, a callback runs Python (and waits for the GIL) inside the JACK process
    cycle, and a JACK server in sync mode stalls the whole graph when a client is late (seen in
    tests: "ProcessWriteSlaves error", then no MIDI for seconds). Polling every ``poll_s`` adds at
    most that much delay, well below an MTC quarter frame (10 ms at 25 fps).
    """

    def __init__(self, api_name: str, target: str | None,
                 callback: Callable[[list[int]], None], client_name: str = CLIENT_NAME,
                 poll_s: float = 0.001) -> None:
        client_name += INPUT_CLIENT_SUFFIX
        self._api_name = api_name
        self._target = target
        self._client_name = client_name
        self._own_port = f"{client_name}:{MTC_PORT_NAME}"
        self._lock = threading.Lock()  # the client vs. the poll thread
        self._next_probe = 0.0
        self._in = self._connect()
        self._callback = callback
        self._poll_s = poll_s
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="v2m-midi-in", daemon=True)
        self._thread.start()

    def _connect(self):
        """A new client with its port (raises :class:`MidiPortError`)."""
        rtmidi = load_rtmidi()
        try:
            midi_in = rtmidi.MidiIn(api_from_name(self._api_name), name=self._client_name)
        except rtmidi.RtMidiError as err:
            raise MidiPortError(f"cannot start the {self._api_name} MIDI input: {err}") from err
        midi_in.ignore_types(sysex=False, timing=False, active_sense=True)
        if self._target is None:
            midi_in.open_virtual_port(MTC_PORT_NAME)
            self.name = self._own_port
            return midi_in
        ports = midi_in.get_ports()
        index = find_port(ports, self._target)
        if index is None:
            midi_in.delete()
            raise MidiPortError(f"no {self._api_name} MIDI input port matches "
                                f"{self._target!r}; available: {ports or 'none'}")
        midi_in.open_port(index, MTC_PORT_NAME)
        self.name = ports[index]
        return midi_in

    def check(self) -> None:
        """Watchdog step (JACK): when the server died or restarted, set the dead client aside
        and connect a new one as soon as a server answers."""
        if self._api_name != "jack" or self._closing.is_set():
            return
        now = time.monotonic()
        if self._in is not None and now < self._next_probe:  # a probe costs a JACK client
            return
        self._next_probe = now + JACK_PROBE_INTERVAL_S
        listed = jack_output_ports(inputs=True)
        with self._lock:
            if self._in is not None and (listed is None or self._own_port not in listed):
                set_aside(self._in)
                self._in = None
                log.info("the MIDI input %s went away", self.name)
            if self._in is None and listed is not None:
                try:
                    self._in = self._connect()
                except MidiPortError as err:
                    log.debug("MIDI input not back yet: %s", err)
                    return
                log.info("MIDI input %s is back", self.name)

    def _poll(self) -> None:
        while not self._closing.is_set():
            with self._lock:
                event = self._in.get_message() if self._in is not None else None
            if event is None:
                time.sleep(self._poll_s)
                continue
            try:
                self._callback(event[0])
            except Exception:  # one bad message must not stop the chase
                log.exception("MIDI input handler failed")

    def close(self) -> None:
        """Stop and release the port; a client of a JACK server that died (or restarted) is
        set aside instead, since closing it can crash libjack."""
        self._closing.set()
        self._thread.join(timeout=1.0)
        with self._lock:
            midi_in, self._in = self._in, None
        if midi_in is None:
            return
        if self._api_name == "jack":
            listed = jack_output_ports(inputs=True)
            if listed is None or self._own_port not in listed:
                set_aside(midi_in)
                return
        try:
            midi_in.close_port()
            midi_in.delete()
        except Exception as err:  # rtmidi raises its own errors; closing must never fail
            log.debug("closing the MIDI input failed: %s", err)

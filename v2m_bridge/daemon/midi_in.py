"""MIDI input for MTC chase: a virtual input port we create, or an existing source port by name."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from v2m_bridge.daemon.midi_out import (
    CLIENT_NAME,
    MidiPortError,
    api_from_name,
    find_port,
    load_rtmidi,
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
        rtmidi = load_rtmidi()
        client_name += INPUT_CLIENT_SUFFIX
        try:
            self._in = rtmidi.MidiIn(api_from_name(api_name), name=client_name)
        except rtmidi.RtMidiError as err:
            raise MidiPortError(f"cannot start the {api_name} MIDI input: {err}") from err
        self._in.ignore_types(sysex=False, timing=False, active_sense=True)
        if target is None:
            self._in.open_virtual_port(MTC_PORT_NAME)
            self.name = f"{client_name}:{MTC_PORT_NAME}"
        else:
            ports = self._in.get_ports()
            index = find_port(ports, target)
            if index is None:
                self._in.delete()
                raise MidiPortError(f"no {api_name} MIDI input port matches {target!r}; "
                                    f"available: {ports or 'none'}")
            self._in.open_port(index, MTC_PORT_NAME)
            self.name = ports[index]
        self._callback = callback
        self._poll_s = poll_s
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="v2m-midi-in", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._closing.is_set():
            event = self._in.get_message()
            if event is None:
                time.sleep(self._poll_s)
                continue
            try:
                self._callback(event[0])
            except Exception:  # one bad message must not stop the chase
                log.exception("MIDI input handler failed")

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=1.0)
        self._in.close_port()
        self._in.delete()

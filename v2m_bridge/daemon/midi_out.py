"""MIDI output backends: in-memory (tests), rtmidi virtual ports (ALSA, CoreMIDI, JACK) and an
existing named port (``port:NAME``, e.g. a loopMIDI port on Windows).

Every backend is a :class:`MidiSink`. RtMidi has no timestamps, so the scheduler sends each message
at its time; sinks only deliver bytes. ``is_alive()`` is a cheap check the daemon's watchdog calls
to notice a port that disappeared (a loopMIDI port removed, a JACK server that died).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from v2m_bridge.errors import V2MError

log = logging.getLogger(__name__)

CLIENT_NAME = "v2m_bridge"
OUTPUT_PORT_NAME = "midi_out"
BACKEND_CHOICES = ("auto", "alsa", "coremidi", "jack", "winmm", "memory", "port:NAME")
NO_PORT_HINT = ("start a JACK server or load ALSA's snd-seq module, or run without MIDI out "
                "with --midi-backend memory (OSC, files and /v2m/render still work)")

NOTE_OFF = 0x80
NOTE_ON = 0x90
CONTROL_CHANGE = 0xB0
ALL_NOTES_OFF_CC = 123
JACK_PROBE_INTERVAL_S = 2.0


class MidiPortError(V2MError, OSError):
    """A MIDI port that cannot be opened, or that disappeared while in use."""


def note_on(channel: int, pitch: int, velocity: int) -> tuple[int, int, int]:
    return (NOTE_ON | channel, pitch, velocity)


def note_off(channel: int, pitch: int) -> tuple[int, int, int]:
    return (NOTE_OFF | channel, pitch, 0)


def all_notes_off(channel: int) -> tuple[int, int, int]:
    return (CONTROL_CHANGE | channel, ALL_NOTES_OFF_CC, 0)


class MidiSink(ABC):
    """Somewhere to send MIDI bytes now."""

    name: str

    @abstractmethod
    def send(self, message: Sequence[int]) -> None:
        """Send one complete MIDI message immediately."""

    @abstractmethod
    def is_alive(self) -> bool:
        """False once the port has gone away (checked by a watchdog, not per message)."""

    def reopen(self) -> bool:
        """Try to get a lost port back; True on success. Default: cannot."""
        return False

    @abstractmethod
    def close(self) -> None:
        """Release the port. Idempotent."""


class MemorySink(MidiSink):
    """Records ``(time, message)`` pairs against an injectable clock; for tests and benchmarks.

    ``disconnect()`` simulates a lost port: messages sent while disconnected go nowhere (as with
    a real port that vanished) and are counted in ``dropped``; ``reopen()`` succeeds again only
    after ``make_available()``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, name: str = "memory") -> None:
        self.name = name
        self.clock = clock
        self.messages: list[tuple[float, tuple[int, ...]]] = []
        self.dropped = 0
        self.closed = False
        self._connected = True
        self._available = True
        self._lock = threading.Lock()

    def send(self, message: Sequence[int]) -> None:
        with self._lock:
            if self.closed or not self._connected:
                self.dropped += 1
                return
            self.messages.append((self.clock(), tuple(message)))

    def is_alive(self) -> bool:
        return self._connected and not self.closed

    def disconnect(self) -> None:
        self._connected = self._available = False

    def make_available(self) -> None:
        self._available = True

    def reopen(self) -> bool:
        self._connected = self._available and not self.closed
        return self._connected

    def close(self) -> None:
        self.closed = True


def load_rtmidi():
    """The rtmidi module (python-rtmidi), imported on first use."""
    import rtmidi  # imported lazily: `v2m-bridge --help` must not need libasound

    return rtmidi


_API_BY_NAME = {"alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK", "coremidi": "API_MACOSX_CORE",
                "winmm": "API_WINDOWS_MM"}


def api_from_name(name: str) -> int:
    """The rtmidi API constant for ``alsa``/``jack``/``coremidi``/``winmm``."""
    rtmidi = load_rtmidi()
    if name not in _API_BY_NAME:
        raise MidiPortError(f"unknown MIDI API {name!r}; expected one of {sorted(_API_BY_NAME)}")
    api = getattr(rtmidi, _API_BY_NAME[name])
    if api not in rtmidi.get_compiled_api():
        compiled = [rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api()]
        raise MidiPortError(f"this python-rtmidi build has no {name} support (it has {compiled})")
    return api


def auto_api_names() -> list[str]:
    """APIs ``auto`` tries, in order: rtmidi's default does not fall back from ALSA to JACK."""
    if sys.platform == "darwin":
        return ["coremidi", "jack"]
    if sys.platform.startswith("win"):
        return ["winmm"]
    return ["alsa", "jack"]


class RtMidiSink(MidiSink):
    """An rtmidi output: a virtual port we create, or an existing port found by name.

    ``target`` is a case-insensitive substring of an existing port's name; without it a virtual
    port ``CLIENT_NAME:OUTPUT_PORT_NAME`` is created (not possible with Windows MultiMedia).

    JACK: a client whose server died is never touched again (closing it once a new server runs
    crashes libjack), only set aside; :meth:`reopen` connects a new client as soon as a server
    answers, so output resumes within about a second of jackd's return.
    """

    def __init__(self, api_name: str, target: str | None = None,
                 client_name: str = CLIENT_NAME, port_name: str = OUTPUT_PORT_NAME) -> None:
        self.api_name = api_name
        self.target = target
        self._client_name = client_name
        self._port_name = port_name
        self._api = api_from_name(api_name)
        self._lock = threading.Lock()
        self._next_server_probe = 0.0
        self._closed = False
        self._out = None
        self.name = f"{client_name}:{port_name}"
        self._connect()

    @property
    def own_port(self) -> str:
        """Our output port as other JACK clients list it."""
        return f"{self._client_name}:{self._port_name}"

    def _connect(self) -> None:
        """A new client with its port (raises :class:`MidiPortError`)."""
        rtmidi = load_rtmidi()
        try:
            out = rtmidi.MidiOut(self._api, name=self._client_name)
        except rtmidi.RtMidiError as err:
            raise MidiPortError(f"cannot start the {self.api_name} MIDI client: {err}"
                                + (" (is a JACK server running?)" if self.api_name == "jack"
                                   else "")) from err
        try:
            self.name = self._open(out)
        except BaseException:
            self._release(out)
            raise
        self._out = out

    def _open(self, out) -> str:
        rtmidi = load_rtmidi()
        if self.target is None:
            try:
                out.open_virtual_port(self._port_name)
            except (rtmidi.RtMidiError, NotImplementedError) as err:
                raise MidiPortError(f"cannot create a virtual {self.api_name} MIDI port: {err}; "
                                    "use --midi-backend port:NAME with an existing port "
                                    "(e.g. a loopMIDI port on Windows)") from err
            return self.own_port
        ports = out.get_ports()
        index = find_port(ports, self.target)
        if index is None:
            raise MidiPortError(f"no {self.api_name} MIDI output port matches {self.target!r}; "
                                f"available: {ports or 'none'}")
        try:
            out.open_port(index, self._port_name)
        except rtmidi.RtMidiError as err:
            raise MidiPortError(f"cannot open {ports[index]!r}: {err}") from err
        return ports[index]

    def _release(self, out) -> None:
        """Close a client whose server is known to be alive."""
        try:
            out.close_port()
            out.delete()
        except Exception as err:  # rtmidi raises its own errors; closing must never fail
            log.debug("closing the MIDI client failed: %s", err)

    def send(self, message: Sequence[int]) -> None:
        with self._lock:
            if not self._closed and self._out is not None:
                self._out.send_message(list(message))

    def is_alive(self) -> bool:
        out = self._out
        if out is None:
            return False
        if self.target is not None and self.name not in out.get_ports():
            return False  # the named port went away (cheap: this client's own list)
        if self.api_name == "jack":
            now = time.monotonic()
            if now < self._next_server_probe:  # a probe costs a JACK client (~40 ms)
                return True
            self._next_server_probe = now + JACK_PROBE_INTERVAL_S
            listed = jack_output_ports()
            if listed is None or self.own_port not in listed:  # the server died or restarted
                with self._lock:
                    self._abandon()
                return False
        return True  # an ALSA/CoreMIDI virtual port lives as long as this process

    def _abandon(self) -> None:
        """Set a client of a dead JACK server aside for good (lock held)."""
        if self._out is not None:
            set_aside(self._out)
            self._out = None

    def reopen(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self.api_name == "jack":
                if self._out is not None:  # the server is alive: only the target went away
                    self._release(self._out)
                    self._out = None
                try:
                    self._connect()
                except MidiPortError as err:
                    log.debug("MIDI port not back yet: %s", err)
                    return False
                self._next_server_probe = time.monotonic() + JACK_PROBE_INTERVAL_S
                log.info("MIDI output %s is back", self.name)
                return True
            if self.target is None or self._out is None:
                return False
            self._out.close_port()
            try:
                self.name = self._open(self._out)
            except MidiPortError:
                return False
        return True

    def close(self) -> None:
        """Release the port; never crashes, whatever state the backend is in."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            out, self._out = self._out, None
            if out is None:
                return
            if self.api_name == "jack":
                listed = jack_output_ports()
                if listed is None or self.own_port not in listed:
                    set_aside(out)  # its server died: closing it could crash libjack
                    return
            self._release(out)


SET_ASIDE: list[object] = []


def set_aside(out) -> None:
    """Keep a client of a dead JACK server alive until the process ends: rtmidi's destructor
    would close it, and libjack can crash doing so once another server runs. The extra
    reference keeps even interpreter shutdown from destroying it."""
    SET_ASIDE.append(out)
    with contextlib.suppress(AttributeError, OSError):  # not CPython: the list has to do
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(out))
    log.info("a MIDI client of a JACK server that went away was set aside")


def find_port(ports: Sequence[str], wanted: str) -> int | None:
    """Index of the first port whose name contains ``wanted`` (case-insensitive); exact wins."""
    lowered = wanted.lower()
    for i, port in enumerate(ports):
        if port.lower() == lowered:
            return i
    for i, port in enumerate(ports):
        if lowered in port.lower():
            return i
    return None


def jack_output_ports(inputs: bool = False) -> list[str] | None:
    """The MIDI output ports (``inputs``: the input ports) of the running JACK server, or None
    when no server answers. Connecting a short-lived client is the only check there is: a client
    of a dead (or restarted) server keeps stale port lists and sends into the void.

    The probe goes through ctypes into the libjack rtmidi itself loaded, so the interpreter lock
    is released while the client connects (40-90 ms here): through rtmidi the lock is held, and
    the scheduler thread (notes, MIDI clock) stalls that long every probe."""
    rtmidi = load_rtmidi()
    libjack = _rtmidi_libjack()
    if libjack is not None:
        return _probe_with_ctypes(libjack, inputs)
    kind = rtmidi.MidiOut if inputs else rtmidi.MidiIn  # a MidiIn lists the outputs, and back
    try:
        probe = kind(rtmidi.API_UNIX_JACK, name="v2m_bridge_alive")
    except rtmidi.RtMidiError:
        return None
    try:
        return probe.get_ports()
    except rtmidi.RtMidiError:
        return None
    finally:
        probe.delete()


_LIBJACK: list = []  # [the ctypes library, or None when there is none to use]
JACK_NO_START_SERVER = 0x01
JACK_PORT_IS_INPUT, JACK_PORT_IS_OUTPUT = 0x1, 0x2
JACK_MIDI_TYPE = b"8 bit raw midi"


def _rtmidi_libjack() -> ctypes.CDLL | None:
    """The libjack already mapped into this process (rtmidi's own, bundled in its wheel), so
    the probe talks through the very library rtmidi uses; None where there is none (not Linux,
    or rtmidi without JACK)."""
    if _LIBJACK:
        return _LIBJACK[0]
    library = None
    with contextlib.suppress(OSError, AttributeError):
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = [line.split()[-1] for line in maps if "/libjack" in line]
        path = next((p for p in paths if ".so" in p and "libjacknet" not in p
                     and "libjackserver" not in p), None)
        if path is not None:
            library = ctypes.CDLL(path)
            library.jack_client_open.restype = ctypes.c_void_p
            library.jack_get_ports.restype = ctypes.c_void_p
            library.jack_get_ports.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                               ctypes.c_char_p, ctypes.c_ulong]
            library.jack_free.argtypes = [ctypes.c_void_p]
            library.jack_client_close.argtypes = [ctypes.c_void_p]
    _LIBJACK.append(library)
    return library


def _probe_with_ctypes(libjack: ctypes.CDLL, inputs: bool) -> list[str] | None:
    status = ctypes.c_int(0)
    client = libjack.jack_client_open(b"v2m_bridge_alive", ctypes.c_int(JACK_NO_START_SERVER),
                                      ctypes.byref(status))
    if not client:
        return None
    try:
        flags = JACK_PORT_IS_INPUT if inputs else JACK_PORT_IS_OUTPUT
        listed = libjack.jack_get_ports(client, None, JACK_MIDI_TYPE, flags)
        if not listed:
            return []
        try:
            names = ctypes.cast(listed, ctypes.POINTER(ctypes.c_char_p))
            ports = []
            while names[len(ports)] is not None:
                ports.append(names[len(ports)].decode("utf-8", "replace"))
            return ports
        finally:
            libjack.jack_free(listed)
    finally:
        libjack.jack_client_close(client)


def jack_server_running() -> bool:
    """Whether a JACK server answers."""
    return jack_output_ports() is not None


def open_sink(spec: str, client_name: str = CLIENT_NAME) -> MidiSink:
    """Open the output named by ``--midi-backend``: see :data:`BACKEND_CHOICES`."""
    spec = spec.strip()
    if spec == "memory":
        return MemorySink()
    if spec.startswith("port:"):
        target = spec[len("port:"):].strip()
        if not target:
            raise MidiPortError("--midi-backend port:NAME needs a port name after 'port:'")
        return _first_that_opens(auto_api_names(), target, client_name)
    if spec == "auto":
        return _first_that_opens(auto_api_names(), None, client_name)
    if spec in _API_BY_NAME:
        try:
            return RtMidiSink(spec, None, client_name)
        except MidiPortError as err:
            raise MidiPortError(f"{err}; {NO_PORT_HINT}") from err
    raise MidiPortError(f"unknown MIDI backend {spec!r}; "
                        f"expected one of {', '.join(BACKEND_CHOICES)}")


def _first_that_opens(api_names: list[str], target: str | None, client_name: str) -> MidiSink:
    failures = []
    for api_name in api_names:
        try:
            return RtMidiSink(api_name, target, client_name)
        except MidiPortError as err:
            log.debug("MIDI backend %s unavailable: %s", api_name, err)
            failures.append(f"{api_name}: {err}")
    raise MidiPortError("no MIDI backend could be opened (" + "; ".join(failures) + "); "
                        f"{NO_PORT_HINT}")


def list_ports() -> dict[str, dict[str, list[str]] | str]:
    """Input and output ports per compiled rtmidi API, or the reason an API is unavailable."""
    rtmidi = load_rtmidi()
    result: dict[str, dict[str, list[str]] | str] = {}
    for api in rtmidi.get_compiled_api():
        name = rtmidi.get_api_name(api)
        try:
            out, inp = rtmidi.MidiOut(api, name="v2m_list"), rtmidi.MidiIn(api, name="v2m_list")
        except rtmidi.RtMidiError as err:
            result[name] = f"unavailable: {err}"
            continue
        result[name] = {"outputs": out.get_ports(), "inputs": inp.get_ports()}
        out.delete()
        inp.delete()
    return result

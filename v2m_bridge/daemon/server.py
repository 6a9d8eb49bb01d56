"""The OSC socket: receive, check, dispatch, reply.

python-osc parses packets (bare messages and ``#bundle``s, which Reaper sends) and builds replies;
this module owns the UDP socket so that it can refuse oversized packets, check argument types and
counts strictly before any handler runs, and answer every bad ``/v2m/*`` request with
``/v2m/error s:address s:message``. Bundle timetags are ignored (Reaper sends "immediate"), so a
future-dated bundle can never block the loop.
"""

from __future__ import annotations

import contextlib
import logging
import math
import platform
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pythonosc.osc_packet import OscPacket

from v2m_bridge.errors import V2MError
from v2m_bridge.osc.protocol import ERROR, MAX_PACKET_BYTES, PACKET_SUBJECT, V2M_PREFIX
from v2m_bridge.osc.wire import osc_message

log = logging.getLogger(__name__)

RECEIVE_BUFFER_BYTES = 4 << 20  # room for a burst of frames while a model step runs
ERRORS_PER_SECOND = 5  # per sender and address; a flood of bad frames gets a few answers

Address = tuple[str, int]


class OscRequestError(V2MError, ValueError):
    """An OSC request with the wrong arguments, or one the daemon cannot do now."""


@dataclass(frozen=True)
class Request:
    address: str
    args: tuple
    sender: Address
    received: float  # time.monotonic() when the packet reached this host (kernel timestamp)


@dataclass(frozen=True)
class Route:
    """What an address accepts: type strings such as ``"sf"`` (``s`` text, ``f`` a finite number,
    ``i`` an integer, ``n`` an optional number that a Reaper trigger may leave out), one per
    accepted form, and the handler."""

    signatures: tuple[str, ...]
    handler: Callable[[Request], None]
    help: str = ""


def _matches(kind: str, value: object) -> bool:
    if kind == "s":
        return isinstance(value, str)
    if kind == "i":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "f":  # Max sends whole numbers as ints; accept them as numbers
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise AssertionError(f"unknown OSC type letter {kind!r}")


def _describe(signatures: Sequence[str]) -> str:
    names = {"s": "string", "f": "float", "i": "int"}

    def form(signature: str) -> str:
        if len(signature) > 3 and len(set(signature)) == 1:
            return f"{len(signature)} {names[signature[0]]}s"
        return " ".join(names[k] for k in signature) or "no arguments"

    return " or ".join(f"({form(signature)})" for signature in signatures)


def check_arguments(route: Route, address: str, args: tuple) -> None:
    """Raise :class:`OscRequestError` unless ``args`` fits one of the route's signatures."""
    for signature in route.signatures:
        if len(signature) == len(args) and all(_matches(k, v) for k, v in zip(signature, args,
                                                                                strict=True)):
            for kind, value in zip(signature, args, strict=True):
                if kind == "f" and not math.isfinite(value):
                    raise OscRequestError(f"{address} got {value!r}; numbers must be finite")
            return
    got = " ".join(type(value).__name__ for value in args) or "no arguments"
    raise OscRequestError(f"{address} expects {_describe(route.signatures)}, got ({got})")


def _timestamp_option() -> int | None:
    """SO_TIMESTAMPNS: Python's socket module does not export it; on Linux it is 35 on the
    architectures using the generic socket constants (checked here; others go without)."""
    option = getattr(socket, "SO_TIMESTAMPNS", None)
    if option is None and sys.platform.startswith("linux") and platform.machine() in (
            "x86_64", "aarch64", "i686", "armv7l", "riscv64"):
        option = 35
    return option


_SO_TIMESTAMPNS = _timestamp_option()


def _enable_kernel_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram on arrival (Linux), so transport messages are
    anchored at when they arrived, not at when this thread got round to them."""
    option = _SO_TIMESTAMPNS
    if option is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, option, 1)
    except OSError:
        return False
    return True


def _receive_time(ancillary: list) -> float:
    """The datagram's arrival on the monotonic clock (now, without a kernel timestamp)."""
    option = _SO_TIMESTAMPNS
    mono_now, wall_now = time.monotonic(), time.time()
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == option and len(payload) >= 16:
            seconds, nanoseconds = struct.unpack("qq", payload[:16])
            age = wall_now - (seconds + nanoseconds * 1e-9)
            if 0.0 <= age < 1.0:  # ignore wall-clock steps
                return mono_now - age
    return mono_now


class OscServer:
    """A UDP OSC endpoint on its own thread.

    ``routes`` maps exact addresses to :class:`Route`. Errors raised by handlers for ``/v2m/*``
    addresses (any :class:`V2MError`) become ``/v2m/error`` replies to ``reply_targets(sender)``;
    for other addresses (Reaper feedback) they are logged, since Reaper does not read replies.
    ``tick`` runs about every ``tick_s`` on the server thread (status broadcasts).
    """

    def __init__(self, host: str, port: int, routes: dict[str, Route], *,
                 reply_targets: Callable[[Address], Iterable[Address]] | None = None,
                 tick: Callable[[], None] | None = None, tick_s: float = 0.1,
                 max_packet_bytes: int = MAX_PACKET_BYTES) -> None:
        self.routes = routes
        self.reply_targets = reply_targets or (lambda sender: [sender])
        self.tick = tick
        self.tick_s = tick_s
        self.max_packet_bytes = max_packet_bytes
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.bind((host, port))
        except OSError as err:
            self._socket.close()
            raise V2MError(f"cannot listen for OSC on {host}:{port}: {err}; is another "
                           "v2m-bridge (or Reaper) using that port? Pick one with --port") from err
        self._socket.settimeout(tick_s)
        with contextlib.suppress(OSError):  # best effort: the kernel caps it (rmem_max)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        self._error_windows: dict[tuple[Address, str], list[float]] = {}
        self._kernel_timestamps = _enable_kernel_timestamps(self._socket)
        self.address: Address = self._socket.getsockname()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled_count = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve, name="v2m-osc", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._socket.close()

    def serve(self) -> None:
        while not self._closing.is_set():
            try:
                data, ancillary, _flags, sender = self._socket.recvmsg(65536, 256)
            except TimeoutError:
                data = None
            except OSError:
                if self._closing.is_set():
                    return
                raise
            if data is not None:
                self.handle_datagram(data, sender, _receive_time(ancillary))
            if self.tick is not None:
                try:
                    self.tick()
                except Exception:  # a status broadcast must never take the server down
                    log.exception("OSC tick failed")

    def handle_datagram(self, data: bytes, sender: Address, received: float | None = None
                        ) -> None:
        received = time.monotonic() if received is None else received
        if len(data) > self.max_packet_bytes:
            self.send_error(sender, PACKET_SUBJECT, f"packet of {len(data)} bytes refused; the "
                            f"limit is {self.max_packet_bytes} bytes")
            return
        try:
            messages = [timed.message for timed in OscPacket(data).messages]
        except Exception as err:  # untrusted bytes: python-osc raises more than ParseError
            self.send_error(sender, PACKET_SUBJECT, f"not a valid OSC packet ({err})")
            return
        for message in messages:
            self.dispatch(Request(message.address, tuple(message.params), sender, received))

    def dispatch(self, request: Request) -> None:
        is_v2m = request.address.startswith(V2M_PREFIX)
        route = self.routes.get(request.address)
        try:
            if route is None:
                if is_v2m:
                    known = ", ".join(sorted(a for a in self.routes if a.startswith(V2M_PREFIX)))
                    raise OscRequestError(f"unknown address {request.address}; known: {known}")
                log.debug("ignoring OSC %s %s", request.address, request.args)
                return
            check_arguments(route, request.address, request.args)
            route.handler(request)
            self.handled_count += 1
        except V2MError as err:
            if is_v2m:
                self.send_error(request.sender, request.address, str(err))
            else:
                log.info("ignored %s %s: %s", request.address, request.args, err)
        except Exception as err:  # a bug: answer, log, keep serving
            log.exception("handler for %s failed", request.address)
            if is_v2m:
                self.send_error(request.sender, request.address, f"internal error: {err!r}")

    # --- sending -------------------------------------------------------------------------------

    def send_error(self, sender: Address, address: str, message: str) -> None:
        """Answer a bad request, at most :data:`ERRORS_PER_SECOND` times per second for one
        sender and address; the next answer after a pause says how many were left out."""
        now = time.monotonic()
        key = (sender, address)
        window = self._error_windows.get(key)  # [start, answered, left out]
        if window is None or now - window[0] >= 1.0:
            left_out = int(window[2]) if window is not None else 0
            if len(self._error_windows) > 1000:
                self._error_windows.clear()
            window = self._error_windows[key] = [now, 0, 0]
            if left_out:
                message += f" ({left_out} more errors like it were not answered)"
        if window[1] >= ERRORS_PER_SECOND:
            window[2] += 1
            return
        window[1] += 1
        log.info("error for %s from %s:%s: %s", address, sender[0], sender[1], message)
        self.reply(sender, ERROR, address, message)

    def reply(self, sender: Address, address: str, *args: object) -> None:
        """Send to everyone who should hear the answer to a request from ``sender``."""
        self.send_to(self.reply_targets(sender), address, *args)

    def send_to(self, targets: Iterable[Address], address: str, *args: object) -> None:
        payload = osc_message(address, *args).dgram
        for target in dict.fromkeys(targets):
            try:
                self._socket.sendto(payload, target)
            except OSError as err:  # a client that went away must not stop the daemon
                log.debug("cannot send %s to %s: %s", address, target, err)

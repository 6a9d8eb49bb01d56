"""The OSC socket: receive, check, dispatch, reply.

Packets are parsed by :mod:`v2m_bridge.osc.parse` (bare messages and ``#bundle``s, which Reaper
sends): a total, bounded parser, so no packet can hang, crash or slow the loop. This module owns
the UDP socket so that it can refuse oversized packets, check and convert argument types
(:mod:`v2m_bridge.osc.arguments`) before any handler runs, and answer every bad ``/v2m/*``
request with ``/v2m/error s:address s:message``. Bundle timetags are ignored (Reaper sends
"immediate"), so a future-dated bundle can never block the loop.

Errors about bad input (a packet that does not parse, wrong types, an unknown address, values
out of range) are answered at most :data:`ERRORS_PER_SECOND` times per second per sender and
address; replies about the daemon's state (:class:`OscStateError`: busy, no video open, a live
session running) are always sent. With ``token`` set, every ``/v2m/*`` request must carry it
(see :func:`strip_token`). A packet that does not authenticate (no or a wrong token, or nothing
that could carry one: a packet that does not parse, an oversized one) gets at most one error, to
its sender only, within :data:`UNAUTHENTICATED_ERRORS_PER_SECOND` for all such senders together,
and keeps no client registered: a spoofed source cannot turn the daemon into a reflector.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hmac
import ipaddress
import logging
import os
import platform
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from v2m_bridge.errors import V2MError
from v2m_bridge.osc.arguments import coerce_arguments
from v2m_bridge.osc.parse import OscParseError, parse_packet
from v2m_bridge.osc.protocol import ERROR, MAX_PACKET_BYTES, PACKET_SUBJECT, V2M_PREFIX
from v2m_bridge.osc.wire import osc_message

log = logging.getLogger(__name__)

RECEIVE_BUFFER_BYTES = 4 << 20  # room for a burst of frames while a model step runs
ERRORS_PER_SECOND = 5  # per sender and address; a flood of bad frames gets a few answers
UNAUTHENTICATED_ERRORS_PER_SECOND = 5  # with --token: all packets without it, together

Address = tuple[str, int]


class OscRequestError(V2MError, ValueError):
    """An OSC request with the wrong arguments or values (answers are rate-limited)."""


class OscStateError(OscRequestError):
    """A request the daemon cannot do in its current state (busy, no video open, a live
    session running): the answer is about state, not bad input, and is never rate-limited."""


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


def check_arguments(route: Route, address: str, args: tuple) -> tuple:
    """``args`` converted to the route's types (see :mod:`v2m_bridge.osc.arguments`); raises
    :class:`OscRequestError` unless they fit one of its signatures."""
    try:
        return coerce_arguments(route.signatures, address, args)
    except V2MError as err:
        raise OscRequestError(str(err)) from None


def strip_token(args: tuple, token: str) -> tuple:
    """A ``/v2m/*`` request under ``serve --token``: its first argument must be the token (an
    OSC string); the rest are the request's own arguments. Compared in constant time."""
    if not args or not isinstance(args[0], str) or not hmac.compare_digest(
            args[0].encode(), token.encode()):
        raise OscRequestError("this daemon needs its token (serve --token) as the first "
                              "argument of every /v2m/ request")
    return args[1:]


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


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address to bind or a sender's address) is this machine only."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


_IP_RECVERR = getattr(socket, "IP_RECVERR", 11 if sys.platform.startswith("linux") else None)
# What a receive reports for ICMP errors about earlier sends (with IP_RECVERR on)
_ICMP_ERRNOS = frozenset(getattr(errno, name) for name in (
    "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "EMSGSIZE",
    "ECONNRESET", "EPROTO", "ENOPROTOOPT", "EACCES", "EPERM") if hasattr(errno, name))


class OscServer:
    """A UDP OSC endpoint on its own thread.

    ``routes`` maps exact addresses to :class:`Route`. Errors raised by handlers for ``/v2m/*``
    addresses (any :class:`V2MError`) become ``/v2m/error`` replies to ``reply_targets(sender)``;
    for other addresses (Reaper feedback) they are logged, since Reaper does not read replies.
    ``tick`` runs about every ``tick_s`` on the server thread (status broadcasts).
    ``on_unreachable(address)`` hears of each destination that answered a datagram with "port
    unreachable" (Linux), so vanished clients can be dropped; ``on_sender(host)`` hears of every
    packet's sending host (to keep its clients registered; with a token, only of messages that
    carry it, and of feedback from this machine). ``token``: see :func:`strip_token`; with it,
    feedback that cannot carry a token (Reaper's) is only taken from loopback senders.
    """

    def __init__(self, host: str, port: int, routes: dict[str, Route], *,
                 reply_targets: Callable[[Address], Iterable[Address]] | None = None,
                 tick: Callable[[], None] | None = None, tick_s: float = 0.1,
                 max_packet_bytes: int = MAX_PACKET_BYTES,
                 on_unreachable: Callable[[Address], None] | None = None,
                 on_sender: Callable[[str], None] | None = None,
                 token: str | None = None) -> None:
        self.routes = routes
        self.reply_targets = reply_targets or (lambda sender: [sender])
        self.tick = tick
        self.tick_s = tick_s
        self.max_packet_bytes = max_packet_bytes
        self.on_unreachable = on_unreachable
        self.on_sender = on_sender
        self.token = token or None
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
        # ICMP errors about our sends are queued on the socket (IP_RECVERR) and read without
        # waiting through a second handle on it (the main one waits up to tick_s for data)
        self._error_queue: socket.socket | None = None
        if _IP_RECVERR is not None:
            with contextlib.suppress(OSError):
                self._socket.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
                self._error_queue = socket.socket(fileno=os.dup(self._socket.fileno()))
                self._error_queue.settimeout(0.0)
        self._error_windows: dict[tuple[Address, str], list[float]] = {}
        self._unauthenticated_window = [0.0, 0]  # [start, answered] of the current second
        self._packet_answered = False  # with a token: this packet's one error went out
        self._kernel_timestamps = _enable_kernel_timestamps(self._socket)
        self.address: Address = self._socket.getsockname()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled_count = 0
        self.unreachable_count = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve, name="v2m-osc", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        if self._error_queue is not None:
            self._error_queue.close()
        self._socket.close()

    def serve(self) -> None:
        next_error_check = 0.0
        while not self._closing.is_set():
            try:
                data, ancillary, _flags, sender = self._socket.recvmsg(65536, 256)
            except TimeoutError:
                data = None
            except OSError as err:
                if self._closing.is_set():
                    return
                if err.errno not in _ICMP_ERRNOS:
                    raise
                # an ICMP error about a datagram we sent (IP_RECVERR): read who it was
                self._read_unreachable()
                data = None
            if data is not None:
                self.handle_datagram(data, sender, _receive_time(ancillary))
            now = time.monotonic()
            if now >= next_error_check:  # a send may have taken the error report: look anyway
                next_error_check = now + self.tick_s
                self._read_unreachable()
            if self.tick is not None:
                try:
                    self.tick()
                except Exception:  # a status broadcast must never take the server down
                    log.exception("OSC tick failed")

    def _read_unreachable(self, limit: int = 64) -> None:
        """Where the "port unreachable" errors queued on the socket came from (Linux)."""
        if self._error_queue is None:
            return
        for _ in range(limit):
            try:
                _data, ancillary, _flags, destination = self._error_queue.recvmsg(
                    512, 512, socket.MSG_ERRQUEUE)
            except (BlockingIOError, TimeoutError, InterruptedError):
                return
            except OSError as err:
                if err.errno != errno.EAGAIN:
                    log.debug("reading the socket's error queue failed: %s", err)
                return
            refused = any(len(payload) >= 4 and int.from_bytes(payload[:4], sys.byteorder)
                          == errno.ECONNREFUSED for _level, _kind, payload in ancillary)
            if refused and destination and self.on_unreachable is not None:
                self.unreachable_count += 1
                try:
                    self.on_unreachable(destination)
                except Exception:  # bookkeeping must never take the server down
                    log.exception("handling an unreachable destination failed")

    def handle_datagram(self, data: bytes, sender: Address, received: float | None = None
                        ) -> None:
        received = time.monotonic() if received is None else received
        self._packet_answered = False
        if len(data) > self.max_packet_bytes:
            self._refuse(sender, PACKET_SUBJECT, f"packet of {len(data)} bytes refused; the "
                         f"limit is {self.max_packet_bytes} bytes")
            return
        if self.on_sender is not None and self.token is None:  # with a token: once it checks
            self.on_sender(sender[0])
        try:
            packet = parse_packet(data)
        except OscParseError as err:
            self._refuse(sender, PACKET_SUBJECT, f"not a valid OSC packet ({err})")
            return
        for refused in packet.refused:
            if refused.address is not None and refused.address.startswith(V2M_PREFIX):
                self._refuse(sender, refused.address, str(refused))
            else:
                log.debug("ignoring OSC %s: %s", refused.address, refused)
        for message in packet.messages:
            self.dispatch(Request(message.address, message.args, sender, received))

    def _refuse(self, sender: Address, address: str, message: str) -> None:
        """A bad packet or element: an error as :meth:`send_error` answers it, or, with a token
        (the packet could not prove it has one), as :meth:`_answer_unauthenticated` does."""
        if self.token is None:
            self.send_error(sender, address, message)
        else:
            self._answer_unauthenticated(sender, address, message)

    def _answer_unauthenticated(self, sender: Address, address: str, message: str) -> None:
        """One error per packet, to its sender alone, and at most
        :data:`UNAUTHENTICATED_ERRORS_PER_SECOND` a second for every such packet together."""
        if self._packet_answered:
            return
        self._packet_answered = True
        now = time.monotonic()
        window = self._unauthenticated_window
        if now - window[0] >= 1.0:
            window[0], window[1] = now, 0
        if window[1] >= UNAUTHENTICATED_ERRORS_PER_SECOND:
            return
        window[1] += 1
        log.info("error for %s from %s:%s (not authenticated): %s", address, sender[0],
                 sender[1], message)
        self.send_to([sender], ERROR, address, message)

    def dispatch(self, request: Request) -> None:
        is_v2m = request.address.startswith(V2M_PREFIX)
        route = self.routes.get(request.address)
        try:
            if self.token is not None:
                if is_v2m:
                    try:
                        args = strip_token(request.args, self.token)
                    except OscRequestError as err:
                        self._answer_unauthenticated(request.sender, request.address, str(err))
                        return
                    request = dataclasses.replace(request, args=args)
                elif not is_loopback(request.sender[0]):
                    log.debug("ignoring %s from %s: feedback without a token is only taken "
                              "from this machine", request.address, request.sender[0])
                    return
                if self.on_sender is not None:  # authenticated (or feedback from this host)
                    self.on_sender(request.sender[0])
            if route is None:
                if is_v2m:
                    known = ", ".join(sorted(a for a in self.routes if a.startswith(V2M_PREFIX)))
                    raise OscRequestError(f"unknown address {request.address}; known: {known}")
                log.debug("ignoring OSC %s %s", request.address, request.args)
                return
            args = check_arguments(route, request.address, request.args)
            route.handler(dataclasses.replace(request, args=args))
            self.handled_count += 1
        except OscStateError as err:  # about the daemon's state: always answered
            if is_v2m:
                self.reply(request.sender, ERROR, request.address, str(err))
            else:
                log.debug("ignored %s %s: %s", request.address, request.args, err)
        except V2MError as err:
            if is_v2m:
                self.send_error(request.sender, request.address, str(err))
            else:
                log.debug("ignored %s %s: %s", request.address, request.args, err)
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
            self._send_one(payload, target, address)

    def _send_one(self, payload: bytes, target: Address, address: str) -> None:
        # With IP_RECVERR, a send can fail with the pending "port unreachable" of an EARLIER
        # send to another client (one that went away); the failed call clears it, so try once
        # more before giving up on this target.
        for attempt in range(2):
            try:
                self._socket.sendto(payload, target)
                return
            except OSError as err:  # a client that went away must not stop the daemon
                if attempt == 0 and err.errno in _ICMP_ERRNOS:
                    continue
                log.debug("cannot send %s to %s: %s", address, target, err)
                return

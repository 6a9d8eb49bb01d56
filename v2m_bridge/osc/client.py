"""Send one OSC message to the daemon and, optionally, wait for its answer.

This is what ``v2m-bridge send`` and the Reaper scripts use: a ReaScript cannot send UDP itself,
so it runs ``v2m-bridge send --wait ... ADDRESS ARGS`` and reads the exit code.

The daemon answers a ``/v2m/*`` request to the address and port the request came from (or to
``--reply-port`` on the sender's host when the daemon was started with it), so the message is
sent from the same UDP socket that then listens for the answer. The socket is *connected* to the
daemon: only its datagrams are read, and on most systems a daemon that is not running shows up at
once as "connection refused" instead of a silent timeout.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pythonosc.osc_packet import OscPacket

from v2m_bridge.errors import V2MError
from v2m_bridge.osc import protocol
from v2m_bridge.osc.ports import check_port
from v2m_bridge.osc.wire import osc_message

log = logging.getLogger(__name__)

PROGRESS_ADDRESS = protocol.PROGRESS
ERROR_ADDRESS = protocol.ERROR
OK_ADDRESS = protocol.OK
PACKET_ERROR_SUBJECT = protocol.PACKET_SUBJECT

# The daemon's answer to each request (v2m_bridge/osc/protocol.py); any other /v2m/* gets /v2m/ok.
EXPECTED_REPLIES = protocol.expected_replies()

INT32_RANGE = (-(2**31), 2**31 - 1)
FLOAT32_MAX = 3.4028234663852886e38
_INT_TEXT = re.compile(r"[+-]?\d+")
_FLOAT_TEXT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_BAD_ADDRESS_CHARS = re.compile(r"[\s#*,?\[\]{}]")

OscValue = int | float | str


class SendError(V2MError, ValueError):
    """A message that cannot be sent as asked (bad address, argument or port)."""


def parse_argument(text: str) -> OscValue:
    """One command-line argument as a typed OSC value.

    ``i:3`` is an int32, ``f:1.5`` a float32, ``s:text`` a string (use it for text that looks
    like a number, or that itself starts with ``i:``, ``f:`` or ``s:``). Without a prefix, a whole
    number is an int, a decimal number (``1.5``, ``2.``, ``1e3``) a float, anything else a string.
    """
    prefix, colon, rest = text.partition(":")
    if colon and prefix in ("i", "f", "s"):
        if prefix == "s":
            return _checked_string(rest, text)
        if prefix == "i":
            if not _INT_TEXT.fullmatch(rest.strip()):
                raise SendError(f"argument {text!r}: {rest!r} is not a whole number (i: wants "
                                "an int such as i:3)")
            return _checked_int(int(rest), text)
        if not _FLOAT_TEXT.fullmatch(rest.strip()):
            raise SendError(f"argument {text!r}: {rest!r} is not a finite number (f: wants a "
                            "float such as f:1.5)")
        return _checked_float(float(rest), text)
    if _INT_TEXT.fullmatch(text):
        return _checked_int(int(text), text)
    if _FLOAT_TEXT.fullmatch(text):
        return _checked_float(float(text), text)
    return _checked_string(text, text)


def _checked_int(value: int, text: str) -> int:
    low, high = INT32_RANGE
    if not low <= value <= high:
        raise SendError(f"argument {text!r}: {value} does not fit an OSC int32 ({low}..{high}); "
                        "write it as a float (f:...) or a string (s:...)")
    return value


def _checked_float(value: float, text: str) -> float:
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise SendError(f"argument {text!r} does not fit an OSC float32 (a finite number up to "
                        "about 3.4e38 is expected)")
    return value


def _checked_string(value: str, text: str) -> str:
    if "\x00" in value:
        raise SendError(f"argument {text!r} contains a NUL character, which OSC strings cannot "
                        "carry")
    return value


def check_address(address: str) -> str:
    if not address.startswith("/") or _BAD_ADDRESS_CHARS.search(address):
        raise SendError(f"OSC address {address!r} must start with '/' and contain no spaces or "
                        "any of # * , ? [ ] { }, e.g. /v2m/video/open")
    return address


def encode_message(address: str, args: Sequence[OscValue]) -> bytes:
    """The OSC datagram, with each value's type kept exactly (an int stays ``i``)."""
    for value in args:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SendError(f"cannot send {value!r}: int, float or str expected")
    return osc_message(check_address(address), *args).dgram


def expected_reply(address: str) -> str | None:
    """The reply that completes ``address``; None for non-/v2m addresses (Reaper's own), which
    the daemon never answers."""
    if address in EXPECTED_REPLIES:
        return EXPECTED_REPLIES[address]
    return OK_ADDRESS if address.startswith(protocol.V2M_PREFIX) else None


@dataclass(frozen=True)
class Reply:
    address: str
    args: tuple

    def __str__(self) -> str:
        """``ADDRESS ARG...`` with strings JSON-quoted, so paths with spaces stay one token."""
        parts = [self.address]
        for value in self.args:
            parts.append(json.dumps(value, ensure_ascii=False) if isinstance(value, str)
                         else repr(value))
        return " ".join(parts)


@dataclass(frozen=True)
class Outcome:
    """How a request ended: ``"reply"`` (the expected answer), ``"error"`` (``/v2m/error`` for
    this request), ``"timeout"`` or ``"refused"`` (nothing listens at the daemon's port)."""

    status: str
    reply: Reply | None = None
    detail: str = ""


def resolve_ipv4(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except (OSError, UnicodeError) as err:
        raise SendError(f"cannot resolve host {host!r}: {err}") from err


def send_message(host: str, port: int, address: str, args: Sequence[OscValue], *,
                 wait_s: float | None = None, expect: str | None = None, listen_port: int = 0,
                 on_message: Callable[[Reply], None] | None = None) -> Outcome:
    """Send ``address args`` to ``host:port``; with ``wait_s``, wait for the answer.

    ``expect`` is the reply address that completes the request (default:
    :func:`expected_reply`; for an address the daemon does not answer, any message but progress
    counts). ``/v2m/error`` about this address (or about an unreadable packet) ends the wait.
    Every other message received meanwhile (progress, status) goes to ``on_message``.
    ``listen_port`` binds the local socket, for a daemon started with ``--reply-port``.
    """
    check_port(port, "--port", error=SendError)
    check_port(listen_port, "--listen-port", allow_zero=True, error=SendError)
    if wait_s is not None and not (math.isfinite(wait_s) and wait_s > 0):
        raise SendError(f"--wait must be a positive number of seconds, got {wait_s:g}")
    payload = encode_message(address, args)
    target = (resolve_ipv4(host), port)
    expect = expect if expect is not None else expected_reply(address)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            if listen_port:
                sock.bind(("", listen_port))
            sock.connect(target)
            sock.send(payload)
        except ConnectionRefusedError:
            return Outcome("refused", detail=nothing_listens(target))
        except OSError as err:
            raise SendError(f"cannot send to {target[0]}:{target[1]}: {err}") from err
        if wait_s is None:
            return Outcome("reply", detail="sent")
        return wait_for_reply(sock, target, address, expect, wait_s, on_message)


def nothing_listens(target: tuple[str, int]) -> str:
    return (f"nothing listens at {target[0]}:{target[1]} (connection refused); is "
            "`v2m-bridge serve` running there?")


def wait_for_reply(sock: socket.socket, target: tuple[str, int], address: str,
                   expect: str | None, wait_s: float,
                   on_message: Callable[[Reply], None] | None) -> Outcome:
    """Read the daemon's answers on ``sock`` (connected to ``target``) until one decides the
    request to ``address`` (see :func:`send_message`) or ``wait_s`` runs out."""
    deadline = time.monotonic() + wait_s
    heard_anything = False
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionRefusedError:  # ICMP port unreachable on a connected socket
            return Outcome("refused", detail=nothing_listens(target))
        except ConnectionResetError:  # Windows reports the same as a reset
            return Outcome("refused", detail=nothing_listens(target))
        try:
            messages = [timed.message for timed in OscPacket(data).messages]
        except Exception as err:  # untrusted bytes: python-osc raises more than ParseError
            log.debug("ignoring an unreadable packet from the daemon: %s", err)
            continue
        heard_anything = True
        for message in messages:
            reply = Reply(message.address, tuple(message.params))
            outcome = _classify(reply, address, expect)
            if outcome is not None:
                return outcome
            if on_message is not None:
                on_message(reply)
    what = expect or "an answer"
    if heard_anything:
        detail = f"no {what} within {wait_s:g} s (the daemon answered, but has not finished)"
    else:
        detail = (f"no answer from {target[0]}:{target[1]} within {wait_s:g} s; is "
                  "`v2m-bridge serve` running there (and not started with --reply-port, "
                  "which needs send --listen-port)?")
    return Outcome("timeout", detail=detail)


def _classify(reply: Reply, address: str, expect: str | None) -> Outcome | None:
    """The outcome this reply decides, or None when it is only news (progress, status...)."""
    if reply.address == ERROR_ADDRESS:
        subject = reply.args[0] if reply.args else ""
        if subject in (address, PACKET_ERROR_SUBJECT) or not reply.args:
            message = reply.args[1] if len(reply.args) > 1 else "(no message)"
            return Outcome("error", reply, str(message))
        return None
    if expect is None:
        return None if reply.address == PROGRESS_ADDRESS else Outcome("reply", reply)
    if reply.address != expect:
        return None
    if expect == OK_ADDRESS and reply.args and reply.args[0] != address:
        return None  # the acknowledgement of another request
    return Outcome("reply", reply)

"""UDP port numbers: one check for the daemon, ``serve``, ``send`` and ``replay``."""

from __future__ import annotations

import argparse

from v2m_bridge.errors import V2MError

MAX_PORT = 65535


def check_port(value: object, what: str, *, allow_zero: bool = False,
               error: type[Exception] = V2MError) -> int:
    """``value`` if it is a port number (0 too with ``allow_zero``: "any free port"), else
    ``error("WHAT must be 1..65535, got VALUE")``."""
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_PORT:
        raise error(f"{what} must be {low}..{MAX_PORT}, got {value!r}")
    return value


def port_argument(text: str) -> int:
    """An argparse ``type=`` for a port 1..65535."""
    try:
        value: object = int(text)
    except ValueError:
        value = text
    return check_port(value, "a UDP port", error=argparse.ArgumentTypeError)

"""The daemon's routes, made from the protocol table (:mod:`v2m_bridge.osc.protocol`): each
address gets its handler, the argument check of its signatures, and, for requests answered with
``/v2m/ok``, the acknowledgement once the handler returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from v2m_bridge.daemon.server import Request, Route
from v2m_bridge.osc.protocol import MESSAGES, OK

Handler = Callable[[Request], None]
Reply = Callable[..., None]  # reply(request, address, *args)

# Requests whose /v2m/ok comes from a worker when the work is done, not from the handler.
ACKNOWLEDGED_LATER = frozenset({"/v2m/live/image"})


def build_routes(handlers: Mapping[str, Handler], reply: Reply) -> dict[str, Route]:
    """One :class:`Route` per protocol address; ``handlers`` must cover exactly those."""
    missing, unknown = set(MESSAGES) - set(handlers), set(handlers) - set(MESSAGES)
    if missing or unknown:
        raise AssertionError(f"handlers and protocol disagree: no handler for {sorted(missing)}, "
                             f"not in the protocol: {sorted(unknown)}")
    routes = {}
    for address, message in MESSAGES.items():
        handler = handlers[address]
        if message.reply == OK and address not in ACKNOWLEDGED_LATER:
            handler = _acknowledged(handler, reply)
        routes[address] = Route(message.signatures, handler, message.help)
    return routes


def _acknowledged(handler: Handler, reply: Reply) -> Handler:
    def handle(request: Request) -> None:
        handler(request)
        reply(request, OK, request.address)
    return handle

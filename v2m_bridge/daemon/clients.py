"""Who hears what: registered clients (``/v2m/hello``) and where replies go."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from v2m_bridge.daemon.server import Address, OscRequestError, Request
from v2m_bridge.osc.ports import check_port

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send_to(self, targets: Iterable[Address], address: str, *args: object) -> None: ...


class Clients:
    """The registered clients and the outbox: replies go to the sender (at ``reply_port`` on its
    host when given) and to every registered client. Messages are dropped until
    :meth:`attach` gives the socket."""

    def __init__(self, reply_port: int | None = None) -> None:
        self.reply_port = reply_port
        self.registered: dict[str, Address] = {}
        self._sender: Sender | None = None

    def attach(self, sender: Sender) -> None:
        self._sender = sender

    def register(self, name: str, sender: Address, port: int) -> None:
        check_port(port, "reply port", error=OscRequestError)
        self.registered[name] = (sender[0], port)
        log.info("client %r registered at %s:%d", name, sender[0], port)

    def reply_targets(self, sender: Address) -> list[Address]:
        """The sender (at ``--reply-port`` when given) and every client registered with hello."""
        first = (sender[0], self.reply_port) if self.reply_port else sender
        return [first, *self.registered.values()]

    def reply(self, request: Request, address: str, *args: object) -> None:
        """Answer ``request``."""
        self.tell(request.sender, address, *args)

    def broadcast(self, address: str, *args: object) -> None:
        """To every client registered with /v2m/hello."""
        self.tell(None, address, *args)

    def tell(self, sender: Address | None, address: str, *args: object) -> None:
        """To ``sender`` (as a reply would go) and the registered clients."""
        if self._sender is not None:
            targets = self.reply_targets(sender) if sender else self.registered.values()
            self._sender.send_to(targets, address, *args)

"""Who hears what: registered clients (``/v2m/hello``) and where replies go.

Registration is bounded: at most :data:`MAX_CLIENTS` clients (a new one pushes out the one heard
from least recently), a client whose address answers a datagram with "port unreachable" is
dropped at once, and one that has neither said hello again nor sent anything from its host for
:data:`CLIENT_TIMEOUT_S` is dropped. So status broadcasts (10 per second per client) are bounded
too, and a client that went away stops getting them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from v2m_bridge.daemon.server import Address, OscRequestError, Request
from v2m_bridge.osc.ports import check_port

log = logging.getLogger(__name__)

MAX_CLIENTS = 32
CLIENT_TIMEOUT_S = 3600.0


class Sender(Protocol):
    def send_to(self, targets: Iterable[Address], address: str, *args: object) -> None: ...


class Clients:
    """The registered clients and the outbox: replies go to the sender (at ``reply_port`` on its
    host when given) and to every registered client. Messages are dropped until
    :meth:`attach` gives the socket.

    ``registered`` is replaced whole on every change (readers on other threads iterate a
    snapshot); its order is the order of registration, and ``_heard`` says when each client
    was last heard (hello, or any packet from its host)."""

    def __init__(self, reply_port: int | None = None, *, max_clients: int = MAX_CLIENTS,
                 timeout_s: float = CLIENT_TIMEOUT_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.reply_port = reply_port
        self.max_clients = max_clients
        self.timeout_s = timeout_s
        self.monotonic = monotonic
        self.registered: dict[str, Address] = {}
        self._heard: dict[str, float] = {}  # name -> when it or its host was last heard
        self._hosts: frozenset[str] = frozenset()
        self._sender: Sender | None = None

    def attach(self, sender: Sender) -> None:
        self._sender = sender

    def register(self, name: str, sender: Address, port: int) -> None:
        check_port(port, "reply port", error=OscRequestError)
        registered = {key: value for key, value in self.registered.items() if key != name}
        while len(registered) >= self.max_clients:  # room for the new one
            quietest = min(registered, key=lambda key: self._heard.get(key, 0.0))
            del registered[quietest]
            log.info("client %r dropped: more than %d clients registered and it was heard from "
                     "least recently", quietest, self.max_clients)
        registered[name] = (sender[0], port)
        self._heard = {key: self._heard.get(key, 0.0) for key in registered}
        self._heard[name] = self.monotonic()
        self._set(registered)
        log.info("client %r registered at %s:%d", name, sender[0], port)

    def heard_from(self, host: str) -> None:
        """Any packet from ``host`` keeps the clients registered from there alive."""
        if host in self._hosts:
            now = self.monotonic()
            for name, address in self.registered.items():
                if address[0] == host:
                    self._heard[name] = now

    def unreachable(self, address: Address) -> None:
        """``address`` answered with "port unreachable": the client there went away."""
        gone = [name for name, known in self.registered.items() if known == address]
        if gone:
            self._drop(gone, "its port is closed")

    def expire(self) -> None:
        """Drop the clients not heard from for ``timeout_s`` (called by the OSC thread's tick)."""
        limit = self.monotonic() - self.timeout_s
        gone = [name for name in self.registered if self._heard.get(name, 0.0) < limit]
        if gone:
            self._drop(gone, f"nothing heard for {self.timeout_s:g} s")

    def _drop(self, names: list[str], why: str) -> None:
        for name in names:
            log.info("client %r dropped: %s", name, why)
        self._set({key: value for key, value in self.registered.items() if key not in names})

    def _set(self, registered: dict[str, Address]) -> None:
        self.registered = registered
        self._hosts = frozenset(host for host, _ in registered.values())
        self._heard = {key: self._heard.get(key, 0.0) for key in registered}

    def reply_targets(self, sender: Address) -> list[Address]:
        """The sender (at ``--reply-port`` when given) and every client registered with hello."""
        first = (sender[0], self.reply_port) if self.reply_port else sender
        return [first, *self.registered.values()]  # one snapshot of the registered clients

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

"""A python-osc server standing in for ``v2m-bridge serve`` in the send and Reaper-script tests.

It records every message (address and typed arguments) and answers to the sender's address and
port, as the daemon does, with the replies scripted for each address.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer

from v2m_bridge.osc.wire import osc_message

Message = tuple[str, tuple]
Script = Sequence[Message] | Callable[[tuple], Sequence[Message]]


def encode(address: str, *args: object) -> bytes:
    return osc_message(address, *args).dgram


class FakeDaemon:
    """``replies`` maps a request address to the messages sent back (or a function of the
    request's arguments returning them); unknown addresses get no answer."""

    def __init__(self, replies: dict[str, Script] | None = None) -> None:
        self.replies = dict(replies or {})
        self.received: list[Message] = []
        self.senders: list[tuple[str, int]] = []
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(self._handle, needs_reply_address=True)
        self.server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                        daemon=True)

    def _handle(self, sender: tuple[str, int], address: str, *args: object) -> None:
        self.received.append((address, args))
        self.senders.append(sender)
        script = self.replies.get(address, ())
        for reply_address, reply_args in script(args) if callable(script) else script:
            self.server.socket.sendto(encode(reply_address, *reply_args), sender)

    def __enter__(self) -> FakeDaemon:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=2)


def closed_port() -> int:
    """A local UDP port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

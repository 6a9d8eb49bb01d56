"""OSCQuery discovery: the address space over HTTP and its mDNS advertisement (``_oscjson._tcp``).

The HTTP server runs on its own threads (one per connection, at most
:data:`MAX_CONNECTIONS` at once; more are answered 503 at once), with a socket timeout, so a
slow or hostile client never holds anything but its own thread, and never the OSC thread: the
values it reports are read from the session's immutable settings without a lock. Bad requests get
clear answers: 404 for an unknown path, 400 for an unknown attribute, 405 for anything but GET,
431/414 for oversized headers or request lines (the standard library's limits), 408 for a
client too slow to send its request line.

The JSON is :mod:`v2m_bridge.osc.oscquery`'s. The advertisement needs the optional ``zeroconf``
package (``pip install "v2m-bridge[live]"``); without it the HTTP server still answers.
The python-oscquery package was considered: it binds all interfaces, has no timeouts, serves
files on ``HEAD`` (a ``SimpleHTTPRequestHandler``) and holds static values, so this small server
is used instead.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from v2m_bridge.daemon.state import Settings
from v2m_bridge.errors import V2MError
from v2m_bridge.osc import oscquery

try:  # optional: the [live] extra (ifaddr comes with zeroconf)
    import ifaddr
    import zeroconf
except ImportError:  # pragma: no cover - depends on the environment
    ifaddr = zeroconf = None

log = logging.getLogger(__name__)

SERVICE_TYPE = "_oscjson._tcp.local."
MAX_CONNECTIONS = 16
REQUEST_TIMEOUT_S = 5.0

Values = Callable[[], Mapping[str, Sequence]]


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    timeout = REQUEST_TIMEOUT_S  # a slow client is dropped after this long without data
    server_version = "v2m-bridge-oscquery"

    def do_GET(self) -> None:
        reply = oscquery.answer(self.path, oscquery.address_tree(self.server.values()),
                                self.server.info)
        body = reply.body.encode()
        self.send_response(reply.status)
        if reply.status == 200:
            self.send_header("Content-Type", "application/json")
        else:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and reply.status != 204:
            self.wfile.write(body)

    def _refuse(self) -> None:
        self.send_error(405, "only GET is answered (OSCQuery)")

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _refuse

    # what send_error needs when a client times out before its request line was parsed
    command = None
    request_version = "HTTP/1.0"
    requestline = ""

    def log_error(self, format: str, *args: object) -> None:
        if format.startswith("Request timed out"):  # the standard library only closes
            with contextlib.suppress(OSError):
                self.send_error(408, "request timed out")
        self.log_message(format, *args)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("oscquery %s: " + format, self.client_address[0], *args)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # the listen backlog: a burst of connections is not refused

    def __init__(self, address: tuple[str, int], values: Values, info: dict) -> None:
        self.values = values
        self.info = info
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):  # busy: answer at once, hold no thread
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain"
                                b"\r\nConnection: close\r\n\r\ntoo many connections\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def setting_values(settings: Settings, follow_reaper: bool) -> dict[str, list]:
    """The current value of each setting OSCQuery reports (``VALUE``); a seed left to chance
    has none. The tempo is reported as set (text such as ``96`` or ``auto``)."""
    values: dict[str, list] = {
        "/v2m/key": [settings.key], "/v2m/primer": [settings.primer],
        "/v2m/emotion": [settings.emotion or ""],
        "/v2m/tempo": [settings.tempo.text],
        "/v2m/rhythm": [settings.harmonic_rhythm],
        "/v2m/transport/follow": [int(follow_reaper)],
    }
    if settings.seed is not None:
        values["/v2m/seed"] = [settings.seed]
    return values


def _ipv4_addresses() -> list[str]:
    """This machine's IPv4 addresses (to advertise a server bound to every interface)."""
    return [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if ip.is_IPv4]


class Discovery:
    """Serves the OSCQuery JSON on ``host`` (TCP ``port``; if it is taken, any free one) and,
    with ``advertise``, announces it over mDNS. ``values()`` gives the current settings."""

    def __init__(self, host: str, port: int, osc_port: int, values: Values, *,
                 name: str = "v2m-bridge", advertise: bool = True) -> None:
        info = oscquery.host_info(name, host, osc_port)
        try:
            self.http = _HttpServer((host, port), values, info)
        except OSError:
            try:
                self.http = _HttpServer((host, 0), values, info)
            except OSError as err:
                raise V2MError(f"cannot serve OSCQuery on {host}: {err}") from err
        self.host, self.port = self.http.server_address[:2]
        self.osc_port = osc_port
        self.name = name
        self.advertise = advertise
        self._zeroconf = None
        self._lock = threading.Lock()
        self._closed = False
        self._serving = False

    def start(self) -> None:
        threading.Thread(target=self.http.serve_forever, args=(0.05,), name="v2m-oscquery",
                         daemon=True).start()
        self._serving = True
        if self.advertise:  # registering probes the network for ~1.5 s: not on the caller
            threading.Thread(target=self._announce, name="v2m-mdns", daemon=True).start()
        log.info("OSCQuery on http://%s:%d/", self.host, self.port)

    def _announce(self) -> None:
        if zeroconf is None:
            log.info("OSCQuery is not advertised over mDNS: install zeroconf "
                     "(pip install \"v2m-bridge[live]\")")
            return
        loopback = self.host.startswith("127.")
        interfaces = [self.host] if loopback else zeroconf.InterfaceChoice.All
        try:
            conf = zeroconf.Zeroconf(interfaces=interfaces, ip_version=zeroconf.IPVersion.V4Only)
        except Exception as err:  # no multicast here: the HTTP server still answers
            log.warning("OSCQuery not advertised over mDNS: %s", err)
            return
        with self._lock:
            if self._closed:
                conf.close()
                return
            self._zeroconf = conf
        try:
            hosts = _ipv4_addresses() if self.host == "0.0.0.0" else [self.host]
            service = zeroconf.ServiceInfo(
                SERVICE_TYPE, f"{self.name} {self.osc_port}.{SERVICE_TYPE}", port=self.port,
                properties={"txtvers": "1"}, server=f"v2m-bridge-{self.osc_port}.local.",
                addresses=[socket.inet_aton(host) for host in hosts])
            conf.register_service(service, allow_name_change=True)  # probes for ~1.5 s
            log.info("OSCQuery advertised over mDNS as %r", service.name)
        except Exception as err:  # closed meanwhile, or the network refused
            if not self._closed:
                log.warning("OSCQuery not advertised over mDNS: %s", err)

    def close(self) -> None:
        """Stop serving; the mDNS advertisement says goodbye in the background."""
        if self._serving:  # shutdown() waits for a serve_forever() that never started
            self.http.shutdown()
        self.http.server_close()
        with self._lock:
            self._closed = True
            conf, self._zeroconf = self._zeroconf, None
        if conf is not None:  # goodbye packets take ~1 s: sent without holding the caller
            threading.Thread(target=_close_quietly, args=(conf,), name="v2m-mdns-close",
                             daemon=True).start()


def _close_quietly(conf) -> None:
    with contextlib.suppress(Exception):
        conf.close()

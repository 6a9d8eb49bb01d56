"""Shared helpers for the live tests: an OSC test client, a JACK dummy server, paths."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_packet import OscPacket
from shared_data import SHARED

from v2m_bridge.daemon.app import Daemon, DaemonConfig
from v2m_bridge.daemon.backend import ModelBackend
from v2m_bridge.daemon.midi_out import MemorySink
from v2m_bridge.osc.wire import osc_message

VIDEOS = SHARED / "data" / "videos"
TINY_AMT = SHARED / "fixtures" / "official_amt" / "amt_tiny_public.pt"


class OscClient:
    """Sends to the daemon from one UDP socket and reads the replies that come back to it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]

    def send(self, address: str, *args: object) -> None:
        self.socket.sendto(osc_message(address, *args).dgram, self.target)

    def send_bundle(self, *messages: tuple) -> None:
        bundle = OscBundleBuilder(IMMEDIATELY)
        for address, *args in messages:
            bundle.add_content(osc_message(address, *args))
        self.socket.sendto(bundle.build().dgram, self.target)

    def send_raw(self, data: bytes) -> None:
        self.socket.sendto(data, self.target)

    def receive(self, timeout: float = 2.0) -> tuple[str, tuple] | None:
        self.socket.settimeout(timeout)
        try:
            data, _ = self.socket.recvfrom(65536)
        except TimeoutError:
            return None
        message = OscPacket(data).messages[0].message
        return message.address, tuple(message.params)

    def wait_for(self, address: str, timeout: float = 10.0, skip: tuple[str, ...] = (
            "/v2m/progress", "/v2m/status")) -> tuple:
        """Args of the next ``address`` reply; fails on anything else except ``skip``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            reply = self.receive(left)
            if reply is None:
                break
            if reply[0] == address:
                return reply[1]
            assert reply[0] in skip, f"expected {address}, got {reply}"
        raise AssertionError(f"no {address} within {timeout} s")

    def close(self) -> None:
        self.socket.close()


@contextlib.contextmanager
def jack_server(period: int = 64):
    """A private JACK dummy server in sync mode (no lost or duplicated MIDI, see
    docs/daw-integration.md §6); sets JACK_DEFAULT_SERVER for clients in this process."""
    if shutil.which("jackd") is None or shutil.which("jack_wait") is None:
        pytest.skip("jackd2 is not installed (apt-get install jackd2; see tests/README or the "
                    "CI workflow)")
    name = f"v2mtest{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "JACK_NO_START_SERVER": "1"}
    process = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "--sync", "-d", "dummy",
                                "-r", "48000", "-p", str(period)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    old = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    try:
        subprocess.run(["jack_wait", "-s", name, "--wait", "--timeout", "10"], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.environ["JACK_DEFAULT_SERVER"] = name
        os.environ["JACK_NO_START_SERVER"] = "1"
        yield name
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def in_process_daemon(chord_model, **config):
    """The daemon on a free port with the in-memory MIDI sink (``daemon.sink``), closed after."""
    daemon = Daemon(DaemonConfig(port=0, **config), ModelBackend(chord_model), sink=MemorySink())
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.close()

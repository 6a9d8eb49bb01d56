"""Issue 15 #3: kill jackd under `v2m-bridge serve --midi-backend jack`, start it again: the port
comes back within a few seconds, MIDI flows again (recorded by `jack_midi_dump`, a JACK client
nobody here wrote), and SIGTERM afterwards exits 0 with every note ended (it was a segfault).

Everything that talks to JACK runs in child processes, so this test's own process never holds a
client of the server it kills.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from live_helpers import TINY_AMT, VIDEOS, OscClient

ROOT = Path(__file__).resolve().parents[1]
VIDEO = VIDEOS / "flower.mp4"
EVENT = re.compile(r"^\s*-?\d+:\s+((?:[0-9a-f]{2}\s+)+)")
TOOLS = ("jackd", "jack_wait", "jack_lsp", "jack_connect", "jack_midi_dump", "stdbuf")


class Monitor:
    """`jack_midi_dump` connected to the daemon's port; collects (time, bytes) per event."""

    def __init__(self, env: dict, name: str) -> None:
        self.name = name
        self.events: list[tuple[float, tuple[int, ...]]] = []
        self.process = subprocess.Popen(["stdbuf", "-oL", "jack_midi_dump", name], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            connected = subprocess.run(["jack_connect", "v2m_bridge:midi_out", f"{name}:input"],
                                       env=env, capture_output=True, timeout=10)
            if connected.returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"cannot connect {name}: {connected.stderr!r}")

    def _read(self) -> None:
        for line in self.process.stdout:
            match = EVENT.match(line)
            if match:
                self.events.append((time.monotonic(),
                                    tuple(int(b, 16) for b in match.group(1).split())))

    def note_ons(self) -> list[tuple[int, ...]]:
        return [m for _, m in self.events if m[0] & 0xF0 == 0x90 and len(m) > 2 and m[2] > 0]

    def sounding(self) -> set[tuple[int, int]]:
        on: dict[tuple[int, int], int] = {}
        for _, message in self.events:
            kind, key = message[0] & 0xF0, (message[0] & 0x0F, message[1])
            if kind == 0x90 and message[2] > 0:
                on[key] = on.get(key, 0) + 1
            elif kind == 0x80 or (kind == 0x90 and message[2] == 0):
                on[key] = max(on.get(key, 0) - 1, 0)
        return {key for key, count in on.items() if count}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_until(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} within {timeout:g} s")
        time.sleep(0.05)
    return time.monotonic() - started


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_midi_flows_again_after_jack_dies_and_returns_and_sigterm_ends_every_note(tmp_path):
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install jackd2)")
    if not TINY_AMT.is_file() or not VIDEO.is_file():
        pytest.skip("test fixtures missing")
    name = f"v2mrestart{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1",
           "PYTHONPATH": str(ROOT)}

    def start_jack() -> subprocess.Popen:
        process = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "--sync", "-d",
                                    "dummy", "-r", "48000", "-p", "128"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["jack_wait", "-s", name, "--wait", "--timeout", "10"], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return process

    def port_listed(port: str = "v2m_bridge:midi_out") -> bool:
        result = subprocess.run(["jack_lsp", "-s", name], env=env, capture_output=True,
                                text=True, timeout=10)
        return port in result.stdout.split("\n")

    jack = start_jack()
    port = free_udp_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "v2m_bridge", "serve", "--midi-backend", "jack", "--port",
         str(port), "--checkpoint", str(TINY_AMT), "--device", "cpu", "--output-dir",
         str(tmp_path), "--mtc-in", "virtual"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    client = OscClient(("127.0.0.1", port))
    monitors: list[Monitor] = []
    try:
        assert "ready" in serve.stdout.readline()
        client.send("/v2m/hello", "test", client.port)
        client.wait_for("/v2m/status")
        client.send("/v2m/video/open", str(VIDEO))
        client.wait_for("/v2m/ready", timeout=90)
        monitors.append(Monitor(env, "v2m_monitor_before"))
        client.send("/v2m/transport/play", 0.0)
        client.wait_for("/v2m/ok")
        wait_until(lambda: monitors[0].note_ons(), 10, "no note before the kill")

        jack.kill()
        jack.wait()
        monitors.pop().stop()
        address, message = client.wait_for("/v2m/error", timeout=15)
        assert address == "(midi)" and "went away" in message
        client.send("/v2m/status")
        client.wait_for("/v2m/status")  # the daemon answers without JACK

        jack = start_jack()
        back_after = wait_until(port_listed, 10, "the port did not come back")
        print(f"the port came back {back_after:.2f} s after jackd")
        assert back_after <= 6.0, f"the port took {back_after:.1f} s to come back"
        wait_until(lambda: port_listed("v2m_bridge_in:mtc_in"), 6,
                   "the MTC input did not come back")
        monitors.append(Monitor(env, "v2m_monitor_after"))
        client.send("/v2m/transport/play", 0.0)
        client.wait_for("/v2m/ok")
        wait_until(lambda: monitors[0].note_ons(), 10, "no MIDI after JACK came back")

        serve.send_signal(signal.SIGTERM)  # notes are sounding
        assert serve.wait(timeout=30) == 0  # it was -11
        time.sleep(0.3)
        assert monitors[0].sounding() == set(), "notes left on after SIGTERM"
    finally:
        client.close()
        for monitor in monitors:
            monitor.stop()
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        jack.terminate()
        try:
            jack.wait(timeout=10)
        except subprocess.TimeoutExpired:
            jack.kill()
            jack.wait()

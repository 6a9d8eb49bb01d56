"""A seeded generator of hostile OSC packets: random bytes, messages to real addresses with random
arguments of every type tag (known and unknown), bundles (nested, with lying element sizes),
mutations of valid packets (bit flips, truncation, size fields set to negative or huge values),
and well-formed requests to every address that takes a path, with paths such as ``.``, ``..``,
empty strings and folders (:func:`path_request`; issue 25 found ``/v2m/render .`` this way).

:func:`run_fuzz` runs a ``v2m-bridge serve`` process against them (the test's 10,000-packet slice
and ``benchmarks/bench_fuzz.py``'s 100,000)."""

from __future__ import annotations

import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from v2m_bridge.demo_data import DEMO_CLIP
from v2m_bridge.osc.protocol import MESSAGES

ADDRESSES = (*MESSAGES, "/v2m/nope", "/x")
# Requests that take a path: address -> (the path's position, the other arguments' tags)
PATH_REQUESTS = {"/v2m/video/open": (0, ""), "/v2m/render": (0, ""),
                 "/v2m/live/image": (0, "f"), "/v2m/match": (1, "i")}
# Paths every request that takes one is tried with, besides the folders of the run
PATHS = (".", "..", "", "./", "./.", "../", "/", "sub", "sub/", "x.mid", "../x.mid",
         "/tmp/nothing.mp4", "~/x.mid", "a/../b.mid", "//", "/.", "/..")
TYPE_TAGS = "ifsdhSbTFNIcrmt[]Q"
NEGATIVE_ELEMENT_BUNDLE = bytes.fromhex("2362756e646c65000000000000000001fffffffc")


def osc_string(text: bytes) -> bytes:
    text += b"\0"
    return text + b"\0" * (-len(text) % 4)


def _number(rng: random.Random) -> float:
    return rng.choice([0.0, 1.0, -1.0, 0.5, 1e300, -1e300, float("inf"), float("nan"), 3.4e38,
                       rng.uniform(-1e6, 1e6), rng.random(), float(rng.randint(0, 20))])


def _argument(rng: random.Random, tag: str) -> bytes:
    if tag == "i":
        return struct.pack(">i", rng.choice([0, 1, -1, 7, 2**31 - 1, -2**31, 9]))
    if tag == "f":
        value = _number(rng)
        try:
            return struct.pack(">f", value)
        except OverflowError:
            return struct.pack(">f", float("inf"))
    if tag == "d":
        return struct.pack(">d", _number(rng))
    if tag == "h":
        return struct.pack(">q", rng.choice([0, 1, 2**63 - 1, -2**63]))
    if tag in "sS":
        choices = [b"", b"D minor", b"0:tense,2:sad", b"/tmp/nothing.mp4", b"../../etc/passwd",
                   b"~/x.mid", b"x" * rng.randint(200, 600), b"\xff\xfe", b"sad"]
        return osc_string(rng.choice(choices))
    if tag == "b":
        size = rng.choice([0, 3, 4, -4, 1 << 30])
        body = bytes(max(size, 0) % 64)
        return struct.pack(">i", size) + body + b"\0" * (-len(body) % 4)
    if tag in "cr":
        return struct.pack(">i", rng.randint(0, 255))
    if tag == "m":
        return bytes(4)
    if tag == "t":
        return bytes(8)
    return b""


def message(rng: random.Random) -> bytes:
    address = rng.choice(ADDRESSES).encode()
    if address == b"/v2m/live/frame" and rng.random() < 0.7:
        tags = "f" * rng.choice([7, 7, 13, 6])
    elif rng.random() < 0.6:
        tags = "".join(rng.choice("ifsdT") for _ in range(rng.randint(0, 3)))
    else:
        tags = "".join(rng.choice(TYPE_TAGS) for _ in range(rng.randint(0, 5)))
    payload = b"".join(_argument(rng, tag) for tag in tags)
    return osc_string(address) + osc_string(b"," + tags.encode()) + payload


def bundle(rng: random.Random, depth: int = 0) -> bytes:
    elements = []
    for _ in range(rng.randint(0, 4)):
        inner = bundle(rng, depth + 1) if depth < 6 and rng.random() < 0.3 else message(rng)
        size = len(inner)
        roll = rng.random()
        if roll < 0.05:
            size = -rng.choice([4, 8, 1 << 30])
        elif roll < 0.1:
            size = rng.choice([0, 1, size + 4, 1 << 30])
        elements.append(struct.pack(">i", size) + inner)
    return b"#bundle\0" + struct.pack(">Q", rng.choice([0, 1, 2**63])) + b"".join(elements)


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        roll = rng.random()
        position = rng.randrange(len(data))
        if roll < 0.4:
            data[position] = rng.randrange(256)
        elif roll < 0.6:
            del data[position:]
        elif roll < 0.8 and len(data) >= position + 4:
            data[position:position + 4] = struct.pack(">i", rng.choice([-4, -1, 0, 1 << 30]))
        else:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(data)


def path_request(rng: random.Random, folders: tuple[str, ...] = ()) -> tuple[str, bytes]:
    """A well-formed request to an address that takes a path, with a path from :data:`PATHS`
    or ``folders``: (address, packet). ``/`` (or ``//``, ``/.``) is not sent to ``/v2m/match``:
    a library of the whole disk is a valid, long request, not a fuzz case."""
    address = rng.choice(sorted(PATH_REQUESTS))
    position, other_tags = PATH_REQUESTS[address]
    choices = [p for p in (*PATHS, *folders)
               if not (address == "/v2m/match" and p and os.path.normpath(p) in ("/", "//"))]
    path = rng.choice(choices).encode()
    others = [_argument(rng, tag) if tag != "i" else struct.pack(">i", rng.choice([1, 3, 5]))
              for tag in other_tags]
    tags = other_tags[:position] + "s" + other_tags[position:]
    arguments = [*others[:position], osc_string(path), *others[position:]]
    return address, osc_string(address.encode()) + osc_string(b"," + tags.encode()) + b"".join(
        arguments)


def packets(seed: int, count: int, folders: tuple[str, ...] = ()) -> Iterator[bytes]:
    """``count`` hostile packets, the same for the same seed (and folders)."""
    rng = random.Random(seed)
    yield NEGATIVE_ELEMENT_BUNDLE
    for _ in range(count - 1):
        roll = rng.random()
        if roll < 0.05:
            yield path_request(rng, folders)[1]
        elif roll < 0.1:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        elif roll < 0.45:
            yield message(rng)
        elif roll < 0.7:
            yield bundle(rng)
        else:
            yield mutate(rng, bundle(rng) if rng.random() < 0.5 else message(rng))


# --- running a daemon against them ---------------------------------------------------------------

FINAL_REPLIES = ("/v2m/error", "/v2m/ok", "/v2m/ready", "/v2m/render/done", "/v2m/match/done")
PROBE_SOCKETS = 256  # probes rotate over these, so no sender meets the errors' rate limit


@dataclass
class FuzzResult:
    sent: int = 0  # hostile packets
    elapsed_s: float = 0.0
    probes: int = 0  # well-formed path requests, each from a sender of its own
    unanswered: int = 0  # probes with no final reply (error, ok, ready, done)
    internal_errors: int = 0  # "internal error" replies, on any socket
    tracebacks: int = 0  # exceptions the daemon logged
    rss_start: int = 0
    rss_end: int = 0
    round_trips_s: list[float] = field(default_factory=list)
    alive: bool = True
    examples: list[str] = field(default_factory=list)  # the first internal errors, unanswered


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def make_folders(root: Path) -> tuple[str, ...]:
    """Folders the path requests name: the output folder and folders inside it (one named like
    a MIDI file), an empty library folder, the root of the run, and a library of one short
    piece (the daemon's default library in :func:`run_fuzz`, so a bare ``/v2m/match`` does
    real work in a second instead of indexing the full corpora)."""
    import mido

    out = root / "out"
    for folder in (out / "sub", out / "folder.mid", root / "empty library", root / "library"):
        folder.mkdir(parents=True, exist_ok=True)
    piece = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    piece.tracks.append(track)
    for chord in ((60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)) * 4:
        for note in chord:
            track.append(mido.Message("note_on", note=note, velocity=80, time=0))
        for index, note in enumerate(chord):
            track.append(mido.Message("note_off", note=note, time=1920 if index == 0 else 0))
    piece.save(root / "library" / "one.mid")
    return tuple(str(p) for p in (out, out / "sub", out / "folder.mid", root / "empty library",
                                  root / "library", root, str(out) + "/",
                                  str(out / "sub") + "/.."))


class _Replies(threading.Thread):
    """Reads every socket's replies: final replies per probe socket, internal errors anywhere."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        super().__init__(daemon=True)
        import selectors

        from pythonosc.osc_packet import OscPacket

        self._packet = OscPacket
        self.selector = selectors.DefaultSelector()
        for sock in sockets:
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
        self.finals: dict[int, int] = {}  # socket fileno -> final replies
        self.internal: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.05):
                while True:
                    try:
                        data = key.fileobj.recv(65536)
                    except (BlockingIOError, OSError):
                        break
                    self._count(key.fileobj.fileno(), data)

    def _count(self, fileno: int, data: bytes) -> None:
        try:
            messages = self._packet(data).messages
        except Exception:  # not ours to judge here: the daemon only sends what pythonosc reads
            return
        for timed in messages:
            address, params = timed.message.address, tuple(timed.message.params)
            if address == "/v2m/error" and len(params) > 1 and "internal error" in str(params[1]):
                with self.lock:
                    self.internal.append(f"{params[0]}: {params[1]}")
            if address in FINAL_REPLIES:
                with self.lock:
                    self.finals[fileno] = self.finals.get(fileno, 0) + 1


def _status_round_trip(pacer: socket.socket, target: tuple[str, int], timeout: float) -> float:
    from v2m_bridge.osc.wire import osc_message

    pacer.settimeout(0.0)
    while True:  # drop what an earlier round trip left
        try:
            pacer.recv(65536)
        except (BlockingIOError, OSError):
            break
    started = time.perf_counter()
    pacer.sendto(osc_message("/v2m/status").dgram, target)
    pacer.settimeout(timeout)
    while True:
        try:
            data = pacer.recv(65536)
        except TimeoutError:
            raise AssertionError("the daemon stopped answering") from None
        if data.startswith(b"/v2m/status\0"):
            return time.perf_counter() - started


def run_fuzz(hostile: Iterable[bytes], work_dir: Path, checkpoint: Path, *, seed: int = 0,
             probe_every: int = 20, pace_every: int = 250, time_limit_s: float = 600.0,
             folders: tuple[str, ...] = ()) -> FuzzResult:
    """Start ``v2m-bridge serve`` (memory MIDI, output in ``work_dir/out``), warm it up, then send
    ``hostile`` from one socket with a well-formed path request every ``probe_every`` packets
    from a probe socket (:func:`path_request`), pausing on a status round trip every
    ``pace_every`` packets (so the test measures the daemon, not a full socket buffer)."""
    from v2m_bridge.osc.wire import osc_message

    root = Path(__file__).resolve().parents[1]
    folders = folders or make_folders(work_dir)
    port = free_udp_port()
    target = ("127.0.0.1", port)
    log_path = work_dir / "daemon.log"
    env = {**os.environ, "PYTHONPATH": str(root), "V2M_CACHE_DIR": str(work_dir / "cache"),
           "V2M_LIBRARY": str(work_dir / "library")}
    result = FuzzResult()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "v2m_bridge", "serve", "--midi-backend", "memory", "--port",
             str(port), "--checkpoint", str(checkpoint), "--device", "cpu", "--output-dir",
             str(work_dir / "out")], stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    fuzzer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pacer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probes = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(PROBE_SOCKETS)]
    for sock in (fuzzer, pacer, *probes):
        sock.bind(("127.0.0.1", 0))
    replies = _Replies([fuzzer, *probes])
    replies.start()
    sent_per_probe: dict[int, int] = {}
    rng = random.Random(seed)
    try:
        line = process.stdout.readline()
        assert "ready" in line, f"serve did not start: {line!r}"
        # warm up what the fuzz reaches (lazy imports, the model's first live steps, the
        # retrieval model), so the memory measured afterwards is growth, not first use
        warm = [osc_message("/v2m/live/start", 0.1, 1.0)]
        warm += [osc_message("/v2m/live/frame", 0.1 * n, 0.5, 0.1, 0.4, 0.5, 0.6, float(n == 20))
                 for n in range(40)]
        warm += [osc_message("/v2m/live/stop")]
        for message in warm:
            fuzzer.sendto(message.dgram, target)
        # a composition to render, match and regenerate: without one, those requests stop at
        # "no video is open" and never reach their path handling
        pacer.settimeout(120.0)
        pacer.sendto(osc_message("/v2m/video/open", str(DEMO_CLIP)).dgram, target)
        while not pacer.recv(65536).startswith(b"/v2m/ready\0"):
            pass
        fuzzer.sendto(osc_message("/v2m/match", 3).dgram, target)  # loads the embedding
        for data in packets(seed + 1, 2000, folders):
            fuzzer.sendto(data, target)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and b"matching" in _status_phase(pacer, target):
            time.sleep(0.2)  # the warm-up's match is still running
        for _ in range(3):
            _status_round_trip(pacer, target, 5.0)
        with replies.lock:
            warm_internal = len(replies.internal)
            replies.finals.clear()
        result.rss_start = rss_bytes(process.pid)

        started = time.monotonic()
        for data in hostile:
            fuzzer.sendto(data, target)
            result.sent += 1
            if result.sent % probe_every == 0:
                sock = probes[result.probes % PROBE_SOCKETS]
                sock.sendto(path_request(rng, folders)[1], target)
                sent_per_probe[sock.fileno()] = sent_per_probe.get(sock.fileno(), 0) + 1
                result.probes += 1
            if result.sent % pace_every == 0:
                _status_round_trip(pacer, target, 10.0)
                assert time.monotonic() - started < time_limit_s, (
                    f"only {result.sent} packets in {time_limit_s:g} s")
        result.elapsed_s = time.monotonic() - started
        deadline = time.monotonic() + 30  # queued work (a match) ends with its final reply
        while time.monotonic() < deadline:
            with replies.lock:
                missing = sum(max(n - replies.finals.get(f, 0), 0)
                              for f, n in sent_per_probe.items())
            if not missing:
                break
            time.sleep(0.1)
        result.round_trips_s = [_status_round_trip(pacer, target, 5.0) for _ in range(7)]
        result.rss_end = rss_bytes(process.pid)
        with replies.lock:
            result.unanswered = sum(max(n - replies.finals.get(f, 0), 0)
                                    for f, n in sent_per_probe.items())
            result.internal_errors = len(replies.internal) - warm_internal
            result.examples = replies.internal[:5]
        result.alive = process.poll() is None
    finally:
        replies.stop.set()
        replies.join(timeout=2)
        for sock in (fuzzer, pacer, *probes):
            sock.close()
        process.terminate()
        process.wait(timeout=20)
    text = log_path.read_text(errors="replace")
    result.tracebacks = text.count("Traceback (most recent call last)")
    if result.tracebacks:
        index = text.index("Traceback (most recent call last)")
        result.examples.append(text[max(0, index - 300):index + 1500])
    return result


def _status_phase(pacer: socket.socket, target: tuple[str, int]) -> bytes:
    """The raw /v2m/status reply (its phase is the last string: idle, ready, busy...)."""
    from v2m_bridge.osc.wire import osc_message

    pacer.settimeout(5.0)
    pacer.sendto(osc_message("/v2m/status").dgram, target)
    while True:
        data = pacer.recv(65536)
        if data.startswith(b"/v2m/status\0"):
            return data

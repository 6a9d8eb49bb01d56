"""A seeded generator of hostile OSC packets: random bytes, messages to real addresses with random
arguments of every type tag (known and unknown), bundles (nested, with lying element sizes), and
mutations of valid packets (bit flips, truncation, size fields set to negative or huge values)."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

ADDRESSES = ("/v2m/hello", "/v2m/status", "/v2m/video/open", "/v2m/key", "/v2m/primer",
             "/v2m/emotion", "/v2m/seed", "/v2m/regenerate", "/v2m/render", "/v2m/panic",
             "/v2m/transport/play", "/v2m/transport/stop", "/v2m/transport/seek",
             "/v2m/transport/follow", "/v2m/live/start", "/v2m/live/stop", "/v2m/live/frame",
             "/v2m/live/image", "/v2m/nope", "/play", "/stop", "/pause", "/time", "/repeat",
             "/tempo/raw", "/playrate/raw", "/loop/start/time", "/loop/end/time", "/x")
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


def packets(seed: int, count: int) -> Iterator[bytes]:
    """``count`` hostile packets, the same for the same seed."""
    rng = random.Random(seed)
    yield NEGATIVE_ELEMENT_BUNDLE
    for _ in range(count - 1):
        roll = rng.random()
        if roll < 0.1:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        elif roll < 0.45:
            yield message(rng)
        elif roll < 0.7:
            yield bundle(rng)
        else:
            yield mutate(rng, bundle(rng) if rng.random() < 0.5 else message(rng))

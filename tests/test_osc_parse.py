"""The OSC packet parser and argument checks: total on any bytes, exact on valid packets, and the
types real clients send (Pd's floats for ints, liblo's symbols, T/F, text split into words)."""

from __future__ import annotations

import contextlib
import math
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from v2m_bridge.osc.arguments import ArgumentError, coerce_arguments
from v2m_bridge.osc.parse import (
    MAX_DEPTH,
    OscParseError,
    UnsupportedType,
    parse_packet,
)

NEGATIVE_ELEMENT_BUNDLE = bytes.fromhex("2362756e646c65000000000000000001fffffffc")  # issue 15 #1


def osc_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


def message(address: str, tags: str, payload: bytes = b"") -> bytes:
    return osc_string(address) + osc_string("," + tags) + payload


def bundle(*elements: bytes) -> bytes:
    return b"#bundle\0" + struct.pack(">Q", 1) + b"".join(
        struct.pack(">i", len(e)) + e for e in elements)


def test_the_twenty_byte_bundle_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(OscParseError, match="not a positive multiple of 4"):
        parse_packet(NEGATIVE_ELEMENT_BUNDLE)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize("data", [
    b"", b"/a", b"/a\0", b"abc\0", b"/a\0\0,\0",
    bundle(message("/a", "")) + b"\0\0\0\0",  # an element of size 0
    bundle(message("/a", ""))[:-4],  # truncated element
    b"#bundle\0\0\0\0\0",  # short header
    message("/a", "i", b"\0\0"),  # truncated int
    message("/a", "s", b"abcd"),  # unterminated string
    message("/a", "b", struct.pack(">i", -4)),  # negative blob size
    message("/a", "b", struct.pack(">i", 400) + b"\0" * 4),  # blob past the end
    message("/a", "", b"\0\0\0\0"),  # bytes after the arguments
    message("/a", "s", b"\xff\xfe\0\0"),  # not UTF-8
    osc_string("/a") + osc_string("i") + b"\0\0\0\1",  # tags without a comma
])
def test_malformed_packets_raise_the_parse_error(data):
    with pytest.raises(OscParseError):
        parse_packet(data)


def test_nesting_is_bounded():
    inner = message("/a", "")
    for _ in range(MAX_DEPTH):
        inner = bundle(inner)
    assert parse_packet(inner).messages[0].address == "/a"
    with pytest.raises(OscParseError, match="nested deeper"):
        parse_packet(bundle(inner))


@pytest.mark.parametrize(("tags", "payload", "bad"), [
    ("r", b"\0\0\0\1", "'r'"),   # python-osc read an RGBA colour as an int
    ("ci", b"\0\0\0a\0\0\0\1", "'c'"),
    ("Q", b"", "'Q'"),           # no standard defines it; python-osc dropped it
    ("I", b"", "'I'"),
    ("[f]", b"\0\0\0\0", "'['"),
])
def test_unknown_type_tags_are_refused_with_the_address(tags, payload, bad):
    packet = parse_packet(message("/v2m/seed", tags, payload))
    assert packet.messages == ()
    (refused,) = packet.refused
    assert isinstance(refused, UnsupportedType)
    assert refused.address == "/v2m/seed" and bad in str(refused)


def test_a_refused_message_does_not_sink_its_bundle():
    packet = parse_packet(bundle(message("/v2m/seed", "r", b"\0\0\0\1"),
                                 message("/time", "f", struct.pack(">f", 2.5))))
    assert [(m.address, m.args) for m in packet.messages] == [("/time", (2.5,))]
    assert [r.address for r in packet.refused] == ["/v2m/seed"]


def test_every_supported_type_decodes():
    payload = (struct.pack(">i", -7) + struct.pack(">q", 2**40) + struct.pack(">f", 0.5)
               + struct.pack(">d", 1e300) + osc_string("héllo") + osc_string("sym")
               + struct.pack(">i", 3) + b"abc\0")
    parsed = parse_packet(message("/x", "ihfdsSbTFN", payload)).messages[0]
    assert parsed.args == (-7, 2**40, 0.5, 1e300, "héllo", "sym", b"abc", True, False, None)
    assert parsed.tags == "ihfdsSbTFN"
    assert parse_packet(osc_string("/no/tags")).messages[0].args == ()


# --- property tests -------------------------------------------------------------------------------

ARGUMENT = st.one_of(
    st.integers(-2**31, 2**31 - 1),
    st.floats(width=32, allow_nan=False),
    st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
            max_size=20),
    st.binary(min_size=1, max_size=12),
    st.booleans(),
)
ADDRESS = st.from_regex(r"/[a-z0-9/]{0,20}", fullmatch=True)


def built(address: str, args: list) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


@st.composite
def packets(draw, depth=0):
    """A valid message or bundle, as python-osc builds them, with what it holds."""
    if depth < 2 and draw(st.booleans()):
        contents = draw(st.lists(packets(depth + 1), min_size=1, max_size=4))
        builder = OscBundleBuilder(IMMEDIATELY)
        expected = []
        for data, inner in contents:
            builder.add_content(OscBundle(data) if data.startswith(b"#bundle")
                                else OscMessage(data))
            expected += inner
        return builder.build().dgram, expected
    address = draw(ADDRESS)
    args = draw(st.lists(ARGUMENT, max_size=6))
    return built(address, args), [(address, tuple(args))]


def comparable(args):
    return tuple(("nan",) if isinstance(a, float) and math.isnan(a) else a for a in args)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(packets())
def test_valid_packets_parse_exactly(packet):
    data, expected = packet
    parsed = parse_packet(data)
    assert parsed.refused == ()
    assert [(m.address, comparable(m.args)) for m in parsed.messages] == [
        (a, comparable(args)) for a, args in expected]


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=256))
def test_random_bytes_parse_or_raise_the_parse_error(data):
    with contextlib.suppress(OscParseError):
        parse_packet(data)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(packets(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1,
                           max_size=4), st.integers(0, 10_000))
def test_mutated_packets_parse_or_raise_the_parse_error(packet, flips, cut):
    data = bytearray(packet[0])
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[:max(cut, len(data) // 2)])
    started = time.perf_counter()
    with contextlib.suppress(OscParseError):
        parse_packet(data)
    assert time.perf_counter() - started < 0.5  # linear work; generous for a loaded CI


# --- argument checks (issue 14: what Pd, Max and liblo send) -------------------------------------

@pytest.mark.parametrize(("signatures", "args", "expected"), [
    (("i",), (7.0,), (7,)),            # Pd's [oscformat]: every number is a float
    (("i",), (7,), (7,)),
    (("i",), (1.0,), (1,)),            # /v2m/transport/follow f 1.0
    (("i",), (True,), (1,)),           # T
    (("i",), (False,), (0,)),          # F
    (("si",), ("max", 9001.0), ("max", 9001)),  # /v2m/hello s f
    (("f",), (3,), (3.0,)),            # Max sends whole numbers as ints
    (("s",), ("D", "minor"), ("D minor",)),     # Pd: D minor as two strings
    (("s", "sf"), ("/v/my", "film.mov", 2.0), ("/v/my film.mov", 2.0)),
    (("si",), ("my", "patch", 9001.0), ("my patch", 9001)),
    (("s",), ("liblo symbol",), ("liblo symbol",)),
])
def test_numbers_as_floats_flags_and_split_text_are_accepted(signatures, args, expected):
    result = coerce_arguments(signatures, "/x", args)
    assert result == expected
    assert [type(v) for v in result] == [type(v) for v in expected]


@pytest.mark.parametrize(("signatures", "args", "expected"), [
    (("i",), (7.5,), "expects (int), got (float)"),
    (("ss",), ("a", "b", "c"), "expects (string string), got (string string string)"),
    (("i",), (math.inf,), "expects (int)"),
    (("i",), (1e300,), "expects (int)"),
    (("f",), (1e300,), "within float32"),
    (("f",), (math.nan,), "must be finite"),
    (("f",), (True,), "expects (float), got (bool)"),
    (("s",), (b"ab",), "got (blob)"),
    (("s",), (None,), "got (nil)"),
    (("s",), (), "got (no arguments)"),
])
def test_wrong_types_are_named(signatures, args, expected):
    with pytest.raises(ArgumentError, match=r".*" + expected.replace("(", r"\(").replace(
            ")", r"\)")):
        coerce_arguments(signatures, "/x", args)

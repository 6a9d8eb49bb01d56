"""A total, bounded OSC 1.0 packet parser: untrusted bytes in, messages or a clear error out.

Written for the daemon's socket instead of python-osc's raw-bytes path (whose bundle parser loops
forever on a negative element size). Why it always terminates, and quickly:

* every step reads at an offset that only grows, and each read checks it against the end of the
  packet first (no read can go past it, no size can move the offset backwards or stand still);
* a bundle element's size must be a positive multiple of 4 that fits in what is left;
* bundles nest at most :data:`MAX_DEPTH` deep and a packet yields at most :data:`MAX_MESSAGES`
  messages; the work is linear in the packet's length (which the server caps).

Argument types decoded: ``i`` (int32) and ``h`` (int64) as :class:`int`, ``f`` (float32) and ``d``
(float64) as :class:`float`, ``s`` and ``S`` (liblo's symbol) as :class:`str`, ``b`` (blob) as
:class:`bytes`, ``T``/``F`` as :class:`bool`, ``N`` (nil) as ``None``. Any other type tag (``c``,
``r``, ``m``, ``t``, ``I``, arrays, or one no standard defines) is refused with
:class:`UnsupportedType`, which names the message's address, so the sender can be told which
request it was.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from v2m_bridge.errors import V2MError

BUNDLE_TAG = b"#bundle\0"
MAX_DEPTH = 4  # a bundle inside a bundle inside a bundle inside a bundle; Reaper sends depth 1
MAX_MESSAGES = 1024
SUPPORTED_TYPES = "ihfdsSbTFN"
TYPE_NAMES = {int: "int", float: "float", str: "string", bytes: "blob", bool: "bool",
              type(None): "nil"}

_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")
_FLOAT32 = struct.Struct(">f")
_FLOAT64 = struct.Struct(">d")


class OscParseError(V2MError, ValueError):
    """Bytes that are not a valid OSC packet (``address`` is None: no message could be named)."""

    address: str | None = None


class UnsupportedType(OscParseError):
    """A well-formed message with a type tag the daemon does not accept."""

    def __init__(self, address: str, message: str) -> None:
        super().__init__(message)
        self.address = address


@dataclass(frozen=True)
class ParsedMessage:
    address: str
    args: tuple
    tags: str  # the type tags as sent, without the leading comma


@dataclass(frozen=True)
class ParsedPacket:
    """The messages of one packet, in order, and those refused for their types (each with its
    address); a bundle's good messages still count when one of its messages is refused."""

    messages: tuple[ParsedMessage, ...]
    refused: tuple[UnsupportedType, ...] = ()


def type_name(value: object) -> str:
    """How error messages name a decoded argument's type."""
    return TYPE_NAMES.get(type(value), type(value).__name__)


class _Reader:
    """Reads forward through ``data[start:end]``; every read checks the bound first."""

    __slots__ = ("data", "end", "offset")

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.offset, self.end = data, start, end

    @property
    def left(self) -> int:
        return self.end - self.offset

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or count > self.left:
            raise OscParseError(f"{what} runs past the end of the packet (needs {count} bytes, "
                                f"{self.left} left)")
        chunk = self.data[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def string(self, what: str) -> str:
        """An OSC-string: bytes up to a NUL, padded with NULs to a multiple of 4."""
        stop = self.data.find(b"\0", self.offset, self.end)
        if stop < 0:
            raise OscParseError(f"{what} is not NUL-terminated")
        raw = self.data[self.offset:stop]
        padded = (stop - self.offset) // 4 * 4 + 4
        self.take(padded, what)  # within bounds: the NUL sits inside, the padding is checked
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise OscParseError(f"{what} is not UTF-8 ({err.reason} at byte {err.start})"
                                ) from None

    def blob(self) -> bytes:
        size = _INT32.unpack(self.take(4, "blob size"))[0]
        if size < 0:
            raise OscParseError(f"blob size {size} is negative")
        data = self.take(size, "blob")
        self.take(-size % 4, "blob padding")
        return data


def parse_packet(data: bytes, *, max_depth: int = MAX_DEPTH,
                 max_messages: int = MAX_MESSAGES) -> ParsedPacket:
    """Every message of a bare message or a ``#bundle`` (timetags are ignored).

    Raises :class:`OscParseError` when the bytes are not an OSC packet (nothing is dispatched
    then), and never anything else.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise OscParseError(f"an OSC packet is bytes, got {type(data).__name__}")
    data = bytes(data)
    messages: list[ParsedMessage] = []
    refused: list[UnsupportedType] = []
    # explicit stack of (start, end, depth): no recursion, each element is visited once
    pending = [(0, len(data), 0)]
    while pending:
        start, end, depth = pending.pop()
        if end - start < 4 or (end - start) % 4:
            raise OscParseError(f"an OSC packet or bundle element is a multiple of 4 bytes and "
                                f"at least 4, got {end - start}")
        if data.startswith(BUNDLE_TAG, start, end):
            if depth >= max_depth:
                raise OscParseError(f"bundles nested deeper than {max_depth}")
            pending.extend(reversed(_bundle_elements(data, start, end, depth + 1)))
            continue
        if len(messages) + len(refused) >= max_messages:
            raise OscParseError(f"more than {max_messages} messages in one packet")
        try:
            messages.append(_message(data, start, end))
        except UnsupportedType as err:
            refused.append(err)
    return ParsedPacket(tuple(messages), tuple(refused))


def _bundle_elements(data: bytes, start: int, end: int, depth: int) -> list[tuple[int, int, int]]:
    reader = _Reader(data, start, end)
    reader.take(len(BUNDLE_TAG) + 8, "bundle header")  # "#bundle\0" and the timetag
    elements = []
    while reader.left:
        size = _INT32.unpack(reader.take(4, "bundle element size"))[0]
        if size <= 0 or size % 4:
            raise OscParseError(f"bundle element size {size} is not a positive multiple of 4")
        if size > reader.left:
            raise OscParseError(f"bundle element of {size} bytes, only {reader.left} left")
        elements.append((reader.offset, reader.offset + size, depth))
        reader.offset += size  # > 0: the loop advances every time
    return elements


def _message(data: bytes, start: int, end: int) -> ParsedMessage:
    reader = _Reader(data, start, end)
    address = reader.string("the address")
    if not address.startswith("/"):
        raise OscParseError(f"an OSC address starts with '/', got {address[:40]!r}")
    if not reader.left:  # OSC 1.0 allows a message without a type tag string: no arguments
        return ParsedMessage(address, (), "")
    tags = reader.string(f"the type tags of {address}")
    if not tags.startswith(","):
        raise OscParseError(f"the type tags of {address} start with ',', got {tags[:20]!r}")
    tags = tags[1:]
    unknown = sorted({tag for tag in tags if tag not in SUPPORTED_TYPES})
    if unknown:
        listed = ", ".join(repr(tag) for tag in unknown)
        raise UnsupportedType(address, f"unsupported OSC type tag {listed} in ',{tags}'; "
                              f"arguments may be int (i, h), float (f, d), string (s, S), "
                              f"blob (b), T, F or N")
    args: list[object] = []
    for tag in tags:  # one step per tag: the tag string is part of the (bounded) packet
        if tag == "i":
            args.append(_INT32.unpack(reader.take(4, f"an int of {address}"))[0])
        elif tag == "f":
            args.append(_FLOAT32.unpack(reader.take(4, f"a float of {address}"))[0])
        elif tag in "sS":
            args.append(reader.string(f"a string of {address}"))
        elif tag == "d":
            args.append(_FLOAT64.unpack(reader.take(8, f"a double of {address}"))[0])
        elif tag == "h":
            args.append(_INT64.unpack(reader.take(8, f"an int64 of {address}"))[0])
        elif tag == "b":
            args.append(reader.blob())
        else:
            args.append({"T": True, "F": False, "N": None}[tag])
    if reader.left:
        raise OscParseError(f"{reader.left} bytes after the arguments of {address}")
    return ParsedMessage(address, tuple(args), tags)

"""The OSCQuery description of the daemon's address space, made from :mod:`.protocol`.

OSCQuery (Vidvox's OSCQueryProposal) lets hosts such as TouchDesigner, Chataigne or VDMX list a
server's addresses: an HTTP ``GET /`` answers a JSON tree of nodes, each with ``FULL_PATH`` and
either ``CONTENTS`` (a container) or the method's ``TYPE`` (OSC type tags), ``ACCESS`` (0 no
value, 1 read, 2 write, 3 both), ``DESCRIPTION``, ``RANGE`` (one ``{"MIN", "MAX"}`` or
``{"VALS"}`` object per argument) and ``VALUE`` (the current value, one item per argument).
``GET /path?ATTRIBUTE`` answers ``{"ATTRIBUTE": value}`` for one node and ``GET /?HOST_INFO``
the server's name, OSC endpoint and supported extensions.

``TYPE`` lists every argument a request takes, optional ones included (the description says
which may be left out); a request without arguments has no ``TYPE`` and ``ACCESS`` 0, as the
specification has it for methods without a value. This module is pure: the HTTP server and the
mDNS advertisement are :mod:`v2m_bridge.daemon.discovery`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from v2m_bridge.config import MAX_PLAY_RATE, MAX_POSITION_S
from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.osc.protocol import MESSAGES, Message

NO_VALUE, READ, WRITE, READ_WRITE = 0, 1, 2, 3
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "VALUE", "RANGE", "DESCRIPTION")
EXTENSIONS = {"ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True,
              "TAGS": False, "CLIPMODE": False, "UNIT": False, "CRITICAL": False,
              "EXTENDED_TYPE": False, "LISTEN": False, "PATH_CHANGED": False}

# What the daemon accepts for some arguments, by (address, argument name). Only limits the
# handlers enforce are listed (tests/test_oscquery.py checks every key names a real argument).
ARGUMENT_RANGES: dict[tuple[str, str], dict] = {
    ("/v2m/hello", "reply_port"): {"MIN": 1, "MAX": 65535},
    ("/v2m/seed", "seed"): {"MIN": 0, "MAX": 2**31 - 1},
    ("/v2m/rhythm", "harmonic_rhythm"): {"VALS": ["beat", "half", "bar", "2bars"]},
    ("/v2m/render", "overwrite"): {"VALS": [0, 1]},
    ("/v2m/match", "top"): {"MIN": 1, "MAX": 20},
    ("/v2m/transport/play", "pos"): {"MIN": -MAX_POSITION_S, "MAX": MAX_POSITION_S},
    ("/v2m/transport/play", "rate"): {"MIN": 0.0, "MAX": MAX_PLAY_RATE},
    ("/v2m/transport/seek", "pos"): {"MIN": -MAX_POSITION_S, "MAX": MAX_POSITION_S},
    ("/v2m/transport/follow", "on"): {"VALS": [0, 1]},
    ("/v2m/live/start", "latency_s"): {"MIN": 0.0, "MAX": 10.0},
    ("/v2m/live/start", "timeout_s"): {"MIN": 0.05, "MAX": 60.0},
    ("/v2m/video/open", "timeline_offset"): {"MIN": -MAX_POSITION_S, "MAX": MAX_POSITION_S},
    ("/tempo/raw", "bpm"): {"MIN": 1.0, "MAX": 960.0},
    ("/playrate/raw", "rate"): {"MIN": 0.0, "MAX": MAX_PLAY_RATE},
}
# Settings whose current value the daemon can tell (the discovery module supplies the values).
VALUE_ADDRESSES = frozenset({"/v2m/key", "/v2m/primer", "/v2m/emotion", "/v2m/tempo",
                             "/v2m/rhythm", "/v2m/seed", "/v2m/transport/follow"})
EMOTION_HINT = f"one of {', '.join(EMOTION_LABELS)}, or a curve"


def type_tags(message: Message) -> str:
    """Every argument's OSC type tag, optional ones included."""
    return "".join(arg.kind for arg in message.args)


def describe(message: Message) -> str:
    """The protocol's help and usage, and what completes the request."""
    text = f"{message.help}. Usage: {message.usage}" if message.help else message.usage
    if message.reply is not None and message.reply_text:
        text += f". Reply: {message.reply_text.replace('`', '')}"
    if message.address == "/v2m/emotion":
        text += f" ({EMOTION_HINT})"
    return text


def method_node(message: Message, value: Sequence | None = None) -> dict:
    """One method's node."""
    node: dict = {"FULL_PATH": message.address, "DESCRIPTION": describe(message)}
    tags = type_tags(message)
    if not tags:
        node["ACCESS"] = NO_VALUE
        return node
    node["TYPE"] = tags
    node["ACCESS"] = READ_WRITE if message.address in VALUE_ADDRESSES else WRITE
    ranges = [ARGUMENT_RANGES.get((message.address, arg.name), {}) for arg in message.args]
    if any(ranges):
        node["RANGE"] = ranges
    if value is not None and node["ACCESS"] == READ_WRITE:
        node["VALUE"] = list(value)
    return node


def address_tree(values: Mapping[str, Sequence] | None = None,
                 messages: Mapping[str, Message] = MESSAGES) -> dict:
    """The root node: every address of the protocol under its containers."""
    values = values or {}
    root: dict = {"FULL_PATH": "/", "DESCRIPTION": "v2m-bridge", "CONTENTS": {}}
    for address, message in messages.items():
        parts = address.strip("/").split("/")
        node = root
        for depth, part in enumerate(parts[:-1]):
            node = node["CONTENTS"].setdefault(part, {
                "FULL_PATH": "/" + "/".join(parts[:depth + 1]), "CONTENTS": {}})
        node["CONTENTS"][parts[-1]] = method_node(message, values.get(address))
    return root


def host_info(name: str, osc_ip: str, osc_port: int) -> dict:
    return {"NAME": name, "EXTENSIONS": EXTENSIONS, "OSC_IP": osc_ip, "OSC_PORT": osc_port,
            "OSC_TRANSPORT": "UDP"}


@dataclass(frozen=True)
class Answer:
    status: int  # HTTP status
    body: str  # JSON (200) or a plain-text reason


def find_node(tree: dict, path: str) -> dict | None:
    node = tree
    for part in [p for p in path.split("/") if p]:
        contents = node.get("CONTENTS")
        if contents is None or part not in contents:
            return None
        node = contents[part]
    return node


def answer(target: str, tree: dict, info: dict) -> Answer:
    """What ``GET target`` gets: the node at the path (all of it, or one ``?ATTRIBUTE``),
    ``?HOST_INFO``, 404 for an unknown path, 400 for an unknown attribute, 204 for an
    attribute the node does not have."""
    parts = urlsplit(target)
    query = unquote(parts.query)
    if query and (query not in (*ATTRIBUTES, "HOST_INFO") or "&" in query or "=" in query):
        return Answer(400, f"unknown attribute {query!r}; known: HOST_INFO, "
                      + ", ".join(ATTRIBUTES))
    if query == "HOST_INFO":
        return Answer(200, json.dumps(info))
    node = find_node(tree, unquote(parts.path) or "/")
    if node is None:
        return Answer(404, f"no OSC address or container at {parts.path}")
    if not query:
        return Answer(200, json.dumps(node))
    if query not in node:
        return Answer(204, "")
    return Answer(200, json.dumps({query: node[query]}))

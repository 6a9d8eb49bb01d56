"""The Max patch (``max_patch/v2m_bridge.maxpat``): a .maxpat file Max can open, whose patch cords
join real inlets and outlets, and whose every OSC message is accepted by the daemon.

No Max here, so the object facts come from the table below (Max 8/9 reference pages and patches
saved by Max 8/9; confidence per row). Messages are derived from the patch itself: everything that
reaches ``[udpsend]`` is traced back to the message boxes and ``[prepend /address]`` objects that
build it, ``$1`` and packed lists are filled with sample values of the right type, and each message
goes through the OSC wire format and the daemon's own routes and argument check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from live_helpers import OscClient
from pythonosc.osc_packet import OscPacket

from v2m_bridge.daemon.app import Daemon, DaemonConfig
from v2m_bridge.daemon.midi_out import MemorySink
from v2m_bridge.daemon.server import check_arguments
from v2m_bridge.osc.wire import osc_message

PATCH_FILE = Path(__file__).resolve().parents[1] / "max_patch" / "v2m_bridge.maxpat"

Counts = tuple[int, int, list[str]]  # inlets, outlets, outlet types

# --- what Max's objects look like -----------------------------------------------------------------
# class: (inlets, outlets, outlettype) as Max 8/9 saves them; confidence in the comments.
TRIGGER_TYPES = {"b": "bang", "f": "float", "i": "int", "l": "", "a": "", "s": ""}
UNPACK_TYPES = {"f": "float", "i": "int", "s": ""}


def _fixed(inlets: int, outlets: int, types: list[str]) -> Callable[[list[str]], Counts]:
    return lambda args: (inlets, outlets, types)


def _route_like(first_types: str) -> Callable[[list[str]], Counts]:
    """route/select: one outlet per argument plus a reject outlet, and (since Max 7) one inlet
    per argument to change it, after the left inlet."""
    return lambda args: (len(args) + 1, len(args) + 1, [first_types] * len(args) + [""])


def _expr(args: list[str]) -> Counts:
    indices = [int(n) for n in re.findall(r"\$[ifsx](\d+)", " ".join(args))]
    return max(indices, default=1), 1, [""]


def _arithmetic(args: list[str]) -> Counts:
    is_float = bool(args) and "." in args[0]
    return 2, 1, ["float" if is_float else "int"]


def _gate(args: list[str]) -> Counts:
    outlets = int(args[0]) if args else 1
    return 2, outlets, [""] * outlets


NEWOBJ_COUNTS: dict[str, Callable[[list[str]], Counts]] = {
    "udpsend": _fixed(1, 0, []),  # high: reference + many saved patches
    "udpreceive": _fixed(1, 1, [""]),  # high
    "route": _route_like(""),  # high for Max 8/9 (Max 5/6 saved 1 inlet)
    "sel": _route_like("bang"),  # high for Max 8/9 (same history as route)
    "prepend": _fixed(1, 1, [""]),  # high (not 2 inlets)
    "pack": lambda args: (len(args), 1, [""]),  # high
    "unpack": lambda args: (1, len(args), [UNPACK_TYPES[a] for a in args]),  # high
    "t": lambda args: (1, len(args), [TRIGGER_TYPES[a] for a in args]),  # high
    "gate": _gate,  # high: left inlet opens, right inlet is the data
    "loadbang": _fixed(1, 1, ["bang"]),  # high
    "qmetro": _fixed(2, 1, ["bang"]),  # high
    "s": _fixed(1, 0, []),  # high
    "r": _fixed(0, 1, [""]),  # high
    "print": _fixed(1, 0, []),  # high
    "zl": _fixed(2, 2, ["", ""]),  # high (zl reg)
    "expr": _expr,  # high: one inlet per $ argument
    "f": _fixed(2, 1, ["float"]),  # high
    "/": _arithmetic,  # high
    "*": _arithmetic,  # high
    ">=": _fixed(2, 1, ["int"]),  # high
    "==": _fixed(2, 1, ["int"]),  # high
    "opendialog": _fixed(1, 2, ["", "bang"]),  # high (1 inlet, not 2)
    "conformpath": _fixed(1, 2, ["", "int"]),  # high
    "notein": _fixed(1, 3, ["int", "int", "int"]),  # high
    "jit.movie": _fixed(1, 2, ["jit_matrix", ""]),  # high
    "jit.matrix": _fixed(1, 2, ["jit_matrix", ""]),  # high
    "jit.rgb2luma": _fixed(1, 2, ["jit_matrix", ""]),  # high
    "jit.op": _fixed(2, 2, ["jit_matrix", ""]),  # high
    "jit.3m": _fixed(1, 4, ["", "", "", ""]),  # high: min, mean, max, dump
}
UI_COUNTS: dict[str, Counts] = {
    "message": (2, 1, [""]),
    "comment": (1, 0, []),
    "toggle": (1, 1, ["int"]),
    "button": (1, 1, ["bang"]),
    "number": (1, 2, ["", "bang"]),
    "flonum": (1, 2, ["", "bang"]),
    "jit.pwindow": (1, 2, ["", ""]),  # medium: older patches save ["jit_matrix", ""]
}
TEXT_CLASSES = ("newobj", "message", "comment")

# sample values for what flows into $1 or a prepend; float samples are exact in float32
SAMPLE_FLOAT = 0.25
SAMPLE_INT = 1
SAMPLE_NATIVE_PATH = "/Users/me/Movies/scene 12.mov"
SAMPLE_MAX_PATH = "Macintosh HD:/Users/me/Movies/scene 12.mov"
# addresses a running daemon answers without a video or a live session
STATELESS = {"/v2m/hello", "/v2m/status", "/v2m/key", "/v2m/seed", "/v2m/emotion", "/v2m/primer",
             "/v2m/panic"}


# --- reading the patch --------------------------------------------------------------------------
@cache
def patcher() -> dict:
    return json.loads(PATCH_FILE.read_text(encoding="utf-8"))["patcher"]


@cache
def boxes() -> dict[str, dict]:
    return {entry["box"]["id"]: entry["box"] for entry in patcher()["boxes"]}


def cords() -> list[tuple[str, int, str, int]]:
    return [(*line["patchline"]["source"], *line["patchline"]["destination"])
            for line in patcher()["lines"]]


def class_and_args(box: dict) -> tuple[str, list[str]]:
    """``[jit.matrix 4 char 64 36 @interp 1]`` -> ("jit.matrix", ["4", "char", "64", "36"])."""
    if box["maxclass"] != "newobj":
        return box["maxclass"], []
    words = box["text"].split()
    args = []
    for word in words[1:]:
        if word.startswith("@"):
            break
        args.append(word)
    return words[0], args


def newobjs(name: str) -> list[dict]:
    return [b for b in boxes().values() if b["maxclass"] == "newobj"
            and class_and_args(b)[0] == name]


def feeders(box_id: str, inlet: int) -> list[tuple[dict, int]]:
    return [(boxes()[src], outlet) for src, outlet, dst, dst_inlet in cords()
            if dst == box_id and dst_inlet == inlet]


def is_bang(box: dict, outlet: int) -> bool:
    return box["outlettype"][outlet] == "bang"


# --- Max message boxes as atoms -----------------------------------------------------------------
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(,)|([^\s,"]+)')  # quoted symbol | comma | word
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|-?\d+[eE][-+]?\d+")


def atom(word: str) -> object:
    """A typed Max atom: 1 is an int, 1. a float, anything else a symbol."""
    if _INT.fullmatch(word):
        return int(word)
    if _FLOAT.fullmatch(word):
        return float(word)
    return word


def message_box_messages(text: str) -> list[list[object]]:
    """The messages a message box sends (commas separate them); quoted text is one symbol."""
    messages: list[list[object]] = [[]]
    for match in _TOKEN.finditer(text):
        quoted, comma, word = match.groups()
        if comma:
            messages.append([])
        elif quoted is not None:
            messages[-1].append(quoted)
        else:
            messages[-1].append(word if word.startswith("$") else atom(word))
    return [m for m in messages if m]


def substitute(message: list[object], values: list[object]) -> list[object]:
    out = []
    for item in message:
        if isinstance(item, str) and re.fullmatch(r"\$\d+", item):
            index = int(item[1:]) - 1
            assert index < len(values), f"{message} needs ${index + 1}, the input has {values}"
            out.append(values[index])
        else:
            out.append(item)
    return out


def has_dollar(message: list[object]) -> bool:
    return any(isinstance(i, str) and re.fullmatch(r"\$\d+", i) for i in message)


# --- what flows along the cords -----------------------------------------------------------------
def input_shapes(box_id: str, inlet: int, seen: frozenset = frozenset()) -> list[list[object]]:
    """Sample argument lists that can arrive at an inlet (bangs are triggers, not content)."""
    shapes = []
    for source, outlet in feeders(box_id, inlet):
        if not is_bang(source, outlet):
            shapes += output_shapes(source, outlet, seen)
    return shapes


def output_shapes(box: dict, outlet: int, seen: frozenset = frozenset()) -> list[list[object]]:
    if box["id"] in seen:
        raise AssertionError(f"loop through {box.get('text', box['maxclass'])} while tracing")
    seen = seen | {box["id"]}
    name, args = class_and_args(box)

    if name == "message":
        return expand_message_box(box, seen)
    if name == "pack":
        return [[{"f": SAMPLE_FLOAT, "i": SAMPLE_INT, "s": "symbol"}.get(a, atom(a))
                 for a in args]]
    if name in ("t", "unpack") and args[outlet] in ("f", "i"):
        return [[SAMPLE_FLOAT if args[outlet] == "f" else SAMPLE_INT]]
    if name == "t" and args[outlet] in ("l", "a", "s"):
        return input_shapes(box["id"], 0, seen)
    if name == "conformpath" and outlet == 0:
        return [[SAMPLE_NATIVE_PATH]]
    if name == "opendialog" and outlet == 0:
        return [[SAMPLE_MAX_PATH]]
    if name == "zl" and args == ["reg"]:
        return input_shapes(box["id"], 0, seen) + input_shapes(box["id"], 1, seen)
    if name == "gate":
        return input_shapes(box["id"], 1, seen)
    if name == "r":
        return [s for sender in newobjs("s") if class_and_args(sender)[1] == args
                for s in input_shapes(sender["id"], 0, seen)]
    if name == "prepend":
        return [[*map(atom, args), *shape] for shape in input_shapes(box["id"], 0, seen)]
    if name in ("f", "flonum") or (name in ("/", "*") and "." in args[0]):
        return [[SAMPLE_FLOAT]]
    if name in (">=", "==", "number"):
        return [[SAMPLE_INT]]
    if name == "toggle":
        return [[0], [1]]
    raise AssertionError(f"the test does not know what [{box.get('text', name)}] outlet "
                         f"{outlet} sends; add it to output_shapes")


def expand_message_box(box: dict, seen: frozenset = frozenset()) -> list[list[object]]:
    messages = message_box_messages(box["text"])
    if not any(has_dollar(m) for m in messages):
        return messages
    inputs = input_shapes(box["id"], 0, seen)
    assert inputs, f"message box [{box['text']}] uses $ arguments but nothing feeds it values"
    return [substitute(m, values) for values in inputs for m in messages]


def sources_of(box_id: str, inlet: int) -> list[dict]:
    """The boxes that build what arrives at an inlet, through send/receive, gates and zl reg."""
    found: list[dict] = []
    for source, outlet in feeders(box_id, inlet):
        name, args = class_and_args(source)
        if name == "message" or (name == "prepend" and args and args[0].startswith("/")):
            found.append(source)
        elif name == "r":
            for sender in newobjs("s"):
                if class_and_args(sender)[1] == args:
                    found += sources_of(sender["id"], 0)
        elif name == "gate":
            found += sources_of(source["id"], 1)
        elif name == "zl" and args == ["reg"]:
            found += sources_of(source["id"], 0) + sources_of(source["id"], 1)
        elif name == "button" or is_bang(source, outlet):
            continue
        else:
            raise AssertionError(f"[{source.get('text', name)}] feeds the OSC output; teach "
                                 "sources_of what it sends")
    return found


@cache
def sent_messages() -> list[tuple[str, tuple]]:
    """Every (address, args) the patch can send to the daemon, as Max's udpsend types them."""
    (udpsend,) = newobjs("udpsend")
    messages = []
    for source in sources_of(udpsend["id"], 0):
        if source["maxclass"] == "message":
            built = expand_message_box(source)
        else:
            built = output_shapes(source, 0)
        for message in built:
            address, *args = message
            assert isinstance(address, str) and address.startswith("/"), \
                f"{message} does not start with an OSC address"
            messages.append((address, tuple(args)))
    return sorted(set(messages), key=repr)


def over_the_wire(address: str, args: tuple) -> tuple[str, tuple]:
    """What python-osc in the daemon receives (floats become float32)."""
    (received,) = OscPacket(osc_message(address, *args).dgram).messages
    return received.message.address, tuple(received.message.params)


@pytest.fixture(scope="module")
def daemon_routes():
    daemon = Daemon(DaemonConfig(port=0), backend=None, sink=MemorySink())
    yield daemon.server.routes
    daemon.close()


# --- the file -----------------------------------------------------------------------------------
def test_patch_has_the_fields_max_reads():
    root = json.loads(PATCH_FILE.read_text(encoding="utf-8"))
    assert set(root) == {"patcher"}
    patch = root["patcher"]
    assert patch["fileversion"] == 1
    assert patch["classnamespace"] == "box"
    assert {"major", "minor", "revision", "architecture", "modernui"} <= set(patch["appversion"])
    assert patch["appversion"]["major"] >= 8
    assert len(patch["rect"]) == 4 and all(isinstance(v, (int, float)) for v in patch["rect"])
    ids = [entry["box"]["id"] for entry in patch["boxes"]]
    assert len(ids) == len(set(ids)), "box ids must be unique"
    for entry in patch["boxes"]:
        box = entry["box"]
        for field in ("id", "maxclass", "numinlets", "numoutlets", "patching_rect"):
            assert field in box, f"{box.get('id')} has no {field}"
        assert len(box["patching_rect"]) == 4
        if box["maxclass"] in TEXT_CLASSES:
            assert isinstance(box.get("text"), str), f"{box['id']} needs its text"
        if box["numoutlets"]:
            assert len(box["outlettype"]) == box["numoutlets"], box
        else:
            assert not box.get("outlettype"), box


def test_every_object_has_max_s_inlets_and_outlets():
    wrong = []
    for box in boxes().values():
        name, args = class_and_args(box)
        if box["maxclass"] == "newobj":
            assert name in NEWOBJ_COUNTS, f"[{box['text']}]: add {name} to NEWOBJ_COUNTS"
            expected = NEWOBJ_COUNTS[name](args)
        else:
            assert name in UI_COUNTS, f"{box['id']}: add the {name} UI object to UI_COUNTS"
            expected = UI_COUNTS[name]
        actual = (box["numinlets"], box["numoutlets"], box.get("outlettype", []))
        if actual != expected:
            wrong.append(f"{box.get('text', name)}: {actual} != {expected}")
    assert not wrong, "\n".join(wrong)


def test_every_cord_joins_an_outlet_to_an_inlet():
    seen = set()
    for source, outlet, destination, inlet in cords():
        assert source in boxes(), f"cord from missing box {source}"
        assert destination in boxes(), f"cord to missing box {destination}"
        src, dst = boxes()[source], boxes()[destination]
        assert 0 <= outlet < src["numoutlets"], f"{src.get('text')} has no outlet {outlet}"
        assert 0 <= inlet < dst["numinlets"], f"{dst.get('text')} has no inlet {inlet}"
        assert (source, outlet, destination, inlet) not in seen, "duplicate cord"
        seen.add((source, outlet, destination, inlet))


def test_every_send_has_a_receive():
    sent = {tuple(class_and_args(b)[1]) for b in newobjs("s")}
    received = {tuple(class_and_args(b)[1]) for b in newobjs("r")}
    assert sent == received


# --- the daemon's side --------------------------------------------------------------------------
def test_udp_ports_match_the_daemon_and_the_hello():
    (udpsend,) = newobjs("udpsend")
    (udpreceive,) = newobjs("udpreceive")
    defaults = DaemonConfig()
    assert class_and_args(udpsend)[1] == [defaults.host, str(defaults.port)]
    hellos = [args for address, args in sent_messages() if address == "/v2m/hello"]
    assert hellos, "the patch never registers with /v2m/hello"
    for name, reply_port in hellos:
        assert isinstance(name, str)
        assert class_and_args(udpreceive)[1] == [str(reply_port)]
    (router,) = [box for box, _ in (
        (boxes()[dst], 0) for src, _, dst, _ in cords() if src == udpreceive["id"])]
    assert class_and_args(router)[0] == "route"
    assert {"/v2m/chord", "/v2m/progress", "/v2m/ready", "/v2m/error", "/v2m/status",
            "/v2m/ok"} <= set(class_and_args(router)[1])


def test_the_patch_sends_what_the_issue_asks_for():
    by_address: dict[str, list[tuple]] = {}
    for address, args in sent_messages():
        by_address.setdefault(address, []).append(args)
    for address in ("/v2m/hello", "/v2m/video/open", "/play", "/time", "/stop",
                    "/v2m/live/start", "/v2m/live/stop", "/v2m/live/frame", "/v2m/panic"):
        assert address in by_address, f"the patch never sends {address}"
    (frame,) = by_address["/v2m/live/frame"]
    assert len(frame) == 7 and all(isinstance(v, float) for v in frame)
    assert by_address["/v2m/video/open"] == [(SAMPLE_NATIVE_PATH,)]  # the OS path, not Max's


def test_frame_features_use_the_python_constants():
    from v2m_bridge.osc.frame_features import (
        CUT_MOTION_THRESHOLD,
        FEATURE_SIZE,
        MIN_CUT_GAP_S,
    )

    (threshold,) = newobjs(">=")
    assert float(class_and_args(threshold)[1][0]) == CUT_MOTION_THRESHOLD
    (debounce,) = newobjs("expr")
    assert float(re.search(r">=\s*([\d.]+)", debounce["text"]).group(1)) == MIN_CUT_GAP_S
    downsample = [b for b in newobjs("jit.matrix") if class_and_args(b)[1][:2] == ["4", "char"]]
    assert [class_and_args(b)[1][2:] for b in downsample] == [[str(n) for n in FEATURE_SIZE]]
    assert "@interp 1" in downsample[0]["text"]


def _message_params() -> list:
    """One test per message; a patch the tracer cannot follow fails one test, not collection."""
    try:
        return [pytest.param(a, v, id=f"{a}{len(v)}") for a, v in sent_messages()]
    except AssertionError as err:
        return [pytest.param(None, str(err), id="untraceable")]


@pytest.mark.parametrize(("address", "args"), _message_params())
def test_the_daemon_accepts_every_message_the_patch_sends(daemon_routes, address, args):
    if address is None:
        pytest.fail(f"cannot derive the patch's messages: {args}")
    address, args = over_the_wire(address, args)
    route = daemon_routes.get(address)
    assert route is not None, (f"the daemon has no route for {address} "
                               f"(known: {', '.join(sorted(daemon_routes))})")
    check_arguments(route, address, args)  # raises OscRequestError with the reason


def test_a_running_daemon_answers_the_patch_s_settings():
    stateless = [(a, v) for a, v in sent_messages() if a in STATELESS]
    assert {a for a, _ in stateless} >= {"/v2m/hello", "/v2m/key", "/v2m/seed", "/v2m/emotion",
                                          "/v2m/panic"}
    daemon = Daemon(DaemonConfig(port=0), backend=None, sink=MemorySink())
    daemon.start()
    client = OscClient(daemon.server.address)
    try:
        for address, args in stateless:
            if address == "/v2m/hello":  # register this test's socket, not Max's port
                client.send(address, args[0], client.port)
                assert client.wait_for("/v2m/status")[3] == "idle"
            else:
                client.send(address, *args)
                if address == "/v2m/status":
                    assert len(client.wait_for("/v2m/status")) == 5  # ... phase bar_beat
                else:  # an /v2m/error reply fails wait_for with its message
                    assert client.wait_for("/v2m/ok") == (address,)
    finally:
        client.close()
        daemon.close()

"""The daemon against real clients nobody here wrote (issue 14).

* liblo's ``oscsend`` drives `v2m-bridge serve`, liblo's ``oscdump`` reads every reply;
* Pure Data runs ``max_patch/v2m_bridge.pd`` headless (``pd -nogui``), driven over its FUDI remote
  port; its ``[oscparse]`` reads the replies and ``[print]`` shows them;
* the MIDI goes out on a JACK dummy server (``jackd --sync``) and is recorded there, for the
  transport cases real REAPER and Max produce: ``/play 1`` before the first ``/time``, ``/time``
  reporting the edit cursor while paused, and a ``/time`` frozen while playing (a movie at its
  end).

Each part is skipped with a reason when its program (``oscsend``/``oscdump``, ``pd``, ``jackd``)
is missing; ``.ci/run`` installs them all.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from live_helpers import TINY_AMT, VIDEOS, OscClient, jack_server
from test_live_jack import Recorder, free_udp_port, rendered_notes, sounding

from v2m_bridge.osc.frame_features import iter_video_frame_features
from v2m_bridge.osc.pd_qlist import write_qlist

REPO = Path(__file__).resolve().parents[1]
PD_PATCH = REPO / "max_patch" / "v2m_bridge.pd"
VIDEO = VIDEOS / "flower.mp4"

# what each reply carries, as OSC type tags (README's OSC table)
REPLY_TYPES = {"/v2m/status": "sffss", "/v2m/progress": "sf", "/v2m/ready": "sf",
               "/v2m/ok": "s", "/v2m/error": "ss", "/v2m/chord": "sf",
               "/v2m/render/done": "s"}


def need(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: liblo-tools, puredata-core, "
                    f"jackd2; .ci/run installs them)")


@pytest.fixture(scope="module")
def jack():
    with jack_server(period=64) as name:
        yield name


@pytest.fixture
def daemon(jack, tmp_path):
    """`v2m-bridge serve` on JACK, writing into tmp_path; yields (port, recorder of its MIDI
    output)."""
    if not TINY_AMT.is_file():
        pytest.skip(f"test fixture missing: {TINY_AMT}")
    port = free_udp_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "v2m_bridge", "serve", "--midi-backend", "jack", "--port",
         str(port), "--checkpoint", str(TINY_AMT), "--device", "cpu", "--output-dir",
         str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        assert "ready" in line, f"serve did not start: {line!r}"
        recorder = Recorder("v2m_bridge:midi_out", name="v2m_real_probe")
        yield port, recorder
        recorder.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- liblo: oscsend and oscdump ---------------------------------------------------------------

_ATOM = re.compile(r'"([^"]*)"|(#[TFNI])|(\S+)')


def parse_oscdump_line(line: str) -> tuple[str, str, list]:
    """``TIMETAG /address TYPES values...`` as oscdump (liblo 0.31) prints it."""
    parts = line.split(" ", 3)
    assert len(parts) >= 3 and parts[1].startswith("/"), line
    address, types = parts[1], parts[2] if len(parts) > 2 else ""
    if not re.fullmatch(r"[a-zA-Z]*", types):  # no arguments: nothing after the address
        types, rest = "", " ".join(parts[2:])
    else:
        rest = parts[3] if len(parts) > 3 else ""
    atoms = [m.group(1) if m.group(1) is not None else m.group(2) or m.group(3)
             for m in _ATOM.finditer(rest)]
    assert len(atoms) == len(types), (line, types, atoms)
    values = []
    for kind, atom in zip(types, atoms, strict=True):
        if kind in "sS":
            values.append(atom)
        elif kind in "ih":
            values.append(int(atom))
        elif kind in "fd":
            values.append(float(atom))
        else:
            values.append(atom)
    return address, types, values


class OscDump:
    """``oscdump -L PORT`` in the background; every line it prints, parsed."""

    def __init__(self) -> None:
        self.port = free_udp_port()
        self.process = subprocess.Popen(["oscdump", "-L", str(self.port)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def messages(self) -> list[tuple[str, str, list]]:
        return [parse_oscdump_line(line) for line in list(self.lines)]

    def wait_for(self, address: str, timeout: float = 30.0, after: int = 0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for found, _, values in self.messages()[after:]:
                if found == address:
                    return values
            time.sleep(0.02)
        raise AssertionError(f"oscdump saw no {address} in {timeout} s: "
                             f"{[line for line in self.lines if 'status' not in line][-10:]}")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=5)


def oscsend(port: int, address: str, types: str = "", *values: object) -> None:
    subprocess.run(["oscsend", "127.0.0.1", str(port), address, types,
                    *(str(v) for v in values)], check=True, timeout=10,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def check_replies(messages) -> None:
    """Every reply is a known /v2m/* reply with the protocol's types, and none is an error."""
    for address, types, values in messages:
        assert address in REPLY_TYPES, (address, values)
        assert types == REPLY_TYPES[address], (address, types, values)
        assert address != "/v2m/error", values


def test_oscsend_and_oscdump_run_the_scenario(daemon):
    need("oscsend", "oscdump")
    port, recorder = daemon
    dump = OscDump()
    try:
        time.sleep(0.2)  # oscdump binds its port
        oscsend(port, "/v2m/hello", "si", "liblo", dump.port)
        state = dump.wait_for("/v2m/status", timeout=5)
        assert state[3] == "idle"

        oscsend(port, "/v2m/video/open", "s", str(VIDEO))
        path, duration = dump.wait_for("/v2m/ready", timeout=60)
        assert path == str(VIDEO) and duration > 2.0
        assert any(m[0] == "/v2m/progress" for m in dump.messages())

        oscsend(port, "/v2m/transport/play", "f", 0.0)
        time.sleep(1.0)
        oscsend(port, "/v2m/transport/stop")
        time.sleep(0.2)
        played = len(recorder.note_ons())
        assert played > 0 and sounding(recorder.messages) == set()

        mark = len(dump.lines)
        oscsend(port, "/v2m/live/start", "ff", 0.1, 1.0)
        assert dump.wait_for("/v2m/ok", after=mark, timeout=5) == ["/v2m/live/start"]
        frames = [f.as_osc_args() for f in iter_video_frame_features(VIDEO, max_seconds=3.0)]
        start = time.monotonic()
        for args in frames[::3]:  # 10 frames a second: one oscsend process each
            time.sleep(max(start + args[0] - time.monotonic(), 0.0))
            oscsend(port, "/v2m/live/frame", "f" * len(args), *args)
        time.sleep(0.3)
        mark = len(dump.lines)
        oscsend(port, "/v2m/live/stop")
        assert dump.wait_for("/v2m/ok", after=mark, timeout=5) == ["/v2m/live/stop"]
        time.sleep(0.2)
        messages = dump.messages()
        check_replies(messages)
        assert [m for m in messages if m[0] == "/v2m/chord"], "no /v2m/chord from live frames"
        assert len(recorder.note_ons()) > played
        assert sounding(recorder.messages) == set()
        assert {m[0] for m in messages} >= {"/v2m/status", "/v2m/progress", "/v2m/ready",
                                            "/v2m/ok", "/v2m/chord"}
    finally:
        dump.close()


@pytest.mark.parametrize(("address", "types", "values"), [
    ("/v2m/seed", "f", (7.0,)),                       # Pd's [oscformat], a Max flonum
    ("/v2m/seed", "d", (7.0,)),
    ("/v2m/transport/follow", "f", (1.0,)),
    ("/v2m/transport/follow", "T", ()),
    ("/v2m/hello", "sf", ("pd", None)),               # reply port as a float
    ("/v2m/key", "S", ("Dm",)),                       # liblo's symbol
    ("/v2m/key", "ss", ("D", "minor")),               # Pd sends "D minor" as two strings
])
def test_numbers_as_floats_and_liblo_types_are_accepted(daemon, address, types, values):
    need("oscsend", "oscdump")
    port, _ = daemon
    dump = OscDump()
    try:
        time.sleep(0.2)
        values = tuple(float(dump.port) if v is None else v for v in values)
        oscsend(port, "/v2m/hello", "si", "liblo", dump.port)
        dump.wait_for("/v2m/status", timeout=5)
        mark = len(dump.lines)
        oscsend(port, address, types, *values)
        expected = "/v2m/status" if address == "/v2m/hello" else "/v2m/ok"
        time.sleep(0.5)
        replies = [m for m in dump.messages()[mark:] if m[0] != "/v2m/status"
                   or address == "/v2m/hello"]
        assert not [m for m in replies if m[0] == "/v2m/error"], replies
        assert any(m[0] == expected for m in replies), replies
    finally:
        dump.close()


# --- Pure Data: max_patch/v2m_bridge.pd headless --------------------------------------------

class PdPatch:
    """``pd -nogui`` running the shipped patch; commands go to its FUDI remote port, and the
    lines its [print] objects write are collected."""

    def __init__(self) -> None:
        self.remote = free_udp_port()
        self.process = subprocess.Popen(
            ["pd", "-nogui", "-nosound", "-nomidi", "-stderr", "-open", str(PD_PATCH),
             "-send", f"v2m.remote {self.remote}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def command(self, text: str) -> None:
        self._socket.sendto(f"{text};\n".encode(), ("127.0.0.1", self.remote))

    def printed(self, kind: str, after: int = 0) -> list[list[str]]:
        prefix = f"v2m-{kind}: "  # [print] escapes a space inside a symbol: "analysing\ x.mp4"
        return [re.split(r"(?<!\\) +", line[len(prefix):].strip())
                for line in self.lines[after:] if line.startswith(prefix)]

    def wait_for(self, kind: str, timeout: float = 30.0, after: int = 0,
                 resend: str | None = None) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.printed(kind, after)
            if found:
                return found[0]
            if resend is not None:
                self.command(resend)
            time.sleep(0.2)
        raise AssertionError(f"Pd printed no v2m-{kind} in {timeout} s: {self.lines[-10:]}")

    def close(self) -> None:
        self._socket.close()
        self.process.terminate()
        self.process.wait(timeout=5)


def _number(text: str) -> float:
    return float(text)


# what the patch prints for each reply: [oscparse] makes strings symbols and numbers floats
PD_REPLY_PARSERS = {"status": (str, _number, _number, str, str), "progress": (str, _number),
                    "ready": (str, _number), "ok": (str,), "chord": (str, _number),
                    "render": (str, str)}


def test_pd_patch_runs_the_scenario(daemon, tmp_path):
    need("pd")
    port, recorder = daemon
    frames_file = tmp_path / "frames.txt"
    write_qlist(iter_video_frame_features(VIDEO, max_seconds=3.0), frames_file)
    pd = PdPatch()
    try:
        reply_port = free_udp_port()
        setup = f"setup {port} {reply_port}"
        status = pd.wait_for("status", timeout=15, resend=setup)  # Pd takes a moment to start
        assert status[0] in ("stopped", "playing") and status[3] == "idle"

        pd.command(f"open {VIDEO}")
        path, duration = pd.wait_for("ready", timeout=60)
        assert path == str(VIDEO) and float(duration) > 2.0

        pd.command("play 1")  # /play 1, then /time every 33 ms from Pd's clock
        time.sleep(1.2)
        pd.command("play 0")
        time.sleep(0.3)
        played = len(recorder.note_ons())
        assert played > 0, "the daemon did not follow the patch's /play and /time"
        assert sounding(recorder.messages) == set()

        mark = len(pd.lines)
        pd.command(f"frames {frames_file}")
        pd.command("live 1")
        assert pd.wait_for("ok", after=mark, timeout=5) == ["/v2m/live/start"]
        pd.wait_for("frames", after=mark, timeout=10)  # the qlist reached its end
        mark = len(pd.lines)
        pd.command("live 0")
        assert pd.wait_for("ok", after=mark, timeout=5) == ["/v2m/live/stop"]
        time.sleep(0.3)
        assert pd.printed("chord"), "no /v2m/chord reached the patch"
        assert len(recorder.note_ons()) > played
        assert sounding(recorder.messages) == set()
    finally:
        pd.close()
    # every reply was routed and parsed, and Pd itself reported no error
    assert not pd.printed("unrouted") and not pd.printed("error"), pd.lines
    assert not [line for line in pd.lines if line.startswith("error:")
                or "couldn't create" in line], pd.lines
    for kind, parsers in PD_REPLY_PARSERS.items():
        for atoms in pd.printed(kind):
            assert len(atoms) == len(parsers), (kind, atoms)
            for parse, atom in zip(parsers, atoms, strict=True):
                parse(atom)


# --- JACK recordings of the transport cases ---------------------------------------------------

def chord_spans(notes) -> list[tuple[float, float, frozenset[int]]]:
    """(start, end, pitches) of each chord (channel 1 = MIDI channel 0) of a rendered file."""
    spans: dict[float, list] = {}
    for start, end, channel, pitch, _ in notes:
        if channel == 0:
            spans.setdefault(round(start, 4), []).append((end, pitch))
    return [(start, max(e for e, _ in group), frozenset(p for _, p in group))
            for start, group in sorted(spans.items())]


def chord_at(spans, position: float) -> frozenset[int]:
    return next(p for s, e, p in spans if s <= position < e)


def strikes(recorder, since: float = 0.0, until: float = float("inf")) -> list[list]:
    """Chord-channel note-ons after ``since``, grouped into strikes (notes within 15 ms)."""
    groups: list[list] = []
    for t, (status, pitch, _) in recorder.note_ons():
        if status != 0x90 or not since <= t < until:
            continue
        if groups and t - groups[-1][-1][0] < 0.015:
            groups[-1].append((t, pitch))
        else:
            groups.append([(t, pitch)])
    return groups


def opened(daemon, tmp_path):
    port, recorder = daemon
    client = OscClient(("127.0.0.1", port))
    client.send("/v2m/seed", 3)  # the same music every run (a random seed can repeat one chord)
    client.wait_for("/v2m/ok")
    client.send("/v2m/video/open", str(VIDEO))
    client.wait_for("/v2m/ready", timeout=60)
    client.send("/v2m/render", str(tmp_path / "out.mid"))
    client.wait_for("/v2m/render/done")
    spans = chord_spans(rendered_notes(tmp_path / "out.mid"))
    assert len(spans) >= 3 and len({pitches for _, _, pitches in spans}) >= 2
    return client, recorder, spans


def stream_time(client, start: float, seconds: float, *, frozen_after: float | None = None):
    """``/time`` every 33 ms for ``seconds`` from ``start`` (real-time pace); with
    ``frozen_after``, the value stops moving after that many seconds. Returns the last value."""
    began = time.monotonic()
    value = start
    while (elapsed := time.monotonic() - began) < seconds:
        moving = elapsed if frozen_after is None else min(elapsed, frozen_after)
        value = start + moving
        client.send("/time", float(value))
        time.sleep(0.033)
    return value


def test_no_strike_before_the_first_time(daemon, tmp_path):
    """The Max patch's [t i i] sends /play 1 before the movie's first /time."""
    client, recorder, spans = opened(daemon, tmp_path)
    position = spans[1][0] + 0.3
    client.send("/play", 1.0)
    time.sleep(0.4)
    assert recorder.note_ons() == [], "a note was struck before the position was known"
    first_time = time.monotonic()
    stream_time(client, position, 0.3)
    client.send("/stop", 1.0)
    time.sleep(0.1)
    first = strikes(recorder)[0]
    assert first[0][0] >= first_time
    assert {p for _, p in first} == chord_at(spans, position)
    assert sounding(recorder.messages) == set()


def test_no_sound_from_the_cursor_while_paused(daemon, tmp_path):
    """While paused REAPER's /time is the edit cursor; resuming plays from the pause point."""
    client, recorder, spans = opened(daemon, tmp_path)
    client.send_bundle(("/play", 1.0), ("/stop", 0.0), ("/pause", 0.0))
    paused_at = stream_time(client, spans[0][0] + 0.1, 0.4)
    client.send_bundle(("/play", 0.0), ("/pause", 1.0))
    pause_began = time.monotonic()
    cursor = next(start + 0.05 for start, _, pitches in reversed(spans)  # the user clicks
                  if pitches != chord_at(spans, paused_at))  # into another chord
    for _ in range(15):
        client.send("/time", float(cursor))
        time.sleep(0.033)
    resumed = time.monotonic()
    client.send_bundle(("/play", 1.0), ("/pause", 0.0))
    time.sleep(0.1)  # REAPER's next /time is the play position
    stream_time(client, paused_at, 0.3)
    client.send("/stop", 1.0)
    time.sleep(0.1)
    assert strikes(recorder, pause_began + 0.01, resumed) == []
    after = strikes(recorder, resumed)
    assert after, "nothing played after the resume"
    assert {p for _, p in after[0]} == chord_at(spans, paused_at)
    assert chord_at(spans, cursor) != chord_at(spans, paused_at)  # the check can tell them apart
    assert sounding(recorder.messages) == set()


def test_a_frozen_time_strikes_each_chord_at_most_once(daemon, tmp_path):
    """A Max jit.movie @loop 0 at its end with the metro running: 2 s of the same /time."""
    client, recorder, spans = opened(daemon, tmp_path)
    start = spans[1][0] - 0.25
    client.send("/play", 1.0)
    began = time.monotonic()
    frozen = stream_time(client, start, 2.5, frozen_after=0.5)
    client.send("/stop", 1.0)
    time.sleep(0.1)
    groups = strikes(recorder, began)
    crossed = [s for s, e, _ in spans if e > start and s <= frozen + 0.2]  # + the overshoot
    assert 1 <= len(groups) <= len(crossed), (len(groups), crossed)
    # nothing struck once the hold began (0.5 s of movement + the 0.1 s it takes to see it)
    late = [g for g in groups if g[0][0] > began + 0.5 + 0.1 + 0.1]
    assert late == [], late
    # the held chord rang for hold_release_s, then ended: silent before /stop
    messages_before_stop = [(t, m) for t, m in recorder.messages if t < began + 2.4]
    assert sounding(messages_before_stop) == set()
    assert sounding(recorder.messages) == set()


def test_qlist_lines_wait_the_media_time_between_frames():
    from v2m_bridge.osc.frame_features import FrameFeatures
    from v2m_bridge.osc.pd_qlist import qlist_lines

    frames = [FrameFeatures(t, 0.5, 0.01, 0.4, 0.3, 0.2, float(t == 1.0))
              for t in (0.0, 0.04, 1.0)]
    assert qlist_lines(frames) == [
        "0.000 v2m.frame 0 0.5 0.01 0.4 0.3 0.2 0;",
        "40.000 v2m.frame 0.04 0.5 0.01 0.4 0.3 0.2 0;",
        "960.000 v2m.frame 1 0.5 0.01 0.4 0.3 0.2 1;"]

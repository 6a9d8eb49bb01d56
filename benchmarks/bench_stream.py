"""Streaming accuracy of ``v2m-bridge serve`` on a JACK dummy server (sync mode, period 64).

Measured in one run:

* time from starting ``v2m-bridge serve`` to its "ready" line (target <= 5 s on CPU);
* event time error: when each note-on reaches a JACK input port, against the time the transport
  says it is due (``/v2m/transport/play`` from this script is the reference): median, p99, max,
  and notes lost or duplicated (targets: median <= 1 ms, p99 <= 3 ms, 0 lost);
* the same while a second process floods the daemon with OSC requests, and how many OSC
  messages per second the daemon answered meanwhile.

The expected notes come from composing the same video with the same seed and checkpoint in this
process (the pipeline is deterministic for a seed); the script checks that the played pitches
match before it reports times. The recorder runs in its own quiet process: a Python MIDI callback
runs inside JACK's process cycle, and a busy process would stall the sync-mode graph.

    python benchmarks/bench_stream.py [--seconds 60] [--video PATH] [--checkpoint PATH]

Needs jackd2 (``apt-get install jackd2``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_VIDEO = SHARED / "data" / "videos" / "bbb_0_30.webm"
DEFAULT_CHECKPOINT = SHARED / "fixtures" / "official_amt" / "amt_tiny_public.pt"
PERIOD = 64
SEED = 1234
FLOOD_RATE_HZ = 1000


# --- the recorder process ------------------------------------------------------------------------

def record(sources: list[str], seconds: float, out_path: str) -> None:
    """Record MIDI from each source for ``seconds`` (time.monotonic stamps) into a JSON file:
    one list of (time, message) per source."""
    import rtmidi

    arrivals: list[list[tuple[float, list[int]]]] = [[] for _ in sources]
    inputs = []
    for index, source in enumerate(sources):
        midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"bench_recorder{index}")
        ports = midi_in.get_ports()
        midi_in.open_port(ports.index(source), "in")
        midi_in.set_callback(lambda event, into: into.append((time.monotonic(), event[0])),
                             arrivals[index])
        inputs.append(midi_in)
    print("recording", flush=True)
    time.sleep(seconds)
    for midi_in in inputs:
        midi_in.cancel_callback()
        midi_in.close_port()
    Path(out_path).write_text(json.dumps(arrivals))


def send_baseline(midi_out, notes: list[tuple[float, int, int, int, bool]]) -> None:
    """The reference sender of docs/daw-integration.md §6: sleep until each deadline, then send
    on a plain rtmidi JACK port. Same server, recorder and notes as the daemon, so the daemon's
    own share of the error is the difference."""
    for due, channel, pitch, velocity, _sure in notes:
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        midi_out.send_message([0x90 | channel, pitch, velocity])


# --- OSC helpers ---------------------------------------------------------------------------------

def osc_message(address: str, *args) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    builder = OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(arg, "f" if isinstance(arg, float) else None)
    return builder.build().dgram


def wait_reply(sock: socket.socket, address: str, timeout: float) -> tuple:
    from pythonosc.osc_packet import OscPacket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        message = OscPacket(data).messages[0].message
        if message.address == address:
            return tuple(message.params)
        if message.address == "/v2m/error":
            raise SystemExit(f"daemon error: {message.params}")
    raise SystemExit(f"no {address} within {timeout} s")


def flood(port: int, seconds: float, result: dict, rate_hz: float = FLOOD_RATE_HZ) -> None:
    """Send /v2m/status at ``rate_hz`` for ``seconds``; count the answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.0)
    payload = osc_message("/v2m/status")
    sent = answered = 0
    start = time.monotonic()
    while (now := time.monotonic()) - start < seconds:
        while sent < (now - start) * rate_hz:
            sock.sendto(payload, ("127.0.0.1", port))
            sent += 1
        try:
            while sock.recv(65536):
                answered += 1
        except BlockingIOError:
            pass
        time.sleep(0.002)
    sock.settimeout(0.5)
    try:
        while sock.recv(65536):
            answered += 1
    except TimeoutError:
        pass
    result.update(sent=sent, answered=answered, seconds=time.monotonic() - start)


# --- analysis ------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def match(expected: list[tuple[float, int, int, int, bool]], arrivals: list) -> dict:
    """Pair expected (due, channel, pitch, velocity, sure) with arrivals by message and nearest
    time; report time errors, notes lost (only ``sure`` ones count) and arrivals that match no
    expected note (duplicates or strays)."""
    ons = [(t, tuple(m)) for t, m in arrivals if len(m) == 3 and m[0] & 0xF0 == 0x90 and m[2]]
    pending: dict[tuple[int, int, int], list[float]] = {}
    sure_dues = set()
    for due, channel, pitch, velocity, sure in expected:
        pending.setdefault((0x90 | channel, pitch, velocity), []).append(due)
        if sure:
            sure_dues.add((0x90 | channel, pitch, velocity, due))
    errors, extra = [], 0
    for t, message in ons:
        dues = pending.get(message)
        if not dues:
            extra += 1
            continue
        best = min(range(len(dues)), key=lambda i: abs(dues[i] - t))
        if abs(dues[best] - t) > 0.1:
            extra += 1
            continue
        errors.append(t - dues.pop(best))
    lost = sum((*key, due) in sure_dues for key, dues in pending.items() for due in dues)
    return {"notes": len(sure_dues), "received": len(ons), "lost": lost, "duplicated": extra,
            "median_ms": 1000 * statistics.median(errors) if errors else None,
            "p99_ms": 1000 * percentile(errors, 0.99) if errors else None,
            "max_ms": 1000 * max(errors) if errors else None,
            "min_ms": 1000 * min(errors) if errors else None}


# --- the run -------------------------------------------------------------------------------------

def start_jack(name: str) -> subprocess.Popen:
    if shutil.which("jackd") is None:
        raise SystemExit("jackd not found: apt-get install jackd2")
    process = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "--sync", "-d", "dummy",
                                "-r", "48000", "-p", str(PERIOD)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["jack_wait", "-s", name, "--wait", "--timeout", "10"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process


def expected_notes(video: Path, checkpoint: Path) -> list:
    from v2m_bridge.options import RenderOptions
    from v2m_bridge.pipeline import compose, load_chord_model

    composition = compose(video, RenderOptions(seed=SEED), chord_model=load_chord_model(checkpoint))
    return composition.events, composition.duration


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def play_window(sock, port, position: float, seconds: float) -> tuple[float, float]:
    """Play from ``position`` for ``seconds``; returns (mono when play was sent, mono at stop)."""
    sent = time.monotonic()
    sock.sendto(osc_message("/v2m/transport/play", float(position)), ("127.0.0.1", port))
    time.sleep(seconds)
    stopped = time.monotonic()
    sock.sendto(osc_message("/v2m/transport/stop"), ("127.0.0.1", port))
    time.sleep(0.1)
    return sent, stopped


def due_in(events, position: float, start_mono: float, stop_mono: float, margin: float = 0.01):
    """Expected note-ons of a window played from ``position``; those due in its last ``margin``
    seconds are not "sure" (the stop may land first) and do not count as lost when missing."""
    notes = []
    for event in events:
        due = start_mono + event.start - position
        if position <= event.start and due < stop_mono:
            notes.append((due, event.channel, event.pitch, event.velocity,
                          due < stop_mono - margin))
    return notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="playback length (default 60)")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--flood-rate", type=float, default=FLOOD_RATE_HZ,
                        help="OSC requests per second sent during the second half (default "
                        "%(default)s)")
    parser.add_argument("--dump", type=Path, help="also write expected and received notes here")
    parser.add_argument("--record", nargs=3, metavar=("SOURCE", "SECONDS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        record(args.record[0].split(","), float(args.record[1]), args.record[2])
        return 0

    server = f"bench{uuid.uuid4().hex[:6]}"
    os.environ["JACK_DEFAULT_SERVER"] = server
    os.environ["JACK_NO_START_SERVER"] = "1"
    jack = start_jack(server)
    serve = recorder = None
    workdir = Path(tempfile.mkdtemp(prefix="bench_stream_"))
    try:
        port = free_port()
        launched = time.monotonic()
        serve = subprocess.Popen(
            [sys.executable, "-m", "v2m_bridge", "serve", "--midi-backend", "jack", "--port",
             str(port), "--checkpoint", str(args.checkpoint), "--device", "cpu"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready_line = serve.stdout.readline()
        ready_s = time.monotonic() - launched
        if "ready" not in ready_line:
            raise SystemExit(f"serve did not start: {ready_line!r}")

        events, duration = expected_notes(args.video, args.checkpoint)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.sendto(osc_message("/v2m/seed", SEED), ("127.0.0.1", port))
        wait_reply(sock, "/v2m/ok", 5)
        sock.sendto(osc_message("/v2m/video/open", str(args.video)), ("127.0.0.1", port))
        wait_reply(sock, "/v2m/ready", 600)

        # windows of at most the video's length; the second half runs under an OSC flood
        half = args.seconds / 2
        windows = []
        total = 0.0
        while total < args.seconds - 1e-6:
            length = min(duration - 0.2, args.seconds - total)
            if total < half < total + length:
                length = half - total
            windows.append(length)
            total += length
        import rtmidi

        baseline_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="bench_baseline")
        baseline_out.open_virtual_port("out")
        baseline_s = min(half, 15.0, duration - 0.2)
        out = workdir / "arrivals.json"
        recorder = subprocess.Popen(
            [sys.executable, __file__, "--record", "v2m_bridge:midi_out,bench_baseline:out",
             str(baseline_s + args.seconds + 0.15 * len(windows) + 2.0), str(out)],
            stdout=subprocess.PIPE, text=True)
        recorder.stdout.readline()

        baseline_start = time.monotonic() + 0.2
        baseline_notes = due_in(events, 0.0, baseline_start, baseline_start + baseline_s)
        send_baseline(baseline_out, baseline_notes)
        time.sleep(0.2)

        quiet, flooded, flood_result, played = [], [], {}, 0.0
        flood_thread = None
        for length in windows:
            if played >= half - 1e-6 and flood_thread is None:
                flood_thread = threading.Thread(target=flood,
                                                args=(port, args.seconds - played, flood_result,
                                                      args.flood_rate))
                flood_thread.start()
            start, stop = play_window(sock, port, 0.0, length)
            (flooded if flood_thread else quiet).append((start, stop))
            played += length
        if flood_thread is not None:
            flood_thread.join()
        recorder.wait(timeout=args.seconds + 60)
        arrivals, baseline_arrivals = json.loads(out.read_text())
        baseline_out.close_port()
    finally:
        for process in (recorder, serve):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
        jack.terminate()
        jack.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    report = {"serve_ready_s": round(ready_s, 2), "seconds": args.seconds,
              "video": args.video.name, "period": PERIOD,
              "baseline_plain_sender": match(baseline_notes, baseline_arrivals)}
    for label, windows_list in (("quiet", quiet), ("osc_flood", flooded)):
        if windows_list:
            expected = [n for start, stop in windows_list for n in due_in(events, 0.0, start, stop)]
            got = [a for a in arrivals if any(s <= a[0] < t + 0.05 for s, t in windows_list)]
            report[label] = match(expected, got)
    if flood_result:
        report["osc_flood"]["osc_sent_per_s"] = round(flood_result["sent"]
                                                      / flood_result["seconds"])
        report["osc_flood"]["osc_answered_per_s"] = round(flood_result["answered"]
                                                          / flood_result["seconds"])
    if args.dump:
        args.dump.write_text(json.dumps({"quiet": quiet, "flooded": flooded, "arrivals": arrivals,
                                         "events": [[e.start, e.channel, e.pitch, e.velocity]
                                                    for e in events]}))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""MIDI clock out of ``v2m-bridge serve --clock-out virtual`` on a JACK dummy server (sync mode,
period 64): inter-clock jitter (target p99 <= 2 ms) and the pulse count.

The daemon follows a Reaper-style transport sent by this script (``/tempo/raw``, ``/play``,
``/time``, then ``/stop``), with no video open, so the clock comes from the daemon's scheduler
thread as a user gets it. A quiet recorder process stamps each clock's arrival on a JACK input
(as in bench_stream.py). Jitter is each interval between consecutive clocks minus the nominal
``60 / (24 * bpm)``. The same recorder also hears a baseline: a plain rtmidi JACK port fed by a
thread that sleeps until each pulse (docs/daw-integration.md §6), run before the daemon's
window, so the daemon's own share is the difference. Load average is printed with the result.

    python benchmarks/bench_clock.py [--seconds 30] [--bpm 120]

Needs jackd2 (``apt-get install jackd2``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stream import (
    DEFAULT_CHECKPOINT,
    free_port,
    osc_message,
    percentile,
    start_jack,
)

CLOCK, START, STOP = 0xF8, 0xFA, 0xFC
BASELINE_S = 10.0


def record(sources: list[str], seconds: float, out_path: str) -> None:
    """Record MIDI, clocks included, from each source for ``seconds`` (time.monotonic stamps)
    into a JSON file: one list of (time, message) per source."""
    import rtmidi

    arrivals: list[list[tuple[float, list[int]]]] = [[] for _ in sources]
    inputs = []
    for index, source in enumerate(sources):
        midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"bench_clock_recorder{index}")
        midi_in.ignore_types(sysex=True, timing=False, active_sense=True)
        midi_in.open_port(midi_in.get_ports().index(source), "in")
        midi_in.set_callback(lambda event, into: into.append((time.monotonic(), event[0])),
                             arrivals[index])
        inputs.append(midi_in)
    print("recording", flush=True)
    time.sleep(seconds)
    for midi_in in inputs:
        midi_in.cancel_callback()
        midi_in.close_port()
    Path(out_path).write_text(json.dumps(arrivals))


def send_baseline(midi_out, interval: float, seconds: float) -> None:
    start = time.monotonic() + 0.1
    for pulse in range(int(seconds / interval)):
        delay = start + pulse * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        midi_out.send_message([CLOCK])


def jitter(stamps: list[float], interval: float) -> dict:
    errors = [abs(b - a - interval) for a, b in itertools.pairwise(stamps)]
    return {"clocks": len(stamps),
            "median_ms": 1000 * statistics.median(errors) if errors else None,
            "p99_ms": 1000 * percentile(errors, 0.99) if errors else None,
            "max_ms": 1000 * max(errors) if errors else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--record", nargs=3, metavar=("SOURCE", "SECONDS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        record(args.record[0].split(","), float(args.record[1]), args.record[2])
        return 0

    interval = 60.0 / (24 * args.bpm)
    server = f"benchclk{uuid.uuid4().hex[:6]}"
    os.environ["JACK_DEFAULT_SERVER"] = server
    os.environ["JACK_NO_START_SERVER"] = "1"
    jack = start_jack(server)
    serve = recorder = None
    workdir = Path(tempfile.mkdtemp(prefix="bench_clock_"))
    try:
        port = free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "v2m_bridge", "serve", "--midi-backend", "jack", "--port",
             str(port), "--checkpoint", str(args.checkpoint), "--device", "cpu",
             "--clock-out", "virtual", "--no-discovery"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready_line = serve.stdout.readline()
        if "ready" not in ready_line:
            raise SystemExit(f"serve did not start: {ready_line!r}")
        import rtmidi

        baseline_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="bench_clock_baseline")
        baseline_out.open_virtual_port("out")
        out = workdir / "arrivals.json"
        recorder = subprocess.Popen(
            [sys.executable, __file__, "--record",
             "v2m_bridge_clock:clock_out,bench_clock_baseline:out",
             str(BASELINE_S + args.seconds + 3.0), str(out)], stdout=subprocess.PIPE, text=True)
        recorder.stdout.readline()
        send_baseline(baseline_out, interval, BASELINE_S)

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        daemon = ("127.0.0.1", port)
        for message in (("/tempo/raw", float(args.bpm)), ("/play", 1.0), ("/time", 0.0)):
            sock.sendto(osc_message(*message), daemon)
        time.sleep(args.seconds)
        sock.sendto(osc_message("/stop", 1.0), daemon)
        recorder.wait(timeout=args.seconds + BASELINE_S + 60)
        daemon_arrivals, baseline_arrivals = json.loads(out.read_text())
    finally:
        for process in (recorder, serve, jack):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    print(f"{process.args[0]} did not stop in 20 s: killed", file=sys.stderr)
                    process.kill()

    messages = [m[0] for _t, m in daemon_arrivals]
    start, stop = messages.index(START), messages.index(STOP)
    stamps = [t for t, m in daemon_arrivals[start + 1:stop] if m[0] == CLOCK]
    played = daemon_arrivals[stop][0] - daemon_arrivals[start][0]
    result = {
        "bpm": args.bpm, "seconds": args.seconds, "jack_period": 64,
        "daemon": jitter(stamps, interval),
        # pulses due from Start (pulse 0) to Stop: one per 1/24 beat, the first at the start
        "daemon_clocks_expected": math.floor(played * args.bpm / 60.0 * 24) + 1,
        "baseline": jitter([t for t, _m in baseline_arrivals], interval),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    p99 = result["daemon"]["p99_ms"]
    print(f"inter-clock jitter p99 {p99:.2f} ms (target <= 2 ms): "
          f"{'ok' if p99 <= 2.0 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

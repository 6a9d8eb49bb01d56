"""Fuzz the running daemon with 100,000 hostile packets (issue 25).

Random bytes, truncated and mutated packets, unknown type tags, nested bundles with lying sizes,
and well-formed requests to every address that takes a path (``/v2m/video/open``,
``/v2m/render``, ``/v2m/live/image``, ``/v2m/match``'s library) with ``.``, ``..``, empty
strings and folders, against ``v2m-bridge serve`` with a video open (the packaged demo clip).
Every 20th packet is such a path request from a sender of its own, and each must get its final
reply (an error, ok, ready or done). Targets: 0 internal errors, 0 tracebacks in the daemon's
log, 0 unanswered path requests, memory flat (RSS growth <= 20 MB after a warm-up).

    python benchmarks/bench_fuzz.py [--packets 100000] [--seed 25]

The test suite runs a 10,000-packet slice (tests/test_daemon_fuzz.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import osc_fuzz  # noqa: E402
from live_helpers import TINY_AMT  # noqa: E402

MAX_GROWTH_MB = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--checkpoint", type=Path, default=TINY_AMT,
                        help="AMT checkpoint for the daemon (default: the tiny test fixture)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="v2m-fuzz-") as folder:
        work = Path(folder)
        folders = osc_fuzz.make_folders(work)
        result = osc_fuzz.run_fuzz(osc_fuzz.packets(args.seed, args.packets, folders), work,
                                   args.checkpoint, seed=args.seed, folders=folders,
                                   time_limit_s=1800.0)
    growth_mb = (result.rss_end - result.rss_start) / 1e6
    times = result.round_trips_s
    print(f"packets sent:        {result.sent} in {result.elapsed_s:.1f} s "
          f"({result.sent / max(result.elapsed_s, 1e-9):.0f}/s)")
    print(f"path requests:       {result.probes}")
    print(f"internal errors:     {result.internal_errors}")
    print(f"daemon tracebacks:   {result.tracebacks}")
    print(f"unanswered requests: {result.unanswered}")
    print(f"RSS start / end:     {result.rss_start / 1e6:.1f} MB / {result.rss_end / 1e6:.1f} MB "
          f"({growth_mb:+.1f} MB)")
    print(f"status round trip:   best {1000 * min(times):.1f} ms, median "
          f"{1000 * statistics.median(times):.1f} ms")
    for example in result.examples:
        print("example:", example)
    ok = (result.alive and result.internal_errors == 0 and result.tracebacks == 0
          and result.unanswered == 0 and growth_mb <= MAX_GROWTH_MB)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

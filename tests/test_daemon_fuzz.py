"""Fuzzing the running daemon (`v2m-bridge serve`, as a user's machine would meet it): a
10,000-packet slice of ``benchmarks/bench_fuzz.py``'s 100,000 random and mutated packets,
bundles and path requests (``.``, ``..``, empty, folders for every request that takes a path),
within a bounded time. No internal error, no well-formed path request left unanswered, no
exception logged; afterwards a status round trip takes at most 50 ms and the daemon's memory grew
by at most 20 MB.

The packets come from the seeded generator in ``osc_fuzz.py`` (``V2M_FUZZ_SEED`` picks another
seed, ``V2M_FUZZ_PACKETS`` another count), so a failure can be replayed exactly.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import osc_fuzz
import pytest
from live_helpers import TINY_AMT

PACKETS = int(os.environ.get("V2M_FUZZ_PACKETS", "10000"))
SEED = int(os.environ.get("V2M_FUZZ_SEED", "15"))
TIME_LIMIT_S = 60.0
MAX_GROWTH_BYTES = 20 * 1024 * 1024
MAX_ROUND_TRIP_S = 0.050


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs /proc (Linux)")
def test_ten_thousand_hostile_packets_are_all_answered_and_leave_the_daemon_small(tmp_path):
    if not TINY_AMT.is_file():
        pytest.skip(f"test fixture missing: {TINY_AMT}")
    folders = osc_fuzz.make_folders(tmp_path)
    result = osc_fuzz.run_fuzz(osc_fuzz.packets(SEED, PACKETS, folders), tmp_path, TINY_AMT,
                               seed=SEED, time_limit_s=TIME_LIMIT_S, folders=folders)
    times = result.round_trips_s
    growth = result.rss_end - result.rss_start
    print(f"fuzz: {result.sent} packets and {result.probes} path requests in "
          f"{result.elapsed_s:.1f} s; {result.internal_errors} internal errors, "
          f"{result.unanswered} unanswered, {result.tracebacks} tracebacks; status round trip "
          f"best {1000 * min(times):.1f} ms, median {1000 * statistics.median(times):.1f} ms; "
          f"RSS {result.rss_start / 1e6:.1f} -> {result.rss_end / 1e6:.1f} MB")
    assert result.sent >= 10_000 or PACKETS < 10_000
    assert result.probes >= result.sent // 20
    assert result.alive, "the daemon died"
    assert result.internal_errors == 0, result.examples
    assert result.tracebacks == 0, result.examples
    assert result.unanswered == 0
    assert min(times) <= MAX_ROUND_TRIP_S, times  # best of 7: a loaded CI stalls at times
    assert growth <= MAX_GROWTH_BYTES, f"memory grew by {growth / 1e6:.1f} MB"


def test_path_requests_cover_every_request_that_takes_a_path_with_every_path():
    """The generator's side: each address that takes a path gets '.', '..', '' and folders."""
    import random

    from v2m_bridge.osc.parse import parse_packet
    from v2m_bridge.osc.protocol import REQUESTS

    takes_a_path = {m.address for m in REQUESTS
                    if any(arg.name in ("path", "out.mid", "library") for arg in m.args)}
    assert takes_a_path == set(osc_fuzz.PATH_REQUESTS)
    rng = random.Random(1)
    seen = set()
    for _ in range(3000):
        address, data = osc_fuzz.path_request(rng, ("/tmp/some folder",))
        (message,) = parse_packet(data).messages
        position = osc_fuzz.PATH_REQUESTS[address][0]
        seen.add((address, message.args[position]))
    for address in takes_a_path:
        for path in (".", "..", "", "/tmp/some folder"):
            assert (address, path) in seen

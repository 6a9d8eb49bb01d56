"""A second, real Ableton Link peer for tests/test_link.py: its own process on the same binding.

Reads commands on stdin, one per line: ``tempo BPM``, ``play``, ``stop``, ``quit``; answers each
with ``done`` (``tempo?`` with ``tempo BPM``, the session's tempo as this peer sees it). Prints
``peers N`` once it has found N other peers, and ``ready`` at the start.
"""

from __future__ import annotations

import sys
import threading
import time

import link

_OUTPUT = threading.Lock()


def say(line: str) -> None:
    with _OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main() -> None:
    session = link.Link(120.0)
    session.startStopSyncEnabled = True
    session.enabled = True
    say("ready")

    def watch_peers() -> None:
        seen = 0
        while True:
            peers = session.numPeers()
            if peers != seen:
                seen = peers
                say(f"peers {peers}")
            time.sleep(0.02)

    threading.Thread(target=watch_peers, daemon=True).start()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        state = session.captureAppSessionState()
        now = session.clock().micros()
        if words == ["tempo?"]:
            say(f"tempo {state.tempo():.3f}")
            continue
        if words[0] == "tempo":
            state.setTempo(float(words[1]), now)
        elif words[0] == "play":
            state.setIsPlayingAndRequestBeatAtTime(True, now, 0.0, 4.0)
        elif words[0] == "stop":
            state.setIsPlaying(False, now)
        elif words[0] == "quit":
            break
        session.commitAppSessionState(state)
        say("done")
    session.enabled = False


if __name__ == "__main__":
    main()

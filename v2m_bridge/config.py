"""Defaults shared by the CLI, the daemon, the client tools and the library: each defined once.

Nothing here imports the rest of the package, so every module can read it.
"""

from __future__ import annotations

# Music
DEFAULT_TEMPO_BPM = 120.0
MIN_TEMPO_BPM = 20.0
MAX_TEMPO_BPM = 400.0
DEFAULT_KEY = "C major"

# Video analysis: PySceneDetect's detectors ("adaptive" is the official features' choice)
SCENE_DETECTORS: tuple[str, ...] = ("adaptive", "content")
DEFAULT_SCENE_DETECTOR = "adaptive"

# The daemon's OSC endpoint (bound to loopback by default: no authentication)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000

# Live mode
DEFAULT_LIVE_LATENCY_S = 0.1
DEFAULT_LIVE_TIMEOUT_S = 1.0

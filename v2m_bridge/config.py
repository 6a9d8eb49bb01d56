"""Defaults shared by the CLI, the daemon, the client tools and the library: each defined once.

Nothing here imports the rest of the package, so every module can read it.
"""

from __future__ import annotations

# Music
DEFAULT_TEMPO_BPM = 120.0
MIN_TEMPO_BPM = 20.0
MAX_TEMPO_BPM = 400.0
DEFAULT_TEMPO_RANGE = (70.0, 140.0)  # searched by --tempo auto
DEFAULT_HARMONIC_RHYTHM = "bar"  # chords change on bar lines (and at hit points)
DEFAULT_KEY = "C major"  # the key when --key auto has nothing to read (live mode, no video)
AUTO_KEY = "auto"  # --key auto: mode and tonic from the video's valence and arousal
DEFAULT_KEY_CHOICE = AUTO_KEY  # what render, chords and the daemon use without --key

# Video analysis: PySceneDetect's detectors ("adaptive" is the official features' choice)
SCENE_DETECTORS: tuple[str, ...] = ("adaptive", "content")
DEFAULT_SCENE_DETECTOR = "adaptive"

# The daemon's OSC endpoint (bound to loopback by default: no authentication)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000

# Live mode
DEFAULT_LIVE_LATENCY_S = 0.1
DEFAULT_LIVE_TIMEOUT_S = 1.0

# Sane bounds for numbers from OSC (beyond them a value is refused, never stored): a position
# on the timeline or in the media, in seconds (~116 days), and the daemon's play rates
MAX_POSITION_S = 1e7
MAX_PLAY_RATE = 16.0

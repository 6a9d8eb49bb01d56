"""v2m-bridge: video to music for DAWs and Max/MSP, built on the Video2Music AMT.

Quick tour::

    from v2m_bridge.vocab import parse_chord, parse_key
    from v2m_bridge.model import load_amt, load_regression, generate_chords
    from v2m_bridge.video import analyze_video      # per-second features of a video
"""

__version__ = "0.1.0"

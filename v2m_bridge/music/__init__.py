"""Chords to notes: voicing, arpeggios, velocity, the musical grid and MIDI files.

::

    from v2m_bridge.music import RenderOptions, compose, write_midi
    composition = compose("clip.mp4", RenderOptions(key="D minor", seed=1))
    write_midi(composition, "clip.mid")

:func:`arrange` does the same from chords and feature arrays, without a model or a video.
"""

from v2m_bridge.music.arrangement import ArrangeOptions, Composition, arrange
from v2m_bridge.music.compose import compose, compose_features
from v2m_bridge.music.midi_file import write_midi
from v2m_bridge.music.render_options import RenderOptions

__all__ = [
    "ArrangeOptions",
    "Composition",
    "RenderOptions",
    "arrange",
    "compose",
    "compose_features",
    "write_midi",
]

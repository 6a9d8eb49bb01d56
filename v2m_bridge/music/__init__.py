"""Chords to notes: the grid, voicing, arpeggios, dynamics and the arrangement.

:func:`arrange` turns chords and per-second feature arrays into a :class:`Composition`, without
a model or a video; :mod:`v2m_bridge.pipeline` runs the whole chain and :mod:`v2m_bridge.output`
writes the result.
"""

from v2m_bridge.music.arrangement import ArrangeOptions, Composition, arrange

__all__ = ["ArrangeOptions", "Composition", "arrange"]

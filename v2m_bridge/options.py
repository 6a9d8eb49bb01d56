"""Options of a render (CLI ``render``, daemon renders), checked before any slow work starts.

:class:`RenderOptions` stays apart from :mod:`v2m_bridge.pipeline` because the CLI builds it
(and reads its defaults for ``--help``) without importing torch; the pipeline is imported only
when a render runs. Each value is checked once, by the code that owns it: the key and primer by
:mod:`v2m_bridge.vocab`, the emotion by :mod:`v2m_bridge.emotion`, the tempo and register by
:class:`~v2m_bridge.music.arrangement.ArrangeOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_bridge.config import DEFAULT_KEY, DEFAULT_TEMPO_BPM
from v2m_bridge.emotion import emotion_curve, parse_emotion_points
from v2m_bridge.errors import V2MError
from v2m_bridge.music.arrangement import ArrangeOptions
from v2m_bridge.music.voicing import DEFAULT_REGISTER
from v2m_bridge.vocab import Chord, Key, parse_chords, parse_key


@dataclass(frozen=True)
class RenderOptions:
    """Everything a render needs besides the video. Parsed and checked on creation."""

    key: str | Key = DEFAULT_KEY
    primer: str = ""
    emotion: str | None = None
    seed: int | None = None  # None: a random seed, recorded in the output
    tempo_bpm: float = DEFAULT_TEMPO_BPM
    checkpoint: str | Path | None = None  # AMT; None: the shipped starter model
    regression_checkpoint: str | Path | None = None  # None: heuristic dynamics
    cut_align: bool = True
    register: str = DEFAULT_REGISTER
    clip_weights: str | Path | None = None  # None: look in the usual places, else fallback
    _primer_chords: tuple[Chord, ...] = field(init=False, repr=False, compare=False, default=())
    _emotion_points: list[tuple[float, str]] | None = field(init=False, repr=False,
                                                            compare=False, default=None)
    _arrange: ArrangeOptions = field(init=False, repr=False, compare=False,
                                     default_factory=ArrangeOptions)

    def __post_init__(self) -> None:
        if isinstance(self.key, str):
            object.__setattr__(self, "key", parse_key(self.key))
        object.__setattr__(self, "_primer_chords", tuple(parse_chords(self.primer or "")))
        object.__setattr__(self, "_emotion_points",
                           parse_emotion_points(self.emotion) if self.emotion else None)
        object.__setattr__(self, "_arrange", ArrangeOptions(
            key=self.key, tempo_bpm=self.tempo_bpm, cut_align=self.cut_align,
            register=self.register))  # raises GridError / RegisterError
        if self.seed is not None and not isinstance(self.seed, int):
            raise V2MError(f"seed must be an integer, got {self.seed!r}")

    @property
    def primer_chords(self) -> tuple[Chord, ...]:
        """Primer chords as written, in :attr:`key`."""
        return self._primer_chords

    @property
    def arrange_options(self) -> ArrangeOptions:
        """How the chords become notes: key, tempo, cut alignment and register."""
        return self._arrange

    def emotion_override(self, n_seconds: int) -> np.ndarray | None:
        """The ``--emotion`` curve as ``(n_seconds, 6)`` one-hot rows, or ``None``."""
        points = self._emotion_points
        return None if points is None else emotion_curve(points, n_seconds)

"""Options of a render (CLI ``render``, daemon renders), checked before any slow work starts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_bridge.config import DEFAULT_KEY, DEFAULT_TEMPO_BPM, MAX_TEMPO_BPM, MIN_TEMPO_BPM
from v2m_bridge.emotion import emotion_curve, parse_emotion_points
from v2m_bridge.errors import V2MError
from v2m_bridge.music.grid import GridError
from v2m_bridge.music.voicing import DEFAULT_REGISTER, get_register
from v2m_bridge.vocab import Chord, Key, parse_chords, parse_key

SAMPLERS = ("musical", "official")


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
    sampler: str = "musical"  # "musical" (v2m_bridge.model.musical) or "official" (spec §6)
    _primer_chords: tuple[Chord, ...] = field(init=False, repr=False, compare=False, default=())
    _emotion_points: list[tuple[float, str]] | None = field(init=False, repr=False,
                                                            compare=False, default=None)

    def __post_init__(self) -> None:
        if isinstance(self.key, str):
            object.__setattr__(self, "key", parse_key(self.key))
        object.__setattr__(self, "_primer_chords", tuple(parse_chords(self.primer or "")))
        object.__setattr__(self, "_emotion_points",
                           parse_emotion_points(self.emotion) if self.emotion else None)
        tempo = self.tempo_bpm
        if not (isinstance(tempo, (int, float)) and math.isfinite(tempo)
                and MIN_TEMPO_BPM <= tempo <= MAX_TEMPO_BPM):
            raise GridError(f"--tempo must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} "
                            f"bpm, got {tempo!r}")
        get_register(self.register)
        if self.sampler not in SAMPLERS:
            raise V2MError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.seed is not None and not isinstance(self.seed, int):
            raise V2MError(f"seed must be an integer, got {self.seed!r}")

    @property
    def primer_chords(self) -> tuple[Chord, ...]:
        """Primer chords as written, in :attr:`key`."""
        return self._primer_chords

    def emotion_override(self, n_seconds: int) -> np.ndarray | None:
        """The ``--emotion`` curve as ``(n_seconds, 6)`` one-hot rows, or ``None``."""
        points = self._emotion_points
        return None if points is None else emotion_curve(points, n_seconds)

"""Options of a render (CLI ``render``, daemon renders), checked before any slow work starts.

:class:`RenderOptions` stays apart from :mod:`v2m_bridge.pipeline` because the CLI builds it
(and reads its defaults for ``--help``) without importing torch; the pipeline is imported only
when a render runs. Each value is checked once, by the code that owns it: the key and primer by
:mod:`v2m_bridge.vocab`, the emotion by :mod:`v2m_bridge.emotion`, the tempo and register by
:class:`~v2m_bridge.music.arrangement.ArrangeOptions`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_bridge.config import (
    AUTO_KEY,
    DEFAULT_HARMONIC_RHYTHM,
    DEFAULT_KEY,
    DEFAULT_KEY_CHOICE,
    DEFAULT_TEMPO_BPM,
    MAX_TEMPO_BPM,
    MIN_TEMPO_BPM,
)
from v2m_bridge.emotion import emotion_curve, parse_emotion_points
from v2m_bridge.errors import V2MError
from v2m_bridge.music.arrangement import DEFAULT_TEXTURE, ArrangeOptions
from v2m_bridge.music.key_choice import HasEmotion, KeyChoice, choose_key
from v2m_bridge.music.tempo_fit import TempoRange
from v2m_bridge.music.voicing import DEFAULT_REGISTER
from v2m_bridge.vocab import Chord, Key, parse_chords, parse_key

SAMPLERS = ("musical", "official")


@dataclass(frozen=True)
class TempoSetting:
    """A tempo as a user gives it (``--tempo``, ``/v2m/tempo``), parsed once: a fixed bpm, or
    a fit to the cuts. Nothing after this sees "auto" or a number as text."""

    bpm: float | None = None  # None: fitted to the cuts
    tempo_map: bool = False  # the fit may change tempo gently
    tempo_range: TempoRange | None = None  # what the fit searches; None: the default range
    given: bool = False  # False: the default (the daemon then follows a DAW's tempo if any)

    @classmethod
    def parse(cls, value: str | float | None) -> TempoSetting:
        """``96`` or ``96.0`` (as Max and liblo send numbers), ``"96"`` (fixed), ``"auto"``,
        ``"auto map"``, ``"auto 70:140"``, ``"auto map 60:120"``; empty or None: the default
        (fitted to the cuts).

        Raises:
            V2MError: for anything else, or a tempo or range out of bounds."""
        if value is None:
            return cls()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(_checked_bpm(float(value)), given=True)
        if not isinstance(value, str):
            raise V2MError(f"tempo must be a number of bpm or text, got {value!r}")
        words = value.strip().lower().split()
        if not words:
            return cls()
        if words[0] != "auto":
            if len(words) == 1:
                try:
                    return cls(_checked_bpm(float(words[0])), given=True)
                except ValueError:
                    pass
        else:
            rest = words[1:]
            tempo_map = bool(rest) and rest[0] == "map"
            rest = rest[1:] if tempo_map else rest
            if len(rest) <= 1:
                return cls(None, tempo_map, TempoRange.parse(rest[0]) if rest else None, True)
        raise V2MError(f"tempo must be BPM, 'auto', 'auto map', 'auto LOW:HIGH' or "
                       f"'auto map LOW:HIGH', got {value!r}")

    @property
    def text(self) -> str:
        """The setting as ``/v2m/tempo`` takes it: ``"96"``, ``"auto"``, ``"auto map 70:140"``
        (the default reads ``"auto"``: fitted to the cuts)."""
        if self.bpm is not None:
            return f"{self.bpm:g}"
        words = ["auto", *(["map"] if self.tempo_map else [])]
        if self.tempo_range is not None:
            words.append(f"{self.tempo_range.low:g}:{self.tempo_range.high:g}")
        return " ".join(words)

    def render_fields(self) -> dict[str, object]:
        """The :class:`RenderOptions` fields of this setting."""
        return {"tempo_bpm": self.bpm, "tempo_map": self.tempo_map,
                "tempo_range": self.tempo_range}


def _checked_bpm(bpm: float) -> float:
    if not (math.isfinite(bpm) and MIN_TEMPO_BPM <= bpm <= MAX_TEMPO_BPM):
        raise V2MError(f"tempo must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} bpm, "
                       f"got {bpm:g}")
    return bpm


@dataclass(frozen=True)
class RenderOptions:
    """Everything a render needs besides the video. Parsed and checked on creation."""

    key: str | Key = DEFAULT_KEY_CHOICE  # or "auto": chosen from the video (key_choice.py)
    primer: str = ""
    emotion: str | None = None
    seed: int | None = None  # None: a random seed, recorded in the output
    # a number (fixed), or None / "auto" (the default): fitted to the cuts; a float or None
    # after parsing
    tempo_bpm: float | str | None = None
    checkpoint: str | Path | None = None  # AMT; None: the shipped starter model
    regression_checkpoint: str | Path | None = None  # None: heuristic dynamics
    cut_align: bool = True
    register: str = DEFAULT_REGISTER
    clip_weights: str | Path | None = None  # None: look in the usual places, else fallback
    tempo_range: str | TempoRange | tuple[float, float] | None = None  # for "auto"; default 70:140
    tempo_map: bool = False  # "auto" may change tempo gently between cuts
    harmonic_rhythm: str = DEFAULT_HARMONIC_RHYTHM  # beat, half, bar or 2bars
    sampler: str = "musical"  # "musical" (v2m_bridge.model.musical) or "official" (spec §6)
    texture: str = DEFAULT_TEXTURE  # auto, ballad, pulse, pad or arpeggio (music.arrangement)
    hits_track: bool = True  # low hits and swells on strong cuts
    _primer_chords: tuple[Chord, ...] = field(init=False, repr=False, compare=False, default=())
    _emotion_points: list[tuple[float, str]] | None = field(init=False, repr=False,
                                                            compare=False, default=None)
    _arrange: ArrangeOptions = field(init=False, repr=False, compare=False,
                                     default_factory=ArrangeOptions)

    def __post_init__(self) -> None:
        self._check_tempo()
        if isinstance(self.key, str):
            auto = self.key.strip().lower() == AUTO_KEY
            object.__setattr__(self, "key", AUTO_KEY if auto else parse_key(self.key))
        object.__setattr__(self, "_primer_chords", tuple(parse_chords(self.primer or "")))
        object.__setattr__(self, "_emotion_points",
                           parse_emotion_points(self.emotion) if self.emotion else None)
        object.__setattr__(self, "_arrange", ArrangeOptions(
            key=self.fixed_key,
            tempo_bpm=DEFAULT_TEMPO_BPM if self.tempo_bpm is None else self.tempo_bpm,
            cut_align=self.cut_align, register=self.register,
            harmonic_rhythm=self.harmonic_rhythm, texture=self.texture,
            hits_track=self.hits_track))  # raises GridError / RegisterError / TextureError
        if self.sampler not in SAMPLERS:
            raise V2MError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.seed is not None and not isinstance(self.seed, int):
            raise V2MError(f"seed must be an integer, got {self.seed!r}")

    def _check_tempo(self) -> None:
        tempo = self.tempo_bpm
        if isinstance(tempo, str):
            text = tempo.strip().lower()
            if text == "auto":
                tempo = None
            else:
                try:
                    tempo = float(text)
                except ValueError:
                    raise V2MError(f"--tempo must be a number of bpm or 'auto', got "
                                   f"{self.tempo_bpm!r}") from None
        elif tempo is not None:
            if isinstance(tempo, bool) or not isinstance(tempo, (int, float)):
                raise V2MError(f"--tempo must be a number of bpm or 'auto', got {tempo!r}")
            tempo = float(tempo)
        object.__setattr__(self, "tempo_bpm", tempo)
        if self.tempo_range is not None and not isinstance(self.tempo_range, TempoRange):
            value = (TempoRange.parse(self.tempo_range) if isinstance(self.tempo_range, str)
                     else TempoRange(*self.tempo_range))
            object.__setattr__(self, "tempo_range", value)
        if not self.tempo_auto:
            if self.tempo_map:
                raise V2MError("--tempo-map fits a tempo map to the cuts: use it with "
                               "--tempo auto (or leave --tempo out)")
            if self.tempo_range is not None:
                raise V2MError("--tempo-range is the range --tempo auto searches: use it with "
                               "--tempo auto, or give a fixed --tempo alone")

    @property
    def key_auto(self) -> bool:
        """The key is chosen from the video (``--key auto``, the default)."""
        return self.key == AUTO_KEY

    @property
    def fixed_key(self) -> Key:
        """The given key, or :data:`~v2m_bridge.config.DEFAULT_KEY` for ``auto`` where there is
        no video to read (live mode); renders resolve ``auto`` with :meth:`with_key_for`."""
        return parse_key(DEFAULT_KEY) if self.key_auto else self.key

    def with_key_for(self, features: HasEmotion) -> tuple[RenderOptions, KeyChoice | None]:
        """These options with ``auto`` resolved from ``features`` (any record with an
        ``emotion`` array), and the choice made (None when the key was given)."""
        if not self.key_auto:
            return self, None
        choice = choose_key(features)
        return dataclasses.replace(self, key=choice.key), choice

    @property
    def tempo_auto(self) -> bool:
        """The tempo is fitted to the cuts (``--tempo auto``, and the default)."""
        return self.tempo_bpm is None

    @property
    def search_range(self) -> TempoRange:
        """The range ``--tempo auto`` searches."""
        return self.tempo_range if isinstance(self.tempo_range, TempoRange) else TempoRange()

    @property
    def primer_chords(self) -> tuple[Chord, ...]:
        """Primer chords as written, in :attr:`key`."""
        return self._primer_chords

    @property
    def arrange_options(self) -> ArrangeOptions:
        """How the chords become notes: key, tempo, cut alignment, register and harmonic rhythm
        (the pipeline adds the tempo map it fits)."""
        return self._arrange

    def emotion_override(self, n_seconds: int) -> np.ndarray | None:
        """The ``--emotion`` curve as ``(n_seconds, 6)`` one-hot rows, or ``None``."""
        points = self._emotion_points
        return None if points is None else emotion_curve(points, n_seconds)

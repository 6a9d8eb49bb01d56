"""The daemon's state as immutable values, each replaced whole (one reference assignment), so a
reader on another thread always sees a consistent set."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from v2m_bridge.config import DEFAULT_HARMONIC_RHYTHM, DEFAULT_KEY_CHOICE
from v2m_bridge.music.arrangement import Composition
from v2m_bridge.options import RenderOptions, parse_tempo_setting


@dataclass(frozen=True)
class Settings:
    """Key, primer, emotion, seed, tempo and harmonic rhythm for the next generation, parsed
    once into :attr:`options` (creating one with a value that does not parse raises a
    V2MError)."""

    key: str = DEFAULT_KEY_CHOICE
    primer: str = ""
    emotion: str | None = None  # None: from the video
    seed: int | None = None  # None: a fresh random seed per generation
    tempo: str = ""  # "96", "auto", "auto map", "auto 70:140"...; empty: the default tempo
    harmonic_rhythm: str = DEFAULT_HARMONIC_RHYTHM
    options: RenderOptions = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", RenderOptions(
            key=self.key, primer=self.primer, emotion=self.emotion, seed=self.seed,
            harmonic_rhythm=self.harmonic_rhythm, **parse_tempo_setting(self.tempo)))

    def changed(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)

    def seeded_options(self) -> RenderOptions:
        """:attr:`options` with a concrete seed: the one set, else a fresh random one."""
        if self.seed is not None:
            return self.options
        return dataclasses.replace(self.options, seed=self.run_seed())

    def run_seed(self) -> int:
        return self.seed if self.seed is not None else random.randrange(2**31)


@dataclass(frozen=True)
class Opened:
    """The video opened with ``/v2m/video/open`` and what was made of it."""

    video: str | None = None
    timeline_offset: float = 0.0  # project seconds at media time 0
    features: object = None  # VideoFeatures
    composition: Composition | None = None

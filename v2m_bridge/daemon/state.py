"""The daemon's state as immutable values, each replaced whole (one reference assignment), so a
reader on another thread always sees a consistent set."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from v2m_bridge.config import DEFAULT_HARMONIC_RHYTHM, DEFAULT_KEY_CHOICE
from v2m_bridge.music.arrangement import Composition
from v2m_bridge.options import RenderOptions, TempoSetting


@dataclass(frozen=True)
class Settings:
    """Key, primer, emotion, seed, tempo and harmonic rhythm for the next generation, parsed
    once into :attr:`options` (creating one with a value that does not parse raises a
    V2MError)."""

    key: str = DEFAULT_KEY_CHOICE
    primer: str = ""
    emotion: str | None = None  # None: from the video
    seed: int | None = None  # None: a fresh random seed per generation
    # parsed once from "96", 96, "auto", "auto map", "auto 70:140"...; empty: the default
    tempo: TempoSetting | str | float | None = None
    harmonic_rhythm: str = DEFAULT_HARMONIC_RHYTHM
    options: RenderOptions = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tempo, TempoSetting):
            object.__setattr__(self, "tempo", TempoSetting.parse(self.tempo))
        object.__setattr__(self, "options", RenderOptions(
            key=self.key, primer=self.primer, emotion=self.emotion, seed=self.seed,
            harmonic_rhythm=self.harmonic_rhythm, **self.tempo.render_fields()))

    def options_following(self, daw_bpm: float | None) -> RenderOptions:
        """:attr:`options`, but at the DAW's tempo when one is followed and no tempo was
        given: the music then sits on the project's grid."""
        if daw_bpm is None or self.tempo.given:
            return self.options
        return dataclasses.replace(self.options, tempo_bpm=float(daw_bpm), tempo_map=False,
                                   tempo_range=None)

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

"""Video-side inputs for chord corpora that do not leak the chord (the starter model's recipe).

:mod:`.conditioning` derives emotion from the chord qualities within a few seconds and puts scene
cuts where the chord changes, so in training the inputs reveal the answer: a model trained on
them follows the inputs and learns little about which chord follows which. This recipe keeps
only what a video could plausibly tell about the music, at the time scale a picture changes:

* **emotion**: the *section's* mood. The chord qualities' official emotion votes are averaged
  over a long window (±15–40 s, drawn per song), mixed with neutral mass, sharpened, jittered,
  and replaced by plain neutral for some songs and for random stretches of the others (dropout).
  So "sad" means "this part of the song leans minor", not "the next chord is minor".
* **scene offset**: cuts at random times (a Poisson process with a per-song rate), independent
  of the chords. *When* the harmony changes is decided at generation time from the picture's
  cuts and the musical grid (:mod:`v2m_bridge.music.harmonic_rhythm`), not learned from cuts.
* **motion**: a per-song level with slow random drift and a jump at each cut, independent of
  the chords.
* **semantic**: none (zeros), as in :mod:`.conditioning`.

All randomness comes from a generator seeded per song, so an import is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m_bridge.data.conditioning import DerivedConditioning
from v2m_bridge.data.emotion_map import NEUTRAL_INDEX, QUALITY_AFFINITY_TABLE
from v2m_bridge.features import scene_offsets_from_cuts
from v2m_bridge.vocab import Chord


@dataclass(frozen=True)
class SectionRecipe:
    """The knobs of the non-leaking derivation; the defaults made the shipped starter model."""

    emotion_half_window: tuple[int, int] = (15, 40)  # seconds either side, drawn per song
    neutral_mass: tuple[float, float] = (0.1, 0.5)  # share mixed into every second, per song
    emotion_sharpness: tuple[float, float] = (1.0, 4.0)  # log-space gain, per song
    emotion_jitter: float = 0.3  # std of per-second log-space noise
    song_dropout: float = 0.2  # share of songs whose emotion is plain neutral
    span_dropout: float = 0.15  # share of each other song's seconds set to neutral, in stretches
    span_length: tuple[int, int] = (10, 40)  # seconds per neutral stretch
    cut_interval: tuple[float, float] = (4.0, 30.0)  # mean seconds between cuts, per song
    motion_level: tuple[float, float] = (0.3, 25.0)  # per-song level, drawn log-uniformly
    motion_drift: float = 0.15  # std of the per-second log-space random walk step


SECTION_RECIPE = SectionRecipe()


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def section_emotion(chords: list[Chord] | tuple[Chord, ...], rng: np.random.Generator,
                    recipe: SectionRecipe = SECTION_RECIPE) -> np.ndarray:
    """``(T, 6)`` float32 probabilities (rows sum to 1) that follow the section's mood."""
    n = len(chords)
    neutral_row = np.zeros(6)
    neutral_row[NEUTRAL_INDEX] = 1.0
    if n == 0:
        return np.zeros((0, 6), dtype=np.float32)
    if rng.random() < recipe.song_dropout:
        return np.tile(neutral_row, (n, 1)).astype(np.float32)
    votes = QUALITY_AFFINITY_TABLE[[chord.quality_id for chord in chords]]
    half = int(rng.integers(recipe.emotion_half_window[0], recipe.emotion_half_window[1] + 1))
    cumulative = np.vstack([np.zeros((1, 6)), np.cumsum(votes, axis=0)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    smoothed = (cumulative[hi] - cumulative[lo]) / (hi - lo)[:, None]
    neutral = _uniform(rng, recipe.neutral_mass)
    smoothed = (1 - neutral) * smoothed + neutral * neutral_row
    logits = np.log(smoothed + 0.02) * _uniform(rng, recipe.emotion_sharpness)
    logits += rng.normal(0.0, recipe.emotion_jitter, size=logits.shape)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    dropped = 0
    target = recipe.span_dropout * n
    while dropped < target:
        length = int(rng.integers(recipe.span_length[0], recipe.span_length[1] + 1))
        start = int(rng.integers(0, n))
        probs[start:start + length] = neutral_row
        dropped += length
    return probs.astype(np.float32)


def random_cuts(n_seconds: int, rng: np.random.Generator,
                recipe: SectionRecipe = SECTION_RECIPE) -> list[int]:
    """Scene starts (always including 0) from a Poisson process, blind to the music."""
    rate = 1.0 / _uniform(rng, recipe.cut_interval)
    count = rng.poisson(rate * n_seconds)
    cuts = {0} | {int(s) for s in rng.integers(0, max(n_seconds, 1), size=count)}
    return sorted(s for s in cuts if s < max(n_seconds, 1))


def random_motion(n_seconds: int, cuts: list[int], rng: np.random.Generator,
                  recipe: SectionRecipe = SECTION_RECIPE) -> np.ndarray:
    """``(T,)`` float32 on the 0–255 scale: a drifting per-song level, higher at cuts."""
    if n_seconds == 0:
        return np.zeros(0, dtype=np.float32)
    low, high = np.log(recipe.motion_level[0]), np.log(recipe.motion_level[1])
    walk = np.cumsum(rng.normal(0.0, recipe.motion_drift, size=n_seconds))
    motion = np.exp(rng.uniform(low, high) + walk - walk.mean())
    for cut in cuts[1:]:
        motion[cut] += rng.uniform(20.0, 60.0)
    motion[0] = 0.0
    return np.clip(motion, 0.0, 255.0).astype(np.float32)


def derive_section_conditioning(chords: list[Chord] | tuple[Chord, ...], seed: int,
                                recipe: SectionRecipe = SECTION_RECIPE) -> DerivedConditioning:
    """All non-leaking video-side inputs of one song, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    n = len(chords)
    cuts = random_cuts(n, rng, recipe)
    return DerivedConditioning(
        emotion=section_emotion(chords, rng, recipe),
        scene_offset=scene_offsets_from_cuts(cuts, n),
        motion=random_motion(n, cuts, rng, recipe),
        cuts=cuts,
    )

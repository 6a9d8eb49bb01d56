"""Video-side inputs for songs that have no video.

The chord corpora carry no paired video, yet the AMT must learn to follow the per-second video
features it receives at inference. We derive each feature from the music so that it carries the
link we want the model to learn, with noise so that the link is loose, like a real video's:

* **emotion** (6 probabilities, official column order): each second's chord quality votes for the
  emotions whose official quality set contains it (spec §5.5; N, aug and min6 vote neutral); the
  votes are averaged over a window of a few seconds (a video's mood moves slower than its chords),
  mixed with some neutral mass, sharpened and jittered in log space, and renormalised. So "sad"
  means "minor chords around here", "exciting" means "major, sus4 and dominant chords around here".
* **scene offset** (seconds since the current scene began + 1, the in-memory convention of
  :func:`v2m_bridge.features.scene_offsets_from_cuts`): cuts are placed at section starts and
  most phrase starts, sometimes halfway through a phrase or at another chord change, but only
  where the chord changes, plus a few random cuts (one per minute on average), so a cut nearly
  always coincides with a chord change.
* **motion** (0–255 frame-difference scale): grows with the local harmonic rhythm (chord changes
  per second around each second), times log-normal noise; ``motion[0] = 0`` as in the official
  extractor.
* **semantic** (CLIP): nothing in a chord annotation says what a picture shows, so the
  corpus import writes no semantic files and the reader feeds zeros.

All randomness comes from a generator seeded per song, so an import is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from v2m_bridge.data.emotion_map import NEUTRAL_INDEX, QUALITY_AFFINITY_TABLE
from v2m_bridge.features import EMOTION_DIM, scene_offsets_from_cuts
from v2m_bridge.vocab import Chord


@dataclass(frozen=True)
class ConditioningRecipe:
    """The knobs of the derivation; the defaults made the shipped starter model."""

    emotion_half_window: tuple[int, int] = (2, 6)  # seconds either side, drawn per song
    neutral_mass: tuple[float, float] = (0.05, 0.3)  # share mixed into every second, per song
    emotion_sharpness: tuple[float, float] = (1.0, 3.0)  # log-space gain, per song
    emotion_jitter: float = 0.3  # std of per-second log-space noise
    section_cut_prob: float = 0.95
    phrase_cut_prob: float = 0.75
    half_phrase_cut_prob: float = 0.25
    other_change_cut_prob: float = 0.2  # any other chord change
    cuts_need_a_change: bool = True  # phrase/section cuts only where the chord changes
    random_cuts_per_second: float = 1 / 60
    motion_scale: tuple[float, float] = (2.0, 8.0)  # per song
    motion_window: int = 2  # seconds either side for the harmonic rhythm
    motion_noise: float = 0.35  # std of the log-normal factor


DEFAULT_RECIPE = ConditioningRecipe()


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def derive_emotion(chords: list[Chord] | tuple[Chord, ...], rng: np.random.Generator,
                   recipe: ConditioningRecipe = DEFAULT_RECIPE) -> np.ndarray:
    """``(T, 6)`` float32 probabilities (rows sum to 1) that follow the chords' qualities."""
    n = len(chords)
    if n == 0:
        return np.zeros((0, EMOTION_DIM), dtype=np.float32)
    votes = QUALITY_AFFINITY_TABLE[[chord.quality_id for chord in chords]]
    half = int(rng.integers(recipe.emotion_half_window[0], recipe.emotion_half_window[1] + 1))
    kernel = np.ones(2 * half + 1)
    padded = np.pad(votes, ((half, half), (0, 0)), mode="edge")
    smoothed = np.stack([np.convolve(padded[:, e], kernel, mode="valid")
                         for e in range(EMOTION_DIM)], 1)
    smoothed /= smoothed.sum(axis=1, keepdims=True)
    neutral = _uniform(rng, recipe.neutral_mass)
    smoothed = (1 - neutral) * smoothed
    smoothed[:, NEUTRAL_INDEX] += neutral
    logits = np.log(smoothed + 0.02) * _uniform(rng, recipe.emotion_sharpness)
    logits += rng.normal(0.0, recipe.emotion_jitter, size=logits.shape)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def derive_cuts(chords: list[Chord] | tuple[Chord, ...], phrase_starts: tuple[int, ...] | list[int],
                section_starts: tuple[int, ...] | list[int], rng: np.random.Generator,
                recipe: ConditioningRecipe = DEFAULT_RECIPE) -> list[int]:
    """Seconds where a new scene starts (always including 0), sorted."""
    n_seconds = len(chords)
    changes = {t for t in range(1, n_seconds) if chords[t] != chords[t - 1]}

    def allowed(second: int) -> bool:
        return not recipe.cuts_need_a_change or second in changes

    cuts = {0}
    cuts.update(s for s in section_starts
                if allowed(s) and rng.random() < recipe.section_cut_prob)
    phrases = sorted(set(phrase_starts))
    cuts.update(s for s in phrases if allowed(s) and rng.random() < recipe.phrase_cut_prob)
    for start, end in pairwise(phrases):
        middle = (start + end) // 2
        if end - start >= 4 and allowed(middle) and rng.random() < recipe.half_phrase_cut_prob:
            cuts.add(middle)
    cuts.update(s for s in sorted(changes - cuts) if rng.random() < recipe.other_change_cut_prob)
    n_random = rng.poisson(recipe.random_cuts_per_second * n_seconds)
    cuts.update(int(s) for s in rng.integers(0, max(n_seconds, 1), size=n_random))
    return sorted(s for s in cuts if 0 <= s < max(n_seconds, 1))


def derive_motion(chords: list[Chord] | tuple[Chord, ...], rng: np.random.Generator,
                  recipe: ConditioningRecipe = DEFAULT_RECIPE) -> np.ndarray:
    """``(T,)`` float32 on the 0–255 frame-difference scale, higher where chords change faster."""
    n = len(chords)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    changes = np.zeros(n)
    changes[1:] = [a != b for a, b in pairwise(chords)]
    width = 2 * recipe.motion_window + 1
    rate = np.convolve(changes, np.ones(width) / width, mode="same")
    noise = rng.lognormal(0.0, recipe.motion_noise, size=n)
    motion = _uniform(rng, recipe.motion_scale) * (0.5 + 4.0 * rate) * noise
    motion[0] = 0.0
    return motion.astype(np.float32)


@dataclass(frozen=True)
class DerivedConditioning:
    emotion: np.ndarray  # (T, EMOTION_DIM)
    scene_offset: np.ndarray  # (T,) +1 convention (1 at a cut)
    motion: np.ndarray  # (T,)
    cuts: list[int]


def derive_conditioning(chords: list[Chord] | tuple[Chord, ...],
                        phrase_starts: tuple[int, ...] | list[int],
                        section_starts: tuple[int, ...] | list[int], seed: int,
                        recipe: ConditioningRecipe = DEFAULT_RECIPE) -> DerivedConditioning:
    """All derived video-side inputs of one song, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    n = len(chords)
    cuts = derive_cuts(chords, phrase_starts, section_starts, rng, recipe)
    return DerivedConditioning(
        emotion=derive_emotion(chords, rng, recipe),
        scene_offset=scene_offsets_from_cuts(cuts, n),
        motion=derive_motion(chords, rng, recipe),
        cuts=cuts,
    )

"""Video-side inputs derived from a song **without leaking its chords second by second**.

The chord corpora have no pictures, so the starter embedding is trained on "videos" made from the
music. :mod:`v2m_bridge.data.conditioning` (the chord model's recipe) averaged chord qualities over
±2–6 s and put cuts only where the chord changes, so its inputs reveal the answer. Here nothing
per-second comes from the chords at that second:

* the song is cut into **sections** (Billboard's labelled sections; else every 4th phrase start;
  else 30 s blocks; sections under 8 s are merged);
* **emotion** is one vector per section: the official quality↔emotion votes averaged over the
  whole section, mixed with 10–40 % neutral, sharpened and shifted by per-section log-space
  noise; 20 % of sections get a random emotion instead. Per-second jitter is independent noise,
  and a 5 s moving average blends section borders;
* **cuts** come at a per-section rate: the section's chord changes per second times a per-song
  factor of 0.3–0.9 and log-normal noise (clipped to one cut per 1.5–30 s). About 60 % of the
  cuts sit on the song's phrase starts (structure, not chords; 40 % of those jittered by a
  second), the rest at random seconds, and a section start is a cut with probability 0.7;
* **motion** (0–255 scale) is a per-section level from the same coarse harmonic rhythm, times
  per-second log-normal noise, with a bump at cuts.

So the derived side tells the mood and pace of each section, and where phrases begin, but not
which chord sounds at which second. Evaluation uses held-out songs only (the corpora's hashed
song split) and a separate seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m_bridge.data.emotion_map import NEUTRAL_INDEX
from v2m_bridge.retrieval.music_features import (
    MusicFeatures,
    chord_change_rate,
    emotion_histogram,
)

MIN_SECTION_S = 8
BLOCK_S = 30


@dataclass(frozen=True)
class DerivedRecipe:
    neutral_mass: tuple[float, float] = (0.1, 0.4)
    sharpness: tuple[float, float] = (1.0, 3.0)
    section_noise: float = 0.5  # std of per-section log-space noise
    second_noise: float = 0.25  # std of per-second log-space noise
    drop_section: float = 0.2  # chance that a section gets a random emotion
    cut_factor: tuple[float, float] = (0.3, 0.9)
    cut_noise: float = 0.4
    phrase_share: float = 0.6
    phrase_jitter: float = 0.4
    section_cut_prob: float = 0.7
    motion_scale: tuple[float, float] = (2.0, 8.0)
    motion_noise: float = 0.35


DEFAULT_DERIVED_RECIPE = DerivedRecipe()


@dataclass(frozen=True)
class DerivedVideo:
    emotion: np.ndarray  # (T, 6)
    scene_offset: np.ndarray  # (T,) official +1 convention (1 at a cut)
    motion: np.ndarray  # (T,)
    cuts: tuple[int, ...]  # seconds that start a scene (0 included)


def sections_of(music: MusicFeatures) -> list[tuple[int, int]]:
    """``[start, end)`` sections of at least :data:`MIN_SECTION_S` seconds (where possible)."""
    n = music.n_seconds
    if music.section_starts:
        starts = sorted(set(music.section_starts) | {0})
    elif len(music.phrase_starts) >= 2:
        starts = sorted(set(music.phrase_starts[::4]) | {0})
    else:
        starts = list(range(0, n, BLOCK_S))
    merged = [0]
    for start in starts[1:]:
        if start - merged[-1] >= MIN_SECTION_S and n - start >= MIN_SECTION_S // 2:
            merged.append(start)
    ends = [*merged[1:], n]
    return [(s, e) for s, e in zip(merged, ends, strict=True) if e > s]


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    if len(values) < 2:
        return values
    half = width // 2
    padded = np.pad(values, ((half, half), (0, 0)), mode="edge")
    kernel = np.ones(width) / width
    return np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in
                     range(values.shape[1])], axis=1)


def derive_video(music: MusicFeatures, rng: np.random.Generator,
                 recipe: DerivedRecipe = DEFAULT_DERIVED_RECIPE) -> DerivedVideo:
    """One derived "video" for ``music`` (new noise for every ``rng`` state)."""
    n = music.n_seconds
    sections = sections_of(music)
    neutral = rng.uniform(*recipe.neutral_mass)
    sharp = rng.uniform(*recipe.sharpness)
    cut_factor = rng.uniform(*recipe.cut_factor)
    motion_scale = rng.uniform(*recipe.motion_scale)
    logits = np.zeros((n, 6))
    motion_level = np.zeros(n)
    cuts = {0}
    phrases = np.asarray(music.phrase_starts, dtype=np.int64)
    for start, end in sections:
        chords = music.chord_ids[start:end]
        if rng.random() < recipe.drop_section:
            votes = rng.dirichlet(np.ones(6))
        else:
            votes = emotion_histogram(chords)
        votes = (1 - neutral) * votes
        votes[NEUTRAL_INDEX] += neutral
        section_logits = sharp * np.log(votes + 0.02) + rng.normal(0, recipe.section_noise, 6)
        logits[start:end] = section_logits
        rate = chord_change_rate(chords)
        cut_rate = np.clip(rate * cut_factor * rng.lognormal(0, recipe.cut_noise), 1 / 30, 1 / 1.5)
        motion_level[start:end] = 0.5 + 4.0 * rate * rng.lognormal(0, 0.3)
        length = end - start
        if start > 0 and rng.random() < recipe.section_cut_prob:
            cuts.add(start)
        n_cuts = rng.poisson(cut_rate * length)
        inside = phrases[(phrases > start) & (phrases < end)]
        rng.shuffle(inside)
        n_phrase = min(len(inside), round(n_cuts * recipe.phrase_share))
        for second in inside[:n_phrase]:
            if rng.random() < recipe.phrase_jitter:
                second += int(rng.choice((-1, 1)))
            cuts.add(int(np.clip(second, start, end - 1)))
        cuts.update(int(s) for s in rng.integers(start, end, size=n_cuts - n_phrase))
    logits += rng.normal(0, recipe.second_noise, size=logits.shape)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    emotion = _moving_average(probs, 5)
    emotion /= emotion.sum(axis=1, keepdims=True)
    cut_list = sorted(c for c in cuts if 0 <= c < n)
    offsets = np.zeros(n, dtype=np.float32)
    cut_set = set(cut_list)
    for second in range(1, n):
        offsets[second] = 0.0 if second in cut_set else offsets[second - 1] + 1.0
    motion = motion_scale * motion_level * rng.lognormal(0, recipe.motion_noise, size=n)
    for cut in cut_list[1:]:
        motion[cut] *= rng.uniform(1.5, 3.0)
    motion[0] = 0.0
    return DerivedVideo(emotion=emotion.astype(np.float32), scene_offset=offsets + 1.0,
                        motion=np.clip(motion, 0, 255).astype(np.float32), cuts=tuple(cut_list))

"""Honest musical figures: what a composer would hear, measured against held-out songs.

:mod:`.evaluate` scores the model with the video-side inputs of the training recipe. When those
inputs are derived from the chords they reveal the answer, so this module measures with inputs
that carry no chord information, and measures free generation the way a user gets it:

* :class:`ChangeBigram`: a bigram of chord *changes* (runs of one chord collapsed) counted on the
  training split, in the C major / A minor frame. :func:`idiom_score` is the mean log-probability
  per change under it (add-one-smoothed unigram backoff, weight :data:`BACKOFF`), and
  :func:`unseen_share` the share of changes never seen in training;
* :func:`in_key_share` (from :mod:`v2m_bridge.model.musical`): seconds whose chord tones all lie
  in the key's scale;
* :func:`run_lengths`: how long each chord is held;
* :func:`teacher_forced_hits_blind`: next-second Hits@1 on held-out songs with *neutral* inputs
  (one long scene, no motion, neutral emotion) or with *another song's* inputs, next to "the
  previous chord goes on".

``benchmarks/bench_musicality.py`` runs all of them, plus the render-level figures (videos, drift
over a long input, the emotion override, permuted seconds).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from v2m_bridge.data.dataset import Window, collate, tiled_windows
from v2m_bridge.data.emotion_map import EMOTION_QUALITIES
from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.model.musical import in_key_share
from v2m_bridge.training.evaluate import hits_at_k
from v2m_bridge.training.train import amt_logits
from v2m_bridge.vocab import END_CHORD_ID, N_CHORD_ID, Chord, chord_from_id

BACKOFF = 1.0  # pseudo-count of the unigram backoff in the change bigram
N_CHORDS = 156

__all__ = ["ChangeBigram", "changes", "idiom_score", "in_key_share", "run_lengths",
           "shuffled_changes", "teacher_forced_hits_blind", "unseen_share"]


def _ids(chords: Iterable[Chord | int]) -> list[int]:
    return [c if isinstance(c, int) else c.id for c in chords]


def collapse(chords: Iterable[Chord | int]) -> list[int]:
    """Chord ids with repeats collapsed and N dropped: the sequence of changes."""
    out: list[int] = []
    for chord_id in _ids(chords):
        if chord_id == N_CHORD_ID or chord_id >= END_CHORD_ID:
            continue
        if not out or out[-1] != chord_id:
            out.append(chord_id)
    return out


def changes(chords: Iterable[Chord | int]) -> list[tuple[int, int]]:
    """Consecutive (from, to) pairs of :func:`collapse`."""
    sequence = collapse(chords)
    return list(itertools.pairwise(sequence))


class ChangeBigram:
    """Counts of chord changes; ``log_prob(a, b)`` = log P(next chord b | chord a changes)."""

    def __init__(self, sequences: Iterable[Iterable[Chord | int]]) -> None:
        self.pairs: Counter = Counter()
        for sequence in sequences:
            self.pairs.update(changes(sequence))
        self.from_counts: Counter = Counter()
        self.to_counts: Counter = Counter()
        for (a, b), count in self.pairs.items():
            self.from_counts[a] += count
            self.to_counts[b] += count
        self.total = sum(self.to_counts.values())

    def unigram(self, b: int) -> float:
        return (self.to_counts[b] + 0.5) / (self.total + 0.5 * N_CHORDS)

    def log_prob(self, a: int, b: int) -> float:
        # P(b | a) over b != a: the backoff excludes a itself
        backoff = self.unigram(b) / max(1e-12, 1.0 - self.unigram(a))
        return math.log((self.pairs[(a, b)] + BACKOFF * backoff) / (self.from_counts[a] + BACKOFF))

    def seen(self, a: int, b: int) -> bool:
        return self.pairs[(a, b)] > 0


def idiom_score(bigram: ChangeBigram, sequences: Iterable[Iterable[Chord | int]]) -> float:
    """Mean log-probability per chord change over all ``sequences``."""
    scores = [bigram.log_prob(a, b) for seq in sequences for a, b in changes(seq)]
    return float(np.mean(scores)) if scores else float("nan")


def unseen_share(bigram: ChangeBigram, sequences: Iterable[Iterable[Chord | int]]) -> float:
    """Share of chord changes never seen in the bigram's training songs."""
    flags = [not bigram.seen(a, b) for seq in sequences for a, b in changes(seq)]
    return float(np.mean(flags)) if flags else float("nan")


def shuffled_changes(chords: Sequence[Chord | int], rng: np.random.Generator) -> list[int]:
    """The same song's changes in a random order (the chords kept, their order lost)."""
    sequence = collapse(chords)
    return [sequence[i] for i in rng.permutation(len(sequence))]


def run_lengths(chords: Sequence[Chord | int]) -> list[int]:
    """Seconds each chord is held (one chord per second in, runs out)."""
    ids = _ids(chords)
    lengths: list[int] = []
    for index, chord_id in enumerate(ids):
        if index and chord_id == ids[index - 1]:
            lengths[-1] += 1
        else:
            lengths.append(1)
    return lengths


def song_chords(song) -> list[Chord]:
    """A dataset song's chords as :class:`Chord` objects (N kept)."""
    return [chord_from_id(int(c)) for c in song.chord_ids if c < END_CHORD_ID]


def _neutral_batch(batch: dict) -> dict:
    b, length = batch["x"].shape
    emotion = torch.zeros(b, length, 6)
    emotion[..., -1] = 1.0
    return {**batch, "emotion": emotion, "motion": torch.zeros(b, length),
            "scene_offset": torch.arange(1, length + 1, dtype=torch.float32).expand(b, length)}


@torch.no_grad()
def teacher_forced_hits_blind(model, songs, window: int, inputs: str = "neutral",
                              batch_size: int = 32, seed: int = 0) -> tuple[float, float, int]:
    """(model Hits@1, "previous chord goes on" Hits@1, targets) with chord-blind inputs.

    ``inputs``: ``"neutral"`` (one long scene, no motion, neutral emotion) or ``"other"`` (each
    window gets the video-side inputs of a window from another song).
    """
    if inputs not in ("neutral", "other"):
        raise ValueError(f"inputs must be 'neutral' or 'other', got {inputs!r}")
    model.eval()
    windows = tiled_windows(songs, window)
    donors = list(range(len(windows)))
    if inputs == "other":
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(windows))
        # a cyclic shift over a shuffled order never maps a window to its own song's windows
        # unless that song dominates; re-draw those few
        donors = [0] * len(windows)
        for position, index in enumerate(order):
            donor = order[(position + 1) % len(order)]
            tries = 0
            while windows[donor].song is windows[index].song and tries < 50:
                donor = int(rng.integers(len(windows)))
                tries += 1
            donors[index] = int(donor)
    hits = count = repeat_hits = 0
    for start in range(0, len(windows), batch_size):
        group = windows[start:start + batch_size]
        batch = collate(group, with_semantic=False)
        if inputs == "neutral":
            batch = _neutral_batch(batch)
        else:
            donor = collate([_resized(windows[donors[start + i]], w.length)
                             for i, w in enumerate(group)], with_semantic=False)
            for name in ("emotion", "motion", "scene_offset"):
                batch[name] = _fit(donor[name], batch[name].shape)
        batch = {k: v.to(model.device) for k, v in batch.items()}
        logits = amt_logits(model, batch, True)
        (hit, counted), = hits_at_k(logits, batch["tgt"], (1,)).values()
        hits += hit
        count += counted
        valid = batch["tgt"] != 158
        repeat_hits += int((batch["x"] == batch["tgt"])[valid].sum())
    return hits / max(count, 1), repeat_hits / max(count, 1), count


def _resized(window, length: int):
    usable = len(window.song) - 1
    start = max(0, min(window.start, usable - length))
    return Window(window.song, start, min(length, usable - start))


def _fit(tensor: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    out = torch.zeros(shape, dtype=tensor.dtype)
    length = min(tensor.shape[1], shape[1])
    out[:, :length] = tensor[:, :length]
    if length < shape[1]:  # a shorter donor: continue its last scene, hold its last values
        out[:, length:] = tensor[:, length - 1:length]
    return out


# --------------------------------------------------------------------------------------------
# Variety, loops and colour (issue 22): per-sequence figures, compared two-sided with real songs


def top_share(chords: Sequence[Chord | int], k: int = 3) -> float:
    """Share of chord changes that arrive on one of the sequence's ``k`` most used chords
    (counted as arrivals in :func:`collapse`); NaN with no change."""
    sequence = collapse(chords)
    if len(sequence) < 2:
        return float("nan")
    counts = Counter(sequence[1:])
    top = {chord for chord, _ in counts.most_common(k)}
    return sum(chord in top for chord in sequence[1:]) / (len(sequence) - 1)


def alternation_share(chords: Sequence[Chord | int]) -> float:
    """Share of chord changes that continue a two-chord ping-pong: the change that makes
    A-B-A-**B** (``x[i] == x[i-2]`` and ``x[i-1] == x[i-3]`` in :func:`collapse`); NaN with
    no change."""
    sequence = collapse(chords)
    if len(sequence) < 2:
        return float("nan")
    pings = sum(sequence[i] == sequence[i - 2] and sequence[i - 1] == sequence[i - 3]
                for i in range(3, len(sequence)))
    return pings / (len(sequence) - 1)


def distinct_chords(chords: Sequence[Chord | int]) -> int:
    """How many different chords (N not counted) the sequence uses."""
    return len(set(collapse(chords)))


def opening(chords: Sequence[Chord | int], seconds: int) -> list[Chord]:
    """The first ``seconds`` seconds of a song after its leading no-chord seconds (intros of
    silence or noise): real songs of the same length as a render."""
    ids = _ids(chords)
    start = next((i for i, c in enumerate(ids) if c != N_CHORD_ID), len(ids))
    return [chord_from_id(c) for c in ids[start:start + seconds]]


def emotion_correspondence(chords: Sequence[Chord],
                           emotion: np.ndarray) -> dict[str, tuple[int, int]]:
    """Per emotion: (seconds whose chord quality is in the official table's set for that
    emotion, seconds whose dominant emotion it is), over seconds whose dominant emotion is not
    neutral. ``emotion`` is ``(T, 6)`` in EMOTION_LABELS order, one row per chord."""
    counts = {label: [0, 0] for label in EMOTION_LABELS if label != "neutral"}
    for chord, row in zip(chords, np.asarray(emotion), strict=False):
        label = EMOTION_LABELS[int(np.argmax(row))]
        if label == "neutral":
            continue
        counts[label][1] += 1
        counts[label][0] += int(not chord.is_none and chord.quality in EMOTION_QUALITIES[label])
    return {label: (fit, total) for label, (fit, total) in counts.items()}


def quartiles(values: Iterable[float]) -> tuple[float, float, float]:
    """(median, lower quartile, upper quartile), NaNs dropped."""
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return (float("nan"),) * 3
    q1, median, q3 = np.percentile(clean, [25, 50, 75])
    return float(median), float(q1), float(q3)

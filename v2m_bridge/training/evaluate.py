"""Evaluation of an AMT on a held-out split of a MuVi-Sync layout folder.

Two kinds of figures:

* **teacher forced** (the paper's metric): next-chord Hits@1/3/5 over every target second, next to
  two baselines that need no model: the unigram prior (the k chords most frequent in the training
  split) and "the chord goes on" (the previous chord, for Hits@1 only; chords last several
  seconds, so this one is hard to beat);
* **generated**, one chord per second from each song's video-side inputs with the default
  sampler (which allows a chord at most 2 seconds in a row): the share of the 6 most common
  generated chords (variety), how often the chord changes at a scene cut versus elsewhere (also
  without the repeat cap, which forces frequent changes and hides the cut effect), and the
  minor-family share when the emotion input is overridden with "sad" versus "exciting".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from v2m_bridge.data.dataset import collate, tiled_windows
from v2m_bridge.data.muvi_sync import Song, read_split
from v2m_bridge.emotion import emotion_vector
from v2m_bridge.features import EMOTION_LABELS, SEMANTIC_DIM
from v2m_bridge.model import ConditioningInputs, GenerationOptions, generate_chords
from v2m_bridge.training.train import amt_logits
from v2m_bridge.vocab import (
    A_MINOR,
    C_MAJOR,
    END_CHORD_ID,
    MINOR_FAMILY,
    PAD_CHORD_ID,
    Chord,
    chord_from_id,
)

HITS_K = (1, 3, 5)


# ---------------------------------------------------------------------------------------------
# Metric functions on plain data


def hits_at_k(logits: torch.Tensor, targets: torch.Tensor, ks: Sequence[int] = HITS_K
              ) -> dict[int, tuple[int, int]]:
    """``{k: (hits, counted)}``: targets (``(B, L)``, PAD ignored) within the top k logits."""
    valid = targets != PAD_CHORD_ID
    ranked = logits.topk(max(ks), dim=-1).indices
    found = ranked == targets.unsqueeze(-1)
    return {k: (int(found[..., :k].any(-1)[valid].sum()), int(valid.sum())) for k in ks}


def unigram_hits(train_counts: Counter, targets: Sequence[int], ks: Sequence[int] = HITS_K
                 ) -> dict[int, float]:
    """Hits@k of always predicting the k most frequent training chords."""
    ranked = [chord for chord, _ in train_counts.most_common(max(ks))]
    total = max(len(targets), 1)
    return {k: sum(t in ranked[:k] for t in targets) / total for k in ks}


def top_share(chords: Sequence[Chord], n: int = 6) -> float:
    """Share of all chords taken by the ``n`` most common ones."""
    if not chords:
        return 0.0
    return sum(count for _, count in Counter(chords).most_common(n)) / len(chords)


def change_rates(chords: Sequence[Chord], scene_offset: np.ndarray
                 ) -> tuple[list[bool], list[bool]]:
    """Whether the chord changes at each cut second and at each other second (second 0 excluded).

    ``scene_offset`` uses the loader convention (1.0 at the first second of a scene).
    """
    at_cut, elsewhere = [], []
    for second in range(1, min(len(chords), len(scene_offset))):
        changed = chords[second] != chords[second - 1]
        (at_cut if scene_offset[second] == 1.0 else elsewhere).append(changed)
    return at_cut, elsewhere


def minor_share(chords: Sequence[Chord]) -> float:
    """Share of chords whose quality is in :data:`v2m_bridge.vocab.MINOR_FAMILY`."""
    if not chords:
        return 0.0
    return sum(c.quality in MINOR_FAMILY for c in chords) / len(chords)


def _mean(values: Sequence[bool]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class EvalReport:
    split: str
    songs: int
    target_seconds: int
    hits: dict[int, float]
    unigram_hits: dict[int, float]
    previous_chord_hits1: float
    generated_songs: int
    generated_seconds: int
    top6_share_generated: float
    top6_share_reference: float
    change_at_cut_generated: float
    change_elsewhere_generated: float
    change_at_cut_reference: float
    change_elsewhere_reference: float
    change_at_cut_no_repeat_cap: float  # sampler without the 2-repeat cap
    change_elsewhere_no_repeat_cap: float
    minor_share_sad: float
    minor_share_exciting: float
    minor_share_reference: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    def to_markdown(self) -> str:
        def pct(x: float) -> str:
            return f"{100 * x:.1f}%"

        rows = [
            ("Hits@1 / @3 / @5 (model)", " / ".join(pct(self.hits[k]) for k in HITS_K)),
            ("Hits@1 / @3 / @5 (unigram prior)",
             " / ".join(pct(self.unigram_hits[k]) for k in HITS_K)),
            ("Hits@1 (previous chord goes on)", pct(self.previous_chord_hits1)),
            ("share of the 6 most common chords, generated (data)",
             f"{pct(self.top6_share_generated)} ({pct(self.top6_share_reference)})"),
            ("chord changes at a scene cut, generated (data)",
             f"{pct(self.change_at_cut_generated)} ({pct(self.change_at_cut_reference)})"),
            ("chord changes elsewhere, generated (data)",
             f"{pct(self.change_elsewhere_generated)} ({pct(self.change_elsewhere_reference)})"),
            ("chord changes at a cut / elsewhere, sampler without the repeat cap",
             f"{pct(self.change_at_cut_no_repeat_cap)} / "
             f"{pct(self.change_elsewhere_no_repeat_cap)}"),
            ("minor-family share, emotion 'sad'", pct(self.minor_share_sad)),
            ("minor-family share, emotion 'exciting'", pct(self.minor_share_exciting)),
            ("minor-family share, data", pct(self.minor_share_reference)),
        ]
        lines = [f"Split `{self.split}`: {self.songs} songs, {self.target_seconds} next-chord "
                 f"targets; generation on {self.generated_songs} songs, "
                 f"{self.generated_seconds} s each condition.", "",
                 "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        return "\n".join(lines)


def _inputs_for(song: Song, seconds: int) -> ConditioningInputs:
    n = min(seconds, len(song), len(song.scene_offset), len(song.motion), len(song.emotion))
    semantic = (song.semantic[:n] if song.semantic is not None and len(song.semantic) >= n
                else np.zeros((n, SEMANTIC_DIM), dtype=np.float32))
    return ConditioningInputs(semantic, song.scene_offset[:n], song.motion[:n], song.emotion[:n])


@torch.no_grad()
def teacher_forced_hits(model, songs: Sequence[Song], window: int, batch_size: int = 32
                        ) -> tuple[dict[int, float], int]:
    model.eval()
    ignore_semantic = all(s.semantic is None for s in songs)
    totals = {k: [0, 0] for k in HITS_K}
    windows = tiled_windows(songs, window)
    for start in range(0, len(windows), batch_size):
        batch = collate(windows[start:start + batch_size], with_semantic=not ignore_semantic)
        batch = {k: v.to(model.device) for k, v in batch.items()}
        logits = amt_logits(model, batch, ignore_semantic)
        for k, (hit, count) in hits_at_k(logits, batch["tgt"]).items():
            totals[k][0] += hit
            totals[k][1] += count
    counted = totals[HITS_K[0]][1]
    return {k: hit / max(count, 1) for k, (hit, count) in totals.items()}, counted


def evaluate_amt(model, data_dir: Path, split: str = "test", *, generate_songs: int = 40,
                 generate_seconds: int = 120, seed: int = 0, window: int | None = None,
                 progress: bool = False) -> EvalReport:
    """All figures of :class:`EvalReport` for ``model`` on one split of ``data_dir``."""
    data_dir = Path(data_dir)
    songs = read_split(data_dir, split)
    train_songs = read_split(data_dir, "train")
    window = window or min(model.config.max_sequence_chord, model.config.max_sequence_video)
    hits, counted = teacher_forced_hits(model, songs, window)

    train_counts = Counter(int(c) for s in train_songs for c in s.chord_ids[1:])
    targets = [int(c) for s in songs for c in s.chord_ids[1:]]
    previous = [int(c) for s in songs for c in s.chord_ids[:-1]]
    repeat_hits = _mean([p == t for p, t in zip(previous, targets, strict=True)])

    generated: dict[str, list[Chord]] = {"video": [], "free": [], "sad": [], "exciting": []}
    reference: list[Chord] = []
    cut_gen, else_gen, cut_ref, else_ref, cut_free, else_free = [], [], [], [], [], []
    chosen = songs[:generate_songs]
    iterator = chosen
    if progress:
        iterator = tqdm(chosen, desc="generating", unit="song")
    for index, song in enumerate(iterator):
        inputs = _inputs_for(song, generate_seconds)
        key = A_MINOR if song.minor else C_MAJOR
        truth = [chord_from_id(int(c)) for c in song.chord_ids[:inputs.n_seconds]
                 if c < END_CHORD_ID]
        reference += truth
        a, b = change_rates(truth, inputs.scene_offset)
        cut_ref += a
        else_ref += b
        for condition in generated:
            override = emotion_vector(condition) if condition in EMOTION_LABELS else None
            options = GenerationOptions(key=key, seed=seed + index, emotion_override=override,
                                        max_repeats=None if condition == "free" else 2)
            chords = generate_chords(model, inputs, options)
            generated[condition] += chords
            a, b = change_rates(chords, inputs.scene_offset)
            if condition == "video":
                cut_gen += a
                else_gen += b
            elif condition == "free":
                cut_free += a
                else_free += b
    return EvalReport(
        split=split,
        songs=len(songs),
        target_seconds=counted,
        hits=hits,
        unigram_hits=unigram_hits(train_counts, targets),
        previous_chord_hits1=repeat_hits,
        generated_songs=len(chosen),
        generated_seconds=len(generated["video"]),
        top6_share_generated=top_share(generated["video"]),
        top6_share_reference=top_share(reference),
        change_at_cut_generated=_mean(cut_gen),
        change_elsewhere_generated=_mean(else_gen),
        change_at_cut_reference=_mean(cut_ref),
        change_elsewhere_reference=_mean(else_ref),
        change_at_cut_no_repeat_cap=_mean(cut_free),
        change_elsewhere_no_repeat_cap=_mean(else_free),
        minor_share_sad=minor_share(generated["sad"]),
        minor_share_exciting=minor_share(generated["exciting"]),
        minor_share_reference=minor_share(reference),
    )

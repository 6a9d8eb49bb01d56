"""Train and evaluate the retrieval embedding.

Two kinds of training pairs:

* **MuVi-Sync folders** (:func:`muvi_sync_pairs`): real video features paired second by second
  with the music of the same clip (chords, and loudness / note density where present);
* **the chord corpora** (:func:`corpus_pairs`): each song paired with a "video" derived from it by
  :mod:`.derived` (section-level mood and pace, new noise every epoch; no per-second chord leak).

Each step takes a batch of pairs, crops each to at most ``crop_seconds`` (the same seconds on both
sides), embeds whole crops (clip level) and their scenes (segment level, the same seconds on both
sides) and minimises the CBVMR loss: inter-modal ranking at both levels plus
``structure_weight`` × the intra-modal structure constraint in each modality. The epoch with the
best validation Recall@1 + Recall@5 is kept. Everything is seeded and runs on CPU.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from v2m_bridge.data.corpora import iter_billboard, iter_pop909, split_of
from v2m_bridge.data.muvi_sync import read_song, read_split_ids
from v2m_bridge.errors import V2MError
from v2m_bridge.retrieval.derived import derive_video
from v2m_bridge.retrieval.embedding import (
    SEMANTIC_DIM,
    EmbeddingConfig,
    RetrievalEmbedding,
    encode,
    pad_rows,
    pool_clips,
    pool_segments,
)
from v2m_bridge.retrieval.inputs import music_inputs, video_inputs
from v2m_bridge.retrieval.losses import inter_modal_ranking, structure_constraint
from v2m_bridge.retrieval.music_features import (
    MusicFeatures,
    chord_change_rate,
    emotion_histogram,
    from_muvi_sync,
    from_song_chords,
)

log = logging.getLogger(__name__)

MIN_SEGMENT_S = 3
EVAL_SEED = 1234


class RetrievalTrainingError(V2MError, ValueError):
    """Training data that cannot be used (too few pairs, empty split...)."""


@dataclass
class VideoSide:
    emotion: np.ndarray
    scene_offset: np.ndarray  # +1 convention
    motion: np.ndarray
    semantic: np.ndarray | None = None

    def rows(self) -> np.ndarray:
        return video_inputs(self.emotion, self.scene_offset, self.motion)


@dataclass
class Pair:
    """One training/evaluation pair: music plus a real video side, or ``None`` to derive one."""

    music: MusicFeatures
    video: VideoSide | None = None
    _music_rows: np.ndarray | None = field(default=None, repr=False)

    @property
    def music_rows(self) -> np.ndarray:
        if self._music_rows is None:
            self._music_rows = music_inputs(self.music)
        return self._music_rows

    def video_side(self, rng: np.random.Generator) -> VideoSide:
        if self.video is not None:
            return self.video
        derived = derive_video(self.music, rng)
        return VideoSide(derived.emotion, derived.scene_offset, derived.motion)

    @property
    def length(self) -> int:
        if self.video is None:
            return self.music.n_seconds
        return min(self.music.n_seconds, len(self.video.scene_offset))


def song_seed(item_id: str, seed: int) -> int:
    return zlib.crc32(f"{seed}:{item_id}".encode())


# ---------------------------------------------------------------------------------------------
# Data


def corpus_pairs(pop909: Path | None, billboard: Path | None,
                 limit: int | None = None) -> dict[str, list[Pair]]:
    """Corpus songs split by the corpora's stable song hash (train / val / test)."""
    splits: dict[str, list[Pair]] = {"train": [], "val": [], "test": []}
    sources = []
    if pop909 is not None:
        sources.append(iter_pop909(Path(pop909)))
    if billboard is not None:
        sources.append(iter_billboard(Path(billboard)))
    if not sources:
        raise RetrievalTrainingError("give at least one corpus folder")
    for source in sources:
        for index, song in enumerate(source):
            if limit is not None and index >= limit:
                break
            if len(song.chords) < 16:
                continue
            splits[split_of(song.group)].append(Pair(from_song_chords(song)))
    return splits


def muvi_sync_pairs(root: Path) -> dict[str, list[Pair]]:
    """Pairs of a MuVi-Sync folder per split (``vevo_meta/split/v1``); a missing val/test split
    is empty."""
    root = Path(root)
    splits: dict[str, list[Pair]] = {}
    for split in ("train", "val", "test"):
        try:
            ids = read_split_ids(root, split)
        except V2MError:
            if split == "train":
                raise
            ids = []
        pairs = []
        for song_id in ids:
            song = read_song(root, song_id)
            music = from_muvi_sync(root, song_id)
            video = VideoSide(song.emotion, song.scene_offset, song.motion, song.semantic)
            pairs.append(Pair(music, video))
        splits[split] = pairs
    return splits


# ---------------------------------------------------------------------------------------------
# Training


@dataclass(frozen=True)
class RetrievalTrainConfig:
    epochs: int = 20
    batch_size: int = 32
    crop_seconds: int = 160
    lr: float = 2e-3
    weight_decay: float = 1e-4
    margin: float = 0.2
    structure_weight: float = 0.1
    segments_per_clip: int = 4
    seed: int = 0


def scene_segments(scene_offset: np.ndarray, start: int, end: int,
                   min_length: int = MIN_SEGMENT_S) -> list[tuple[int, int]]:
    """Scenes of ``scene_offset[start:end]`` (cuts where it is 1), relative to ``start``, short
    ones merged into the next; at least one segment."""
    n = end - start
    cuts = [0] + [int(i) for i in np.flatnonzero(scene_offset[start:end] <= 1.0) if i > 0]
    bounds = [0]
    for cut in cuts[1:]:
        if cut - bounds[-1] >= min_length and n - cut >= min_length:
            bounds.append(cut)
    ends = [*bounds[1:], n]
    return list(zip(bounds, ends, strict=True))


def _batch(pairs: Sequence[Pair], rng: np.random.Generator, config: RetrievalTrainConfig):
    video_rows, music_rows, semantic, segments = [], [], [], []
    for pair in pairs:
        side = pair.video_side(rng)
        n = pair.length
        crop = min(n, config.crop_seconds)
        start = int(rng.integers(0, n - crop + 1))
        v = side.rows()[start:start + crop]
        m = pair.music_rows[start:start + crop]
        crop = min(len(v), len(m))
        video_rows.append(v[:crop])
        music_rows.append(m[:crop])
        semantic.append(None if side.semantic is None else
                        np.asarray(side.semantic[start:start + crop], np.float32))
        scenes = scene_segments(side.scene_offset, start, start + crop)
        if len(scenes) > config.segments_per_clip:
            chosen = rng.choice(len(scenes), config.segments_per_clip, replace=False)
            scenes = [scenes[i] for i in sorted(chosen)]
        segments.append(scenes)
    return video_rows, music_rows, semantic, segments


def _forward(model, video_rows, music_rows, semantic, segments, config: RetrievalTrainConfig):
    normalize = torch.nn.functional.normalize
    xv, mask = pad_rows(video_rows)
    xm, _ = pad_rows(music_rows)
    xm = model.music_rows(xm)
    sem = None
    if model.config.use_semantic:
        sem_rows = [s if s is not None else np.zeros((len(r), SEMANTIC_DIM), np.float32)
                    for s, r in zip(semantic, video_rows, strict=True)]
        sem, _ = pad_rows(sem_rows)
    hv = model.video.frames(xv, mask, sem)
    hm = model.music.frames(xm, mask)
    lengths = [len(r) for r in video_rows]
    v_clip = normalize(model.video.clip_head(pool_clips(hv, lengths)), dim=-1)
    m_clip = normalize(model.music.clip_head(pool_clips(hm, lengths)), dim=-1)
    loss = inter_modal_ranking(v_clip, m_clip, config.margin)
    whole = torch.arange(len(lengths))
    starts0 = torch.zeros(len(lengths), dtype=torch.long)
    ends0 = torch.tensor(lengths)
    raw_v = pool_segments(xv, whole, starts0, ends0)[:, :xv.shape[-1]]
    raw_m = pool_segments(xm, whole, starts0, ends0)[:, :xm.shape[-1]]
    structure = structure_constraint(v_clip, raw_v) + structure_constraint(m_clip, raw_m)
    index = torch.tensor([i for i, s in enumerate(segments) for _ in s])
    starts = torch.tensor([a for s in segments for a, _ in s])
    ends = torch.tensor([b for s in segments for _, b in s])
    if len(index) >= 2:
        v_seg = normalize(model.video.segment_head(pool_segments(hv, index, starts, ends)), dim=-1)
        m_seg = normalize(model.music.segment_head(pool_segments(hm, index, starts, ends)), dim=-1)
        same = (index[:, None] == index[None, :]) & ~torch.eye(len(index), dtype=torch.bool)
        loss = loss + inter_modal_ranking(v_seg, m_seg, config.margin, exclude=same)
        seg_raw_v = pool_segments(xv, index, starts, ends)[:, :xv.shape[-1]]
        seg_raw_m = pool_segments(xm, index, starts, ends)[:, :xm.shape[-1]]
        structure = structure + structure_constraint(v_seg, seg_raw_v) + \
            structure_constraint(m_seg, seg_raw_m)
    return loss + config.structure_weight * structure


def train_retrieval(train: Sequence[Pair], val: Sequence[Pair],
                    config: RetrievalTrainConfig = RetrievalTrainConfig(),
                    embedding_config=None,
                    report: Callable[[str], None] | None = None):
    """Train an embedding; returns ``(model, history)`` with the best-validation weights."""
    say = report or log.info
    if len(train) < 2:
        raise RetrievalTrainingError(f"need at least 2 training pairs, got {len(train)}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: more threads only contend (measured: 15x slower)
    try:
        return _train(train, val, config, embedding_config, say)
    finally:
        torch.set_num_threads(threads)


def _train(train, val, config, embedding_config, say):
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = RetrievalEmbedding(embedding_config or EmbeddingConfig())
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train) / config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=steps_per_epoch * config.epochs,
        pct_start=0.1)
    history: list[dict[str, float]] = []
    best: tuple[float, dict] | None = None
    val_pairs = list(val) if val else list(train)
    for epoch in range(1, config.epochs + 1):
        started = time.monotonic()
        model.train()
        order = rng.permutation(len(train))
        total = 0.0
        for step in range(steps_per_epoch):
            chosen = [train[i] for i in order[step * config.batch_size:
                                              (step + 1) * config.batch_size]]
            if len(chosen) < 2:
                continue
            loss = _forward(model, *_batch(chosen, rng, config), config)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        # model selection as the shipped starter embedding was trained (equal lengths)
        metrics = evaluate_retrieval(model, val_pairs, seed=EVAL_SEED + 1,
                                     video_seconds=None)["embedding"]
        score = metrics["R@1"] + metrics["R@5"]
        history.append({"epoch": epoch, "loss": total / steps_per_epoch, **metrics,
                        "seconds": time.monotonic() - started})
        say(f"epoch {epoch}/{config.epochs}: loss {total / steps_per_epoch:.4f}, "
            f"val R@1 {metrics['R@1']:.1%} R@5 {metrics['R@5']:.1%} median rank "
            f"{metrics['median_rank']:.0f} ({time.monotonic() - started:.1f} s)")
        if best is None or score > best[0]:
            best = (score, {k: v.detach().clone() for k, v in model.state_dict().items()})
    assert best is not None
    model.load_state_dict(best[1])
    model.eval()
    return model, history


# ---------------------------------------------------------------------------------------------
# Evaluation


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of the diagonal entry in each row (ties count against it)."""
    positive = scores.diagonal()[:, None]
    return 1 + (scores > positive).sum(axis=1) + ((scores == positive).sum(axis=1) - 1)


def _metrics(ranks: np.ndarray) -> dict[str, float]:
    return {"R@1": float(np.mean(ranks <= 1)), "R@5": float(np.mean(ranks <= 5)),
            "R@10": float(np.mean(ranks <= 10)), "median_rank": float(np.median(ranks))}


PACE_RATIO = 0.6  # the hand-written baseline's guess: cuts per chord change
EVAL_VIDEO_SECONDS = 120
"""Every derived evaluation video lasts this long (a window of its song's derived video, looped
where the song is shorter), so the video's length says nothing about which song it came from."""


def fixed_length(side: VideoSide, n: int, seconds: int, rng: np.random.Generator) -> VideoSide:
    """``side[:n]`` cropped to a random ``seconds``-long window, or looped up to ``seconds`` (each
    wrap is a cut): the length of the result carries no answer."""
    if n >= seconds:
        start = int(rng.integers(0, n - seconds + 1))
        picks = np.arange(start, start + seconds)
    else:
        picks = np.arange(seconds) % n
    offset = np.asarray(side.scene_offset, np.float32)[picks].copy()
    offset[1:][picks[1:] == 0] = 1.0
    return VideoSide(np.asarray(side.emotion)[picks], offset, np.asarray(side.motion)[picks],
                     None if side.semantic is None else np.asarray(side.semantic)[picks])


def _sides(pairs: Sequence[Pair], seed: int, video_seconds: int | None
           ) -> tuple[list[VideoSide], list[int], list[int]]:
    """Each pair's video side and the lengths ranked: a derived side gets ``video_seconds`` and
    the whole song (``None``: both cut to the pair's length, as training validation does)."""
    sides, video_lengths, music_lengths = [], [], []
    for pair in pairs:
        rng = np.random.default_rng(song_seed(pair.music.item_id, seed))
        side = pair.video_side(rng)
        if video_seconds is not None and pair.video is None:
            side = fixed_length(side, pair.length, video_seconds, rng)
            video_lengths.append(video_seconds)
            music_lengths.append(pair.music.n_seconds)
        else:
            video_lengths.append(pair.length)
            music_lengths.append(pair.length)
        sides.append(side)
    return sides, video_lengths, music_lengths


def _quarter(values: np.ndarray, n: int, q: int) -> np.ndarray:
    return values[q * n // 4:max((q + 1) * n // 4, q * n // 4 + 1)]


def evaluate_retrieval(model, pairs: Sequence[Pair], seed: int = EVAL_SEED,
                       random_draws: int = 100,
                       video_seconds: int | None = EVAL_VIDEO_SECONDS
                       ) -> dict[str, dict[str, float]]:
    """Whole-clip retrieval of each pair's music among all pairs' music, from its video side.

    Derived video sides use a seed per song from ``seed`` (not a training one) and are cropped
    or looped to ``video_seconds`` while the music is the whole song, so length carries no
    answer (``None``: video and music both cut to the song's length, the length cue included).

    Rows: ``embedding`` (this model), ``random`` (mean over ``random_draws`` shuffles),
    ``length`` (``-|len_video - len_music|``: what length alone gives), ``emotion histogram`` (L1
    distance between the video's mean emotion and the music's chord-quality emotion votes),
    ``emotion + pace`` (plus ``|log cut rate − log(0.6 × chord change rate)|``) and ``emotion arc
    + pace`` (the emotion distance taken per quarter of each side).
    """
    if len(pairs) < 2:
        raise RetrievalTrainingError("need at least 2 pairs to evaluate retrieval")
    sides, v_len, m_len = _sides(pairs, seed, video_seconds)
    video_rows = [s.rows()[:n] for s, n in zip(sides, v_len, strict=True)]
    music_rows = [p.music_rows[:n] for p, n in zip(pairs, m_len, strict=True)]
    semantic = [None if s.semantic is None else s.semantic[:n]
                for s, n in zip(sides, v_len, strict=True)]
    music_chords = [p.music.chord_ids[:n] for p, n in zip(pairs, m_len, strict=True)]
    empty: list[list[tuple[int, int]]] = [[] for _ in pairs]
    v_clip, _ = encode(model, "video", video_rows, empty, semantic)
    m_clip, _ = encode(model, "music", music_rows, empty)
    results = {"embedding": _metrics(_ranks(v_clip @ m_clip.T))}
    rng = np.random.default_rng(seed)
    random_rows = [_metrics(_ranks(rng.random((len(pairs), len(pairs)))))
                   for _ in range(random_draws)]
    results["random"] = {k: float(np.mean([r[k] for r in random_rows])) for k in random_rows[0]}
    length_gap = np.abs(np.array(v_len, float)[:, None] - np.array(m_len, float)[None, :])
    results["length"] = _metrics(_ranks(-length_gap))
    video_emotion = np.stack([s.emotion[:n].mean(axis=0) for s, n in zip(sides, v_len,
                                                                          strict=True)])
    music_emotion = np.stack([emotion_histogram(c) for c in music_chords])
    emotion_distance = np.abs(video_emotion[:, None, :] - music_emotion[None, :, :]).sum(-1)
    results["emotion histogram"] = _metrics(_ranks(-emotion_distance))
    cut_rate = np.array([max(float(np.mean(s.scene_offset[1:n] <= 1.0)) if n > 1 else 0.0,
                             1 / 60) for s, n in zip(sides, v_len, strict=True)])
    change_rate = np.array([max(chord_change_rate(c) * PACE_RATIO, 1 / 60)
                            for c in music_chords])
    pace_distance = np.abs(np.log(cut_rate)[:, None] - np.log(change_rate)[None, :])
    results["emotion + pace"] = _metrics(_ranks(-(emotion_distance + 0.5 * pace_distance)))
    arc_distance = np.zeros_like(emotion_distance)
    for q in range(4):
        v_q = np.stack([_quarter(s.emotion, n, q).mean(0)
                        for s, n in zip(sides, v_len, strict=True)])
        m_q = np.stack([emotion_histogram(_quarter(c, len(c), q)) for c in music_chords])
        arc_distance += np.abs(v_q[:, None, :] - m_q[None, :, :]).sum(-1) / 4
    results["emotion arc + pace"] = _metrics(_ranks(-(arc_distance + 0.5 * pace_distance)))
    return results


def format_table(results: dict[str, dict[str, float]], n_items: int) -> str:
    lines = [f"whole-clip retrieval among {n_items} held-out items (derived videos cropped or "
             f"looped to {EVAL_VIDEO_SECONDS} s, music whole)",
             f"{'ranker':<20} {'R@1':>7} {'R@5':>7} {'R@10':>7} {'median rank':>12}"]
    for name, row in results.items():
        lines.append(f"{name:<20} {row['R@1']:>7.1%} {row['R@5']:>7.1%} {row['R@10']:>7.1%} "
                     f"{row['median_rank']:>12.1f}")
    return "\n".join(lines)

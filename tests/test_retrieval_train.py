"""The CBVMR losses; a small MuVi-Sync dataset trains, saves, loads and ranks end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from retrieval_helpers import PATTERNS, write_muvi_dataset

from v2m_bridge.cli import main
from v2m_bridge.errors import CheckpointError
from v2m_bridge.features import VideoFeatures
from v2m_bridge.retrieval.embedding import (
    STARTER_LABEL,
    EmbeddingConfig,
    RetrievalEmbedding,
    label_of,
    load_embedding,
    save_embedding,
)
from v2m_bridge.retrieval.losses import inter_modal_ranking, structure_constraint
from v2m_bridge.retrieval.train import _ranks, evaluate_retrieval, muvi_sync_pairs


def test_ranking_loss_is_zero_when_pairs_are_separated_and_positive_when_swapped():
    eye = torch.eye(4)
    assert float(inter_modal_ranking(eye, eye, margin=0.2)) == 0.0
    swapped = eye[[1, 0, 2, 3]]
    assert float(inter_modal_ranking(eye, swapped, margin=0.2)) > 0.5
    # excluded pairs are not negatives
    close = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, 0.0]]), dim=1)
    exclude = torch.tensor([[False, True], [True, False]])
    assert float(inter_modal_ranking(close, close, 0.2, exclude=exclude)) == 0.0


def test_structure_constraint_prefers_input_neighbours_near():
    descriptor = torch.tensor([[0.0], [0.1], [5.0], [5.1], [9.0], [9.1]])
    good = torch.nn.functional.normalize(torch.tensor(
        [[1.0, 0.0], [1.0, 0.05], [0.0, 1.0], [0.05, 1.0], [-1.0, 0.0], [-1.0, 0.05]]), dim=1)
    bad = good[[0, 2, 1, 4, 3, 5]]
    assert float(structure_constraint(good, descriptor)) < float(structure_constraint(bad,
                                                                                      descriptor))


def test_ranks_count_ties_against_the_true_item():
    scores = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.5], [0.9, 0.0, 0.1]])
    assert _ranks(scores).tolist() == [2, 1, 2]


def test_checkpoints_round_trip_and_bad_files_are_refused(tmp_path):
    model = RetrievalEmbedding(EmbeddingConfig(hidden=8, dim=8))
    path = save_embedding(model, tmp_path / "m.pt", {"label": "test model"})
    loaded = load_embedding(path)
    assert label_of(loaded) == "test model"
    assert loaded.digest() == RetrievalEmbedding(EmbeddingConfig(hidden=8, dim=8)).digest() \
        or loaded.config == model.config
    (tmp_path / "bad.pt").write_bytes(b"nope")
    with pytest.raises(CheckpointError, match="not a retrieval embedding"):
        load_embedding(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_embedding(tmp_path / "missing.pt")


def test_the_starter_embedding_ships_small_and_labelled():
    model = load_embedding()
    assert label_of(model) == STARTER_LABEL
    assert "derived from the music" in STARTER_LABEL
    from v2m_bridge.retrieval.embedding import STARTER_PATH

    assert STARTER_PATH.stat().st_size < 400_000


def _features_of(root, song_id) -> VideoFeatures:
    pairs = muvi_sync_pairs(root)["test"]
    pair = next(p for p in pairs if p.music.item_id == f"muvi-{song_id}")
    video = pair.video
    cuts = [float(t) for t in np.flatnonzero(video.scene_offset <= 1.0) if t > 0]
    return VideoFeatures(source=f"clip-{song_id}", fps=25.0, duration=float(len(video.motion)),
                         semantic=video.semantic, emotion=video.emotion,
                         scene_offset=video.scene_offset, motion=video.motion, cut_times=cuts,
                         provenance="clip")


@pytest.mark.slow
def test_a_muvi_sync_dataset_trains_saves_loads_and_ranks_each_clip_first(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "muvi"
    ids = write_muvi_dataset(data)
    out = tmp_path / "emb.pt"
    assert main(["train-retrieval", "--data", str(data), "--out", str(out), "--epochs", "40",
                 "--batch-size", "6", "--crop-seconds", "40", "--use-semantic",
                 "--use-dynamics"]) == 0
    printed = capsys.readouterr().out
    assert "whole-clip retrieval among 6 held-out items" in printed
    model = load_embedding(out)
    assert "MuVi-Sync" in label_of(model)
    results = evaluate_retrieval(model, muvi_sync_pairs(data)["test"])
    assert results["embedding"]["R@1"] == 1.0
    # the library is the dataset's own music; each clip's paired music must rank first
    for song_id in ids:
        features = _features_of(data, song_id)
        features.save(tmp_path / f"{song_id}.npz")
        assert main(["match", str(tmp_path / f"{song_id}.npz"), "--library", str(data),
                     "--checkpoint", str(out), "--top", "3", "--per-scene",
                     "--json", str(tmp_path / f"{song_id}.json")]) == 0
        ranking = json.loads((tmp_path / f"{song_id}.json").read_text())
        assert ranking["whole"][0]["item_id"] == f"muvi-{song_id}", (song_id, ranking["whole"])
        assert ranking["scenes"], "per-scene lists expected"
    assert len(PATTERNS) == len(ids)


def _corpus_pairs(lengths: list[int]):
    from v2m_bridge.retrieval.music_features import MusicFeatures
    from v2m_bridge.retrieval.train import Pair

    rng = np.random.default_rng(3)
    pairs = []
    for number, n in enumerate(lengths):
        ids = np.repeat(rng.integers(1, 157, size=n // 2 + 1), 2)[:n]
        pairs.append(Pair(MusicFeatures(item_id=f"song-{number}", source="", kind="pop909",
                                        chord_ids=ids, mode="major",
                                        phrase_starts=tuple(range(0, n, 16)))))
    return pairs


def test_the_length_baseline_is_printed_and_length_carries_no_answer():
    """Issue 25 item 4: with videos as long as their songs, length alone finds every song; with
    every derived video cropped or looped to one length, it does no better than chance."""
    from v2m_bridge.retrieval.train import EVAL_VIDEO_SECONDS, fixed_length, format_table

    pairs = _corpus_pairs([40, 75, 90, 130, 150, 170, 200, 230])
    model = RetrievalEmbedding(EmbeddingConfig(hidden=8, dim=8))
    leaky = evaluate_retrieval(model, pairs, video_seconds=None)
    assert leaky["length"]["R@1"] == 1.0  # the cue the issue found
    fair = evaluate_retrieval(model, pairs, video_seconds=120)
    assert fair["length"]["R@1"] == pytest.approx(1 / len(pairs))  # one fixed order for all
    assert fair["length"]["median_rank"] >= len(pairs) / 2 - 1
    table = format_table(fair, len(pairs))
    assert "length" in table and f"{EVAL_VIDEO_SECONDS} s" in table
    # cropping keeps the song's own derived seconds; looping marks each wrap as a cut
    side = pairs[0].video_side(np.random.default_rng(0))
    looped = fixed_length(side, 40, 120, np.random.default_rng(0))
    assert len(looped.scene_offset) == 120 and looped.scene_offset[40] == 1.0
    assert np.array_equal(looped.emotion[40:80], side.emotion[:40])
    cropped = fixed_length(side, 40, 30, np.random.default_rng(0))
    assert len(cropped.motion) == 30


def test_evaluate_retrieval_prints_the_length_baseline(tmp_path, capsys, monkeypatch):
    from v2m_bridge.retrieval import train

    pairs = _corpus_pairs([40, 75, 90, 130, 150, 170])
    monkeypatch.setattr(train, "corpus_pairs",
                        lambda pop909, billboard: {"train": [], "val": [], "test": pairs})
    assert main(["evaluate-retrieval", "--pop909", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    rows = {line.split()[0]: line for line in printed.splitlines() if line.strip()}
    assert "length" in rows and "embedding" in rows
    assert "cropped or looped to 120 s" in printed

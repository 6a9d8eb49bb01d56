"""Evaluation metrics on hand-built cases, and the whole report on a tiny model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import write_tiny_layout

from v2m_bridge.model import AMT, AMTConfig
from v2m_bridge.training.evaluate import (
    change_rates,
    evaluate_amt,
    hits_at_k,
    minor_share,
    top_share,
    unigram_hits,
)
from v2m_bridge.vocab import PAD_CHORD_ID, parse_chords


def test_hits_at_k_by_hand() -> None:
    logits = torch.full((1, 3, 159), -10.0)
    for position, ranking in enumerate([[5, 6, 7], [7, 5, 6], [6, 7, 5]]):
        for rank, chord in enumerate(ranking):
            logits[0, position, chord] = 3.0 - rank
    targets = torch.tensor([[5, 5, PAD_CHORD_ID]])  # the PAD position is not counted
    hits = hits_at_k(logits, targets, ks=(1, 2, 3))
    assert hits == {1: (1, 2), 2: (2, 2), 3: (2, 2)}


def test_unigram_baseline() -> None:
    counts = Counter({1: 10, 2: 5, 3: 1})
    assert unigram_hits(counts, [1, 2, 3, 4], ks=(1, 3)) == {1: 0.25, 3: 0.75}


def test_variety_cut_and_minor_metrics() -> None:
    chords = parse_chords("C C G Am Am F Dm E")
    assert top_share(chords, n=2) == pytest.approx(4 / 8)
    assert minor_share(chords) == pytest.approx(3 / 8)  # Am Am Dm
    offsets = np.array([1, 2, 1, 2, 3, 1, 2, 3], dtype=np.float32)  # cuts at 2 and 5
    at_cut, elsewhere = change_rates(chords, offsets)
    assert at_cut == [True, True]
    assert elsewhere == [False, True, False, True, True]
    assert top_share([]) == 0.0 and minor_share([]) == 0.0


def test_report_on_a_tiny_model(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path, n_songs=4, seconds=24)
    torch.manual_seed(0)
    model = AMT(AMTConfig(n_layers=1, num_heads=2, d_model=16, dim_feedforward=32,
                          max_sequence_video=16, max_sequence_chord=16))
    report = evaluate_amt(model, tmp_path, "test", generate_songs=2, generate_seconds=20)
    assert report.songs == 1 and report.target_seconds == 23
    assert report.generated_songs == 1 and report.generated_seconds == 20
    assert 0 <= report.hits[1] <= report.hits[3] <= report.hits[5] <= 1
    assert report.unigram_hits[1] <= report.unigram_hits[5]
    assert "Hits@1" in report.to_markdown() and '"minor_share_sad"' in report.to_json()

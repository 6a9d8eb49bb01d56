"""The official AMT loss on hand-built examples."""

from __future__ import annotations

import math

import pytest
import torch

from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.training.loss import amt_loss, emotion_targets
from v2m_bridge.vocab import END_CHORD_ID, PAD_CHORD_ID, Chord


def _emotion(name: str) -> torch.Tensor:
    vector = torch.zeros(6)
    vector[EMOTION_LABELS.index(name)] = 0.9
    vector[-1] = 0.1
    return vector


def test_emotion_targets_rows() -> None:
    tgt = torch.tensor([[Chord(0).id, END_CHORD_ID, PAD_CHORD_ID]])
    emotion = torch.stack([_emotion("sad"), _emotion("sad"), _emotion("sad")]).unsqueeze(0)
    target = emotion_targets(tgt, emotion)[0]
    assert target[0, Chord(9, "min").id] == 1 and target[0, Chord(4, "sus2").id] == 1
    assert target[0, Chord(0).id] == 0 and target[0].sum() == 36  # 3 qualities x 12 roots
    assert target[1].tolist() == torch.nn.functional.one_hot(
        torch.tensor(END_CHORD_ID), 159).float().tolist()
    assert target[2, PAD_CHORD_ID] == 1 and target[2].sum() == 1


def test_loss_matches_hand_computation() -> None:
    logits = torch.zeros(1, 1, 159)
    logits[0, 0, 5] = 2.0
    tgt = torch.tensor([[5]])
    emotion = torch.zeros(1, 1, 6)
    emotion[0, 0, EMOTION_LABELS.index("neutral")] = 1.0  # neutral: all-zero BCE row
    parts = amt_loss(logits, tgt, emotion, loss_lambda=0.4)
    ce = -(2.0 - math.log(math.exp(2.0) + 158))
    bce = (math.log1p(math.exp(2.0)) + 158 * math.log(2.0)) / 159
    assert parts.chord.item() == pytest.approx(ce, rel=1e-5)
    assert parts.emotion.item() == pytest.approx(bce, rel=1e-5)
    assert parts.total.item() == pytest.approx(0.4 * ce + 0.6 * bce, rel=1e-5)


def test_padding_does_not_change_the_loss() -> None:
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 159)
    tgt = torch.tensor([[1, 2, 3]])
    emotion = torch.rand(1, 3, 6)
    padded_logits = torch.cat([logits, torch.randn(1, 2, 159)], 1)
    padded_tgt = torch.tensor([[1, 2, 3, PAD_CHORD_ID, PAD_CHORD_ID]])
    padded_emotion = torch.cat([emotion, torch.zeros(1, 2, 6)], 1)
    a = amt_loss(logits, tgt, emotion)
    b = amt_loss(padded_logits, padded_tgt, padded_emotion)
    assert a.total.item() == pytest.approx(b.total.item(), rel=1e-5)


def test_ce_weights_and_lambda_checks() -> None:
    logits = torch.randn(2, 4, 159)
    tgt = torch.randint(1, 157, (2, 4))
    emotion = torch.rand(2, 4, 6)
    plain = amt_loss(logits, tgt, emotion, 1.0)
    ones = amt_loss(logits, tgt, emotion, 1.0, torch.ones(2, 4))
    assert plain.total.item() == pytest.approx(ones.total.item(), rel=1e-5)
    weights = torch.zeros(2, 4)
    weights[0, 0] = 1.0
    only_first = amt_loss(logits, tgt, emotion, 1.0, weights)
    expected = torch.nn.functional.cross_entropy(logits[0, :1], tgt[0, :1])
    assert only_first.total.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match="lambda"):
        amt_loss(logits, tgt, emotion, 1.5)

"""The official AMT loss: ``λ·CE + (1 − λ)·BCE`` (spec §5.5), batch-safe.

* CE: cross-entropy of the next-chord logits against the target chord ids, PAD ignored.
* BCE: binary cross-entropy with logits of the same logits against a multi-hot target row per
  position: 1 for every chord whose quality belongs to the dominant (argmax) emotion at the target
  second, 0 elsewhere; a neutral second gives an all-zero row; END/PAD targets give a one-hot row
  at END/PAD.

One deliberate difference: the official BCE averages over padded positions too (it ran with
batch size 1 and songs padded to 300). Here padded positions are left out of both terms, so the
loss of a window does not depend on how much padding its batch needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

from v2m_bridge.data.emotion_map import emotion_chord_matrix
from v2m_bridge.vocab import CHORD_VOCAB_SIZE, END_CHORD_ID, PAD_CHORD_ID

DEFAULT_LOSS_LAMBDA = 0.4


@dataclass
class LossParts:
    total: torch.Tensor
    chord: torch.Tensor  # CE
    emotion: torch.Tensor  # BCE


def emotion_targets(tgt: torch.Tensor, tgt_emotion: torch.Tensor) -> torch.Tensor:
    """``(B, L, 159)`` multi-hot targets from chord targets ``(B, L)`` and emotion ``(B, L, 6)``."""
    matrix = torch.from_numpy(emotion_chord_matrix()).to(tgt_emotion.device)
    rows = matrix[tgt_emotion.argmax(dim=-1)]
    special = (tgt == END_CHORD_ID) | (tgt == PAD_CHORD_ID)
    one_hot = functional.one_hot(tgt, CHORD_VOCAB_SIZE).to(rows.dtype)
    return torch.where(special.unsqueeze(-1), one_hot, rows)


def amt_loss(logits: torch.Tensor, tgt: torch.Tensor, tgt_emotion: torch.Tensor,
             loss_lambda: float = DEFAULT_LOSS_LAMBDA,
             ce_weight: torch.Tensor | None = None) -> LossParts:
    """Loss of logits ``(B, L, 159)`` against targets ``(B, L)`` and target-second emotion
    ``(B, L, 6)``. ``loss_lambda = 1`` is plain cross-entropy.

    ``ce_weight`` ``(B, L)`` optionally weights the cross-entropy per position (a weighted mean;
    None is the official unweighted loss).
    """
    if not 0.0 <= loss_lambda <= 1.0:
        raise ValueError(f"loss lambda must be within 0..1, got {loss_lambda}")
    flat_logits = logits.reshape(-1, logits.shape[-1])
    flat_tgt = tgt.reshape(-1)
    valid = flat_tgt != PAD_CHORD_ID
    if ce_weight is None:
        ce = functional.cross_entropy(flat_logits, flat_tgt, ignore_index=PAD_CHORD_ID)
    else:
        per_position = functional.cross_entropy(flat_logits, flat_tgt,
                                                ignore_index=PAD_CHORD_ID, reduction="none")
        weight = ce_weight.reshape(-1).to(per_position.dtype) * valid
        ce = (per_position * weight).sum() / weight.sum().clamp_min(1e-8)
    if valid.any():
        target = emotion_targets(tgt, tgt_emotion).reshape(-1, logits.shape[-1])
        bce = functional.binary_cross_entropy_with_logits(flat_logits[valid], target[valid])
    else:
        bce = flat_logits.sum() * 0.0
    return LossParts(loss_lambda * ce + (1.0 - loss_lambda) * bce, ce, bce)

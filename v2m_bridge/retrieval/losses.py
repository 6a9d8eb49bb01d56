"""The CBVMR training losses (Hong, Im & Yang 2018), written for this project.

* :func:`inter_modal_ranking`: a bidirectional triplet ranking loss. For every pair (video ``i``,
  music ``i``) and every other item ``j`` in the batch, the true pair must be more similar than
  the wrong one by ``margin``: ``[margin + s(v_i, m_j) - s(v_i, m_i)]+`` with the video as anchor
  and ``[margin + s(v_j, m_i) - s(v_i, m_i)]+`` with the music as anchor. Violations are averaged
  over the negatives and the hardest one is added (so easy negatives do not dilute the signal).
* :func:`structure_constraint`: the soft intra-modal structure constraint. Within one modality,
  items that are neighbours in the input space should stay closer in the embedding than items
  that are far apart: for each anchor, its ``k`` nearest items by input descriptor must be nearer
  in the embedding than the items in the farther half, by a small margin. It is added with a
  small weight, so it shapes the space without fighting the cross-modal loss.
"""

from __future__ import annotations

import torch


def inter_modal_ranking(video: torch.Tensor, music: torch.Tensor, margin: float = 0.2,
                        exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Bidirectional triplet ranking loss over a batch of ``N`` aligned, L2-normalised pairs.

    ``exclude`` (N, N) bool marks pairs that are neither positive nor negative (e.g. two segments
    of the same song); the diagonal is always the positive.
    """
    n = video.shape[0]
    if n < 2:
        return video.sum() * 0.0
    sims = video @ music.T
    positive = sims.diagonal()
    negatives = ~torch.eye(n, dtype=torch.bool, device=sims.device)
    if exclude is not None:
        negatives &= ~exclude
    count = negatives.sum(dim=1).clamp(min=1)
    video_anchor = (margin + sims - positive[:, None]).clamp(min=0) * negatives
    music_anchor = (margin + sims - positive[None, :]).clamp(min=0) * negatives
    mean_part = (video_anchor.sum(1) / count).mean() + (music_anchor.sum(0) / count).mean()
    hard_part = video_anchor.max(dim=1).values.mean() + music_anchor.max(dim=0).values.mean()
    return mean_part + hard_part


def structure_constraint(embedding: torch.Tensor, descriptor: torch.Tensor, k: int = 2,
                         margin: float = 0.05) -> torch.Tensor:
    """Soft intra-modal structure loss for ``N`` embeddings with their input descriptors."""
    n = embedding.shape[0]
    if n < 4:
        return embedding.sum() * 0.0
    with torch.no_grad():
        input_distance = torch.cdist(descriptor, descriptor)
        input_distance.fill_diagonal_(float("inf"))
        order = input_distance.argsort(dim=1)
        near = order[:, :k]  # (N, k)
        far = order[:, n // 2: n - 1]  # the farther half (the diagonal sorts last)
    distance = 1.0 - embedding @ embedding.T
    near_d = distance.gather(1, near)  # (N, k)
    far_d = distance.gather(1, far)  # (N, F)
    violations = (margin + near_d[:, :, None] - far_d[:, None, :]).clamp(min=0)
    return violations.mean()

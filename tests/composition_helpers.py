"""What the render-level tests compose from: a tiny randomly initialised AMT (the same every
time, seeded) and synthetic per-second features with cuts where the test puts them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from v2m_bridge.features import VideoFeatures


def tiny_random_chord_model():
    """A one-layer AMT with seeded random weights, as a ``ChordModel``."""
    import torch

    from v2m_bridge.model import AMT, AMTConfig
    from v2m_bridge.model.loading import ChordModel

    torch.manual_seed(0)
    amt = AMT(AMTConfig(n_layers=1, num_heads=2, d_model=32, dim_feedforward=64)).eval()
    return ChordModel(amt, "tiny test model", None)


def synthetic_features(name: str, duration: float, cuts: Sequence[float]) -> VideoFeatures:
    """Seeded random features of a ``duration``-second video with cuts at ``cuts``."""
    rng = np.random.default_rng(1)
    seconds = int(np.ceil(duration))
    offsets = np.ones(seconds, np.float32)
    for s in range(1, seconds):
        offsets[s] = 1 if any(s - 1 < c <= s for c in cuts) else offsets[s - 1] + 1
    return VideoFeatures(
        source=f"/videos/{name}", fps=24.0, duration=duration,
        semantic=rng.normal(size=(seconds, 768)).astype(np.float32),
        emotion=rng.dirichlet(np.ones(6), seconds).astype(np.float32),
        scene_offset=offsets, motion=rng.uniform(0, 40, seconds).astype(np.float32),
        cut_times=list(cuts), provenance="fallback")

"""Shared fixtures for the training tests: a tiny MuVi-Sync layout folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from v2m_bridge.data.muvi_sync import write_song, write_splits
from v2m_bridge.vocab import parse_chords


def write_tiny_layout(root: Path, n_songs: int = 4, seconds: int = 20,
                      with_targets: bool = False) -> list[str]:
    """A small MuVi-Sync folder; shared with the training tests."""
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(n_songs)]
    progression = parse_chords("C C Am Am F F G G")
    for i, song_id in enumerate(ids):
        chords = [progression[(t + i) % 8] for t in range(seconds)]
        emotion = rng.dirichlet(np.ones(6), size=seconds)
        offsets = np.array([t % 5 + 1 for t in range(seconds)], dtype=np.float32)  # +1 convention
        write_song(root, song_id, [c.symbol for c in chords], "minor" if i % 2 else "major",
                   emotion, rng.uniform(0, 20, seconds), offsets,
                   loudness=rng.uniform(0, 1, seconds) if with_targets else None,
                   note_density=rng.uniform(0, 8, seconds) if with_targets else None)
    write_splits(root, {"train": ids[:-1], "val": ids[-1:], "test": ids[-1:]})
    return ids

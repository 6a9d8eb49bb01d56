"""MuVi-Sync layout: writing, reading, windows, batches and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from training_helpers import write_tiny_layout

from v2m_bridge.data.dataset import chord_tokens, collate, tiled_windows, training_windows
from v2m_bridge.data.muvi_sync import (
    DatasetError,
    read_chord_lab,
    read_song,
    read_split,
    read_split_ids,
    read_value_lab,
    write_splits,
)
from v2m_bridge.vocab import PAD_CHORD_ID, Chord


def test_round_trip(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path, n_songs=2, seconds=10)
    song = read_song(tmp_path, "s1")
    assert len(song) == 10 and song.minor
    assert song.chord_ids[:3].tolist() == [Chord(0).id, Chord(9, "min").id, Chord(9, "min").id]
    assert song.scene_offset[:6].tolist() == [1, 2, 3, 4, 5, 1]  # +1 when loaded
    assert song.emotion.shape == (10, 6) and song.semantic is None
    assert not read_song(tmp_path, "s0").minor


def test_chord_lab_without_key_line_counts_as_minor(tmp_path: Path) -> None:
    path = tmp_path / "x.lab"
    path.write_text("0 C\n1 A:min\n")
    ids, minor = read_chord_lab(path)
    assert minor and ids.tolist() == [Chord(0).id, Chord(9, "min").id]


@pytest.mark.parametrize(("text", "message"), [
    ("key C major\n0 C\n1 Q:weird\n", r"x.lab:3"),
    ("key C major\n0 C\n2 G\n", "expected second 1"),
    ("key C major\n", "no chord lines"),
])
def test_corrupt_chord_lab(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.lab"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_chord_lab(path)


def test_value_lab_rejects_nan_and_short_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.lab"
    path.write_text("0 1.0\n1 nan\n")
    with pytest.raises(DatasetError, match="finite"):
        read_value_lab(path)
    path.write_text("header words\n0 0.1 0.2\n")
    with pytest.raises(DatasetError, match="6 finite"):
        read_value_lab(path, columns=6)


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="data folder not found"):
        read_split_ids(tmp_path / "missing", "train")
    with pytest.raises(DatasetError, match="MuVi-Sync layout"):
        read_split_ids(tmp_path, "train")
    write_splits(tmp_path, {"train": []})
    with pytest.raises(DatasetError, match="empty"):
        read_split_ids(tmp_path, "train")
    write_splits(tmp_path, {"train": ["ghost"]})
    with pytest.raises(DatasetError, match=r"ghost\.lab: file not found"):
        read_split(tmp_path, "train")


def test_windows_and_batches(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path, n_songs=3, seconds=20)
    songs = read_split(tmp_path, "train")
    tiles = tiled_windows(songs, 8)
    assert sum(w.length for w in tiles) == 2 * 19  # every next-chord target once
    windows = training_windows(songs, 8, np.random.default_rng(0))
    assert len(windows) == len(songs) * round(19 / 8)
    assert all(w.start >= 0 and w.start + w.length <= len(w.song) - 1 for w in windows)
    batch = collate(tiles[:3], with_semantic=False)
    assert batch["x"].shape == (3, 8) and batch["emotion"].shape == (3, 8, 6)
    first = tiles[0]
    assert batch["tgt"][0].tolist() == first.song.chord_ids[1:9].tolist()
    last = collate([tiles[2]], with_semantic=True)  # a 3-chord tail window
    assert last["x"].shape == (1, 3) and last["semantic"].shape == (1, 3, 768)
    mixed = collate([tiles[0], tiles[2]], with_semantic=False)
    assert (mixed["tgt"][1, 3:] == PAD_CHORD_ID).all()
    root, attr = chord_tokens(mixed["x"])
    assert root[1, 3:].eq(14).all() and attr[1, 3:].eq(15).all()
    chord = Chord(9, "min")
    import torch

    r, a = chord_tokens(torch.tensor([chord.id, 0]))
    assert r.tolist() == [chord.root_id, 0] and a.tolist() == [chord.quality_id, 0]


def test_song_arrays_are_checked_when_read(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path, n_songs=1, seconds=6)
    semantic = np.zeros((6, 768), np.float32)
    semantic[2, 0] = np.nan
    (tmp_path / "vevo_semantic/all/2d/clip_l14p").mkdir(parents=True)
    np.save(tmp_path / "vevo_semantic/all/2d/clip_l14p/s0.npy", semantic)
    with pytest.raises(DatasetError, match="song s0: semantic contains NaN"):
        read_song(tmp_path, "s0")

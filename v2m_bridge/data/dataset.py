"""Training windows and batches over the songs of a MuVi-Sync folder.

Reading and writing the folder's files (and the :class:`Song` record) is
:mod:`v2m_bridge.data.muvi_sync`; this module only turns songs into what the training loops
consume: random or tiled windows of next-chord targets, padded torch batches, and the AMT's root
and quality token ids. Songs longer than the model's window are cut into windows instead of
truncated at 300 s as the official loader does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2m_bridge.data.muvi_sync import Song
from v2m_bridge.features import EMOTION_DIM, SEMANTIC_DIM
from v2m_bridge.vocab import (
    END_CHORD_ID,
    END_QUALITY_ID,
    END_ROOT_ID,
    PAD_CHORD_ID,
    PAD_QUALITY_ID,
    PAD_ROOT_ID,
    chord_from_id,
)


@dataclass(frozen=True)
class Window:
    song: Song
    start: int
    length: int  # number of input chords (targets are the next ``length`` seconds)


def training_windows(songs: Sequence[Song], length: int, rng: np.random.Generator) -> list[Window]:
    """Random windows, about one per ``length`` seconds of each song, in shuffled order."""
    windows = []
    for song in songs:
        usable = len(song) - 1  # inputs need a next-second target
        if usable < 1:
            continue
        count = max(1, round(usable / length))
        for _ in range(count):
            start = int(rng.integers(0, max(usable - length, 0) + 1))
            windows.append(Window(song, start, min(length, usable)))
    order = rng.permutation(len(windows))
    return [windows[i] for i in order]


def tiled_windows(songs: Sequence[Song], length: int) -> list[Window]:
    """Back-to-back windows covering each song: every next-chord target once (evaluation)."""
    windows = []
    for song in songs:
        usable = len(song) - 1
        windows.extend(Window(song, start, min(length, usable - start))
                       for start in range(0, usable, length))
    return windows


def _slice_padded(array: np.ndarray | None, start: int, length: int, tail: tuple[int, ...],
                  ) -> np.ndarray:
    out = np.zeros((length, *tail), dtype=np.float32)
    if array is None:
        return out
    part = array[start:start + length]
    out[:len(part)] = part.reshape(len(part), *tail)
    return out


def collate(windows: Sequence[Window], with_semantic: bool = True) -> dict:
    """Stack windows into a batch of torch tensors, padded to the longest window.

    Keys: ``x``/``tgt`` (B, L) chord ids (PAD 158 after a window's end), ``key`` (B,), video
    features for the window's seconds ``scene_offset``/``motion`` (B, L), ``emotion`` (B, L, 6),
    ``tgt_emotion`` (B, L, 6) = emotion at the target seconds, ``semantic`` (B, L,
    SEMANTIC_DIM) when ``with_semantic``, and ``loudness``/``note_density`` (B, L) when the songs
    have them.
    """
    import torch

    length = max(w.length for w in windows)
    batch = len(windows)
    x = np.full((batch, length), PAD_CHORD_ID, dtype=np.int64)
    tgt = np.full((batch, length), PAD_CHORD_ID, dtype=np.int64)
    fields: dict[str, list[np.ndarray]] = {k: [] for k in
                                            ("scene_offset", "motion", "emotion", "tgt_emotion")}
    semantic, loudness, density = [], [], []
    has_targets = all(w.song.loudness is not None for w in windows)
    for row, w in enumerate(windows):
        s, n = w.start, w.length
        x[row, :n] = w.song.chord_ids[s:s + n]
        tgt[row, :n] = w.song.chord_ids[s + 1:s + 1 + n]
        fields["scene_offset"].append(_slice_padded(w.song.scene_offset, s, length, ()))
        fields["motion"].append(_slice_padded(w.song.motion, s, length, ()))
        fields["emotion"].append(_slice_padded(w.song.emotion, s, length, (EMOTION_DIM,)))
        fields["tgt_emotion"].append(_slice_padded(w.song.emotion, s + 1, length,
                                                    (EMOTION_DIM,)))
        if with_semantic:
            semantic.append(_slice_padded(w.song.semantic, s, length, (SEMANTIC_DIM,)))
        if has_targets:
            loudness.append(_slice_padded(w.song.loudness, s, length, ()))
            density.append(_slice_padded(w.song.note_density, s, length, ()))
    out = {
        "x": torch.from_numpy(x),
        "tgt": torch.from_numpy(tgt),
        "key": torch.tensor([float(w.song.minor) for w in windows]),
        **{k: torch.from_numpy(np.stack(v)) for k, v in fields.items()},
    }
    if with_semantic:
        out["semantic"] = torch.from_numpy(np.stack(semantic))
    if has_targets:
        out["loudness"] = torch.from_numpy(np.stack(loudness))
        out["note_density"] = torch.from_numpy(np.stack(density))
    return out


def _token_tables() -> tuple[np.ndarray, np.ndarray]:
    roots = np.zeros(PAD_CHORD_ID + 1, dtype=np.int64)
    qualities = np.zeros(PAD_CHORD_ID + 1, dtype=np.int64)
    for chord_id in range(END_CHORD_ID):
        chord = chord_from_id(chord_id)
        roots[chord_id], qualities[chord_id] = chord.root_id, chord.quality_id
    roots[END_CHORD_ID], qualities[END_CHORD_ID] = END_ROOT_ID, END_QUALITY_ID
    roots[PAD_CHORD_ID], qualities[PAD_CHORD_ID] = PAD_ROOT_ID, PAD_QUALITY_ID
    return roots, qualities


ROOT_OF_CHORD, QUALITY_OF_CHORD = _token_tables()
"""Official root id and quality ("attr") id of each chord id 0..158, END and PAD included."""


def chord_tokens(chord_ids):  # torch.Tensor -> tuple[torch.Tensor, torch.Tensor]
    """Root and quality id tensors for a tensor of chord ids (the AMT's inputs)."""
    import torch

    roots = torch.from_numpy(ROOT_OF_CHORD).to(chord_ids.device)
    qualities = torch.from_numpy(QUALITY_OF_CHORD).to(chord_ids.device)
    return roots[chord_ids], qualities[chord_ids]

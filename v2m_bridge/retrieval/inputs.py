"""Per-second input rows of the two branches (plain numpy, no torch).

Video row (:data:`VIDEO_INPUT_DIM` = 10): the 6 emotion probabilities, a cut flag, the local cut
rate (cuts per second over ±4 s), log scene offset, log motion.

Music row (:data:`MUSIC_INPUT_DIM` = 34): chord quality one-hot (14, N first), root one-hot in the
C major / A minor frame (13, N first), a chord-change flag, the local change rate (±4 s), a
phrase-start flag, the minor-mode flag, then note density, loudness and a has-dynamics flag
(zeros where the source has no notes; the starter embedding ignores these three, see
``EmbeddingConfig.use_dynamics``).

The CLIP semantic vectors (768) travel separately; only an embedding trained with
``use_semantic`` reads them.
"""

from __future__ import annotations

import numpy as np

from v2m_bridge.data.dataset import QUALITY_OF_CHORD
from v2m_bridge.retrieval.music_features import MusicFeatures, chord_root_degrees

VIDEO_INPUT_DIM = 10
MUSIC_INPUT_DIM = 34
DYNAMICS_COLUMNS = (31, 32, 33)
_RATE_HALF_WINDOW = 4


def _local_rate(flags: np.ndarray) -> np.ndarray:
    width = 2 * _RATE_HALF_WINDOW + 1
    if len(flags) == 0:
        return flags.astype(np.float32)
    padded = np.pad(np.asarray(flags, dtype=np.float64), _RATE_HALF_WINDOW)
    return np.convolve(padded, np.ones(width) / width, mode="valid").astype(np.float32)


def video_inputs(emotion: np.ndarray, scene_offset: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """``(T, 10)`` float32 from per-second emotion, scene offset (+1 convention) and motion."""
    emotion = np.asarray(emotion, dtype=np.float32)
    scene_offset = np.asarray(scene_offset, dtype=np.float32)
    motion = np.asarray(motion, dtype=np.float32)
    n = min(len(emotion), len(scene_offset), len(motion))
    cut = (scene_offset[:n] <= 1.0).astype(np.float32)
    if n:
        cut[0] = 0.0
    out = np.zeros((n, VIDEO_INPUT_DIM), dtype=np.float32)
    out[:, :6] = emotion[:n]
    out[:, 6] = cut
    out[:, 7] = _local_rate(cut) * 4.0
    out[:, 8] = np.log1p(np.maximum(scene_offset[:n] - 1.0, 0.0)) / np.log1p(60.0)
    out[:, 9] = np.log1p(np.clip(motion[:n], 0, 255)) / np.log1p(32.0)
    return out


def music_inputs(music: MusicFeatures) -> np.ndarray:
    """``(T, 34)`` float32 for one piece."""
    ids = music.chord_ids
    n = len(ids)
    out = np.zeros((n, MUSIC_INPUT_DIM), dtype=np.float32)
    rows = np.arange(n)
    out[rows, QUALITY_OF_CHORD[ids]] = 1.0
    out[rows, 14 + chord_root_degrees(ids)] = 1.0
    change = np.zeros(n, dtype=np.float32)
    change[1:] = ids[1:] != ids[:-1]
    out[:, 27] = change
    out[:, 28] = _local_rate(change) * 2.0
    phrases = [p for p in music.phrase_starts if 0 <= p < n]
    out[phrases, 29] = 1.0
    out[:, 30] = 1.0 if music.mode == "minor" else 0.0
    if music.has_dynamics:
        out[:, 31] = np.log1p(np.maximum(music.note_density, 0)) / np.log1p(16.0)
        out[:, 32] = np.clip(music.loudness, 0, 1)
        out[:, 33] = 1.0
    return out

"""The MuVi-Sync folder layout (spec §4): writer, reader and training windows.

Layout under the data folder (the official loader's paths)::

    vevo_chord/lab_v2_norm/all/<id>.lab       "key C major" then "<sec> <symbol>" per second
    vevo_semantic/all/2d/clip_l14p/<id>.npy   (n, 768) float32 CLIP features      [optional]
    vevo_emotion/6c_l14p/all/<id>.lab         header, then "<sec> p0 .. p5"
    vevo_motion/all/<id>.lab                  "<sec> <motion>"
    vevo_scene_offset/all/<id>.lab            "<sec> <offset>" (0 at a cut; +1 when loaded)
    vevo_loudness/all/<id>.lab                "<sec> <loudness 0..1>"           [regression only]
    vevo_note_density/all/<id>.lab            "<sec> <notes per second>"        [regression only]
    vevo_meta/split/v1/{train,val,test}.txt   one id per line

Differences from the official loader, on purpose: a song without a semantic file is read with
zero semantic features (the chord-corpus import writes none; see :mod:`.conditioning`), ids need
not be three digits, and songs longer than the model's window are cut into windows instead of
truncated at 300 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2m_bridge.data.emotion_map import EMOTION_NAMES
from v2m_bridge.errors import V2MError
from v2m_bridge.vocab import PAD_CHORD_ID, ChordError, parse_chord

SEMANTIC_DIM = 768
SPLITS = ("train", "val", "test")

CHORD_DIR = Path("vevo_chord/lab_v2_norm/all")
SEMANTIC_DIR = Path("vevo_semantic/all/2d/clip_l14p")
EMOTION_DIR = Path("vevo_emotion/6c_l14p/all")
MOTION_DIR = Path("vevo_motion/all")
SCENE_OFFSET_DIR = Path("vevo_scene_offset/all")
LOUDNESS_DIR = Path("vevo_loudness/all")
NOTE_DENSITY_DIR = Path("vevo_note_density/all")
SPLIT_DIR = Path("vevo_meta/split/v1")

EMOTION_HEADER = "time " + " ".join(f"{name}_prob" for name in EMOTION_NAMES)


class DatasetError(V2MError, ValueError):
    """A MuVi-Sync folder or file that is missing or malformed."""


@dataclass
class Song:
    """One song's per-second arrays, as the model reads them."""

    song_id: str
    chord_ids: np.ndarray  # (T,) int64 official chord ids
    minor: bool  # key line says minor (the official loader: anything but "major" is minor)
    emotion: np.ndarray  # (Tv, 6) float32
    motion: np.ndarray  # (Tv,) float32
    scene_offset: np.ndarray  # (Tv,) float32, official +1 convention (1 at a cut)
    semantic: np.ndarray | None = None  # (Tv, 768) float32, None when the file is absent
    loudness: np.ndarray | None = None
    note_density: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.chord_ids)


# ---------------------------------------------------------------------------------------------
# Writing


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_song(root: Path, song_id: str, chord_symbols: Sequence[str], mode: str,
               emotion: np.ndarray, motion: np.ndarray, scene_offset: np.ndarray,
               semantic: np.ndarray | None = None, loudness: np.ndarray | None = None,
               note_density: np.ndarray | None = None) -> None:
    """Write one song's files; ``scene_offset`` holds file values (0 at a cut)."""
    if mode not in ("major", "minor"):
        raise DatasetError(f"mode must be 'major' or 'minor', got {mode!r}")
    tonic = "C" if mode == "major" else "A"
    _write_lines(root / CHORD_DIR / f"{song_id}.lab",
                 [f"key {tonic} {mode}"] + [f"{t} {s}" for t, s in enumerate(chord_symbols)])
    _write_lines(root / EMOTION_DIR / f"{song_id}.lab",
                 [EMOTION_HEADER] + [f"{t} " + " ".join(f"{p:.4f}" for p in row)
                                     for t, row in enumerate(np.asarray(emotion))])
    _write_lines(root / MOTION_DIR / f"{song_id}.lab",
                 [f"{t} {v:.4f}" for t, v in enumerate(np.asarray(motion))])
    _write_lines(root / SCENE_OFFSET_DIR / f"{song_id}.lab",
                 [f"{t} {int(v)}" for t, v in enumerate(np.asarray(scene_offset))])
    if semantic is not None:
        (root / SEMANTIC_DIR).mkdir(parents=True, exist_ok=True)
        np.save(root / SEMANTIC_DIR / f"{song_id}.npy", np.asarray(semantic, dtype=np.float32))
    if loudness is not None:
        _write_lines(root / LOUDNESS_DIR / f"{song_id}.lab",
                     [f"{t} {v:.4f}" for t, v in enumerate(np.asarray(loudness))])
    if note_density is not None:
        _write_lines(root / NOTE_DENSITY_DIR / f"{song_id}.lab",
                     [f"{t} {v:.4f}" for t, v in enumerate(np.asarray(note_density))])


def write_splits(root: Path, splits: dict[str, Sequence[str]]) -> None:
    """Write ``vevo_meta/split/v1/<split>.txt`` for each given split."""
    for name, ids in splits.items():
        if name not in SPLITS:
            raise DatasetError(f"unknown split {name!r}; expected one of {SPLITS}")
        _write_lines(root / SPLIT_DIR / f"{name}.txt", ids)


# ---------------------------------------------------------------------------------------------
# Reading


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_chord_lab(path: Path) -> tuple[np.ndarray, bool]:
    """Chord ids per second and whether the key line says minor."""
    minor = True  # the official loader: no "major" in the key line means minor
    ids: list[int] = []
    for number, line in _lines(path):
        if line.startswith("key"):
            minor = "major" not in line
            continue
        parts = line.split()
        try:
            second = int(parts[0])
            chord = parse_chord(parts[1])
        except (IndexError, ValueError, ChordError):
            raise DatasetError(f"{path}:{number}: expected '<second> <chord symbol>' such as "
                               f"'12 A:min', got {line!r}") from None
        if second != len(ids):
            raise DatasetError(f"{path}:{number}: expected second {len(ids)}, got {second}")
        ids.append(chord.id)
    if not ids:
        raise DatasetError(f"{path}: no chord lines")
    return np.asarray(ids, dtype=np.int64), minor


def read_value_lab(path: Path, columns: int = 1) -> np.ndarray:
    """``(T, columns)`` float32 from ``"<sec> v1 .. vN"`` lines; a non-numeric first line is a
    header. Rows are placed at their second; missing seconds stay 0."""
    rows: dict[int, list[float]] = {}
    for index, (number, line) in enumerate(_lines(path)):
        parts = line.split()
        try:
            second = int(float(parts[0]))
        except ValueError:
            if index == 0:
                continue  # header
            raise DatasetError(f"{path}:{number}: expected a second number, got {line!r}") from None
        try:
            values = [float(v) for v in parts[1:1 + columns]]
        except ValueError:
            values = []
        if len(values) != columns or not all(math.isfinite(v) for v in values) or second < 0:
            raise DatasetError(f"{path}:{number}: expected '<second>' and {columns} finite "
                               f"number(s), got {line!r}")
        rows[second] = values
    array = np.zeros((max(rows, default=-1) + 1, columns), dtype=np.float32)
    for second, values in rows.items():
        array[second] = values
    return array


def read_song(root: Path, song_id: str, need_music_targets: bool = False) -> Song:
    """Read one song; loudness and note density are required only for the regression model."""
    chord_ids, minor = read_chord_lab(root / CHORD_DIR / f"{song_id}.lab")
    emotion = read_value_lab(root / EMOTION_DIR / f"{song_id}.lab", columns=6)
    semantic = None
    semantic_path = root / SEMANTIC_DIR / f"{song_id}.npy"
    if semantic_path.is_file():
        try:
            semantic = np.load(semantic_path, allow_pickle=False).astype(np.float32)
        except (ValueError, OSError) as err:
            raise DatasetError(f"{semantic_path}: not a numpy array file ({err})") from None
        if semantic.ndim != 2 or semantic.shape[1] != SEMANTIC_DIM:
            raise DatasetError(f"{semantic_path}: expected shape (n, {SEMANTIC_DIM}), got "
                               f"{semantic.shape}")
        if not np.isfinite(semantic).all():
            raise DatasetError(f"{semantic_path}: contains NaN or infinite values")
    song = Song(
        song_id=song_id,
        chord_ids=chord_ids,
        minor=minor,
        emotion=emotion,
        motion=read_value_lab(root / MOTION_DIR / f"{song_id}.lab")[:, 0],
        scene_offset=read_value_lab(root / SCENE_OFFSET_DIR / f"{song_id}.lab")[:, 0] + 1.0,
        semantic=semantic,
    )
    if need_music_targets:
        song.loudness = read_value_lab(root / LOUDNESS_DIR / f"{song_id}.lab")[:, 0]
        song.note_density = read_value_lab(root / NOTE_DENSITY_DIR / f"{song_id}.lab")[:, 0]
    return song


def read_split_ids(root: Path, split: str) -> list[str]:
    """Song ids of one split; a clear error when the folder is not a MuVi-Sync layout."""
    if not root.is_dir():
        raise DatasetError(f"{root}: data folder not found (expected a MuVi-Sync layout folder "
                           "with vevo_chord/, vevo_emotion/, vevo_motion/, vevo_scene_offset/ "
                           "and vevo_meta/split/v1/)")
    path = root / SPLIT_DIR / f"{split}.txt"
    if not path.is_file():
        raise DatasetError(f"{root}: no {SPLIT_DIR / (split + '.txt')}; is this a MuVi-Sync "
                           "layout folder? (`v2m-bridge train import-corpora` writes one)")
    ids = [line for _, line in _lines(path)]
    if not ids:
        raise DatasetError(f"{path}: the {split} split is empty")
    return ids


def read_split(root: Path, split: str, need_music_targets: bool = False,
               limit: int | None = None) -> list[Song]:
    ids = read_split_ids(root, split)[:limit]
    return [read_song(root, song_id, need_music_targets) for song_id in ids]


# ---------------------------------------------------------------------------------------------
# Windows and batches


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
    ``tgt_emotion`` (B, L, 6) = emotion at the target seconds, ``semantic`` (B, L, 768) when
    ``with_semantic``, and ``loudness``/``note_density`` (B, L) when the songs have them.
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
        fields["emotion"].append(_slice_padded(w.song.emotion, s, length, (6,)))
        fields["tgt_emotion"].append(_slice_padded(w.song.emotion, s + 1, length, (6,)))
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
    from v2m_bridge.vocab import (
        END_CHORD_ID,
        END_QUALITY_ID,
        END_ROOT_ID,
        PAD_QUALITY_ID,
        PAD_ROOT_ID,
        chord_from_id,
    )

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

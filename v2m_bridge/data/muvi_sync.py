"""The MuVi-Sync folder layout (spec §4): the one reader and writer of its files.

Layout under the data folder (the official loader's paths)::

    vevo_chord/lab_v2_norm/all/<id>.lab       "key C major" then "<sec> <symbol>" per second
    vevo_semantic/all/2d/clip_l14p/<id>.npy   (T, SEMANTIC_DIM) float32 CLIP features [optional]
    vevo_emotion/6c_l14p/all/<id>.lab         header, then "<sec> p0 .. p5" (%.4f)
    vevo_motion/all/<id>.lab                  "<sec> <motion>" (%.4f)
    vevo_scene_offset/all/<id>.lab            "<sec> <offset>" (0 at a cut, see below)
    vevo_loudness/all/<id>.lab                "<sec> <loudness 0..1>"           [regression only]
    vevo_note_density/all/<id>.lab            "<sec> <notes per second>"        [regression only]
    vevo_meta/split/v1/{train,val,test}.txt   one id per line
    vevo_meta/idlist.txt                      "<id>-<title>\\t<file name>"   [video export only]
    vevo_meta/v2m_features.json               source, provenance, settings  [video export only]

In memory every scene offset uses the official +1 convention of :mod:`v2m_bridge.features`
(1 at the first second of a scene). Only the ``.lab`` files store it without the +1, as the
official dataset does (its loader adds 1); this module is the only place that converts.

Differences from the official loader, on purpose: a song without a semantic file is read with no
semantic features (the chord-corpus import writes none; see :mod:`.conditioning`), and ids need
not be three digits. Windows and batches for training are in :mod:`.dataset`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2m_bridge.errors import FeatureError, V2MError
from v2m_bridge.features import EMOTION_DIM, EMOTION_LABELS, VideoFeatures, check_per_second
from v2m_bridge.vocab import ChordError, parse_chord

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg"})

CHORD_DIR = Path("vevo_chord/lab_v2_norm/all")
SEMANTIC_DIR = Path("vevo_semantic/all/2d/clip_l14p")
EMOTION_DIR = Path("vevo_emotion/6c_l14p/all")
MOTION_DIR = Path("vevo_motion/all")
SCENE_OFFSET_DIR = Path("vevo_scene_offset/all")
LOUDNESS_DIR = Path("vevo_loudness/all")
NOTE_DENSITY_DIR = Path("vevo_note_density/all")
META_DIR = Path("vevo_meta")
SPLIT_DIR = META_DIR / "split/v1"

EMOTION_HEADER = "time " + " ".join(f"{label}_prob" for label in EMOTION_LABELS)


class DatasetError(V2MError, ValueError):
    """A MuVi-Sync folder or file that is missing or malformed."""


class ExportError(V2MError):
    """A dataset export that cannot proceed (no videos, fallback features not allowed...)."""


@dataclass
class Song:
    """One song's per-second arrays as read from the layout, checked on creation.

    The video-side arrays go through :func:`v2m_bridge.features.check_per_second` for shapes and
    finiteness, each on its own length: the chord and feature files of a song need not cover the
    same seconds (batches pad them), and rows missing from a file are read as zeros, so value
    ranges are not enforced.
    """

    song_id: str
    chord_ids: np.ndarray  # (T,) int64 official chord ids
    minor: bool  # key line says minor (the official loader: anything but "major" is minor)
    emotion: np.ndarray  # (Tv, EMOTION_DIM) float32
    motion: np.ndarray  # (Tv,) float32
    scene_offset: np.ndarray  # (Tv,) float32, official +1 convention (1 at a cut)
    semantic: np.ndarray | None = None  # (Tv, SEMANTIC_DIM) float32, None when the file is absent
    loudness: np.ndarray | None = None
    note_density: np.ndarray | None = None

    def __post_init__(self) -> None:
        names = ("emotion", "motion", "scene_offset", "semantic", "loudness", "note_density")
        checked = check_per_second({name: getattr(self, name) for name in names},
                                   same_length=False)
        for name, array in checked.items():
            setattr(self, name, array)

    def __len__(self) -> int:
        return len(self.chord_ids)


# ---------------------------------------------------------------------------------------------
# Writing


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_values(path: Path, values: np.ndarray) -> None:
    _write_lines(path, [f"{t} {v:.4f}" for t, v in enumerate(np.asarray(values))])


def write_video_side(root: Path, song_id: str, emotion: np.ndarray, motion: np.ndarray,
                     scene_offset: np.ndarray, semantic: np.ndarray | None = None) -> None:
    """Write one song's video-feature files; ``scene_offset`` in the +1 convention."""
    _write_lines(root / EMOTION_DIR / f"{song_id}.lab",
                 [EMOTION_HEADER] + [f"{t} " + " ".join(f"{p:.4f}" for p in row)
                                     for t, row in enumerate(np.asarray(emotion))])
    _write_values(root / MOTION_DIR / f"{song_id}.lab", motion)
    _write_lines(root / SCENE_OFFSET_DIR / f"{song_id}.lab",  # the files store offset - 1
                 [f"{t} {round(v) - 1}" for t, v in enumerate(np.asarray(scene_offset))])
    if semantic is not None:
        (root / SEMANTIC_DIR).mkdir(parents=True, exist_ok=True)
        np.save(root / SEMANTIC_DIR / f"{song_id}.npy", np.asarray(semantic, dtype=np.float32))


def write_song(root: Path, song_id: str, chord_symbols: Sequence[str], mode: str,
               emotion: np.ndarray, motion: np.ndarray, scene_offset: np.ndarray,
               semantic: np.ndarray | None = None, loudness: np.ndarray | None = None,
               note_density: np.ndarray | None = None) -> None:
    """Write one song's chords, video features (``scene_offset`` in the +1 convention) and,
    when given, its regression targets."""
    if mode not in ("major", "minor"):
        raise DatasetError(f"mode must be 'major' or 'minor', got {mode!r}")
    tonic = "C" if mode == "major" else "A"
    _write_lines(root / CHORD_DIR / f"{song_id}.lab",
                 [f"key {tonic} {mode}"] + [f"{t} {s}" for t, s in enumerate(chord_symbols)])
    write_video_side(root, song_id, emotion, motion, scene_offset, semantic)
    if loudness is not None:
        _write_values(root / LOUDNESS_DIR / f"{song_id}.lab", loudness)
    if note_density is not None:
        _write_values(root / NOTE_DENSITY_DIR / f"{song_id}.lab", note_density)


def write_splits(root: Path, splits: dict[str, Sequence[str]]) -> None:
    """Write ``vevo_meta/split/v1/<split>.txt`` for each given split."""
    for name, ids in splits.items():
        if name not in SPLITS:
            raise DatasetError(f"unknown split {name!r}; expected one of {SPLITS}")
        _write_lines(root / SPLIT_DIR / f"{name}.txt", ids)


# ---------------------------------------------------------------------------------------------
# Exporting the features of a folder of videos (no music targets: those come from the music)


def find_videos(folder: Path) -> list[Path]:
    """Video files directly inside ``folder``, sorted by name."""
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder; expected a folder of video files")
    videos = sorted(p for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise ExportError(f"no video files ({', '.join(sorted(VIDEO_SUFFIXES))}) in {folder}")
    return videos


def write_muvi_sync(features: VideoFeatures, root: Path, video_id: str) -> None:
    """Write one video's four feature files under ``root``."""
    write_video_side(root, video_id, features.emotion, features.motion, features.scene_offset,
                     features.semantic)


def export_dataset(
    videos: Iterable[Path],
    root: Path,
    analyze: Callable[[Path], VideoFeatures],
    *,
    allow_fallback: bool = False,
) -> list[str]:
    """Analyse each video with ``analyze`` and write it under ``root``; returns the ids written.

    Ids are ``001``, ``002``, ... in the given order. Fallback features have all-zero semantic
    vectors, useless for training, so they are refused unless ``allow_fallback``.
    """
    videos = list(videos)
    width = max(3, len(str(len(videos))))
    manifest: dict[str, dict] = {}
    id_lines = []
    for index, video in enumerate(videos, start=1):
        video_id = f"{index:0{width}d}"
        features = analyze(video)
        if features.provenance != "clip" and not allow_fallback:
            raise ExportError(
                f"{video} was analysed without CLIP weights (fallback features, semantic = 0); "
                "provide CLIP weights or pass allow_fallback / --allow-fallback")
        write_muvi_sync(features, root, video_id)
        id_lines.append(f"{video_id}-{video.stem}\t{video.name}")
        manifest[video_id] = {"source": str(video), "provenance": features.provenance,
                              "seconds": features.n_seconds, "duration": features.duration,
                              "cut_times": features.cut_times, "settings": features.settings}
        logger.info("exported %s as %s (%d s, %s)", video.name, video_id, features.n_seconds,
                    features.provenance)
    _write_lines(root / META_DIR / "idlist.txt", id_lines)
    (root / META_DIR / "v2m_features.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return list(manifest)


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


def _read_semantic(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise DatasetError(f"{path}: not a numpy array file ({err})") from None


def read_song(root: Path, song_id: str, need_music_targets: bool = False) -> Song:
    """Read one song; loudness and note density are required only for the regression model."""
    chord_ids, minor = read_chord_lab(root / CHORD_DIR / f"{song_id}.lab")
    arrays = {
        "emotion": read_value_lab(root / EMOTION_DIR / f"{song_id}.lab", columns=EMOTION_DIM),
        "motion": read_value_lab(root / MOTION_DIR / f"{song_id}.lab")[:, 0],
        "scene_offset": read_value_lab(root / SCENE_OFFSET_DIR / f"{song_id}.lab")[:, 0] + 1.0,
        "semantic": _read_semantic(root / SEMANTIC_DIR / f"{song_id}.npy"),
    }
    if need_music_targets:
        arrays["loudness"] = read_value_lab(root / LOUDNESS_DIR / f"{song_id}.lab")[:, 0]
        arrays["note_density"] = read_value_lab(root / NOTE_DENSITY_DIR / f"{song_id}.lab")[:, 0]
    try:
        return Song(song_id, chord_ids, minor, **arrays)
    except FeatureError as err:
        raise DatasetError(f"{root}: song {song_id}: {err}") from None


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
    """The songs of one split, in the split file's order (at most ``limit``)."""
    ids = read_split_ids(root, split)[:limit]
    return [read_song(root, song_id, need_music_targets) for song_id in ids]

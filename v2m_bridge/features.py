"""The per-second feature record: one row per second of video, as the AMT consumes it (spec §1).

This module is the single home of the per-second conventions shared by every record
(:class:`VideoFeatures` here, ``ConditioningInputs`` in :mod:`v2m_bridge.model.generate`,
``SecondFeatures`` in :mod:`v2m_bridge.daemon.live_frames`, ``Song`` in
:mod:`v2m_bridge.data.dataset`):

* the sizes: :data:`SEMANTIC_DIM` (CLIP ViT-L/14 embedding, 768) and :data:`EMOTION_DIM`;
* the emotion column order, :data:`EMOTION_LABELS`, and :func:`one_hot_emotion`;
* the scene-offset rule, :func:`scene_offsets_from_cuts`;
* one validation routine for per-second arrays, :func:`check_per_second`.

Every array has one row per second (index = second, ``T`` rows, T ≈ ceil(duration), the official
one-frame-per-second rule). Values follow the official conventions exactly: semantic is the raw
(unnormalised) CLIP image embedding, emotion the 6-way zero-shot softmax, scene offset is
already "+1" (1.0 at the first second of each scene, as the official loader feeds the model;
only the MuVi-Sync files store it without the +1, see :mod:`v2m_bridge.data.muvi_sync`), and
motion is on the 0-255 intensity scale with motion[0] = 0.

Importing this module is cheap (numpy only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_bridge.errors import FeatureError

EMOTION_LABELS: tuple[str, ...] = ("exciting", "fearful", "tense", "sad", "relaxing", "neutral")
"""Column order of every emotion array: the official CLIP zero-shot prompts (spec §1.3)."""
EMOTION_DIM = len(EMOTION_LABELS)
SEMANTIC_DIM = 768
"""Size of the CLIP ViT-L/14@336px image embedding (the semantic feature of one second)."""
PROVENANCES: tuple[str, ...] = ("clip", "fallback")
# Bumped whenever the meaning of a stored array changes, so old cache entries and files are refused.
FEATURES_FORMAT_VERSION = 1
_ROW_SUM_TOLERANCE = 1e-3
_CUT_TOLERANCE_S = 1e-6  # absorbs timestamps such as 4.999999 for a cut on frame 125 at 25 fps

PER_SECOND_COLUMNS: dict[str, tuple[int, ...]] = {
    "semantic": (SEMANTIC_DIM,),
    "emotion": (EMOTION_DIM,),
    "scene_offset": (),
    "motion": (),
    "loudness": (),
    "note_density": (),
}
"""Shape of one row of each per-second array (``()`` for one number per second)."""


def check_per_second(arrays: Mapping[str, object], *, same_length: bool = True,
                     min_seconds: int = 0, ranges: bool = False) -> dict[str, np.ndarray]:
    """Check per-second arrays and return them as float32, keyed as given (``None`` skipped).

    Always checked: each array is numeric with rows of :data:`PER_SECOND_COLUMNS` shape and holds
    no NaN or infinity. ``same_length``: all cover the same ``T`` seconds, and ``T >=
    min_seconds``. ``ranges``: the official value ranges (emotion rows are probabilities, scene
    offset >= 1, motion within 0-255). Raises :class:`FeatureError` naming the array.
    """
    checked: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if value is None:
            continue
        try:
            array = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise FeatureError(f"{name} must be a numeric array: {err}") from err
        columns = PER_SECOND_COLUMNS[name]
        if array.ndim != 1 + len(columns) or array.shape[1:] != columns:
            want = "(T" + "".join(f", {n}" for n in columns) + ")"
            raise FeatureError(f"{name} must have shape {want}, got {array.shape}")
        if same_length and checked:
            first, reference = next(iter(checked.items()))
            if len(array) != len(reference):
                raise FeatureError(
                    f"{name} must have shape {(len(reference), *columns)} to cover the same "
                    f"seconds as {first} (T={len(reference)}), got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise FeatureError(f"{name} contains NaN or infinite values")
        checked[name] = array
    if same_length and checked:
        n_seconds = len(next(iter(checked.values())))
        if n_seconds < min_seconds:
            raise FeatureError(f"features must cover at least {min_seconds} second(s), got "
                               f"{n_seconds}")
    if ranges:
        _check_ranges(checked)
    return checked


def _check_ranges(arrays: Mapping[str, np.ndarray]) -> None:
    emotion = arrays.get("emotion")
    if emotion is not None and (np.any(emotion < 0) or np.any(
            np.abs(emotion.sum(axis=1) - 1.0) > _ROW_SUM_TOLERANCE)):
        raise FeatureError("emotion rows must be probabilities (non-negative, summing to 1)")
    offsets = arrays.get("scene_offset")
    if offsets is not None and np.any(offsets < 1.0):
        raise FeatureError("scene_offset uses the official +1 convention and must be >= 1")
    motion = arrays.get("motion")
    if motion is not None and (np.any(motion < 0) or np.any(motion > 255)):
        raise FeatureError("motion must lie on the 0-255 intensity scale")


def one_hot_emotion(label: str) -> np.ndarray:
    """``(6,)`` float32 with 1 in ``label``'s column (an exact :data:`EMOTION_LABELS` entry)."""
    vector = np.zeros(EMOTION_DIM, dtype=np.float32)
    vector[EMOTION_LABELS.index(label)] = 1.0
    return vector


def scene_offsets_from_cuts(cut_times: Sequence[float], n_seconds: int) -> np.ndarray:
    """``(n_seconds,)`` float32 scene offset in the official +1 convention (1 at a scene start).

    Official rule (spec §1.4): a cut at time ``c`` (a scene start, in seconds, whole or not) owns
    every second ``s >= c``; second ``s`` belongs to the scene that contains the instant ``s``.
    The offset counts seconds since that scene's first whole second, plus 1, and resets when the
    scene changes. A scene that starts and ends inside one second never owns a second; second 0
    is always 1 (a cut at 0 changes nothing).
    """
    cuts = np.asarray(sorted(cut_times), dtype=np.float64)
    seconds = np.arange(n_seconds)
    scene_ids = np.searchsorted(cuts - _CUT_TOLERANCE_S, seconds, side="right")
    offsets = np.zeros(n_seconds, dtype=np.float32)
    for s in range(1, n_seconds):
        offsets[s] = 0.0 if scene_ids[s] != scene_ids[s - 1] else offsets[s - 1] + 1.0
    return offsets + 1.0


@dataclass(frozen=True)
class SceneSegment:
    """A scene in whole seconds: rows ``[start_second, end_second)`` of the feature arrays."""

    start_second: int
    end_second: int
    dominant_emotion: str


@dataclass
class VideoFeatures:
    """Per-second features of a video plus where they came from.

    ``provenance`` is ``"clip"`` when CLIP ViT-L/14@336px produced semantic and emotion, or
    ``"fallback"`` when the weights were missing (semantic is then all zeros and emotion comes
    from :mod:`v2m_bridge.video.fallback_emotion`). ``settings`` records how the features were
    made (detector, CLIP model, ...), as strings.
    """

    source: str
    fps: float
    duration: float
    semantic: np.ndarray
    emotion: np.ndarray
    scene_offset: np.ndarray
    motion: np.ndarray
    cut_times: list[float]
    provenance: str
    settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cut_times = [float(t) for t in self.cut_times]
        self.fps = float(self.fps)
        self.duration = float(self.duration)
        self.settings = {str(k): str(v) for k, v in self.settings.items()}
        self.validate()

    @property
    def n_seconds(self) -> int:
        """Number of per-second rows ``T``."""
        return int(self.scene_offset.shape[0])

    def validate(self) -> None:
        """Raise :class:`FeatureError` unless shapes, ranges and metadata are consistent.

        The arrays are stored as float32 (the checked copies of :func:`check_per_second`)."""
        arrays = check_per_second(
            {"semantic": self.semantic, "emotion": self.emotion,
             "scene_offset": self.scene_offset, "motion": self.motion},
            min_seconds=1, ranges=True)
        self.semantic, self.emotion = arrays["semantic"], arrays["emotion"]
        self.scene_offset, self.motion = arrays["scene_offset"], arrays["motion"]
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise FeatureError(f"fps must be a positive number, got {self.fps}")
        if not (np.isfinite(self.duration) and self.duration > 0):
            raise FeatureError(f"duration must be a positive number of seconds, got "
                               f"{self.duration}")
        if any(not np.isfinite(t) or t <= 0 for t in self.cut_times) or \
                self.cut_times != sorted(self.cut_times):
            raise FeatureError("cut_times must be increasing positive seconds (0 is not a cut)")
        if self.provenance not in PROVENANCES:
            raise FeatureError(f"provenance must be one of {PROVENANCES}, got "
                               f"{self.provenance!r}")

    def scene_segments(self) -> list[SceneSegment]:
        """Scenes in whole seconds (where scene_offset resets to 1) with their dominant emotion."""
        starts = [int(s) for s in np.flatnonzero(self.scene_offset == 1.0)]
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
        ends = [*starts[1:], self.n_seconds]
        segments = []
        for start, end in zip(starts, ends, strict=True):
            mean_emotion = self.emotion[start:end].mean(axis=0)
            segments.append(SceneSegment(start, end, EMOTION_LABELS[int(mean_emotion.argmax())]))
        return segments

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` file (no pickles); returns the path written."""
        path = Path(path)
        metadata = {
            "format_version": FEATURES_FORMAT_VERSION,
            "source": self.source,
            "fps": self.fps,
            "duration": self.duration,
            "cut_times": self.cut_times,
            "provenance": self.provenance,
            "settings": self.settings,
        }
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                semantic=self.semantic,
                emotion=self.emotion,
                scene_offset=self.scene_offset,
                motion=self.motion,
                metadata=np.array(json.dumps(metadata)),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> VideoFeatures:
        """Read a file written by :meth:`save`; raises :class:`FeatureError` if it is not one."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in
                          ("semantic", "emotion", "scene_offset", "motion")}
                metadata = json.loads(str(data["metadata"]))
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
            raise FeatureError(f"{path} is not a v2m-bridge features file (.npz written by "
                               f"VideoFeatures.save): {err}") from err
        version = metadata.get("format_version")
        if version != FEATURES_FORMAT_VERSION:
            raise FeatureError(f"{path} has features format version {version}, expected "
                               f"{FEATURES_FORMAT_VERSION}; analyse the video again")
        try:
            return cls(
                source=metadata["source"], fps=metadata["fps"], duration=metadata["duration"],
                cut_times=metadata["cut_times"], provenance=metadata["provenance"],
                settings=metadata.get("settings", {}), **arrays,
            )
        except (KeyError, TypeError) as err:
            raise FeatureError(f"{path} has incomplete metadata: {err}") from err

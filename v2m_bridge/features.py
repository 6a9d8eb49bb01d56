"""The per-second features of one video, as the AMT consumes them (spec §1).

Every array has one row per second (index = second, ``T`` rows, T ≈ ceil(duration), the official
one-frame-per-second rule). Values follow the official conventions exactly: semantic is the raw
(unnormalised) 768-d CLIP image embedding, emotion the 6-way zero-shot softmax, scene offset is
already "+1" (1.0 at the first second of each scene, as the official loader feeds the model), and
motion is on the 0-255 intensity scale with motion[0] = 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_bridge.emotion import EMOTIONS
from v2m_bridge.errors import FeatureError

EMOTION_LABELS: tuple[str, ...] = EMOTIONS  # column order of every emotion array
SEMANTIC_DIM = 768
PROVENANCES: tuple[str, ...] = ("clip", "fallback")
# Bumped whenever the meaning of a stored array changes, so old cache entries and files are refused.
FEATURES_FORMAT_VERSION = 1
_ROW_SUM_TOLERANCE = 1e-3


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
        self.semantic = _as_float32("semantic", self.semantic)
        self.emotion = _as_float32("emotion", self.emotion)
        self.scene_offset = _as_float32("scene_offset", self.scene_offset)
        self.motion = _as_float32("motion", self.motion)
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
        """Raise :class:`FeatureError` unless shapes, ranges and metadata are consistent."""
        n = self.scene_offset.shape[0] if self.scene_offset.ndim == 1 else -1
        expected = {
            "semantic": (n, SEMANTIC_DIM),
            "emotion": (n, len(EMOTION_LABELS)),
            "scene_offset": (n,),
            "motion": (n,),
        }
        if n < 1:
            raise FeatureError(
                f"scene_offset must be a 1-d array with at least one second, got shape "
                f"{self.scene_offset.shape}"
            )
        for name, shape in expected.items():
            array = getattr(self, name)
            if array.shape != shape:
                raise FeatureError(f"{name} must have shape {shape} (T={n} seconds), "
                                   f"got {array.shape}")
            if not np.all(np.isfinite(array)):
                raise FeatureError(f"{name} contains NaN or infinite values")
        row_sums = self.emotion.sum(axis=1)
        if np.any(self.emotion < 0) or np.any(np.abs(row_sums - 1.0) > _ROW_SUM_TOLERANCE):
            raise FeatureError("emotion rows must be probabilities (non-negative, summing to 1)")
        if np.any(self.scene_offset < 1.0):
            raise FeatureError("scene_offset uses the official +1 convention and must be >= 1")
        if np.any(self.motion < 0) or np.any(self.motion > 255):
            raise FeatureError("motion must lie on the 0-255 intensity scale")
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


def _as_float32(name: str, value: object) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise FeatureError(f"{name} must be a numeric array: {err}") from err

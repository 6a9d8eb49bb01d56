"""Per-second note density and loudness, and the official velocity curve.

The official system predicts ``[note_density, loudness]`` per second with a bi-GRU (spec §7) and
turns loudness into a velocity (spec §8). Without a regression checkpoint we use
:func:`heuristic_dynamics`, a documented, deterministic mapping from the video features. It is a
hand-made rule, not a learned model, and outputs say so (:data:`HEURISTIC_LABEL`).

Units follow the official regression outputs so either source feeds the same code:

* note density: roughly 0..40 (official ``clip(round(y0), 0, 40)``);
* loudness: the raw regression value, where 0.0..0.5 spans the loudness levels 0..50.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m_bridge.errors import FeatureError

MAX_NOTE_DENSITY = 40
MAX_LOUDNESS_LEVEL = 50
VELOCITY_MIN = 49
VELOCITY_MAX = 112
VELOCITY_CURVE_EXPONENT = 0.3

HEURISTIC_LABEL = ("note density and loudness from a fixed rule over motion, scene offset and "
                   "emotion (no regression model)")

# Arousal of each emotion class, in the official column order
# (exciting, fearful, tense, sad, relaxing, neutral): how much it pushes density and loudness up.
EMOTION_AROUSAL = np.array([1.0, 0.8, 0.7, 0.15, 0.1, 0.4], dtype=np.float64)

# Motion (mean absolute frame difference on the 0-255 scale) at which the motion term saturates.
# Static shots sit below 1, slow pans around 2-5, busy action around 10-30, hard cuts above 40;
# a log scale spreads the common low values instead of squashing them near zero.
MOTION_SATURATION = 40.0
# Seconds over which the "new scene" lift decays after a cut.
SCENE_LIFT_DECAY_S = 3.0
SMOOTHING_WINDOW_S = 3


@dataclass(frozen=True)
class Dynamics:
    """Note density and loudness per second, in the official regression units."""

    note_density: np.ndarray  # (T,) float, ~0..40
    loudness: np.ndarray  # (T,) float, 0..0.5 spans the 51 loudness levels
    source: str  # "heuristic" or "regression"

    def __post_init__(self) -> None:
        if self.note_density.shape != self.loudness.shape or self.note_density.ndim != 1:
            raise FeatureError("note density and loudness must be 1-D arrays of the same length, "
                               f"got {self.note_density.shape} and {self.loudness.shape}")

    def __len__(self) -> int:
        return int(self.note_density.shape[0])

    def at(self, second: float) -> tuple[float, float]:
        """(density, loudness) for the second containing ``second`` (clamped to the ends)."""
        index = int(np.clip(int(second), 0, len(self) - 1))
        return float(self.note_density[index]), float(self.loudness[index])


def loudness_level(loudness: float | np.ndarray) -> np.ndarray:
    """Official loudness level 0..50: ``clip(int(loudness * 100), 0, 50)`` (int truncates)."""
    scaled = np.trunc(np.asarray(loudness, dtype=np.float64) * 100.0)
    return np.clip(scaled, 0, MAX_LOUDNESS_LEVEL).astype(np.int64)


def velocity_from_loudness(loudness: float | np.ndarray) -> np.ndarray:
    """Official velocity curve: ``round((level / 50) ** 0.3 * (112 - 49) + 49)``, in 49..112."""
    level = loudness_level(loudness).astype(np.float64)
    curve = (level / MAX_LOUDNESS_LEVEL) ** VELOCITY_CURVE_EXPONENT
    return np.round(curve * (VELOCITY_MAX - VELOCITY_MIN) + VELOCITY_MIN).astype(np.int64)


def _check_series(name: str, values: np.ndarray, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise FeatureError(f"{name} must be a 1-D per-second array, got shape {array.shape}")
    if length is not None and array.shape[0] != length:
        raise FeatureError(f"{name} has {array.shape[0]} seconds, expected {length}")
    if not np.all(np.isfinite(array)):
        raise FeatureError(f"{name} contains NaN or infinite values")
    return array


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or values.size <= 1:
        return values
    padded = np.pad(values, (window // 2, window - 1 - window // 2), mode="edge")
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def heuristic_dynamics(motion: np.ndarray, scene_offset: np.ndarray,
                       emotion: np.ndarray) -> Dynamics:
    """Deterministic note density and loudness from the video features (no model).

    Each second gets three terms in 0..1:

    * ``m``, motion: ``min(log(1 + motion) / log(1 + 40), 1)`` on the official 0..255 scale
      (motion 1 -> 0.19, 4 -> 0.43, 10 -> 0.65, 40 and above -> 1);
    * ``a``, arousal: the emotion probabilities weighted by :data:`EMOTION_AROUSAL`
      (exciting 1.0, fearful 0.8, tense 0.7, neutral 0.4, sad 0.15, relaxing 0.1);
    * ``s``, scene lift: ``exp(-(scene_offset - 1) / 3)``, 1.0 on the first second of a shot.

    Their mix ``x = min(0.6 m + 0.35 a + 0.2 s, 1)`` is how active the picture is. Then
    ``density = 40 x`` and ``loudness = 0.5 x³``, both smoothed with a centred 3-second moving
    average so the arrangement breathes rather than jumps. The cube spreads the official
    velocity curve (``level ** 0.3``, which squeezes loud levels together) over its whole range:
    a still shot (x ≈ 0.2) plays near velocity 49, a moving one (x ≈ 0.55) near 85, action with
    cuts (x → 1) near 112.
    Busy, exciting footage gets dense, loud arpeggios; static, calm footage sparse, soft ones.

    Args:
        motion: (T,) official motion values, 0..255.
        scene_offset: (T,) official scene offset (+1 convention: 1.0 on a shot's first second).
        emotion: (T, 6) emotion probabilities in the official column order.
    """
    motion_arr = _check_series("motion", motion)
    length = motion_arr.shape[0]
    offset_arr = _check_series("scene_offset", scene_offset, length)
    emotion_arr = np.asarray(emotion, dtype=np.float64)
    if emotion_arr.shape != (length, 6):
        raise FeatureError(f"emotion must have shape ({length}, 6), got {emotion_arr.shape}")
    if not np.all(np.isfinite(emotion_arr)):
        raise FeatureError("emotion contains NaN or infinite values")

    moving = np.clip(np.log1p(np.maximum(motion_arr, 0.0)) / np.log1p(MOTION_SATURATION),
                     0.0, 1.0)
    arousal = np.clip(emotion_arr @ EMOTION_AROUSAL, 0.0, 1.0)
    scene_lift = np.exp(-np.maximum(offset_arr - 1.0, 0.0) / SCENE_LIFT_DECAY_S)

    active = np.clip(0.6 * moving + 0.35 * arousal + 0.2 * scene_lift, 0.0, 1.0)
    density = MAX_NOTE_DENSITY * active
    loudness = 0.5 * active ** 3
    return Dynamics(
        note_density=np.clip(_moving_average(density, SMOOTHING_WINDOW_S), 0, MAX_NOTE_DENSITY),
        loudness=np.clip(_moving_average(loudness, SMOOTHING_WINDOW_S), 0.0, 0.5),
        source="heuristic",
    )


def dynamics_from_regression(output: np.ndarray) -> Dynamics:
    """Wrap a regression model's ``(T, 2)`` ``[note_density, loudness]`` output."""
    array = np.asarray(output, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise FeatureError(f"regression output must have shape (T, 2), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise FeatureError("regression output contains NaN or infinite values")
    return Dynamics(note_density=np.clip(np.round(array[:, 0]), 0, MAX_NOTE_DENSITY),
                    loudness=array[:, 1].copy(), source="regression")

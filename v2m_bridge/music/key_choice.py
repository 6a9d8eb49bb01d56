"""``--key auto``: a key from the picture's valence and arousal.

The per-second emotion probabilities (CLIP's or the fallback reading's) are read back onto the
valence/arousal plane as the probability-weighted mean of the classes' places on Russell's
circumplex (:data:`v2m_bridge.emotion.EMOTION_PROTOTYPES`; for the fallback reading, which is a
softmax over distances to those places, this recovers its valence and arousal, pulled a little
towards the centre). Then:

* **mode**: minor when the video's mean valence is below :data:`MINOR_BELOW_VALENCE` (dark,
  desaturated, cold or tense footage), major otherwise (neutral footage keeps major);
* **tonic**: arousal sets the register. The model writes in C major / A minor and the official
  transposition moves its notes by −7..+4 semitones, so a calm video gets a key that sits low
  (F or G major, D or E minor) and an energetic one a key that sits high (D or E major, B or C
  minor). Neutral arousal gives C major / A minor, the model's own frame. Only keys with at most
  three sharps or flats are chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from v2m_bridge.emotion import EMOTION_PROTOTYPES
from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.vocab import Key

MINOR_BELOW_VALENCE = -0.15
NEUTRAL_AROUSAL = EMOTION_PROTOTYPES["neutral"][1]
SEMITONES_PER_AROUSAL = 8.0  # register shift per unit of arousal above the neutral centre
# tonic pitch classes, low to high by the official transposition (-7 ... +4 semitones)
MAJOR_CHOICES: tuple[int, ...] = (5, 7, 10, 0, 2, 4)  # F G Bb C D E major
MINOR_CHOICES: tuple[int, ...] = (2, 4, 7, 9, 11, 0)  # D E G A B C minor


class HasEmotion(Protocol):
    """Any per-second record with emotion rows (VideoFeatures, ConditioningInputs)."""

    emotion: np.ndarray


_PLACES = np.array([EMOTION_PROTOTYPES[label] for label in EMOTION_LABELS])


@dataclass(frozen=True)
class KeyChoice:
    """The chosen key and the reading it came from."""

    key: Key
    valence: float
    arousal: float

    @property
    def reading(self) -> str:
        """How the key was chosen, e.g. ``"auto: valence -0.54, arousal -0.59"``."""
        return f"auto: valence {self.valence:+.2f}, arousal {self.arousal:+.2f}"

    def describe(self) -> str:
        return f"{self.key.name} ({self.reading})"


def valence_arousal(emotion: np.ndarray) -> tuple[float, float]:
    """Mean (valence, arousal) of ``(T, 6)`` emotion rows; (0, neutral arousal) when empty."""
    rows = np.asarray(emotion, dtype=np.float64).reshape(-1, len(EMOTION_LABELS))
    totals = rows.sum(axis=1, keepdims=True)
    rows = rows[totals[:, 0] > 0] / totals[totals[:, 0] > 0]
    if len(rows) == 0:
        return 0.0, float(NEUTRAL_AROUSAL)
    valence, arousal = (rows @ _PLACES).mean(axis=0)
    return float(valence), float(arousal)


def key_for(valence: float, arousal: float) -> Key:
    """The key for a (valence, arousal) reading (see the module docstring)."""
    minor = valence < MINOR_BELOW_VALENCE
    target = SEMITONES_PER_AROUSAL * (arousal - NEUTRAL_AROUSAL)
    probe = [Key(t, "minor" if minor else "major")
             for t in (MINOR_CHOICES if minor else MAJOR_CHOICES)]
    # nearest register; ties go to the key nearer the normalised frame
    return min(probe, key=lambda k: (abs(k.semitones_from_normalised - target),
                                     abs(k.semitones_from_normalised)))


def choose_key(features: HasEmotion) -> KeyChoice:
    """The key of ``--key auto`` for any record with an ``emotion`` ``(T, 6)`` array."""
    valence, arousal = valence_arousal(features.emotion)
    return KeyChoice(key_for(valence, arousal), valence, arousal)

"""The official chord-quality ↔ emotion mapping (spec §5.5).

The official training loss pushes, at each second, every chord whose quality belongs to the
second's dominant emotion. The same table drives :mod:`.conditioning` (emotion vectors derived from
chords) and :mod:`.loss` (the multi-hot target).
"""

from __future__ import annotations

import numpy as np

from v2m_bridge.features import EMOTION_DIM, EMOTION_LABELS
from v2m_bridge.vocab import CHORD_VOCAB_SIZE, QUALITIES, Chord

NEUTRAL_INDEX = EMOTION_LABELS.index("neutral")

EMOTION_QUALITIES: dict[str, frozenset[str]] = {
    "exciting": frozenset({"maj", "sus4", "7"}),
    "fearful": frozenset({"dim", "min7", "dim7", "hdim7"}),
    "tense": frozenset({"dim", "sus4", "min7", "7"}),
    "sad": frozenset({"min7", "min", "sus2"}),
    "relaxing": frozenset({"maj", "maj6", "maj7"}),
    "neutral": frozenset(),
}


def emotion_chord_matrix() -> np.ndarray:
    """``(6, 159)`` float32: row ``e`` is 1 for every chord whose quality is in emotion ``e``'s set
    (all 12 roots), 0 for N, END and PAD."""
    matrix = np.zeros((EMOTION_DIM, CHORD_VOCAB_SIZE), dtype=np.float32)
    for row, name in enumerate(EMOTION_LABELS):
        for quality in EMOTION_QUALITIES[name]:
            for root in range(12):
                matrix[row, Chord(root, quality).id] = 1.0
    return matrix


def quality_affinity(chord: Chord) -> np.ndarray:
    """``(6,)`` float: the emotions whose set holds this chord's quality, sharing a mass of 1.

    N and the qualities no emotion claims (aug, min6) count as neutral.
    """
    vector = np.zeros(EMOTION_DIM)
    if not chord.is_none:
        for row, name in enumerate(EMOTION_LABELS):
            if chord.quality in EMOTION_QUALITIES[name]:
                vector[row] = 1.0
    if not vector.any():
        vector[NEUTRAL_INDEX] = 1.0
    return vector / vector.sum()


QUALITY_AFFINITY_TABLE: np.ndarray = np.stack(
    [quality_affinity(Chord(None))] + [quality_affinity(Chord(0, q)) for q in QUALITIES]
)
"""``(14, 6)``: :func:`quality_affinity` indexed by official quality id (0 = N)."""

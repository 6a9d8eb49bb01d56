"""Derived video-side inputs: they must carry the links the starter model is meant to learn."""

from __future__ import annotations

import numpy as np

from v2m_bridge.data.conditioning import (
    derive_conditioning,
    derive_cuts,
    derive_emotion,
    derive_motion,
)
from v2m_bridge.data.emotion_map import emotion_chord_matrix, quality_affinity
from v2m_bridge.features import EMOTION_LABELS, scene_offsets_from_cuts
from v2m_bridge.vocab import Chord, parse_chords


def test_quality_affinity_follows_the_official_table() -> None:
    sad = EMOTION_LABELS.index("sad")
    assert quality_affinity(Chord(9, "min"))[sad] == 1.0
    min7 = quality_affinity(Chord(2, "min7"))
    assert np.isclose(min7.sum(), 1.0) and (min7 > 0).sum() == 3  # fearful, tense, sad
    assert quality_affinity(Chord(None))[EMOTION_LABELS.index("neutral")] == 1.0
    matrix = emotion_chord_matrix()
    assert matrix.shape == (6, 159)
    assert matrix[EMOTION_LABELS.index("exciting"), Chord(7, "7").id] == 1.0
    assert matrix[:, 0].sum() == 0 and matrix[:, 157:].sum() == 0
    assert matrix[EMOTION_LABELS.index("neutral")].sum() == 0


def test_emotion_is_sad_over_minor_chords_and_exciting_over_major() -> None:
    chords = parse_chords("Am Dm Em Am " * 10 + "C G D C7 " * 10)
    emotion = derive_emotion(chords, np.random.default_rng(1))
    assert emotion.shape == (80, 6) and np.allclose(emotion.sum(1), 1.0, atol=1e-5)
    sad, exciting = EMOTION_LABELS.index("sad"), EMOTION_LABELS.index("exciting")
    assert emotion[:30, sad].mean() > emotion[:30, exciting].mean() + 0.2
    assert emotion[50:, exciting].mean() > emotion[50:, sad].mean() + 0.2


def test_scene_offsets_restart_at_cuts() -> None:
    offsets = scene_offsets_from_cuts([0, 3, 5], 7) - 1  # as the MuVi-Sync files store them
    assert offsets.tolist() == [0, 1, 2, 0, 1, 0, 1]


def test_cuts_follow_phrase_starts_where_the_chord_changes() -> None:
    rng = np.random.default_rng(0)
    chords = parse_chords("C C C C G G G G " * 50)  # changes every 4 s
    phrases = list(range(0, 400, 8))  # on a change
    cuts = derive_cuts(chords, [*phrases, 2], [], rng)  # second 2: no change there
    assert cuts[0] == 0
    assert sum(c in phrases for c in cuts) / len(phrases) > 0.6
    changes = {t for t in range(1, 400) if chords[t] != chords[t - 1]}
    assert sum(c in changes for c in cuts[1:]) / len(cuts[1:]) > 0.8  # few random cuts
    assert 2 not in cuts or 2 in changes


def test_motion_grows_with_harmonic_rhythm() -> None:
    slow = parse_chords("C " * 40)
    fast = parse_chords("C G " * 20)
    rng = np.random.default_rng(3)
    assert derive_motion(slow, rng)[0] == 0.0
    assert derive_motion(fast, np.random.default_rng(3))[5:].mean() > \
        2 * derive_motion(slow, np.random.default_rng(3))[5:].mean()


def test_derivation_is_reproducible_from_the_seed() -> None:
    chords = parse_chords("C Am F G " * 10)
    a = derive_conditioning(chords, [0, 8, 16], [0], seed=5)
    b = derive_conditioning(chords, [0, 8, 16], [0], seed=5)
    c = derive_conditioning(chords, [0, 8, 16], [0], seed=6)
    assert np.array_equal(a.emotion, b.emotion) and a.cuts == b.cuts
    assert not np.array_equal(a.emotion, c.emotion)

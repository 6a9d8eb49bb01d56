"""Render options: key, primer, emotion curves and tempo are checked before any slow work."""

from __future__ import annotations

import numpy as np
import pytest

from v2m_bridge.emotion import EmotionError, parse_emotion_points
from v2m_bridge.music.grid import GridError
from v2m_bridge.options import RenderOptions
from v2m_bridge.vocab import ChordError, KeyNameError, parse_key


def test_global_emotion_fills_every_second():
    override = RenderOptions(emotion="sad").emotion_override(4)
    assert override.shape == (4, 6)
    assert np.array_equal(override.argmax(axis=1), [3, 3, 3, 3])
    assert np.allclose(override.sum(axis=1), 1.0)


def test_emotion_curve_holds_each_value_until_the_next():
    override = RenderOptions(emotion="0:tense, 2.5:relaxing,5:EXCITING").emotion_override(7)
    # tense for seconds 0-2, relaxing from second 3 (the first whole second at or after 2.5)
    assert override.argmax(axis=1).tolist() == [2, 2, 2, 4, 4, 0, 0]


@pytest.mark.parametrize("text, message", [
    ("happy", "unknown emotion 'happy'"),
    ("0:tense,sad", "needs a start time"),
    ("0:tense,20", "is not .SECONDS:EMOTION."),
    ("10:tense,5:sad", "must increase"),
    ("0-tense", "is not 'SECONDS:EMOTION'"),
    ("", "needs an emotion name"),
])
def test_bad_emotion_values_are_clear_errors(text, message):
    with pytest.raises(EmotionError, match=message):
        parse_emotion_points(text)


def test_key_and_primer_are_parsed_or_refused():
    options = RenderOptions(key="Bb major", primer="Bb Gm Eb F")
    assert options.key == parse_key("Bb")
    assert [chord.name(flats=True) for chord in options.primer_chords] == ["Bb", "Gm", "Eb", "F"]
    with pytest.raises(KeyNameError, match="unknown key 'H major'"):
        RenderOptions(key="H major")
    with pytest.raises(ChordError, match="unknown chord 'Cxyz'"):
        RenderOptions(primer="C Cxyz")


@pytest.mark.parametrize("tempo", [0, -1, float("inf"), 5000])
def test_bad_tempo_is_refused(tempo):
    with pytest.raises(GridError, match="--tempo must be between"):
        RenderOptions(tempo_bpm=tempo)

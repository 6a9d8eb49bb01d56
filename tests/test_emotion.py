import numpy as np
import pytest

from v2m_bridge.emotion import (
    EMOTIONS,
    EmotionError,
    emotion_vector,
    parse_emotion_curve,
    parse_emotion_points,
)


def test_global_emotion():
    curve = parse_emotion_curve("Sad", 4)
    assert curve.shape == (4, 6)
    assert (curve.argmax(axis=1) == EMOTIONS.index("sad")).all()


def test_curve_steps_at_given_seconds():
    curve = parse_emotion_curve("0:tense, 20:relaxing", 30)
    labels = [EMOTIONS[i] for i in curve.argmax(axis=1)]
    assert labels[:20] == ["tense"] * 20
    assert labels[20:] == ["relaxing"] * 10
    late_start = parse_emotion_curve("2.5:exciting,5:sad", 8)
    assert [EMOTIONS[i] for i in late_start.argmax(axis=1)] == ["exciting"] * 5 + ["sad"] * 3
    assert np.allclose(curve.sum(axis=1), 1.0)


@pytest.mark.parametrize("text", ["angry", "0:sad,x:tense", "-1:sad", "nan:sad", "0:",
                                  "5:sad,2:tense"])
def test_bad_curves(text):
    with pytest.raises(EmotionError):
        parse_emotion_curve(text, 10)


def test_vector():
    assert emotion_vector("neutral")[5] == 1.0


def test_an_infinite_or_huge_curve_time_is_refused():
    """Issue 15 #6: '0:tense,999…(400 digits):sad' parsed as inf and broke every later job."""
    for text in ("0:tense," + "9" * 400 + ":sad", "0:tense,2000000.5:sad"):
        with pytest.raises(EmotionError, match="beyond"):
            parse_emotion_points(text)
    assert parse_emotion_curve("0:tense,999999:sad", 3).shape == (3, 6)

"""What a listing shows and what the temp track plays: chords as heard, spelt in the key, laid on
the beats (issue 25 item 2 and 3, issue 21 item 7)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.retrieval.match import progression_text
from v2m_bridge.retrieval.progression import (
    ProgressionError,
    lay_out,
    progression,
    spell,
)
from v2m_bridge.vocab import Chord, parse_chord, parse_key


def _ids(names: list[str]) -> np.ndarray:
    return np.array([parse_chord(n).id for n in names])


def test_no_chord_is_never_shown_inside_a_progression():
    ids = _ids(["N", "C", "C", "N", "N", "F", "N", "G", "C"])
    assert progression_text(ids) == "C F G C"
    heard = progression(ids)
    assert [c.name() for c, _ in heard] == ["C", "F", "G", "C"]
    assert [s for _, s in heard] == [5.0, 2.0, 1.0, 1.0]  # N seconds go to the chord before


@pytest.mark.parametrize(("chord", "key", "written"), [
    ("G#maj7", "C major", "Abmaj7"),  # the flat sixth of C major is Ab, never G#
    ("A#", "C major", "Bb"),
    ("D#", "C major", "Eb"),
    ("F#m7b5", "C major", "F#m7b5"),  # the raised fourth stays sharp
    ("G#dim", "A minor", "G#dim"),  # the leading tone of A minor
    ("C#", "Db major", "Db"),
    ("D#m", "B major", "D#m"),
    ("D#", "Bb major", "Eb"),
])
def test_chords_are_spelt_by_their_degree_in_the_key(chord, key, written):
    assert spell(parse_chord(chord), parse_key(key)) == written


def test_a_listing_is_spelt_in_the_target_key():
    ids = _ids(["C", "G#maj7", "A#", "G"])  # C major frame: I bVImaj7 bVII V
    assert progression_text(ids, parse_key("C major"), "major") == "C Abmaj7 Bb G"
    assert progression_text(ids, parse_key("Eb major"), "major") == "Eb Cbmaj7 Db Bb"
    # a minor piece (A minor frame) in E major's signature is in C# minor: B# is its 7th
    minor = _ids(["A:min", "G#:dim", "E:7", "A:min"])
    assert progression_text(minor, parse_key("E major"), "minor") == "C#m B#dim G#7 C#m"


def test_every_chord_is_laid_on_the_beats_from_the_cut():
    tempo = TempoMap.constant(120.0)
    heard = [(parse_chord(n), 2.0) for n in ("C", "F", "G", "C")]
    spans = lay_out(heard, 15.667, 22.958, tempo)
    assert [s.chord.name() for s in spans] == ["C", "F", "G", "C"]
    assert spans[0].start == pytest.approx(15.667) and spans[-1].end == pytest.approx(22.958)
    for before, after in itertools.pairwise(spans):
        assert before.end == after.start  # no gaps
        assert (after.start / 0.5) == pytest.approx(round(after.start / 0.5))  # on a beat


def test_a_short_range_uses_finer_beats_and_a_tiny_one_is_refused():
    tempo = TempoMap.constant(60.0)
    heard = [(Chord(r, "maj"), 1.0) for r in (0, 5, 7, 0)]
    spans = lay_out(heard, 10.0, 12.0, tempo)  # 2 beats, 4 chords: half beats
    assert [s.start for s in spans] == [10.0, 10.5, 11.0, 11.5]
    with pytest.raises(ProgressionError, match="too short"):
        lay_out([(Chord(r % 12, "maj"), 1.0) for r in range(40)], 10.0, 10.5, tempo)

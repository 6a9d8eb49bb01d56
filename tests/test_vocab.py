import pytest

from v2m_bridge.vocab import (
    ALL_KEYS,
    END_CHORD_ID,
    PAD_CHORD_ID,
    QUALITIES,
    Chord,
    ChordError,
    KeyNameError,
    chord_from_id,
    chord_from_tokens,
    parse_chord,
    parse_chords,
    parse_key,
)


def test_official_ids():
    # chord.json: id = 13 * (root - 1) + attr; C = 1, C:dim = 2, C:maj7 = 13, C# = 14, B:maj7 = 156
    assert parse_chord("C").id == 1
    assert parse_chord("C:dim").id == 2
    assert parse_chord("C:maj7").id == 13
    assert parse_chord("C#").id == 14
    assert parse_chord("B:maj7").id == 156
    assert parse_chord("N").id == 0
    assert (END_CHORD_ID, PAD_CHORD_ID) == (157, 158)
    # chord_attr.json order
    assert QUALITIES.index("min7") + 1 == 4 and QUALITIES.index("hdim7") + 1 == 10


def test_every_id_round_trips_through_symbol_and_name():
    for chord_id in range(157):
        chord = chord_from_id(chord_id)
        assert chord.id == chord_id
        assert parse_chord(chord.symbol) == chord
        assert parse_chord(chord.name()) == chord
        assert parse_chord(chord.name(flats=True)) == chord
        assert chord_from_tokens(chord.root_id, chord.quality_id) == chord


@pytest.mark.parametrize("name, symbol", [
    ("C", "C"), ("Am", "A:min"), ("Am7", "A:min7"), ("Cmaj7", "C:maj7"), ("C7", "C:7"),
    ("Bbm", "A#:min"), ("F#dim", "F#:dim"), ("Gsus4", "G:sus4"), ("C6", "C:maj6"),
    ("Cm6", "C:min6"), ("Bm7b5", "B:hdim7"), ("Bø", "B:hdim7"), ("Cdim7", "C:dim7"),
    ("Caug", "C:aug"), ("C+", "C:aug"), ("C:min7", "C:min7"), ("Ebmaj7", "D#:maj7"),
    ("Db", "C#"), ("Cb", "B"), ("E#m", "F:min"), ("C/E", "C"), ("Dsus2", "D:sus2"),
])
def test_musician_names(name, symbol):
    assert parse_chord(name).symbol == symbol


def test_plain_major_has_quality_one_not_zero():
    # The official primer encoded a plain major chord as quality 0 ("N"); training data uses 1.
    assert parse_chord("C").quality_id == 1
    assert parse_chord("N").quality_id == 0


def test_unknown_chord_lists_accepted_forms():
    with pytest.raises(ChordError, match="Accepted forms"):
        parse_chord("Cfoo")
    with pytest.raises(ChordError):
        parse_chord("H7")
    with pytest.raises(ChordError):
        chord_from_id(157)
    with pytest.raises(ChordError):
        Chord(0, "min9")


def test_progression():
    assert [c.name() for c in parse_chords("C Am, F  G7")] == ["C", "Am", "F", "G7"]


@pytest.mark.parametrize("text, name, shift", [
    ("D minor", "D minor", -7), ("Bb major", "Bb major", -2), ("F#m", "F# minor", -3),
    ("Dm", "D minor", -7), ("C", "C major", 0), ("Eb:min", "Eb minor", -6),
    ("E major", "E major", 4), ("c# minor", "C# minor", 4), ("A minor", "A minor", 0),
])
def test_keys(text, name, shift):
    key = parse_key(text)
    assert key.name == name
    assert key.semitones_from_normalised == shift


def test_transposition_round_trip_for_all_24_keys():
    chord = parse_chord("Am7")
    assert len(set(ALL_KEYS)) == 24
    for key in ALL_KEYS:
        assert -7 <= key.semitones_from_normalised <= 4
        assert key.to_normalised(key.from_normalised(chord)) == chord
    # the tonic chord of any key normalises to C or Am
    assert parse_key("D minor").to_normalised(parse_chord("Dm")).name() == "Am"
    assert parse_key("Bb major").to_normalised(parse_chord("Bb")).name() == "C"


def test_bad_key():
    with pytest.raises(KeyNameError, match="D minor"):
        parse_key("H major")
    with pytest.raises(KeyNameError):
        parse_key("C dorian")

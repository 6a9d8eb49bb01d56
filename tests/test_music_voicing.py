"""Voicings: correct chord tones for every quality, smooth leading, registers."""

from __future__ import annotations

import itertools
import json

import pytest
from shared_data import SHARED, needs_shared

from v2m_bridge.music.voicing import (
    REGISTERS,
    RegisterError,
    voice_chord,
    voice_progression,
)
from v2m_bridge.vocab import (
    NO_CHORD,
    QUALITIES,
    QUALITY_INTERVALS,
    Chord,
    chord_from_id,
    parse_chords,
)

POSTPROC = SHARED / "fixtures" / "official_amt" / "postproc_public.json"


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize("register", list(REGISTERS))
def test_every_quality_and_root_is_voiced_with_exactly_its_chord_tones(quality, register):
    for root in range(12):
        chord = Chord(root, quality)
        voicing = voice_chord(chord, register)
        assert voicing.bass % 12 == root
        assert voicing.bass == min(voicing.pitches)
        assert sorted(p % 12 for p in voicing.upper) == sorted(chord.pitch_classes())
        assert len(voicing.upper) == len(QUALITY_INTERVALS[quality])  # no doubled or lost note
        reg = REGISTERS[register]
        assert reg.bass_low <= voicing.bass <= reg.bass_high


@needs_shared(POSTPROC)
def test_pitch_classes_fix_the_official_hdim7_dim7_and_sus_bugs():
    official = json.loads(POSTPROC.read_text())["chord_table_getMIDI_c4"]
    differing = set()
    for symbol, entry in official.items():
        chord = chord_from_id(entry["id"])
        assert chord.symbol == symbol
        ours = sorted(p % 12 for p in voice_chord(chord).pitches)
        theirs = sorted(p % 12 for p in entry["notes"])
        if sorted(set(ours)) != sorted(set(theirs)):
            differing.add(chord.quality)
        if chord.quality in ("sus2", "sus4"):
            assert len(theirs) == 5 and len(ours) == 4  # official doubles the 2nd/4th
    # Only the two swapped/misparsed qualities differ in pitch content from the official table.
    assert differing == {"dim7", "hdim7"}
    assert {p % 12 for p in voice_chord(Chord(0, "hdim7")).pitches} == {0, 3, 6, 10}
    assert {p % 12 for p in voice_chord(Chord(0, "dim7")).pitches} == {0, 3, 6, 9}


def _movement(a, b):
    return sum(abs(x - y) for x, y in zip(a.upper, b.upper, strict=True))


def test_voice_leading_moves_less_than_root_position_blocks():
    chords = parse_chords("C Am F G C Em Dm G")
    led = voice_progression(chords)
    blocks = [voice_chord(chord) for chord in chords]  # each chord voiced on its own
    led_motion = sum(_movement(a, b) for a, b in itertools.pairwise(led))
    block_motion = sum(_movement(a, b) for a, b in itertools.pairwise(blocks))
    assert led_motion < block_motion
    for a, b in itertools.pairwise(led):
        assert all(abs(x - y) <= 5 for x, y in zip(a.upper, b.upper, strict=True))


def test_long_progression_stays_in_register():
    chords = parse_chords("C G Am F") * 30 + parse_chords("B:hdim7 E7 Am D7 G7 C")
    reg = REGISTERS["mid"]
    for voicing in voice_progression(chords, "mid"):
        assert reg.upper_centre - 10 <= min(voicing.upper)
        assert max(voicing.upper) <= reg.upper_centre + 14


def test_registers_order_low_mid_high():
    chord = Chord(7, "7")
    means = [sum(voice_chord(chord, name).upper) / 4 for name in ("low", "mid", "high")]
    assert means[0] < means[1] < means[2]


def test_no_chord_is_silent_and_leading_continues_across_it():
    voicings = voice_progression([Chord(0, "maj"), NO_CHORD, Chord(9, "min")])
    assert voicings[1].is_silent and voicings[1].pitches == ()
    direct = voice_progression([Chord(0, "maj"), Chord(9, "min")])
    assert voicings[2] == direct[1]


def test_unknown_register_is_a_clear_error():
    with pytest.raises(RegisterError, match="low, mid, high"):
        voice_chord(Chord(0, "maj"), "soprano")

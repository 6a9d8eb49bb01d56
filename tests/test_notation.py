"""Chord names where notation programs read them (issue 14): lyrics on the chord track of the MIDI
file, provenance text where no reader takes it for a lyric, and ``render --musicxml`` with real
chord symbols. Checked with music21, pretty_midi and MuseScore 3 (``mscore3``, headless), each
skipped with a reason when it is not installed (``.ci/run`` installs them)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import mido
import numpy as np
import pytest

from v2m_bridge.music.arrangement import ArrangeOptions, arrange
from v2m_bridge.output.midi_file import write_midi
from v2m_bridge.vocab import QUALITY_INTERVALS, parse_chords, parse_key

# two seconds each, a repeated chord (one change), a half-diminished and a dominant seventh
CHORDS = parse_chords("C C Am Am F F G7 G7 C C Em Em B:hdim7 E:7 Am Am Bb Bb")
EXPECTED_CHANGES = ["C", "Am", "F", "G7", "C", "Em", "Bm7b5", "E7", "Am", "A#"]


@pytest.fixture
def composition():
    seconds = len(CHORDS)
    rng = np.random.default_rng(0)
    result = arrange(
        CHORDS, motion=rng.uniform(0, 30, seconds), scene_offset=np.arange(1.0, seconds + 1),
        emotion=rng.dirichlet(np.ones(6), seconds), cut_times=[7.3], duration=float(seconds),
        # per-beat harmonic rhythm: every second's chord is its own change, as written above
        options=ArrangeOptions(key=parse_key("A minor"), tempo_bpm=120.0,
                               harmonic_rhythm="beat"),
        notes=["chords from a test"])
    result.provenance = dataclasses.replace(
        result.provenance, facts={"generator": "v2m-bridge test", "seed": "7"})
    return result


@pytest.fixture
def midi_path(composition, tmp_path):
    return write_midi(composition, tmp_path / "chords.mid")


def changes(composition) -> list[str]:
    names = [composition.chord_name(span) for span in composition.chord_spans]
    return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]


def test_chord_names_are_lyrics_on_the_chord_tracks_first_notes(composition, midi_path):
    assert changes(composition) == EXPECTED_CHANGES
    midi = mido.MidiFile(str(midi_path))
    conductor, chords = midi.tracks[:2]  # lyrics only on the chords track
    assert [m.text for m in conductor if m.type == "marker"] == EXPECTED_CHANGES  # DAWs
    now, onsets, lyrics = 0, set(), []
    for message in chords:
        now += message.time
        if message.type == "lyrics":
            lyrics.append((now, message.text))
        elif message.type == "note_on" and message.velocity:
            onsets.add(now)
    assert [text for _, text in lyrics] == EXPECTED_CHANGES
    assert all(tick in onsets for tick, _ in lyrics)
    assert not any(m.type == "lyrics" for track in midi.tracks[2:] for m in track)


def test_provenance_text_sits_where_no_note_starts(midi_path):
    midi = mido.MidiFile(str(midi_path))
    end_ticks = []
    onsets = set()
    for track in midi.tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "note_on" and message.velocity:
                onsets.add(now)
        end_ticks.append(now)
    now, texts = 0, []
    for message in midi.tracks[0]:
        now += message.time
        if message.type == "text":
            texts.append((now, message.text))
    assert ("generator: v2m-bridge test" in [t for _, t in texts]
            and "note: chords from a test" in [t for _, t in texts])
    assert {tick for tick, _ in texts} == {max(end_ticks)}
    assert not {tick for tick, _ in texts} & onsets


def test_music21_reads_the_chord_names_from_the_midi_file(midi_path):
    converter = pytest.importorskip("music21.converter", reason="pip install music21")
    score = converter.parse(str(midi_path))
    lyrics = [n.lyric for n in score.recurse().notes if n.lyric]
    assert lyrics == EXPECTED_CHANGES
    assert not [text for text in lyrics if ":" in text]  # no provenance taken for a lyric


def test_pretty_midi_reads_the_chord_names(midi_path):
    pretty_midi = pytest.importorskip("pretty_midi", reason="pip install pretty_midi")
    pm = pretty_midi.PrettyMIDI(str(midi_path))
    assert [lyric.text for lyric in pm.lyrics] == EXPECTED_CHANGES


def _mscore(args, tmp_path):
    program = shutil.which("mscore3") or shutil.which("musescore3")
    if program is None:
        pytest.skip("MuseScore 3 is not installed (Debian: musescore3; .ci/run installs it)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    subprocess.run([program, *args], check=True, timeout=300, env=env, capture_output=True)


def test_musescore_shows_the_chord_names_and_no_provenance_lyric(midi_path, tmp_path):
    """MuseScore 3's MIDI import, headless, converted to MusicXML: the lyrics are the chord
    names in order (once per staff of the chord part), and "generator: ..." is not one."""
    out = tmp_path / "from_midi.musicxml"
    _mscore(["-o", str(out), str(midi_path)], tmp_path)
    root = ET.parse(out).getroot()
    part = root.find("part")  # the chord part comes first
    texts = [lyric.findtext("text") for lyric in part.iter("lyric")]
    assert not [t for t in root.iter("lyric") if ":" in (t.findtext("text") or "")]
    deduplicated = [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]
    assert deduplicated == EXPECTED_CHANGES


# --- render --musicxml ------------------------------------------------------------------------

def test_musicxml_has_one_chord_symbol_per_chord_change(composition, tmp_path):
    pytest.importorskip("music21", reason="pip install music21 (the notation extra)")
    from music21 import converter, harmony

    from v2m_bridge.output.musicxml import write_musicxml

    path = write_musicxml(composition, tmp_path / "chords.musicxml")
    score = converter.parse(str(path))
    symbols = list(score.recurse().getElementsByClass(harmony.ChordSymbol))
    spans = []
    for span in composition.chord_spans:
        if not spans or composition.chord_name(span) != composition.chord_name(spans[-1]):
            spans.append(span)
    assert len(symbols) == len(spans) == len(EXPECTED_CHANGES)
    for symbol, span in zip(symbols, spans, strict=True):
        wanted = {(span.chord.root + i) % 12 for i in QUALITY_INTERVALS[span.chord.quality]}
        assert {p.pitchClass for p in symbol.pitches} == wanted, symbol.figure
        # at its time: 120 bpm is 2 quarters a second
        assert symbol.getOffsetInHierarchy(score) == pytest.approx(span.start * 2.0)
    assert symbols[6].chordKind == "half-diminished-seventh" and symbols[6].root().name == "B"
    assert symbols[-1].root().name == "A#"  # spelled as the MIDI file names it (A minor: sharps)
    assert score.recurse().getElementsByClass("TimeSignature")[0].ratioString == "4/4"


def test_musescore_opens_the_musicxml_and_keeps_the_symbols(composition, tmp_path):
    pytest.importorskip("music21", reason="pip install music21 (the notation extra)")
    from v2m_bridge.output.musicxml import write_musicxml

    path = write_musicxml(composition, tmp_path / "chords.musicxml")
    out = tmp_path / "round_trip.musicxml"
    _mscore(["-o", str(out), str(path)], tmp_path)
    harmonies = list(ET.parse(out).getroot().iter("harmony"))
    assert len(harmonies) == len(EXPECTED_CHANGES)
    assert [h.findtext("root/root-step") for h in harmonies][:4] == ["C", "A", "F", "G"]


def test_render_musicxml_without_music21_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    import sys

    from v2m_bridge.cli import main

    monkeypatch.setitem(sys.modules, "music21", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "v2m_bridge.output.musicxml", raising=False)
    video = tmp_path / "film.mp4"
    video.write_bytes(b"not decoded: the check comes first")
    code = main(["render", str(video), "-o", str(tmp_path / "out.mid"),
                 "--musicxml", str(tmp_path / "out.musicxml")])
    assert code == 1
    error = capsys.readouterr().err
    assert "--musicxml needs music21" in error and "v2m-bridge[notation]" in error
    assert not (tmp_path / "out.mid").exists()

"""The MIDI file: tracks, tempo, key, markers, duration, balance, determinism, safe writing."""

from __future__ import annotations

import dataclasses
import os

import mido
import numpy as np
import pytest

from v2m_bridge.music.arrangement import ArrangeOptions, arrange
from v2m_bridge.output.midi_file import TICKS_PER_BEAT, write_midi
from v2m_bridge.output.paths import OutputPathError
from v2m_bridge.vocab import parse_chords, parse_key

CHORDS = parse_chords("C C Am Am F F G7 G7 C C Em Em B:hdim7 E:7 Am Am")


def _composition(tempo=120.0, duration=15.3):
    seconds = len(CHORDS)
    rng = np.random.default_rng(0)
    composition = arrange(
        CHORDS, motion=rng.uniform(0, 30, seconds), scene_offset=np.arange(1.0, seconds + 1),
        emotion=rng.dirichlet(np.ones(6), seconds), cut_times=[7.3], duration=duration,
        options=ArrangeOptions(key=parse_key("Bb major"), tempo_bpm=tempo),
        notes=["chords from a test"])
    composition.provenance = dataclasses.replace(
        composition.provenance, facts={"generator": "v2m-bridge test", "seed": "7"})
    return composition


def _messages(midi, kind):
    return [(track.name, msg) for track in midi.tracks for msg in track if msg.type == kind]


@pytest.mark.parametrize("tempo", [120.0, 93.0])
def test_file_structure_duration_and_markers(tmp_path, tempo):
    composition = _composition(tempo=tempo)
    path = write_midi(composition, tmp_path / "out.mid")
    midi = mido.MidiFile(path)
    assert midi.type == 1 and midi.ticks_per_beat == TICKS_PER_BEAT
    assert [track.name for track in midi.tracks] == [
        "V2M Conductor", "V2M Chords", "V2M Figuration", "V2M Bass", "V2M Hits"]
    assert midi.length == pytest.approx(15.3, abs=60 / tempo)
    assert mido.tempo2bpm(_messages(midi, "set_tempo")[0][1].tempo) == pytest.approx(tempo)
    assert _messages(midi, "key_signature")[0][1].key == "Bb"
    texts = [msg.text for _, msg in _messages(midi, "text")]
    assert "note: chords from a test" in texts and "seed: 7" in texts
    # a marker named after the chord at every chord change, at its time
    markers = []
    now = 0
    for msg in midi.tracks[0]:
        now += msg.time
        if msg.type == "marker":
            markers.append((round(mido.tick2second(now, TICKS_PER_BEAT, mido.bpm2tempo(tempo)),
                                  2), msg.text))
    names = [composition.chord_name(span) for span in composition.chord_spans]
    changes = [(round(span.start, 2), name) for i, (span, name) in
               enumerate(zip(composition.chord_spans, names, strict=True))
               if i == 0 or name != names[i - 1]]
    assert markers == changes


def test_every_note_on_has_a_note_off_on_its_channel(tmp_path):
    midi = mido.MidiFile(write_midi(_composition(), tmp_path / "out.mid"))
    for channel, track in enumerate(midi.tracks[1:]):
        sounding = set()
        for msg in track:
            if msg.type == "note_on" and msg.velocity > 0:
                assert msg.channel == channel
                assert msg.note not in sounding  # overlaps were resolved
                sounding.add(msg.note)
            elif msg.type == "note_off":
                sounding.discard(msg.note)
        assert not sounding


def test_same_composition_gives_identical_bytes(tmp_path):
    first = write_midi(_composition(), tmp_path / "a.mid")
    second = write_midi(_composition(), tmp_path / "b.mid")
    assert first.read_bytes() == second.read_bytes()


def test_missing_folder_is_a_clear_error_and_writes_nothing(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        write_midi(_composition(), tmp_path / "nope" / "out.mid")
    assert not (tmp_path / "nope").exists()


def test_output_equal_to_input_is_refused(tmp_path):
    video = tmp_path / "clip.mid"
    video.write_bytes(b"original")
    with pytest.raises(OutputPathError, match="overwrite the input"):
        write_midi(_composition(), video, inputs=(video,))
    assert video.read_bytes() == b"original"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root can write into read-only folders")
def test_read_only_folder_is_a_clear_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match="not writable"):
            write_midi(_composition(), folder / "out.mid")
    finally:
        folder.chmod(0o755)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def explode(self, filename=None, file=None):
        with open(filename, "wb") as handle:
            handle.write(b"MThd partial")
        raise OSError("disk full")

    monkeypatch.setattr(mido.MidiFile, "save", explode)
    with pytest.raises(OSError, match="disk full"):
        write_midi(_composition(), tmp_path / "out.mid")
    assert list(tmp_path.iterdir()) == []


def test_every_key_gets_a_valid_key_signature():
    from v2m_bridge.output.midi_file import composition_to_midi
    from v2m_bridge.vocab import ALL_KEYS

    composition = _composition()
    for key in ALL_KEYS:
        composition.key = key
        midi = composition_to_midi(composition)
        assert _messages(midi, "key_signature")[0][1].key == key.mido_name


def test_notes_that_collide_after_tick_rounding_stay_balanced():
    from v2m_bridge.music.arrangement import Composition
    from v2m_bridge.music.events import NoteEvent
    from v2m_bridge.music.grid import ChordSpan, HarmonicGrid
    from v2m_bridge.output.midi_file import composition_to_midi
    from v2m_bridge.vocab import C_MAJOR, parse_chord

    # 1.0 s and 1.0004 s both round to tick 960 at 120 bpm; the third re-strikes at 1.2 s
    events = sorted([NoteEvent(1.0, 2.0, 60, 80), NoteEvent(1.0004, 1.5, 60, 90),
                     NoteEvent(1.2, 3.0, 60, 70)])
    grid = HarmonicGrid(tempo_bpm=120.0, beats_per_bar=4, duration=3.0,
                        spans=(ChordSpan(0.0, 3.0, parse_chord("C")),), cut_times=(), accents=())
    composition = Composition(events=events, grid=grid, key=C_MAJOR)
    notes = [(msg.type, msg.time) for msg in composition_to_midi(composition).tracks[1]
             if msg.type.startswith("note") or msg.type == "lyrics"]
    # the chord's name is a lyric on its first note (the span starts at 0, the note at 1 s)
    assert notes == [("lyrics", 960), ("note_on", 0), ("note_off", 192), ("note_on", 0),
                     ("note_off", 1728)]

"""Music features for retrieval: MIDI reading and chord estimation, bad files, the derived
(non-leaking) video side, and the network inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from retrieval_helpers import midi_bytes, write_midi_file

from v2m_bridge.retrieval.derived import derive_video, sections_of
from v2m_bridge.retrieval.inputs import (
    MUSIC_INPUT_DIM,
    VIDEO_INPUT_DIM,
    music_inputs,
    video_inputs,
)
from v2m_bridge.retrieval.match import progression_text
from v2m_bridge.retrieval.music_features import (
    MusicFeatures,
    MusicFileError,
    chord_change_rate,
    emotion_histogram,
    estimate_key,
    from_midi,
    minor_share,
)
from v2m_bridge.vocab import parse_chord


def test_block_chords_in_d_major_are_read_back_in_the_normalised_frame(tmp_path):
    path = write_midi_file(tmp_path / "d.mid", ["D", "B:min", "G", "A:7"] * 2, bpm=100)
    music = from_midi(path)
    assert (music.mode, music.tonic, music.tempo_bpm) == ("major", 2, 100.0)
    assert music.n_seconds == 16
    # D major → C major frame: D Bm G A7 → C Am F G7
    assert progression_text(music.chord_ids, limit=20) == "C Am F G7 C Am F G7"
    assert music.note_density[0] == 4 and music.note_density[1] == 0  # 4 onsets per chord
    assert music.loudness[0] == pytest.approx(90 / 127, abs=1e-3)
    assert music.phrase_starts[0] == 0  # 4 bars of 2.4 s → a phrase every 9.6 s
    assert music.phrase_starts[1] == 10


def test_an_added_tone_is_read_as_the_chord_it_makes(tmp_path):
    # a D added to every chord: C(add9) and G stay triads, F + D is F6
    path = write_midi_file(tmp_path / "c.mid", ["C", "F", "G", "C"], extra_notes=(74,))
    assert progression_text(from_midi(path).chord_ids) == "C F6 G C"


def test_a_file_without_tempo_says_120_bpm_was_assumed(tmp_path):
    music = from_midi(write_midi_file(tmp_path / "t.mid", ["A:min", "E:min"], tempo=False))
    assert music.tempo_bpm == 120.0
    assert any("120 bpm" in note for note in music.notes)


def test_estimate_key_finds_the_minor_key():
    histogram = np.zeros(12)
    for name in ["A:min", "E:7", "D:min", "A:min"]:
        for pc in parse_chord(name).pitch_classes():
            histogram[pc] += 1
    key = estimate_key(histogram)
    assert (key.tonic, key.mode) == (9, "minor")


def test_no_notes_drum_only_and_corrupt_files_get_clear_errors(tmp_path):
    empty = midi_bytes([])
    empty.save(str(tmp_path / "empty.mid"))
    with pytest.raises(MusicFileError, match="has no notes"):
        from_midi(tmp_path / "empty.mid")
    drums = write_midi_file(tmp_path / "drums.mid", ["C", "G"], channel=9)
    with pytest.raises(MusicFileError, match="drum-only"):
        from_midi(drums)
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(MusicFileError, match="corrupt or not a standard MIDI file"):
        from_midi(tmp_path / "bad.mid")
    (tmp_path / "text.mid").write_text("not midi at all")
    with pytest.raises(MusicFileError, match="corrupt"):
        from_midi(tmp_path / "text.mid")


def test_summaries():
    ids = np.array([parse_chord(c).id for c in ["A:min", "A:min", "F", "C", "N"]])
    assert chord_change_rate(ids) == pytest.approx(3 / 4)
    assert minor_share(ids) == pytest.approx(0.5)
    histogram = emotion_histogram(ids)
    assert histogram.sum() == pytest.approx(1.0)
    assert np.argmax(histogram) in (3, 4)  # sad (minor) or relaxing (major)


def _song(chords: list[str], phrase_every: int = 4) -> MusicFeatures:
    ids = np.array([parse_chord(c).id for c in chords])
    return MusicFeatures("s", "s", "pop909", ids, "major",
                         phrase_starts=tuple(range(0, len(ids), phrase_every)),
                         section_starts=(0, 32))


def test_the_derived_video_does_not_leak_which_chord_sounds_when():
    """Reordering chords inside a section (same chords, same number of changes) must give the
    same derived video: only section-level mood and pace may pass."""
    first = ["C"] * 4 + ["A:min"] * 4 + ["F"] * 4 + ["G"] * 4
    section_a = first * 2
    section_b = (["D:min"] * 8 + ["E:min"] * 8) * 2
    reordered_a = (["F"] * 4 + ["G"] * 4 + ["C"] * 4 + ["A:min"] * 4) * 2
    one = derive_video(_song(section_a + section_b), np.random.default_rng(5))
    two = derive_video(_song(reordered_a + section_b), np.random.default_rng(5))
    np.testing.assert_array_equal(one.emotion, two.emotion)
    np.testing.assert_array_equal(one.scene_offset, two.scene_offset)
    np.testing.assert_array_equal(one.motion, two.motion)
    assert sections_of(_song(section_a + section_b)) == [(0, 32), (32, 64)]


def test_the_derived_video_follows_section_mood():
    song = _song(["C"] * 32 + ["A:min"] * 32)
    sad = []
    for seed in range(40):
        derived = derive_video(song, np.random.default_rng(seed))
        sad.append(derived.emotion[40:].mean(0)[3] - derived.emotion[:24].mean(0)[3])
    assert np.mean(sad) > 0.05  # the minor section reads sadder, on average
    assert derived.scene_offset[0] == 1.0 and derived.motion[0] == 0.0


def test_input_rows_have_the_documented_shape(tmp_path):
    music = from_midi(write_midi_file(tmp_path / "a.mid", ["C", "G"]))
    rows = music_inputs(music)
    assert rows.shape == (music.n_seconds, MUSIC_INPUT_DIM)
    assert rows[:, :14].sum(1).tolist() == [1.0] * music.n_seconds
    assert rows[0, 33] == 1.0  # has dynamics
    video = video_inputs(np.full((5, 6), 1 / 6), np.array([1, 2, 1, 2, 3.0]), np.zeros(5))
    assert video.shape == (5, VIDEO_INPUT_DIM)
    assert video[:, 6].tolist() == [0, 0, 1, 0, 0]  # a cut at second 2 only


def test_shared_corpora_read_when_present():
    from shared_data import shared_path

    from v2m_bridge.data.corpora import read_pop909_song

    root = shared_path("data", "corpora", "pop909", "POP909", "001")
    from v2m_bridge.retrieval.music_features import from_song_chords

    music = from_song_chords(read_pop909_song(root))
    assert music.kind == "pop909" and music.n_seconds > 60 and not music.has_dynamics


def _write_wav(path: Path, chords: list[tuple[int, ...]], seconds: float = 3.0,
               silent: bool = False) -> Path:
    import wave

    rate = 22050
    t = np.arange(int(rate * seconds)) / rate
    parts = [sum(np.sin(2 * np.pi * 440 * 2 ** ((p - 69) / 12) * t) for p in chord) / len(chord)
             for chord in chords]
    samples = np.zeros(1) if not parts else np.concatenate(parts)
    samples = (0 if silent else 0.3) * samples
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((samples * 32767).astype(np.int16).tobytes())
    return path


@pytest.mark.slow
def test_audio_is_read_as_a_labelled_estimate(tmp_path):
    pytest.importorskip("librosa")
    from v2m_bridge.retrieval.music_features import from_audio

    c, am, f, g = (48, 60, 64, 67), (45, 57, 60, 64), (41, 53, 57, 60), (43, 55, 59, 62)
    music = from_audio(_write_wav(tmp_path / "a.wav", [c, am, f, g] * 2))
    assert music.kind == "audio" and music.n_seconds == 24
    assert progression_text(music.chord_ids, limit=20) == "C Am F G C Am F G"
    assert "estimate" in music.notes[0] and music.has_dynamics
    assert music.loudness.max() > 0.3
    with pytest.raises(MusicFileError, match="silent"):
        from_audio(_write_wav(tmp_path / "quiet.wav", [c], silent=True))
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(MusicFileError, match="cannot decode"):
        from_audio(tmp_path / "bad.wav")

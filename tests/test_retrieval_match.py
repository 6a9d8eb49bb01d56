"""Matching: explanations, excerpt ids, and the temp track (stretched to the tempo grid,
transposed to one key, labelled)."""

from __future__ import annotations

import mido
import numpy as np
import pytest
from retrieval_helpers import write_midi_file

from v2m_bridge.features import VideoFeatures
from v2m_bridge.retrieval.embedding import EmbeddingConfig, RetrievalEmbedding
from v2m_bridge.retrieval.index import LibraryError, build_index
from v2m_bridge.retrieval.match import (
    excerpt_chords,
    match_features,
    parse_excerpt_id,
    stretch_to_grid,
    write_temp_track,
)
from v2m_bridge.vocab import Key, parse_chord, parse_key


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))


def _ids(names: list[str]) -> np.ndarray:
    return np.array([parse_chord(n).id for n in names])


def test_stretch_to_grid_snaps_changes_to_beats_and_transposes():
    # 4 s of C C G G stretched over a 6 s scene starting at 10 s, 120 bpm (beat 0.5 s), in D
    spans = stretch_to_grid(_ids(["C", "C", "G", "G"]), 10.0, 16.0, 0.5, Key(2, "major"))
    assert [(s, e, c.name()) for s, e, c in spans] == [(10.0, 13.0, "D"), (13.0, 16.0, "A")]
    # a change that would fall between beats is snapped: 3 chords over 5 s → 1.67 s each
    spans = stretch_to_grid(_ids(["C", "F", "G"]), 0.0, 5.0, 0.5, Key(0, "major"))
    assert [s for s, _, _ in spans] == [0.0, 1.5, 3.5]
    assert spans[-1][1] == 5.0


def test_excerpt_ids_round_trip():
    assert parse_excerpt_id("good/a.mid@16-32") == ("good/a.mid", 16, 32)
    assert parse_excerpt_id("pop909-001") == ("pop909-001", 0, -1)
    with pytest.raises(LibraryError, match="bad excerpt id"):
        parse_excerpt_id("x@a-b")


def _features(seconds: int = 24) -> VideoFeatures:
    emotion = np.tile(np.array([[0.05, 0.05, 0.05, 0.7, 0.1, 0.05]]), (seconds, 1))
    offsets = np.array([t % 12 + 1 for t in range(seconds)], dtype=np.float32)
    return VideoFeatures(source="v.mp4", fps=25, duration=seconds - 0.5,
                         semantic=np.zeros((seconds, 768)), emotion=emotion,
                         scene_offset=offsets, motion=np.full(seconds, 3.0), cut_times=[12.0],
                         provenance="fallback")


def test_temp_track_strings_the_best_excerpts_along_the_scenes(tmp_path):
    lib = tmp_path / "lib"
    write_midi_file(lib / "minor.mid", ["A:min", "D:min", "E:7", "A:min"] * 4, bpm=120)
    write_midi_file(lib / "major.mid", ["C", "F", "G", "C"] * 4, bpm=120)
    model = RetrievalEmbedding(EmbeddingConfig(hidden=16, dim=16))
    index = build_index(lib, model)
    result = match_features(_features(), index, model, top=2)
    assert len(result.scenes) == 2
    assert "fallback" in result.notes[0]
    chords, _mode = excerpt_chords(index, result.scenes[0].candidates[0].excerpt_id)
    assert len(chords) > 0
    out = write_temp_track(result, index, 23.5, tmp_path / "temp.mid",
                           key=parse_key("D minor"), tempo_bpm=90)
    midi = mido.MidiFile(str(out))
    meta = [m for track in midi.tracks for m in track if m.is_meta]
    assert any(m.type == "key_signature" and m.key == "Dm" for m in meta)
    assert any(m.type == "set_tempo" and round(mido.tempo2bpm(m.tempo)) == 90 for m in meta)
    texts = " ".join(m.text for m in meta if m.type == "text")
    assert "retrieval embedding" in texts and "temp track" in texts
    assert result.scenes[0].candidates[0].excerpt_id in texts
    markers = [m.text for m in meta if m.type == "marker"]
    assert markers, "chord names as markers"
    notes = [m for track in midi.tracks for m in track if m.type == "note_on" and m.velocity]
    assert notes
    # D minor is the relative of F major: every chord root lies in D natural minor's scale
    scale = {2, 4, 5, 7, 9, 10, 0, 1}  # D minor, plus C# (harmonic minor's raised 7th)
    roots = {parse_chord(name).root for name in markers if name != "N"}
    assert roots <= scale, markers
    assert midi.length == pytest.approx(23.5, abs=0.05)

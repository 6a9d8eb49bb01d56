"""Matching: explanations, excerpt ids, and the temp track (stretched to the tempo grid,
transposed to one key, labelled)."""

from __future__ import annotations

import mido
import numpy as np
import pytest
from retrieval_helpers import write_midi_file

from v2m_bridge.features import VideoFeatures
from v2m_bridge.music.arrangement import ArrangeOptions
from v2m_bridge.retrieval.embedding import EmbeddingConfig, RetrievalEmbedding
from v2m_bridge.retrieval.index import LibraryError, build_index
from v2m_bridge.retrieval.match import match_features, parse_excerpt_id
from v2m_bridge.retrieval.temp_track import (
    build_temp_track,
    excerpt_chords,
    use_excerpt,
    write_temp_track,
)
from v2m_bridge.vocab import parse_chord, parse_key


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))


def _ids(names: list[str]) -> np.ndarray:
    return np.array([parse_chord(n).id for n in names])


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
    features = _features()
    out = write_temp_track(result, index, features, tmp_path / "temp.mid",
                           key=parse_key("D minor"), tempo_bpm=90)
    midi = mido.MidiFile(str(out))
    meta = [m for track in midi.tracks for m in track if m.is_meta]
    assert any(m.type == "key_signature" and m.key == "Dm" for m in meta)
    assert any(m.type == "set_tempo" and round(mido.tempo2bpm(m.tempo)) == 90 for m in meta)
    texts = " ".join(m.text for m in meta if m.type == "text")
    assert "retrieval embedding" in texts and "temp track" in texts
    assert result.scenes[0].candidates[0].excerpt_id in texts
    markers = [m.text for m in meta if m.type == "marker" and m.text != "N"]
    assert markers, "chord names as markers"
    notes = [m for track in midi.tracks for m in track if m.type == "note_on" and m.velocity]
    assert notes
    # D minor is the relative of F major: every chord root lies in D natural minor's scale
    scale = {2, 4, 5, 7, 9, 10, 0, 1}  # D minor, plus C# (harmonic minor's raised 7th)
    roots = {parse_chord(name).root for name in markers}
    assert roots <= scale, markers
    assert midi.length == pytest.approx(23.5, abs=0.05)
    # the chord changes sit on the 90 bpm beat grid
    beat = 60 / 90
    ticks = 0
    for message in midi.tracks[0]:
        ticks += message.time
        if message.type == "marker":
            seconds = mido.tick2second(ticks, midi.ticks_per_beat, mido.bpm2tempo(90))
            assert abs(seconds / beat - round(seconds / beat)) < 1e-3 or abs(seconds - 12) < 1e-3


def _names_in(composition, start: float, end: float) -> list[str]:
    return [composition.chord_name(s) for s in composition.chord_spans
            if s.start < end - 1e-9 and s.end > start + 1e-9]


def test_use_excerpt_plays_every_chord_from_the_cut_on_the_beats(tmp_path):
    lib = tmp_path / "lib"
    write_midi_file(lib / "major.mid", ["C", "F", "G", "C"] * 4, bpm=120)
    model = RetrievalEmbedding(EmbeddingConfig(hidden=16, dim=16))
    index = build_index(lib, model)
    features = _features()
    result = match_features(features, index, model, top=1)
    base = build_temp_track(result, index, features, key=parse_key("A minor"))
    excerpt = index.items[0].item_id + "@0-8"  # C C F F G G C C (2 s per chord)
    # issue 21 item 7: a range from a cut at 5.79 s, not rounded to 6.0
    new = use_excerpt(base, features, index, excerpt, 5.79, 11.79,
                      ArrangeOptions(key=parse_key("A minor")), "label")
    inside = [s for s in new.chord_spans if 5.79 - 1e-9 <= s.start < 11.79]
    assert [new.chord_name(s) for s in inside] == ["C", "F", "G", "C"]
    assert inside[0].start == pytest.approx(5.79)  # the first chord at the cut, no stub
    beat = 60 / 120
    for span in inside[1:]:
        assert span.start / beat == pytest.approx(round(span.start / beat))
    assert _names_in(new, 0, 5.79) == _names_in(base, 0, 5.79)
    assert _names_in(new, 11.79, 23.5) == _names_in(base, 11.79, 23.5)
    starts = [e.start for e in new.events if 5.79 <= e.start < 11.79]
    assert min(starts) == pytest.approx(5.79)
    assert any("not generated" in note for note in new.provenance.notes)
    with pytest.raises(LibraryError, match="range must satisfy"):
        use_excerpt(base, features, index, excerpt, 8.0, 4.0, ArrangeOptions(), "label")
    # the last scene's end as a listing writes it (rounded up to the millisecond) is the end
    last = use_excerpt(base, features, index, excerpt, 12.0, round(base.duration + 4e-4, 3),
                       ArrangeOptions(key=parse_key("A minor")), "label")
    assert last.chord_spans[-1].end == pytest.approx(base.duration)
    with pytest.raises(LibraryError, match="range must satisfy"):
        use_excerpt(base, features, index, excerpt, 12.0, base.duration + 1.0,
                    ArrangeOptions(), "label")


def test_the_mood_and_pace_probe_reports_every_synthetic_video(tmp_path):
    from v2m_bridge.retrieval.match import mood_pace_probe

    lib = tmp_path / "lib"
    write_midi_file(lib / "minor.mid", ["A:min", "D:min", "E:7", "A:min"] * 8)
    write_midi_file(lib / "major.mid", ["C", "F", "G", "C"] * 8)
    model = RetrievalEmbedding(EmbeddingConfig(hidden=16, dim=16))
    rows = mood_pace_probe(model, build_index(lib, model), top=2)
    assert len(rows) == 8 and rows[0]["video"].startswith("exciting, cut every 2 s")
    assert all(0.0 <= row["pieces_minor"] <= 1.0 for row in rows)

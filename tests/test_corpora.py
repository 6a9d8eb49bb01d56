"""Corpus import: label mapping, key normalisation, mode inference, splits and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_data import SHARED, needs_shared

from v2m_bridge.data.corpora import (
    CorpusError,
    infer_mode,
    iter_billboard,
    iter_pop909,
    label_at_seconds,
    map_harte_label,
    read_billboard_song,
    read_pop909_song,
    read_timed_labels,
    split_of,
)
from v2m_bridge.data.corpus_import import import_corpora
from v2m_bridge.data.muvi_sync import read_split
from v2m_bridge.vocab import Chord, parse_chords

CORPORA = SHARED / "data" / "corpora"


@pytest.mark.parametrize(("label", "expected"), [
    ("A:min7/b3", "A:min7"),
    ("C:9", "C:7"),
    ("E:5", "E"),
    ("Ab:maj(9)", "G#"),
    ("Bb:sus4(b7,9)", "A#:sus4"),
    ("D:maj13", "D:maj7"),
    ("F#:min11", "F#:min7"),
    ("G:minmaj7", "G:min"),
    ("Cb:maj", "B"),
    ("E:(b3,b7)/b7", "E:min7"),
    ("A:1", "A"),
    ("C:hdim7", "C:hdim7"),
    ("X", "N"),
    ("N", "N"),
    ("D", "D"),
])
def test_harte_labels_map_to_the_official_vocabulary(label: str, expected: str) -> None:
    assert map_harte_label(label).symbol == expected


@pytest.mark.parametrize("label", ["H:maj", "C:weird", "Q"])
def test_unknown_labels_are_refused_with_the_label(label: str) -> None:
    with pytest.raises(CorpusError, match="chord label"):
        map_harte_label(label)


def test_chord_of_a_second_is_the_label_at_its_middle(tmp_path: Path) -> None:
    path = tmp_path / "chords.txt"
    path.write_text("0.0\t1.4\tC:maj\n1.4\t1.6\tG:maj\n1.6\t3.2\tA:min\n\n")
    segments = read_timed_labels(path)
    # instants 0.5, 1.5, 2.5; floor(3.2) = 3 seconds
    assert label_at_seconds(segments) == ["C:maj", "G:maj", "A:min"]


def test_corrupt_lab_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "chords.txt"
    path.write_text("0.0\t1.0\tC:maj\nnot a line\n")
    with pytest.raises(CorpusError, match=r"chords.txt:2"):
        read_timed_labels(path)


def test_segments_running_backwards_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "chords.txt"
    path.write_text("0.0\t2.0\tC:maj\n2.0\t1.0\tG:maj\n")
    assert [s.label for s in read_timed_labels(path)] == ["C:maj"]


def test_mode_inference_from_chords() -> None:
    a_minor_song = parse_chords("Am Am Dm E Am F G Am") * 3
    assert infer_mode(a_minor_song, tonic=9) == "minor"
    c_major_song = parse_chords("C F G C Am F G C") * 3
    assert infer_mode(c_major_song, tonic=0) == "major"
    assert infer_mode([], tonic=0) == "major"


def _pop909_song(root: Path, number: str, chords: str, key: str) -> Path:
    song = root / "POP909" / number
    song.mkdir(parents=True)
    (song / "chord_audio.txt").write_text(chords)
    (song / "key_audio.txt").write_text(f"0.0\t100.0\t{key}\n")
    beats = "".join(f"{t * 0.5:.2f}\t{t % 4 + 1:.1f}\n" for t in range(40))
    (song / "beat_audio.txt").write_text(beats)
    return song


def test_pop909_song_is_transposed_to_c_major(tmp_path: Path) -> None:
    song = _pop909_song(tmp_path, "001",
                        "0.0\t2.0\tG:maj\n2.0\t4.0\tE:min7\n4.0\t6.0\tD:7/3\n", "G:maj")
    result = read_pop909_song(song)
    assert [c.symbol for c in result.chords] == ["C", "C", "A:min7", "A:min7", "G:7", "G:7"]
    assert result.mode == "major"
    assert result.phrase_starts[0] == 0  # first downbeat at 0 s


def test_pop909_minor_key_lands_on_a_minor(tmp_path: Path) -> None:
    song = _pop909_song(tmp_path, "002", "0.0\t1.0\tEb:min\n1.0\t2.0\tAb:min\n", "Eb:min")
    result = read_pop909_song(song)
    assert [c.symbol for c in result.chords] == ["A:min", "D:min"]
    assert result.mode == "minor"
    assert result.key_line == "key A minor"


def _billboard_song(root: Path, number: str, lab: str, salami: str) -> None:
    (root / "billboard-2.0.1-lab" / number).mkdir(parents=True)
    (root / "billboard-2.0.1-lab" / number / "full.lab").write_text(lab)
    (root / "billboard-2.0-salami_chords" / number).mkdir(parents=True)
    (root / "billboard-2.0-salami_chords" / number / "salami_chords.txt").write_text(salami)


def test_billboard_mode_is_inferred_and_key_changes_apply(tmp_path: Path) -> None:
    lab = "".join(f"{i}.0\t{i + 1}.0\t{c}\n" for i, c in
                  enumerate(["E:min", "A:min", "B:7", "E:min"] * 2 + ["D:maj", "G:maj"] * 2))
    salami = ("# title: Test\n# artist: Nobody\n# metre: 4/4\n# tonic: E\n\n"
              "0.0\tA, verse, | E:min A:min | B:7 E:min |\n"
              "4.0\t| E:min A:min | B:7 E:min |\n"
              "# tonic: G\n"
              "8.0\tB, chorus, | D:maj G:maj | D:maj G:maj |\n"
              "12.0\tend\n")
    _billboard_song(tmp_path, "0001", lab, salami)
    song = read_billboard_song(tmp_path / "billboard-2.0.1-lab/0001/full.lab",
                               tmp_path / "billboard-2.0-salami_chords/0001/salami_chords.txt")
    symbols = [c.symbol for c in song.chords]
    assert symbols[:4] == ["A:min", "D:min", "E:7", "A:min"]  # E minor -> A minor
    assert symbols[8:10] == ["G", "C"]  # G major -> C major
    assert song.mode == "minor"  # 8 of 12 seconds in E minor
    assert song.phrase_starts == (0, 4, 8)
    assert song.section_starts == (0, 8)
    assert song.group == "billboard-test|nobody"


def test_duplicates_share_a_split() -> None:
    assert split_of("billboard-a|b") == split_of("billboard-a|b")
    shares = [split_of(f"pop909-{i:03d}") for i in range(2000)]
    assert 0.03 < shares.count("val") / 2000 < 0.07
    assert 0.03 < shares.count("test") / 2000 < 0.07


def test_missing_and_empty_corpus_folders(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a folder"):
        list(iter_pop909(tmp_path / "nope"))
    with pytest.raises(CorpusError, match="no POP909 song folders"):
        list(iter_pop909(tmp_path))
    with pytest.raises(CorpusError, match=r"billboard-2\.0\.1-lab"):
        list(iter_billboard(tmp_path))
    with pytest.raises(CorpusError, match="at least one corpus"):
        import_corpora(tmp_path / "out")


def test_import_writes_a_readable_layout(tmp_path: Path) -> None:
    _pop909_song(tmp_path / "pop", "001", "0.0\t3.0\tG:maj\n3.0\t6.0\tC:maj\n", "G:maj")
    _pop909_song(tmp_path / "pop", "002", "0.0\t3.0\tA:min\n3.0\t6.0\tE:7\n", "A:min")
    out = tmp_path / "out"
    summary = import_corpora(out, pop909=tmp_path / "pop")
    assert summary.songs == 2 and summary.seconds == 12
    songs = [s for split in ("train", "val", "test")
             for s in (read_split(out, split) if (out / f"vevo_meta/split/v1/{split}.txt")
                       .read_text().strip() else [])]
    assert sorted(s.song_id for s in songs) == ["pop909-001", "pop909-002"]
    first = next(s for s in songs if s.song_id == "pop909-001")
    assert [int(i) for i in first.chord_ids] == [Chord(0).id] * 3 + [Chord(5).id] * 3
    assert first.emotion.shape == (6, 6) and first.scene_offset[0] == 1.0


@needs_shared(CORPORA)
def test_real_corpus_songs_map_completely() -> None:
    pop = next(iter_pop909(CORPORA / "pop909"))
    assert len(pop.chords) > 60 and pop.mode in ("major", "minor")
    billboard = next(iter_billboard(CORPORA / "mcgill-billboard"))
    assert len(billboard.chords) > 60 and billboard.phrase_starts

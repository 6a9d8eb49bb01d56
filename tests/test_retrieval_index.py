"""Library index: bad input gets a clear error per file and the rest is ranked; the index is
cached by content and updated incrementally; a 10,000-file library streams in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from retrieval_helpers import midi_bytes, write_midi_file

from v2m_bridge.cli import main
from v2m_bridge.features import VideoFeatures
from v2m_bridge.retrieval.embedding import EmbeddingConfig, RetrievalEmbedding
from v2m_bridge.retrieval.index import LibraryError, build_index, excerpt_bounds
from v2m_bridge.retrieval.match import match_features
from v2m_bridge.retrieval.music_features import from_midi

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def model():
    import torch

    torch.manual_seed(0)
    return RetrievalEmbedding(EmbeddingConfig(hidden=16, dim=16))


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _video(seconds: int = 24) -> VideoFeatures:
    rng = np.random.default_rng(0)
    emotion = rng.dirichlet(np.ones(6), seconds).astype(np.float32)
    offsets = np.array([t % 8 + 1 for t in range(seconds)], dtype=np.float32)
    return VideoFeatures(source="v.mp4", fps=25, duration=float(seconds),
                         semantic=np.zeros((seconds, 768)), emotion=emotion,
                         scene_offset=offsets, motion=np.full(seconds, 5.0),
                         cut_times=[8.0, 16.0], provenance="fallback")


def _mixed_library(root: Path) -> None:
    write_midi_file(root / "good" / "a.mid", ["C", "A:min", "F", "G"] * 3)
    write_midi_file(root / "good" / "b.mid", ["D:min", "G:7", "C", "C"] * 3, bpm=90)
    midi_bytes([]).save(str(root / "empty.mid"))
    write_midi_file(root / "drums.mid", ["C", "G"], channel=9)
    (root / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    (root / "song.wav").write_bytes(b"RIFF....")
    (root / "notes.txt").write_text("ignored")


def test_an_empty_or_missing_library_is_a_clear_error(tmp_path, model):
    (tmp_path / "lib").mkdir()
    with pytest.raises(LibraryError, match="is empty: no MIDI files"):
        build_index(tmp_path / "lib", model)
    with pytest.raises(LibraryError, match="is not a folder"):
        build_index(tmp_path / "missing", model)


def test_bad_files_are_reported_and_the_rest_is_ranked(tmp_path, model):
    _mixed_library(tmp_path / "lib")
    index = build_index(tmp_path / "lib", model)
    assert sorted(item.item_id for item in index.items) == ["good/a.mid", "good/b.mid"]
    messages = {Path(issue.path).name: issue.message for issue in index.issues}
    assert "has no notes" in messages["empty.mid"]
    assert "drum-only" in messages["drums.mid"]
    assert "corrupt" in messages["corrupt.mid"]
    from v2m_bridge.retrieval.music_features import audio_available

    expected = "cannot decode the audio" if audio_available() else "audio files are not indexed"
    assert expected in messages["song.wav"]
    result = match_features(_video(), index, model, top=5)
    assert [c.item_id for c in result.whole] and len(result.whole) == 2
    assert len(result.scenes) == 3 and all(s.candidates for s in result.scenes)
    first = result.scenes[0].candidates[0]
    assert first.excerpt_id.startswith(first.item_id + "@")
    assert "minor-family" in first.explanation.mood and "cuts/min" in first.explanation.pace


def test_a_library_where_nothing_reads_names_every_problem(tmp_path, model):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "corrupt.mid").write_bytes(b"garbage")
    midi_bytes([]).save(str(lib / "empty.mid"))
    with pytest.raises(LibraryError, match=r"nothing in library .* could be read \(2 problem"):
        build_index(lib, model)


def test_the_index_is_cached_by_content_and_updated_incrementally(tmp_path, model):
    lib = tmp_path / "lib"
    _mixed_library(lib)
    first = build_index(lib, model)
    from v2m_bridge.retrieval.music_features import audio_available

    failed = 4 if audio_available() else 3  # without librosa the wav is not an entry
    assert (first.stats["read"], first.stats["failed"]) == (2, failed)
    again = build_index(lib, model)
    assert (again.stats["read"], again.stats["reused"]) == (0, 2)
    np.testing.assert_array_equal(first.excerpt_embeddings, again.excerpt_embeddings)
    # a new file is read, a renamed one is reused by content, a changed one is re-read
    write_midi_file(lib / "c.mid", ["E:min", "C", "G", "D"] * 2)
    os.rename(lib / "good" / "b.mid", lib / "good" / "b2.mid")
    time.sleep(0.01)
    write_midi_file(lib / "good" / "a.mid", ["F", "G", "C", "C"] * 3)
    updated = build_index(lib, model)
    assert sorted(i.item_id for i in updated.items) == ["c.mid", "good/a.mid", "good/b2.mid"]
    assert (updated.stats["read"], updated.stats["reused"]) == (2, 1)
    # a different embedding gets its own index
    other = RetrievalEmbedding(EmbeddingConfig(hidden=16, dim=16))
    assert build_index(lib, other).stats["reused"] == 0


def test_excerpts_are_four_to_eight_bars(tmp_path):
    music = from_midi(write_midi_file(tmp_path / "a.mid", ["C", "G"] * 20, bpm=120))  # 80 s
    bounds = excerpt_bounds(music)
    assert bounds[0] == (0, 16) and bounds[1] == (8, 24)  # 8 bars of 2 s, hop 4 bars


def _tiny_midi_bytes(variant: int) -> bytes:
    midi = mido.MidiFile(type=0, ticks_per_beat=96)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    root = 48 + variant % 12
    for pitch in (root, root + 4, root + 7):
        track.append(mido.Message("note_on", note=pitch, velocity=1 + variant % 127, time=0))
    for i, pitch in enumerate((root, root + 4, root + 7)):
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=384 if i == 0 else 0))
    import io

    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


_BUILD = textwrap.dedent("""
    import resource, sys, time
    from pathlib import Path
    import torch
    from v2m_bridge.retrieval.embedding import EmbeddingConfig, RetrievalEmbedding
    from v2m_bridge.retrieval.index import build_index
    torch.manual_seed(0)
    model = RetrievalEmbedding(EmbeddingConfig(hidden=16, dim=16))
    calls = []
    start = time.monotonic()
    index = build_index(Path(sys.argv[1]), model,
                        progress=lambda done, total, name: calls.append((done, total)))
    elapsed = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(len(index), len(index.issues), len(calls), calls[-1][0], calls[-1][1], peak, elapsed)
""")


def _build_in_subprocess(library: Path, cache: Path) -> list[float]:
    env = {**os.environ, "V2M_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", _BUILD, str(library)], capture_output=True,
                            text=True, env=env, timeout=600, check=True)
    return [float(v) for v in result.stdout.split()]


@pytest.mark.slow
def test_a_10000_file_library_streams_with_progress_in_bounded_memory(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    for folder, count in ((small, 100), (large, 10_000)):
        for i in range(count):
            sub = folder / f"{i // 1000:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"{i:05d}.mid").write_bytes(_tiny_midi_bytes(i))
    (large / "00" / "broken.mid").write_bytes(b"MThd")
    n_small, _, _, _, _, peak_small, _ = _build_in_subprocess(small, tmp_path / "c1")
    n, issues, calls, done, total, peak, elapsed = _build_in_subprocess(large, tmp_path / "c2")
    assert (n_small, n, issues) == (100, 10_000, 1)
    assert calls == total == done == 10_001  # progress after every entry
    # ru_maxrss is in KiB on Linux. 100x more files may cost at most 160 MiB more at peak (the
    # index itself, a few KiB per piece, plus allocator slack; measured about 80 MiB)
    assert peak - peak_small < 160 * 1024, (peak, peak_small)
    assert elapsed < 300


def test_indexing_keeps_only_the_compact_index_in_memory(tmp_path):
    """Python heap peak while indexing 2,000 files: about 3 KiB per piece (records, chords and
    embeddings), nothing that grows with the files' contents."""
    import tracemalloc

    for i in range(2000):
        sub = tmp_path / "lib" / f"{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:05d}.mid").write_bytes(_tiny_midi_bytes(i))
    model = RetrievalEmbedding(EmbeddingConfig(hidden=16, dim=16))
    tracemalloc.start()
    try:
        index = build_index(tmp_path / "lib", model, use_cache=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(index) == 2000
    assert peak < 15 * 2**20, peak


def test_index_library_command_reports_counts_and_skipped_files(tmp_path, capsys):
    _mixed_library(tmp_path / "lib")
    assert main(["index-library", str(tmp_path / "lib")]) == 0
    captured = capsys.readouterr()
    assert "2 pieces" in captured.out and "skipped 4 file(s)" in captured.err
    assert "drum-only" in captured.err
    assert main(["match", "missing.npz", "--library", str(tmp_path / "lib")]) == 1


def _corpora_with_titles(root: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    for number, (chords, key) in {"001": ("G:maj E:min C:maj D:7", "G:maj"),
                                  "002": ("C:maj Ab:maj7 Bb:maj C:maj", "C:maj")}.items():
        song = root / "pop909" / "POP909" / number
        song.mkdir(parents=True)
        labels = (chords.split() * 6)
        song.joinpath("chord_audio.txt").write_text(
            "0.0\t1.0\tN\n" + "".join(f"{1 + 2 * i}.0\t{3 + 2 * i}.0\t{c}\n"
                                      for i, c in enumerate(labels)))
        song.joinpath("key_audio.txt").write_text(f"0.0\t100.0\t{key}\n")
        song.joinpath("beat_audio.txt").write_text(
            "".join(f"{t * 0.5:.2f}\t{t % 4 + 1:.1f}\n" for t in range(100)))
    book = openpyxl.Workbook()
    book.active.append(["song_id", "name", "artist", "modify_times"])
    book.active.append(["001", "123我爱你", "新乐尘符", "3"])
    book.active.append(["002", "Dear Friend", "顺子", "2"])
    book.save(root / "pop909" / "POP909" / "index.xlsx")
    bb = root / "mcgill-billboard"
    (bb / "billboard-2.0.1-lab" / "0003").mkdir(parents=True)
    (bb / "billboard-2.0-salami_chords" / "0003").mkdir(parents=True)
    (bb / "billboard-2.0.1-lab" / "0003" / "full.lab").write_text(
        "".join(f"{2 * i}.0\t{2 * i + 2}.0\t{c}\n"
                for i, c in enumerate(["C:maj", "F:maj", "G:maj", "A:min"] * 6)))
    (bb / "billboard-2.0-salami_chords" / "0003" / "salami_chords.txt").write_text(
        "# title: Salami Title\n# artist: Salami Artist\n# metre: 4/4\n# tonic: C\n\n"
        "0.0\tA, verse, | C F | G Am |\n48.0\tend\n")
    (bb / "billboard-2.0-index.csv").write_text(
        "id,chart_date,target_rank,actual_rank,title,artist,peak_rank,weeks_on_chart\n"
        "1,1987-07-11,82,,,,,\n3,1961-07-03,56,57,I Don't Mind,James Brown,47,8\n")


def test_results_show_titles_and_artists_and_chords_spelt_in_the_key(tmp_path, model, capsys):
    """Issue 25 item 2: POP909's index.xlsx and Billboard's index CSV name the pieces; the
    listing spells G#maj7 in C major as Abmaj7 and never shows N."""
    _corpora_with_titles(tmp_path / "lib")
    index = build_index(tmp_path / "lib", model)
    titles = {item.item_id: (item.title, item.artist) for item in index.items}
    assert titles["pop909-001"] == ("123我爱你", "新乐尘符")
    assert titles["pop909-002"] == ("Dear Friend", "顺子")
    assert titles["billboard-0003"] == ("I Don't Mind", "James Brown")
    features = _video()
    features.save(tmp_path / "v.npz")
    assert main(["match", str(tmp_path / "v.npz"), "--library", str(tmp_path / "lib"),
                 "--per-scene", "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "123我爱你 — 新乐尘符" in printed and "I Don't Mind — James Brown" in printed
    assert "pop909-001  [" not in printed  # the id is not the name shown
    chord_lines = [line.split("chords:", 1)[1].split() for line in printed.splitlines()
                   if "chords:" in line]
    assert chord_lines and all("N" not in chords for chords in chord_lines)
    shown = {name for chords in chord_lines for name in chords}
    assert "Abmaj7" in shown and "Bb" in shown  # song 002: C Abmaj7 Bb C
    assert not {"G#maj7", "A#"} & shown

"""Retrieval as a user meets it (issue 25, items 1-3): ``match`` on a machine with only the
package, titles instead of ids, and a temp track that plays every chord it lists, on the beats,
without gaps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from shared_data import SHARED, VIDEOS

from v2m_bridge.demo_data import DEMO_CLIP
from v2m_bridge.music.events import CHORDS_CHANNEL
from v2m_bridge.output.midi_file import write_midi
from v2m_bridge.retrieval.embedding import EmbeddingConfig, RetrievalEmbedding, load_embedding
from v2m_bridge.retrieval.match import match_features
from v2m_bridge.retrieval.packaged import PACKAGED_INDEX, load_packaged_index
from v2m_bridge.retrieval.temp_track import build_temp_track
from v2m_bridge.video import analyze_video
from v2m_bridge.vocab import parse_chord, parse_key

PACKAGE = Path(__file__).resolve().parents[1] / "v2m_bridge"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("V2M_LIBRARY", raising=False)


@pytest.mark.slow
def test_match_works_with_only_the_package_and_lists_titles(tmp_path):
    """The package alone, copied where no ``../shared`` exists (as in a wheel install)."""
    bare = tmp_path / "bare"
    shutil.copytree(PACKAGE, bare / "v2m_bridge",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert not (bare.parent / SHARED.name).exists()
    env = {**os.environ, "PYTHONPATH": str(bare), "V2M_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("V2M_LIBRARY", None)
    clip = bare / "v2m_bridge" / "demo_data" / DEMO_CLIP.name
    out = subprocess.run(
        [sys.executable, "-m", "v2m_bridge", "match", str(clip), "--per-scene", "--top", "3",
         "--json", str(tmp_path / "ranking.json"), "--temp-track", str(tmp_path / "t.mid")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "packaged index of the chord corpora" in out.stdout
    ranking = json.loads((tmp_path / "ranking.json").read_text())
    assert len(ranking["scenes"]) == 3
    candidates = ranking["whole"] + [c for s in ranking["scenes"] for c in s["candidates"]]
    assert len(candidates) == 12
    for candidate in candidates:
        assert candidate["title"], candidate["item_id"]
        shown = f"{candidate['title']} — {candidate['artist']}" if candidate["artist"] \
            else candidate["title"]
        assert f"{shown}" in out.stdout
        assert " N " not in f" {candidate['chords']} "
    assert (tmp_path / "t.mid").stat().st_size > 0


def test_the_packaged_index_names_its_songs_and_keeps_the_notices():
    index = load_packaged_index(load_embedding())
    kinds = {item.kind for item in index.items}
    assert kinds == {"pop909", "billboard"}
    titled = sum(1 for item in index.items if item.title and item.artist)
    assert titled / len(index) > 0.99
    notice = (PACKAGED_INDEX.parent / "NOTICE.md").read_text()
    assert "Copyright (c) 2020 Music X Lab" in notice and "CC0" in notice
    assert PACKAGED_INDEX.stat().st_size < 6_000_000  # keeps the wheel under 10 MB


def _pad_gaps(path: Path, duration: float) -> list[tuple[float, float]]:
    """Stretches of ``[0, duration)`` where no pad note sounds in the MIDI file."""
    midi = mido.MidiFile(str(path))
    now, sounding, spans, started = 0.0, {}, [], {}
    for message in midi:
        now += message.time
        if message.type not in ("note_on", "note_off") or message.channel != CHORDS_CHANNEL:
            continue
        key = message.note
        if message.type == "note_on" and message.velocity:
            sounding[key] = sounding.get(key, 0) + 1
            started.setdefault(key, now)
        elif sounding.get(key):
            sounding[key] -= 1
            if not sounding[key]:
                spans.append((started.pop(key), now))
    spans.sort()
    gaps, reached = [], 0.0
    for start, end in spans:
        if start > reached + 1e-3:
            gaps.append((reached, start))
        reached = max(reached, end)
    if reached < duration - 1e-3:
        gaps.append((reached, duration))
    return gaps


@pytest.mark.slow
@pytest.mark.parametrize("video", [VIDEOS / "bbb_0_30.webm", DEMO_CLIP])
def test_the_temp_track_plays_every_listed_chord_on_the_beats_without_gaps(video, tmp_path):
    if not video.is_file():
        pytest.skip(f"{video} is not here")
    features = analyze_video(video)
    model = load_embedding()
    index = load_packaged_index(model)
    key = parse_key("C major")
    result = match_features(features, index, model, top=5, key=key)
    composition = build_temp_track(result, index, features, key=key, tempo_bpm=120)
    beat = 0.5
    for scene in result.scenes:
        listed = [parse_chord(name) for name in scene.candidates[0].chords.split()]
        spans = [s for s in composition.chord_spans if scene.start - 1e-6 <= s.start < scene.end]
        assert [s.chord for s in spans] == listed, (scene.start, scene.candidates[0].chords)
        assert spans[0].start == pytest.approx(scene.start, abs=1e-6)  # on the cut
        for span in spans[1:]:
            assert span.start / beat == pytest.approx(round(span.start / beat), abs=1e-6)
        for span in spans:  # the pad plays the listed chord's tones
            pitches = {e.pitch % 12 for e in composition.events
                       if e.channel == CHORDS_CHANNEL and abs(e.start - span.start) < 1e-6}
            assert pitches and pitches <= set(span.chord.pitch_classes()), span
    starts = [s.start for s in composition.chord_spans]
    ends = [s.end for s in composition.chord_spans]
    assert starts[0] == 0.0 and np.allclose(starts[1:], ends[:-1])  # no gap in the chords
    path = tmp_path / "temp.mid"
    write_midi(composition, path)
    assert _pad_gaps(path, features.duration) == []  # and none in the sound


def test_another_embedding_ranks_the_packaged_index_embedded_again_once(tmp_path):
    torch.manual_seed(0)
    model = RetrievalEmbedding(EmbeddingConfig(hidden=8, dim=8))
    first = load_packaged_index(model)
    assert first.model_digest == model.digest() and first.item_embeddings.shape == (1616, 8)
    assert [i.title for i in first.items[:5]] == [i.title for i in
                                                  load_packaged_index(load_embedding()).items[:5]]
    cached = list((tmp_path / "cache" / "retrieval").glob("packaged-*.npz"))
    assert len(cached) == 1
    again = load_packaged_index(model)  # from the cache this time
    assert np.array_equal(again.excerpt_embeddings, first.excerpt_embeddings)

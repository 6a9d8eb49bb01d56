"""``/v2m/match`` and ``/v2m/use`` over OSC, in process: the real pipeline with the tiny AMT, the
shipped starter embedding, a small MIDI library."""

from __future__ import annotations

import pytest
from live_helpers import TINY_AMT, VIDEOS, in_process_daemon
from retrieval_helpers import write_midi_file

from v2m_bridge.vocab import parse_chord

VIDEO = VIDEOS / "montage_cc0_4shots.mp4"


@pytest.fixture(scope="module")
def chord_model():
    if not TINY_AMT.is_file() or not VIDEO.is_file():
        pytest.skip("test fixtures missing (tiny AMT or shared videos)")
    from v2m_bridge.model.loading import load_chord_model

    return load_chord_model(TINY_AMT)


@pytest.fixture
def daemon(chord_model, tmp_path, monkeypatch):
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    with in_process_daemon(chord_model) as daemon:
        yield daemon


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "library"
    write_midi_file(folder / "minor.mid", ["A:min", "D:min", "E:7", "A:min"] * 6)
    write_midi_file(folder / "major.mid", ["C", "F", "G", "C"] * 6, bpm=100)
    write_midi_file(folder / "drums.mid", ["C"], channel=9)  # skipped, the rest ranked
    return folder


def _error(client, address: str) -> str:
    failed, message = client.wait_for("/v2m/error")
    assert failed == address
    return message


def test_match_and_use_before_a_video_are_refused(client):
    client.send("/v2m/match")
    assert "/v2m/video/open first" in _error(client, "/v2m/match")
    client.send("/v2m/use", "major.mid@0-8", 0.0, 4.0)
    assert "/v2m/video/open first" in _error(client, "/v2m/use")


@pytest.mark.slow
def test_match_lists_excerpts_per_scene_and_use_puts_one_in_the_timeline(daemon, client,
                                                                         library):
    client.send("/v2m/video/open", str(VIDEO))
    client.wait_for("/v2m/ready", timeout=120)
    client.send("/v2m/match", 2, str(library))
    excerpts = []
    while True:
        reply = client.receive(timeout=60)
        assert reply is not None, "no /v2m/match/done"
        address, args = reply
        if address == "/v2m/match/excerpt":
            excerpts.append(args)
        elif address == "/v2m/match/done":
            scenes, label, listing = args
            break
        else:
            assert address == "/v2m/progress", reply
    assert "derived from the music" in label
    assert scenes == len(daemon.session.opened.features.scene_segments()) >= 2
    assert len(excerpts) == 2 * scenes  # two pieces in the library, top 2 per scene
    scene, start, end, rank, excerpt_id, _score, chords, why = excerpts[0]
    assert (scene, rank) == (1, 1) and start == 0.0 and end > start
    assert excerpt_id.split("@")[0] in ("minor.mid", "major.mid")
    assert "mood:" in why and "pace:" in why and chords
    assert len(listing.splitlines()) == len(excerpts)
    assert listing.splitlines()[0].split("\t")[4] == excerpt_id
    # issue 21 item 7: scenes start at the cuts as the composition's grid plays them (its hit
    # points, within a sixteenth of the detected cuts), not at rounded seconds
    hits = daemon.session.composition.cut_times
    cuts = daemon.session.opened.features.cut_times
    later = sorted({args[1] for args in excerpts if args[0] > 1})
    assert later and all(any(abs(start - h) < 1e-4 for h in hits) for start in later)
    assert all(min(abs(start - c) for c in cuts) < 0.2 for start in later)
    assert any(start != round(start) for start in later) or all(c == round(c) for c in cuts)

    before = daemon.session.composition
    client.send("/v2m/use", "major.mid@0-8", 2.0, 6.0)  # C C F F G G C C over 4 s
    client.wait_for("/v2m/ready", timeout=60)
    after = daemon.session.composition

    def names(composition, start, end):
        return [composition.chord_name(s) for s in composition.chord_spans
                if s.start < end - 1e-9 and s.end > start + 1e-9]

    shift = after.key.semitones_from_normalised
    assert names(after, 2.0, 6.0) == [c.transpose(shift).name(after.key.prefers_flats)
                                      for c in map(parse_chord, ["C", "F", "G", "C"])]
    assert names(after, 0, 2.0) == names(before, 0, 2.0)
    assert names(after, 6.0, after.duration) == names(before, 6.0, before.duration)
    assert any("library excerpt major.mid@0-8" in note for note in after.provenance.notes)

    client.send("/v2m/use", "nope.mid@0-4", 0.0, 2.0)
    assert "no piece 'nope.mid'" in _error(client, "/v2m/use")
    client.send("/v2m/match", 3, str(library / "missing"))
    assert "no library folder" in _error(client, "/v2m/match")
    client.send("/v2m/match", 0)
    assert "top must be 1..20" in _error(client, "/v2m/match")

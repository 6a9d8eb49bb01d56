"""One clock for musical time (issue 21): the eight cases that were seen, each with its input.

Case 3 (a re-roll at a new tempo keeps the kept bars) is
``tests/test_reroll.py::test_locked_chords_stay_on_their_bars_when_the_tempo_changes``; the
property test over random tempo maps is ``tests/test_one_clock_property.py``.
"""

from __future__ import annotations

import time

import mido
import numpy as np
import pytest
from composition_helpers import synthetic_features, tiny_random_chord_model
from live_helpers import in_process_daemon

from v2m_bridge import pipeline
from v2m_bridge.daemon.state import Settings
from v2m_bridge.features import VideoFeatures
from v2m_bridge.music.arrangement import ArrangeOptions, Provenance, arrange
from v2m_bridge.music.grid import change_points
from v2m_bridge.music.reroll import RerollRequest, video_facts
from v2m_bridge.music.tempo_fit import evaluate
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.options import RenderOptions, TempoSetting
from v2m_bridge.output.midi_file import read_kept_midi, write_midi
from v2m_bridge.vocab import parse_chords

torch = pytest.importorskip("torch")

# a cut-heavy 48 s fixture: 20 cuts, two pairs less than a second apart
CUTS = [1.7, 3.1, 4.55, 7.45, 8.1, 9.9, 12.3, 14.2, 16.75, 19.75, 22.3, 23.0, 25.6, 27.9,
        31.05, 33.4, 36.4, 39.2, 41.8, 44.6]


@pytest.fixture(scope="module")
def tiny_model():
    return tiny_random_chord_model()


def features(duration: float = 48.0, cuts=CUTS, name: str = "clip.mp4") -> VideoFeatures:
    return synthetic_features(name, duration, cuts)


# -- case 1: MusicXML from the same map --------------------------------------------------------


def _score_chords(path) -> list[tuple[int, float]]:
    """(measure number, quarter offset in the measure) of every chord symbol, read back."""
    from music21 import converter, harmony

    score = converter.parse(str(path))
    return [(symbol.measureNumber, float(symbol.offset))
            for symbol in score.recurse().getElementsByClass(harmony.Harmony)]


def test_musicxml_has_the_pickup_bar_the_tempo_changes_and_the_midi_bar_beats(tmp_path):
    pytest.importorskip("music21")
    from music21 import converter, meter, tempo

    from v2m_bridge.output.musicxml import write_musicxml

    # a 2-beat pickup and three tempi (bar 13.1 falls after the second change)
    tempo_map = TempoMap.from_beats([(0.0, 100.0), (18.0, 108.0), (40.0, 96.0)], 4, 2)
    tempo_map = tempo_map.midi_exact()
    chords = parse_chords("C Am F G Em Dm G C") * 4
    n = 30
    composition = arrange(chords[:n], motion=np.zeros(n), scene_offset=np.arange(1.0, n + 1),
                          emotion=np.full((n, 6), 1 / 6), options=ArrangeOptions(
                              tempo_bpm=tempo_map.main_bpm(n), tempo_map=tempo_map,
                              harmonic_rhythm="half"))
    path = write_musicxml(composition, tmp_path / "score.musicxml")
    read = _score_chords(path)
    expected = []
    previous = None
    for span in composition.chord_spans:
        name = composition.chord_name(span)
        if name != previous:
            bar, within = tempo_map.bar_beat(tempo_map.beat_at(span.start))
            expected.append((bar, round(within - 1, 6)))  # quarters into the bar (x/4)
        previous = name
    assert read == expected
    score = converter.parse(str(path))
    signatures = [(ts.measureNumber, ts.ratioString)
                  for ts in score.recurse().getElementsByClass(meter.TimeSignature)]
    assert signatures == [(1, "2/4"), (2, "4/4")]
    marks = [round(mark.number, 2) for mark in
             score.recurse().getElementsByClass(tempo.MetronomeMark)]
    assert marks == [round(bpm, 2) for bpm in tempo_map.tempos]
    last_bar = tempo_map.bar_beat(tempo_map.beat_at(composition.duration - 1e-6))[0]
    assert max(bar for bar, _ in read) <= last_bar
    assert len(score.parts[0].getElementsByClass("Measure")) == last_bar


# -- case 2: live mode after /v2m/tempo auto; typed tempo settings -----------------------------


def test_tempo_settings_are_parsed_once_into_numbers():
    assert TempoSetting.parse("auto") == TempoSetting(None, False, None, True)
    assert TempoSetting.parse(96) == TempoSetting(96.0, given=True)
    assert TempoSetting.parse(96.5).bpm == 96.5
    assert TempoSetting.parse("auto map 60:120").tempo_range.high == 120
    assert TempoSetting.parse("").given is False
    for bad in ("fast", "auto 90", "5000", True):
        with pytest.raises(Exception, match="tempo"):
            TempoSetting.parse(bad)
    settings = Settings().changed(tempo="auto")
    assert settings.options.tempo_bpm is None and settings.options.tempo_auto
    assert Settings().changed(tempo=96).options.tempo_bpm == 96.0
    # following Reaper: the DAW's tempo, unless a tempo was given
    assert Settings().options_following(97.0).tempo_bpm == 97.0
    assert Settings().changed(tempo=80).options_following(97.0).tempo_bpm == 80.0


@pytest.fixture(scope="module")
def starter_model():
    from v2m_bridge.model.loading import load_chord_model

    return load_chord_model(None)


def test_live_mode_after_tempo_auto_sends_chords_over_osc(starter_model, monkeypatch):
    from live_helpers import OscClient

    monkeypatch.delenv("V2M_CLIP_WEIGHTS", raising=False)
    skip = ("/v2m/status", "/v2m/progress")
    with in_process_daemon(starter_model) as daemon:
        client = OscClient(daemon.server.address)
        try:
            client.send("/v2m/hello", "test", client.port)
            client.wait_for("/v2m/status")
            for value in (96, 96.5, "auto"):  # an int, a float (as Max and liblo send), text
                client.send("/v2m/tempo", value)
                assert client.wait_for("/v2m/ok", skip=skip) == ("/v2m/tempo",)
            client.send("/v2m/live/start", 0.1, 1.0)
            assert client.wait_for("/v2m/ok", skip=skip) == ("/v2m/live/start",)
            base = time.monotonic()
            chords, errors = [], []
            for index in range(int(3.5 * 30)):  # 3 whole seconds; 2 chords asked (slack for load)
                t = index / 30
                while (wait := base + t - time.monotonic()) > 0:
                    time.sleep(min(wait, 0.005))
                client.send("/v2m/live/frame", t, 0.45, 0.03, 0.5, 0.35, 0.2, 0)
            client.send("/v2m/live/stop")
            while (reply := client.receive(2.0)) is not None and reply[0] != "/v2m/ok":
                if reply[0] == "/v2m/chord":
                    chords.append(reply[1])
                elif reply[0] == "/v2m/error":
                    errors.append(reply[1])
            assert not errors
            assert len(chords) >= 2 and chords[0][1] == 0.0
        finally:
            client.close()


# -- case 4: a video shorter than its pickup ---------------------------------------------------


def test_a_clip_inside_its_pickup_bar_reads_back_in_its_metre(tmp_path, tiny_model):
    clip = features(duration=1.5, cuts=[0.7])
    tempo_map = TempoMap.constant(100.0, 4, pickup=3)  # beat 3 ends at 1.8 s, after the clip
    composition = arrange(parse_chords("C Am"), motion=clip.motion,
                          scene_offset=clip.scene_offset, emotion=clip.emotion,
                          cut_times=clip.cut_times, duration=1.5,
                          options=ArrangeOptions(tempo_bpm=100.0, tempo_map=tempo_map))
    composition.provenance = Provenance(facts={
        "generator": "v2m-bridge (test)", "key": "C major",
        **video_facts("clip.mp4", clip.duration, clip.fps, clip.cut_times)})
    path = write_midi(composition, tmp_path / "short.mid")
    signatures = [m for m in mido.MidiFile(path).tracks[0] if m.type == "time_signature"]
    assert [(m.numerator, m.denominator) for m in signatures] == [(3, 4)]  # all that fits
    kept = read_kept_midi(path)
    assert (kept.beats_per_bar, kept.pickup) == (4, 3)
    again = pipeline.compose_features(clip, RenderOptions(seed=2), chord_model=tiny_model,
                                      reroll=RerollRequest(kept, (0.0, 1.5)))
    assert (again.tempo_map.beats_per_bar, again.tempo_map.pickup) == (4, 3)


# -- case 5: the main tempo of a map --------------------------------------------------------


def test_main_bpm_counts_each_tempo_over_the_video_only():
    tempo_map = TempoMap.from_beats([(0.0, 100.0), (20.0, 110.0)])  # 100 bpm for 12 s
    assert tempo_map.main_bpm(15.0) == 100.0
    assert tempo_map.main_bpm(30.0) == 110.0
    assert tempo_map.main_bpm() == 110.0  # open-ended: a lead-in's main tempo


# -- case 6 and the change plan: no chord the model picks is dropped -----------------------------


def _unheard(chords, composition) -> tuple[int, int]:
    """(chords chosen but never heard, chords chosen): a chosen chord is a run of the model's
    per-second chords; it is heard when a span with that chord overlaps the run's seconds.
    The model's chords are in C (normalised); the spans are in the render's key."""
    chords = [composition.key.from_normalised(c) for c in chords]
    starts = [s for s in range(len(chords)) if s == 0 or chords[s] != chords[s - 1]]
    ends = [*starts[1:], len(chords)]
    unheard = 0
    for start, end in zip(starts, ends, strict=True):
        heard = any(span.chord == chords[start] and span.start < end and span.end > start
                    for span in composition.chord_spans)
        unheard += not heard
    return unheard, len(starts)


@pytest.mark.parametrize("tempo", [dict(tempo_bpm=120.0), dict(tempo_bpm=97.0),
                                   dict(tempo_bpm="auto"),
                                   dict(tempo_bpm="auto", tempo_map=True)])
def test_no_chord_the_model_picks_is_dropped(tiny_model, monkeypatch, tempo):
    picked = []
    real = pipeline.generate_chords

    def spy(*args, **kwargs):
        picked.append(real(*args, **kwargs))
        return picked[-1]

    monkeypatch.setattr(pipeline, "generate_chords", spy)
    clip = features()
    total_unheard = total = 0
    for seed in range(8):
        composition = pipeline.compose_features(clip, RenderOptions(seed=seed, **tempo),
                                                chord_model=tiny_model)
        unheard, chosen = _unheard(picked[-1], composition)
        total_unheard += unheard
        total += chosen
        # every planned change is a grid line or a hit point of the render's map
        grid = ArrangeOptions(tempo_bpm=composition.tempo_bpm,
                              tempo_map=composition.tempo_map).grid_options()
        allowed = {p.time for p in change_points(clip.duration, clip.cut_times, grid)}
        assert {span.start for span in composition.chord_spans} <= allowed | {0.0}
    assert total > 8 * 10
    assert total_unheard == 0


# -- case 8: the default tempo is fitted to the cuts --------------------------------------------


def test_the_default_render_fits_its_tempo_to_the_cuts(tiny_model):
    # cuts edited to a 93 bpm pulse (from 0.3 s), as a cutter working to music would
    on_pulse = [round(0.3 + k * 60 / 93, 3) for k in (4, 9, 13, 20, 24, 31, 36, 44, 50, 57, 66)]
    clip = features(cuts=on_pulse)
    default = pipeline.compose_features(clip, RenderOptions(seed=1), chord_model=tiny_model)
    fixed = pipeline.compose_features(clip, RenderOptions(seed=1, tempo_bpm=120),
                                      chord_model=tiny_model)
    assert default.tempo_fit.mode == "auto" and fixed.tempo_fit.mode == "fixed"
    assert fixed.tempo_map == TempoMap.constant(120.0)  # --tempo 120: the old behaviour
    assert default.tempo_fit.chosen.hit_share >= 0.9 > 0.5 > fixed.tempo_fit.chosen.hit_share
    one_cut = pipeline.compose_features(features(cuts=[9.9]), RenderOptions(seed=1),
                                        chord_model=tiny_model)
    assert one_cut.tempo_map.tempos == [120.0]
    assert "only one cut" in one_cut.tempo_fit.reason
    assert any("only one cut" in note for note in one_cut.provenance.notes)


def test_a_kept_map_scores_the_same_as_the_fit_that_made_it(tiny_model):
    clip = features()
    composition = pipeline.compose_features(clip, RenderOptions(seed=1),
                                            chord_model=tiny_model)
    again = evaluate(composition.tempo_map, clip.cut_times, [], clip.fps)
    assert again.hits == composition.tempo_fit.chosen.hits

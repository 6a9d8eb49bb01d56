"""Tempo fitted to the picture: hit / near miss / miss scoring, one tempo, a gentle tempo map."""

from __future__ import annotations

import numpy as np
import pytest

from v2m_bridge.music.hits import cut_strengths, marker_text, smpte
from v2m_bridge.music.tempo_fit import (
    TempoFitError,
    TempoRange,
    evaluate,
    fit_single_tempo,
    fit_tempo,
    fit_tempo_map,
    realise_single_tempo,
)
from v2m_bridge.music.tempo_map import TempoMap, TempoMapError


def irregular_cuts(seed: int, seconds: float = 60.0, low: float = 1.2, high: float = 5.5):
    """15+ irregular cuts a minute, as a fast cutting montage has."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.uniform(low, high, 60))
    return [float(t) for t in cuts[cuts < seconds]], rng.uniform(0.3, 1.0, 60)


def beat_distance_frames(tempo_map: TempoMap, time_s: float, fps: float) -> float:
    """Frames from ``time_s`` to the nearest beat, computed independently of the scorer."""
    beats = tempo_map.beat_times(time_s + 5.0)
    return float(np.min(np.abs(beats - time_s)) * fps)


def test_each_cut_is_a_hit_near_miss_or_miss_with_signed_frames_off():
    tempo_map = TempoMap.constant(120.0)  # beats every 0.5 s
    fps = 25.0  # a frame is 0.04 s
    result = evaluate(tempo_map, [0.5, 1.03, 1.58, 2.25, 3.99], [1, 1, 1, 1, 1], fps)
    kinds = [cut.kind for cut in result.cuts]
    assert kinds == ["hit", "hit", "near", "miss", "hit"]
    assert [cut.frames_off for cut in result.cuts] == pytest.approx([0, 0.75, 2.0, 6.25, -0.25])
    assert [cut.nearest_beat for cut in result.cuts] == [1, 2, 3, 4, 8]
    assert [cut.downbeat for cut in result.cuts] == [False, False, False, True, True]
    assert (result.hits, result.near_misses, result.misses) == (3, 1, 1)
    assert marker_text(result.cuts[4], tempo_map) == "cut 5 (bar 3.1)"
    assert marker_text(result.cuts[3], tempo_map) == "cut 4 (bar 2.1.50)"  # a miss: exact place


def test_one_tempo_is_found_for_regular_cuts_with_an_offset_and_they_fall_on_downbeats():
    beat = 60 / 100
    cuts = [0.37 + beat * 4 * k for k in range(1, 12)]  # every bar at 100 bpm, off 0 by 0.37 s
    candidates = fit_single_tempo(cuts, [1.0] * len(cuts), 24.0)
    best = candidates[0]
    assert best.bpm == pytest.approx(100.0, abs=0.05)
    assert best.hits == len(cuts)
    assert all(cut.downbeat for cut in best.cuts)
    # the pickup before bar 1 is whole beats at a tempo within 10 % of the main one
    first, main = best.tempo_map.segments
    assert main.beat == round(main.beat) and 1 / 1.1 <= first.bpm / main.bpm <= 1.1
    # the best few, best first, with distinct tempos
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True) and len(candidates) >= 3
    tempos = [c.bpm for c in candidates]
    assert all(abs(a / b - 1) > 0.01 for i, a in enumerate(tempos) for b in tempos[:i])


def test_a_gentle_tempo_map_puts_irregular_cuts_on_beats():
    for seed in range(4):
        cuts, strengths = irregular_cuts(seed)
        assert len(cuts) >= 15
        fps = 24.0
        fitted = fit_tempo_map(cuts, strengths[:len(cuts)], fps, TempoRange(70, 140))
        tempo_map = fitted.tempo_map
        assert fitted.hit_share >= 0.9, (seed, fitted.summary())
        for cut in fitted.cuts:  # the reported hits are real
            if cut.kind == "hit":
                assert beat_distance_frames(tempo_map, cut.time, fps) <= 1.0 + 1e-6
        assert all(70 - 1e-9 <= bpm <= 140 + 1e-9 for bpm in tempo_map.tempos)
        assert tempo_map.max_adjacent_change() <= 0.10 + 1e-9
        for segment in tempo_map.segments:  # tempo changes sit on whole beats
            assert segment.beat == pytest.approx(round(segment.beat), abs=1e-6)
        single = fit_single_tempo(cuts, strengths[:len(cuts)], fps)[0]
        assert fitted.hits > single.hits


def test_tempo_map_respects_a_custom_range():
    cuts, strengths = irregular_cuts(7)
    fitted = fit_tempo_map(cuts, strengths[:len(cuts)], 30.0, TempoRange(90, 110))
    assert all(90 - 1e-9 <= bpm <= 110 + 1e-9 for bpm in fitted.tempo_map.tempos)
    assert fitted.tempo_map.max_adjacent_change() <= 0.10 + 1e-9


def test_no_cuts_gives_the_default_tempo_and_says_why():
    fit = fit_tempo([], [], 25.0)
    assert fit.tempo_map.tempos == [120.0]
    assert "no cuts were detected" in fit.reason and "120" in fit.reason
    narrow = fit_tempo([], [], 25.0, TempoRange(60, 90))
    assert narrow.tempo_map.tempos == [pytest.approx(90.0, abs=1e-3)]  # MIDI-exact 90 bpm


@pytest.mark.parametrize("text, message", [
    ("140:70", "reversed"),
    ("90:90", "empty"),
    ("10:90", "within"),
    ("fast", "LOW:HIGH"),
    ("100:105", "too narrow"),
])
def test_bad_tempo_ranges_are_clear_errors(text, message):
    with pytest.raises(TempoFitError, match=message):
        TempoRange.parse(text)


def test_single_tempo_pickup_is_gentle_for_any_offset():
    for anchor in np.linspace(0.01, 3.0, 37):
        tempo_map = realise_single_tempo(100.0, float(anchor), 1, 4, TempoRange())
        assert tempo_map.max_adjacent_change() <= 0.10 + 1e-9
        assert all(70 <= bpm <= 140 for bpm in tempo_map.tempos)
        # every grid beat after the pickup is a beat of the map
        last = tempo_map.segments[-1]
        for k in range(1, 10):
            time_s = last.start + k * 0.6
            assert beat_distance_frames(tempo_map, time_s, 1000.0) < 1e-3


def test_tempo_map_conversions_and_labels():
    tempo_map = TempoMap.from_beats([(0, 120.0), (8, 100.0)], beats_per_bar=4)
    assert tempo_map.time_at(8) == pytest.approx(4.0)
    assert tempo_map.time_at(10) == pytest.approx(5.2)
    assert tempo_map.beat_at(5.2) == pytest.approx(10.0)
    assert tempo_map.bar_beat_label(32) == "9.1"
    assert tempo_map.bar_beat_label(33.5) == "9.2.50"
    with pytest.raises(TempoMapError):
        TempoMap.from_beats([(0, 120.0), (8, 1000.0)])


def test_cut_strength_follows_the_picture_change_and_smpte_uses_the_frame_rate():
    motion = np.array([0.0, 2.0, 40.0, 3.0, 10.0, 1.0])
    assert cut_strengths([1.5, 3.2], motion) == [1.0, pytest.approx(0.3 + 0.7 * 10 / 40)]
    assert cut_strengths([1.5], np.zeros(4)) == [1.0]
    assert smpte(3661.48, 25.0) == "01:01:01:12"
    assert smpte(22.958, 24.0) == "00:00:22:23"  # frame 551, stored to the millisecond
    assert smpte(1.0, 29.97) == "00:00:01:00"  # frame 30: non-drop labels at 29.97


def test_the_cue_sheet_writes_ticks_in_their_own_column():
    """Issue 25: the bar.beat column read "7.4.28" for a cut between beats; now bar.beat is two
    fields and the ticks into the beat (at the MIDI file's resolution) have their own column."""
    from v2m_bridge.output.cue_sheet import COLUMNS, bar_beat_ticks
    from v2m_bridge.output.midi_file import TICKS_PER_BEAT

    tempo_map = TempoMap.constant(120.0)
    assert COLUMNS.index("ticks") == COLUMNS.index("bar_beat") + 1
    assert tempo_map.bar_beat_label(27.28) == "7.4.28"  # the old label
    assert bar_beat_ticks(tempo_map, 27.28) == ("7.4", round(0.28 * TICKS_PER_BEAT))
    assert bar_beat_ticks(tempo_map, 32.0) == ("9.1", 0)
    assert bar_beat_ticks(tempo_map, 31.9999) == ("9.1", 0)  # rounds to the tick, carries
    waltz = TempoMap.from_beats([(0.0, 90.0)], beats_per_bar=3, pickup=1)
    assert bar_beat_ticks(waltz, 0.5) == ("1.1", TICKS_PER_BEAT // 2)
    assert bar_beat_ticks(waltz, 1.0) == ("2.1", 0)

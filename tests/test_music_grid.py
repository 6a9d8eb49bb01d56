"""The musical grid: harmonic rhythm in bars, hit points, phrases, motion accents, official mode.

Issue 13 changed the rule: chords change only on the chosen harmonic rhythm (default: the bar)
or at hit points (cuts on the grid), no longer on any beat with the nearest change moved onto
each cut. The older tests below still hold under the new rule."""

from __future__ import annotations

import numpy as np
import pytest

from v2m_bridge.music.grid import GridError, GridOptions, build_grid
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.vocab import parse_chords

# Two seconds per chord: changes at 0, 2, 4, ... 20 s.
CHORDS = parse_chords("C C Am Am F F G G C C Em Em Am Am Dm Dm G G C C F F")


def _assert_tiles(grid):
    assert grid.spans[0].start == 0.0
    assert grid.spans[-1].end == pytest.approx(grid.duration)
    for before, after in zip(grid.spans, grid.spans[1:], strict=False):
        assert before.end == after.start and after.start > before.start


def test_official_mode_is_one_chord_per_second_without_cut_moves():
    grid = build_grid(CHORDS, 22.0, cut_times=[5.0, 11.0, 17.0],
                      options=GridOptions(cut_align=False))
    _assert_tiles(grid)
    assert grid.change_times == [float(s) for s in range(0, 22, 2)]
    assert grid.cut_times == () and grid.accents == ()


def test_each_cut_gets_a_chord_change_on_it():
    grid = build_grid(CHORDS, 22.0, cut_times=[5.0, 11.0, 17.0])
    _assert_tiles(grid)
    for cut in (5.0, 11.0, 17.0):
        assert cut in grid.change_times
        assert next(span for span in grid.spans if span.start == cut).at_cut


def test_off_beat_cut_snaps_to_the_nearest_sixteenth():
    grid = build_grid(CHORDS, 22.0, cut_times=[5.792])  # 120 bpm: a sixteenth is 0.125 s
    assert 5.75 in grid.change_times
    assert all(abs(t - 5.792) > 0.2 for t in grid.change_times if t != 5.75)


def test_without_cuts_changes_land_on_beats_at_any_tempo():
    grid = build_grid(CHORDS, 22.0, options=GridOptions(tempo_bpm=100))
    beat = 60 / 100
    _assert_tiles(grid)
    for time_s in grid.change_times:
        assert time_s / beat == pytest.approx(round(time_s / beat))


def test_cut_far_from_any_change_re_strikes_the_chord_on_the_cut():
    chords = parse_chords("C") * 10 + parse_chords("G") * 10
    grid = build_grid(chords, 20.0, cut_times=[4.0])
    starts = [span.start for span in grid.spans]
    assert 4.0 in starts
    span = next(span for span in grid.spans if span.start == 4.0)
    assert span.at_cut and span.chord == chords[0]
    assert grid.change_times == [0.0, 10.0]  # a re-strike is not a chord change


def test_a_moved_change_never_leaves_a_span_shorter_than_a_beat():
    chords = parse_chords("C G Am F") * 5
    grid = build_grid(chords, 20.0, cut_times=[3.25, 7.6, 12.9])
    _assert_tiles(grid)
    for span in grid.spans:
        assert span.end - span.start >= 0.5 - 1e-9 or span.at_cut


def test_motion_peaks_become_accents_on_beats_but_not_next_to_cuts():
    motion = np.full(20, 2.0)
    motion[7] = 40.0
    motion[12] = 50.0  # right next to the cut at 12.5
    grid = build_grid(CHORDS[:20], 20.0, cut_times=[12.5], motion=motion)
    assert grid.accents == (7.0,)


@pytest.mark.parametrize("tempo", [0, -10, float("nan"), 1000])
def test_bad_tempo_is_a_clear_error(tempo):
    with pytest.raises(GridError, match="tempo must be between"):
        GridOptions(tempo_bpm=tempo)


def test_empty_chords_or_bad_duration_are_clear_errors():
    with pytest.raises(GridError, match="empty"):
        build_grid([], 10.0)
    with pytest.raises(GridError, match="duration"):
        build_grid(CHORDS, 0.0)


def test_duration_shorter_or_longer_than_the_chord_list():
    short = build_grid(CHORDS, 7.3)
    assert short.spans[-1].end == 7.3
    long = build_grid(CHORDS[:4], 9.0)
    assert long.spans[-1].end == 9.0 and long.spans[-1].chord == CHORDS[3]


def _on_rhythm(beat: float, rhythm: str, tempo: TempoMap) -> bool:
    """Independent statement of the harmonic rhythm: where may a chord change?"""
    if abs(beat) < 1e-6:
        return True
    step = {"beat": 1, "half": tempo.beats_per_bar / 2, "bar": tempo.beats_per_bar,
            "2bars": 2 * tempo.beats_per_bar}[rhythm]
    origin = 0 if rhythm == "beat" else tempo.pickup
    position = (beat - origin) / step
    return position > -1e-4 and abs(position - round(position)) < 1e-4


@pytest.mark.parametrize("rhythm", ["beat", "half", "bar", "2bars"])
@pytest.mark.parametrize("pickup", [0, 1, 3])
def test_chords_change_only_on_the_harmonic_rhythm_or_at_hit_points(rhythm, pickup):
    rng = np.random.default_rng(len(rhythm) + pickup)
    chords = [parse_chords("C Am F G Dm Em Bdim E7")[i] for i in rng.integers(0, 8, 60)]
    tempo = TempoMap.from_beats([(0, 96.0), (9, 104.0), (31, 112.0), (60, 101.0)], 4, pickup)
    cuts = sorted(rng.uniform(1, 58, 9))
    grid = build_grid(chords, 60.0, cut_times=cuts, options=GridOptions(
        tempo_bpm=104.0, tempo_map=tempo, harmonic_rhythm=rhythm))
    _assert_tiles(grid)
    assert len(grid.cut_times) == 9
    hit_points = set(grid.cut_times)
    for span in grid.spans:
        beat = tempo.beat_at(span.start)
        assert _on_rhythm(beat, rhythm, tempo) or span.start in hit_points, (span, beat)
        assert span.at_cut == (span.start in hit_points)
    for cut, hit in zip(cuts, grid.cut_times, strict=True):  # hit points: cuts on sixteenths
        beat = tempo.beat_at(hit)
        assert beat * 4 == pytest.approx(round(beat * 4), abs=1e-4)  # times kept to 1 µs
        assert abs(tempo.beat_at(cut) - beat) <= 0.125 + 1e-6
    # every hit point starts a span (a change or a re-strike)
    assert hit_points <= {span.start for span in grid.spans}


def test_default_harmonic_rhythm_is_the_bar_and_the_longest_model_chord_wins():
    assert GridOptions().harmonic_rhythm == "bar"
    # at 120 bpm a bar is 2 s: bar 2 (2..4 s) is all Am; bar 3 (4..6 s) hears Am 1 s, G 1 s
    # (a tie: the earlier, Am, wins, so no change); bar 4 is all G
    chords = parse_chords("C C Am Am Am G G G")
    grid = build_grid(chords, 8.0)
    assert [(span.start, span.chord) for span in grid.spans] == [
        (0.0, chords[0]), (2.0, chords[2]), (6.0, chords[5])]
    assert grid.change_times == [0.0, 2.0, 6.0]


def test_a_hit_point_takes_the_nearest_chord_change_of_its_bar():
    chords = parse_chords("C C C C G G G G")  # bars at 0, 2, 4, 6 s at 120 bpm
    grid = build_grid(chords, 8.0, cut_times=[4.5])  # a cut one beat into bar 3 (G)
    assert grid.change_times == [0.0, 4.5]  # C lasts until the cut, G starts on it
    assert next(span for span in grid.spans if span.start == 4.5).at_cut
    grid = build_grid(chords, 8.0, cut_times=[3.5])  # a cut on the last beat of bar 2 (C)
    assert grid.change_times == [0.0, 3.5]  # G is anticipated onto the cut


def test_phrases_start_every_four_bars_from_the_first_full_bar():
    grid = build_grid(CHORDS * 3, 40.0)  # 120 bpm: a bar is 2 s, a phrase 8 s
    assert grid.phrase_starts == (8.0, 16.0, 24.0, 32.0)
    tempo = TempoMap.constant(120.0, 4)
    tempo = TempoMap(tempo.segments, 4, pickup=2)
    grid = build_grid(CHORDS * 3, 40.0, options=GridOptions(tempo_map=tempo))
    assert grid.phrase_starts == (9.0, 17.0, 25.0, 33.0)
    assert grid.bar_times()[:3] == [0.0, 1.0, 3.0]


def test_unknown_harmonic_rhythm_is_a_clear_error():
    with pytest.raises(GridError, match="--harmonic-rhythm must be one of"):
        GridOptions(harmonic_rhythm="3bars")

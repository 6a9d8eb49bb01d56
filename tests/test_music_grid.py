"""The musical grid: changes on beats, cut-aligned harmony, motion accents, official mode."""

from __future__ import annotations

import numpy as np
import pytest

from v2m_bridge.music.grid import GridError, GridOptions, build_grid
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

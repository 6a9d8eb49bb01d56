"""Chord changes moved to a Link session's bar lines (v2m_bridge.daemon.live_bars), without Link:
the grid is given. tests/test_link.py plays it against a real peer and records it on JACK."""

from __future__ import annotations

import pytest

from v2m_bridge.daemon.live_bars import BarGrid, align_update, keep_or_replace
from v2m_bridge.daemon.live_composer import LiveUpdate
from v2m_bridge.music.events import NoteEvent

GRID = BarGrid(first=0.25, period=2.5)  # bar lines at 0.25, 2.75, 5.25, ...


def note(start: float, end: float, pitch: int) -> NoteEvent:
    return NoteEvent(start=start, end=end, pitch=pitch, velocity=80)


def test_next_bar_is_at_or_after_the_time():
    assert GRID.next_bar(0.25) == pytest.approx(0.25)
    assert GRID.next_bar(0.26) == pytest.approx(2.75)
    assert GRID.next_bar(-3.0) == pytest.approx(-2.25)


def test_each_chord_moves_to_the_next_bar_line_with_its_notes_and_ends_at_the_next_chord():
    # chords at 1, 3 and 4 s: 1 -> 2.75, 3 and 4 -> 5.25 (3 never sounds: 4 holds that bar)
    update = LiveUpdate(1.0, [note(1.0, 2.0, 60), note(1.5, 3.0, 64), note(3.0, 4.0, 67),
                              note(4.0, 5.0, 72), note(4.5, 6.0, 48)],
                        [(1.0, "C"), (3.0, "F"), (4.0, "G")], (1.0, 3.0, 4.0))
    aligned = align_update(update, GRID)
    assert aligned.chords == [(pytest.approx(2.75), "C"), (pytest.approx(5.25), "G")]
    got = [(round(e.start, 6), round(e.end, 6), e.pitch) for e in aligned.events]
    assert got == [(2.75, 3.75, 60), (3.25, 4.75, 64), (5.25, 6.25, 72), (5.75, 7.25, 48)]
    assert aligned.start == pytest.approx(2.75)
    # nothing moves earlier than planned
    assert all(a.start >= 1.0 for a in aligned.events)


def test_a_note_running_into_the_next_chords_bar_line_ends_there():
    update = LiveUpdate(2.0, [note(2.0, 6.0, 60), note(5.0, 6.0, 62)],
                        [(2.0, "C"), (5.0, "F")], (2.0, 5.0))
    aligned = align_update(update, GRID)  # 2 -> 2.75, 5 -> 5.25
    assert [(round(e.start, 6), round(e.end, 6)) for e in aligned.events] == [
        (2.75, 5.25), (5.25, 6.25)]


def test_the_same_chords_land_in_the_same_places_in_successive_plans():
    """A later update (from the next second on) moves the chords it shares with the previous
    plan to the same times, so merge_from keeps their notes instead of re-striking them."""
    first = align_update(LiveUpdate(1.0, [note(1.0, 3.0, 60)], [(1.0, "C")], (0.0, 1.0)),
                         GRID)
    second = align_update(LiveUpdate(2.0, [note(1.0, 3.0, 60), note(3.0, 4.0, 65)],
                                     [(1.0, "C"), (3.0, "F")], (0.0, 1.0, 3.0)), GRID)
    assert first.events[0].start == second.events[0].start == pytest.approx(2.75)
    assert second.start == pytest.approx(3.75)  # 2 s in chord 1's span, moved as it moved
    assert second.chords == [(pytest.approx(2.75), "C"), (pytest.approx(5.25), "F")]


def test_the_grid_is_kept_while_measurements_agree_within_a_millisecond():
    assert keep_or_replace(GRID, BarGrid(0.25 + 2.5 * 3 + 0.0008, 2.5)) is GRID
    assert keep_or_replace(GRID, BarGrid(5.2503, 2.500001)) is GRID  # Link's microseconds
    moved = BarGrid(0.2535, 2.5)
    assert keep_or_replace(GRID, moved) is moved
    faster = BarGrid(0.25, 2.0)  # the session's tempo changed
    assert keep_or_replace(GRID, faster) is faster
    assert keep_or_replace(GRID, None) is None  # the frames' clock stopped

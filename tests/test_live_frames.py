"""Live-mode building blocks without sockets: frame checks, folding into seconds, the live
composer (starter model) and the scheduler's live merge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from v2m_bridge.daemon.live_composer import LiveComposer, bar_period_s
from v2m_bridge.daemon.live_frames import (
    MAX_GAP_S,
    MOTION_SCALE,
    FrameError,
    LiveFrame,
    SecondFeatures,
    SecondFolder,
    parse_frame,
)
from v2m_bridge.daemon.scheduler import merge_from
from v2m_bridge.music.events import (
    ARP_CHANNEL,
    BASS_CHANNEL,
    CHORDS_CHANNEL,
    HITS_CHANNEL,
    NoteEvent,
)
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.options import RenderOptions


def frame(t: float, motion: float = 0.02, cut: bool = False, rgb=(0.4, 0.3, 0.2)) -> LiveFrame:
    return LiveFrame(t, 0.4, motion, rgb, cut)


# --- parse_frame ---------------------------------------------------------------------------------

def test_parse_frame_accepts_the_four_layouts_and_normalises_emotion():
    base = [1.5, 0.5, 0.1, 0.2, 0.3, 0.4, 1]
    assert parse_frame(base).cut and parse_frame(base).emotion is None
    with_emotion = parse_frame([*base, 2, 0, 0, 0, 0, 2])
    assert with_emotion.emotion.tolist() == [0.5, 0, 0, 0, 0, 0.5]
    with_semantic = parse_frame([*base, *range(768)])
    assert with_semantic.semantic.shape == (768,) and with_semantic.semantic[5] == 5
    assert parse_frame([*base, 1, 1, 1, 1, 1, 1, *[0.0] * 768]).semantic is not None


@pytest.mark.parametrize(("args", "expected"), [
    ([1.0, 0.5, 0.1], "takes 7, 13, 775, 781 numbers"),
    ([1.0, 128, 0.1, 0.2, 0.3, 0.4, 0], "luma must be in 0..1, got 128 (divide"),
    ([-1.0, 0.5, 0.1, 0.2, 0.3, 0.4, 0], "media_time must be >= 0"),
    ([1.0, 0.5, 0.1, 0.2, 0.3, 0.4, 2], "cut must be 0 or 1"),
    ([1.0, 0.5, 0.1, 0.2, 0.3, 0.4, 0, 0, 0, 0, 0, 0, 0], "not all 0"),
    ([1.0, 0.5, 0.1, 0.2, 0.3, 0.4, 0, -1, 1, 1, 1, 1, 1], "must be >= 0"),
])
def test_parse_frame_explains_what_is_wrong(args, expected):
    with pytest.raises(FrameError, match=expected.replace("(", r"\(").replace(".", r"\.")):
        parse_frame(args)


# --- SecondFolder --------------------------------------------------------------------------------

def test_folding_completes_seconds_in_order_and_averages_motion():
    folder = SecondFolder()
    assert folder.add(frame(3.2, motion=0.1)).completed == []
    assert folder.add(frame(3.1, motion=0.3)).completed == []  # out of order, same second
    result = folder.add(frame(4.0))
    assert [s.second for s in result.completed] == [3]
    assert result.completed[0].motion == pytest.approx(MOTION_SCALE * 0.2)
    assert result.completed[0].frames == 2
    assert np.isclose(result.completed[0].emotion.sum(), 1.0)


def test_late_frames_are_dropped_and_gaps_are_held():
    folder = SecondFolder()
    folder.add(frame(0.5))
    folder.add(frame(1.2))
    late = folder.add(frame(0.95))  # its second is complete: too late
    assert late.late and late.completed == [] and folder.late_frames == 1
    gap = folder.add(frame(4.1))  # seconds 2 and 3 had no frame
    assert [s.second for s in gap.completed] == [1, 2, 3]
    assert [s.frames for s in gap.completed] == [1, 0, 0]
    assert np.array_equal(gap.completed[2].emotion, gap.completed[0].emotion)


def test_jumps_back_and_far_forward_are_seeks():
    folder = SecondFolder()
    folder.add(frame(10.0))
    folder.add(frame(10.9))
    back = folder.add(frame(2.0))
    assert back.seek_to == 2 and back.completed == []
    assert folder.current_second == 2
    ahead = folder.add(frame(2.0 + MAX_GAP_S + 1.5))
    assert ahead.seek_to == 2 + MAX_GAP_S + 1 and ahead.completed == []


def test_cut_flags_of_one_edit_count_once():
    folder = SecondFolder(min_cut_gap_s=0.5)
    assert folder.add(frame(1.0, cut=True)).cut_at == 1.0
    assert folder.add(frame(1.2, cut=True)).cut_at is None
    assert folder.add(frame(1.6, cut=True)).cut_at == 1.6


def test_fallback_emotion_follows_colour_and_image_features_override_it():
    def emotion_of(rgb, motion):
        folder = SecondFolder()
        folder.add(frame(0.2, motion=motion, rgb=rgb))
        return folder.add(frame(1.0)).completed[0].emotion

    calm_dark_blue = emotion_of((0.05, 0.08, 0.3), 0.0)
    busy_bright_warm = emotion_of((0.95, 0.7, 0.3), 0.2)
    assert calm_dark_blue.argmax() != busy_bright_warm.argmax()
    folder = SecondFolder()
    folder.set_image_features(np.ones(768), np.eye(6)[3])
    folder.add(frame(0.2))
    second = folder.add(frame(1.0)).completed[0]
    assert second.emotion.tolist() == np.eye(6)[3].tolist() and second.semantic[0] == 1


# --- LiveComposer --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def amt():
    from v2m_bridge.model.loading import load_chord_model

    return load_chord_model(None).amt


def second(n: int, motion: float = 3.0) -> SecondFeatures:
    return SecondFeatures(n, motion, np.eye(6)[n % 6], np.zeros(768, np.float32), 30)


def composer(amt, seed: int = 7, origin: int = 5, **options) -> LiveComposer:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return LiveComposer(amt, RenderOptions(**options), origin, generator)


def test_each_completed_second_schedules_the_next_chord_only(amt):
    live = composer(amt, key="D minor")
    begin = live.begin()
    assert begin.chords[0] == (5.0, "Dm")  # the primer's tonic, from the first frame
    assert begin.events and all(5.0 <= e.start < 6.0 for e in begin.events)
    for n in range(5, 15):
        update = live.complete([second(n)])
        assert update.start == n + 1
        assert all(e.end > n + 1 for e in update.events)  # nothing that is already over
        assert any(e.start >= n + 1 - 1e-9 for e in update.events)
        assert max(e.end for e in update.events) <= n + 2 + 1e-9  # never beyond what is known
    assert len(live.chords) == 11


def test_the_past_decides_the_chord_not_the_future(amt):
    """Two sessions that saw the same seconds choose the same chords, whatever comes next."""
    first, second_run = composer(amt), composer(amt)
    for n in range(5, 12):
        first.complete([second(n)])
        second_run.complete([second(n, motion=3.0 if n < 11 else 90.0)])
    assert first.chords[:7] == second_run.chords[:7]


@pytest.mark.parametrize("texture", ["auto", "arpeggio"])
def test_live_plays_the_render_textures_and_hits_the_cut(amt, texture):
    live = composer(amt, tempo_bpm=120.0, texture=texture)
    live.begin()
    events: list[NoteEvent] = []

    def merge(update) -> None:
        nonlocal events
        if update is not None:  # the plan from update.start on replaces the old one
            events = [e for e in events if e.start < update.start] + list(update.events)

    for n in range(5, 13):
        if n == 9:
            merge(live.cut(9.5, second(9)))  # a cut half-way through second 9
        merge(live.complete([second(n)]))
    channels = {e.channel for e in events}
    assert {CHORDS_CHANNEL, ARP_CHANNEL, BASS_CHANNEL} <= channels  # the parts of a render
    hits = [e for e in events if e.channel == HITS_CHANNEL]
    assert hits and any(abs(e.start - 9.5) < 1e-6 for e in hits)  # the cut, on its frame


def test_a_cut_moves_the_change_onto_it(amt):
    live = composer(amt, tempo_bpm=120.0)
    live.complete([second(5)])
    update = live.cut(6.3, second(6))  # snaps to the sixteenth at 6.25
    assert update.start == pytest.approx(6.25)
    assert len(live.chords) == 3  # the chord of second 7 was chosen at the cut
    struck = {round(e.start, 6) for e in update.events if e.channel != HITS_CHANNEL}
    assert 6.25 in struck  # a change or a re-strike on the cut (in one part or another)
    assert live.complete([second(6)]) is None  # nothing new: that chord is already planned


def test_prepared_work_gives_what_completing_gives_or_is_redone(amt):
    """Working ahead on a second as it stands changes nothing: the same chords, notes and
    generator state as completing it without; a second that completes otherwise is redone."""
    plain, ahead = composer(amt), composer(amt)
    for n in range(5, 12):
        expected = plain.complete([second(n)])
        ahead.prepare(second(n, motion=9.0 if n == 8 else 3.0))  # at 8 a later frame changed it
        steps = len(plain.chords)
        if n != 8:
            ahead.amt = None  # completing must use what was prepared, not the model
        got = ahead.complete([second(n)])
        ahead.amt = plain.amt
        assert len(ahead.chords) == steps
        assert (got.start, got.events, got.chords) == (expected.start, expected.events,
                                                       expected.chords)
        assert ahead.chords == plain.chords
        assert torch.equal(ahead.generator.get_state(), plain.generator.get_state())
    plain.cut(12.3, second(12))
    ahead.cut(12.3, second(12))
    ahead.prepare(second(12))  # the chord after 12 came at the cut: nothing to prepare
    assert plain.complete([second(12)]) is None and ahead.complete([second(12)]) is None
    assert ahead.chords == plain.chords


def test_long_sessions_slide_the_model_window(amt):
    live = composer(amt)
    for n in range(5, 5 + amt.config.max_sequence_chord + 20):
        live.complete([second(n)])
    assert len(live.chords) == amt.config.max_sequence_chord + 21


def test_bar_period():
    assert bar_period_s(TempoMap.constant(120, 4)) == 2
    assert bar_period_s(TempoMap.constant(100, 4)) == 12
    assert bar_period_s(TempoMap.constant(60, 3)) == 3


# --- the scheduler's live merge ------------------------------------------------------------------

def test_merge_continues_shared_notes_and_cuts_the_rest():
    pad = NoteEvent(0.0, 1.0, 60, 80, CHORDS_CHANNEL)
    other = NoteEvent(0.0, 1.0, 64, 80, CHORDS_CHANNEL)
    arp = NoteEvent(0.5, 0.75, 72, 90, ARP_CHANNEL)
    new = [NoteEvent(0.0, 2.0, 60, 80, CHORDS_CHANNEL),  # the same pad, now longer
           NoteEvent(0.0, 2.0, 65, 80, CHORDS_CHANNEL),  # began before start: not struck late
           NoteEvent(1.0, 1.25, 77, 90, ARP_CHANNEL)]
    merged = merge_from([pad, other, arp], new, 0.6)
    assert NoteEvent(0.0, 2.0, 60, 80, CHORDS_CHANNEL) in merged
    assert NoteEvent(0.0, 0.6, 64, 80, CHORDS_CHANNEL) in merged
    assert NoteEvent(0.5, 0.6, 72, 90, ARP_CHANNEL) in merged
    assert NoteEvent(1.0, 1.25, 77, 90, ARP_CHANNEL) in merged
    assert all(e.pitch != 65 for e in merged)
    assert merged == sorted(merged)

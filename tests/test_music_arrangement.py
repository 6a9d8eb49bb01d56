"""arrange(): two parts, no hanging or overlapping notes, velocities that follow the video."""

from __future__ import annotations

import numpy as np
import pytest

from v2m_bridge.errors import FeatureError
from v2m_bridge.music.arrangement import ArrangeOptions, arrange, remove_overlaps
from v2m_bridge.music.events import ARP_CHANNEL, CHORDS_CHANNEL, NoteEvent
from v2m_bridge.vocab import parse_chords, parse_key

CHORDS = parse_chords("C C Am Am F F G G C C Em Em Am Am Dm Dm G G C C F F")


def _features(seconds=22, calm_until=11):
    motion = np.where(np.arange(seconds) < calm_until, 1.0, 25.0)
    emotion = np.zeros((seconds, 6))
    emotion[:calm_until, 4] = 1.0  # relaxing, then exciting
    emotion[calm_until:, 0] = 1.0
    offsets = np.concatenate([np.arange(1, calm_until + 1),
                              np.arange(1, seconds - calm_until + 1)]).astype(float)
    return {"motion": motion, "scene_offset": offsets, "emotion": emotion}


def _compose(**overrides):
    kwargs = {"cut_times": [11.0], **_features(), **overrides}
    return arrange(CHORDS, **kwargs)


def test_two_parts_sorted_inside_the_duration_without_same_pitch_overlaps():
    composition = _compose(duration=21.5)
    events = composition.events
    assert events == sorted(events)
    assert {e.channel for e in events} == {CHORDS_CHANNEL, ARP_CHANNEL}
    assert max(e.end for e in events) <= 21.5
    last_end = {}
    for event in events:
        slot = (event.channel, event.pitch)
        assert last_end.get(slot, 0.0) <= event.start + 1e-9
        last_end[slot] = event.end


def test_velocities_and_density_follow_the_picture():
    events = _compose().events
    arp_calm = [e for e in events if e.channel == ARP_CHANNEL and e.start < 10]
    arp_busy = [e for e in events if e.channel == ARP_CHANNEL and 12 <= e.start < 22]
    assert len(arp_busy) > 1.5 * len(arp_calm)  # denser where the video is busy
    assert np.mean([e.velocity for e in arp_busy]) > np.mean([e.velocity for e in arp_calm]) + 5
    assert all(49 <= e.velocity <= 127 for e in arp_calm + arp_busy)


def test_cut_gets_a_change_and_an_accent():
    composition = _compose()
    assert any(span.start == 11.0 for span in composition.chord_spans)
    at_cut = [e for e in composition.events if e.channel == ARP_CHANNEL and e.start == 11.0]
    just_after = [e for e in composition.events if e.channel == ARP_CHANNEL
                  and 11.0 < e.start < 11.5]
    assert at_cut and just_after
    assert at_cut[0].velocity > max(e.velocity for e in just_after)


def test_key_transposes_the_normalised_chords():
    composition = _compose(options=ArrangeOptions(key=parse_key("D minor")))
    # A minor frame -> D minor: +5 semitones (C -> F, Am -> Dm)
    assert [composition.chord_name(span) for span in composition.chord_spans[:2]] == ["F", "Dm"]
    assert composition.key == parse_key("Dm")


def test_heuristic_dynamics_are_labelled():
    assert any("no regression model" in note for note in _compose().provenance.notes)


def test_remove_overlaps_truncates_the_earlier_note():
    events = [NoteEvent(0.0, 2.0, 60, 80), NoteEvent(1.0, 3.0, 60, 90),
              NoteEvent(1.0, 1.5, 60, 70, channel=1)]
    result = remove_overlaps(events)
    assert NoteEvent(0.0, 1.0, 60, 80) in result and NoteEvent(1.0, 3.0, 60, 90) in result
    assert len(result) == 3


def test_mismatched_or_nan_features_are_clear_errors():
    features = _features()
    features["emotion"] = features["emotion"][:5]
    with pytest.raises(FeatureError, match="same T"):
        arrange(CHORDS, **features)
    features = _features()
    features["motion"] = features["motion"].copy()
    features["motion"][2] = np.inf
    with pytest.raises(FeatureError, match="motion contains NaN"):
        arrange(CHORDS, **features)


def test_cut_alignment_is_measurable_and_off_in_official_mode():
    aligned = _compose(cut_times=[6.9, 13.2])
    assert aligned.cut_alignment() == pytest.approx([0.025, 0.05], abs=1e-9)  # sixteenth snap
    official = _compose(cut_times=[6.9, 13.2], options=ArrangeOptions(cut_align=False))
    assert official.cut_alignment() == pytest.approx([0.9, 0.8])  # changes stay on even seconds

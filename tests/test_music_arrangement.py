"""arrange(): bass, chords, figuration and hits, no hanging or overlapping notes, velocities that
follow the video, and the arpeggio texture as it was."""

from __future__ import annotations

import numpy as np
import pytest

from v2m_bridge.errors import FeatureError
from v2m_bridge.music.arrangement import ArrangeOptions, arrange, remove_overlaps
from v2m_bridge.music.events import (
    ARP_CHANNEL,
    BASS_CHANNEL,
    CHORDS_CHANNEL,
    HITS_CHANNEL,
    NoteEvent,
)
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


@pytest.mark.parametrize("texture", ["auto", "ballad", "pulse", "pad", "arpeggio"])
def test_parts_sorted_inside_the_duration_without_same_pitch_overlaps(texture):
    composition = _compose(duration=21.5, options=ArrangeOptions(texture=texture))
    events = composition.events
    assert events == sorted(events)
    parts = {CHORDS_CHANNEL, BASS_CHANNEL, HITS_CHANNEL}
    assert {e.channel for e in events} == (parts if texture == "pad" else parts | {ARP_CHANNEL})
    assert max(e.end for e in events) <= 21.5
    last_end = {}
    for event in events:
        slot = (event.channel, event.pitch)
        assert last_end.get(slot, 0.0) <= event.start + 1e-9
        last_end[slot] = event.end


@pytest.mark.parametrize("texture", ["auto", "arpeggio"])
def test_velocities_and_density_follow_the_picture(texture):
    events = _compose(options=ArrangeOptions(texture=texture)).events
    parts = (ARP_CHANNEL,) if texture == "arpeggio" else (ARP_CHANNEL, CHORDS_CHANNEL, BASS_CHANNEL)
    calm = [e for e in events if e.channel in parts and e.start < 10]
    busy = [e for e in events if e.channel in parts and 12 <= e.start < 22]
    assert len(busy) > 1.5 * len(calm)  # denser where the video is busy
    assert np.mean([e.velocity for e in busy]) > np.mean([e.velocity for e in calm]) + 5
    low = 49 if texture == "arpeggio" else 37  # accents may take a note 12 under the curve
    assert all(low <= e.velocity <= 127 for e in calm + busy)


def test_calm_is_sparse_and_low_and_action_busy():
    events = _compose().events
    notes = [e for e in events if e.channel != HITS_CHANNEL]
    calm = [e for e in notes if e.start < 10]
    busy = [e for e in notes if 12 <= e.start < 22]
    assert np.mean([e.end - e.start for e in calm]) > np.mean([e.end - e.start for e in busy])
    assert np.mean([e.pitch for e in calm]) < np.mean([e.pitch for e in busy])


def test_cut_gets_a_change_and_an_accent():
    composition = _compose(options=ArrangeOptions(texture="arpeggio"))
    assert any(span.start == 11.0 for span in composition.chord_spans)
    at_cut = [e for e in composition.events if e.channel == ARP_CHANNEL and e.start == 11.0]
    just_after = [e for e in composition.events if e.channel == ARP_CHANNEL
                  and 11.0 < e.start < 11.5]
    assert at_cut and just_after
    assert at_cut[0].velocity > max(e.velocity for e in just_after)


def test_a_strong_cut_gets_a_low_hit_on_its_frame_and_a_swell_into_it():
    composition = _compose(cut_times=[11.04])  # off the sixteenth grid: the hit is on the cut
    hits = [e for e in composition.events if e.channel == HITS_CHANNEL]
    on_cut = [e for e in hits if e.start == 11.04]
    assert len(on_cut) == 2 and max(e.pitch for e in on_cut) < 50
    chord = composition.chord_spans[composition.grid.span_index(11.1)].chord
    assert {e.pitch % 12 for e in on_cut} == {chord.root}
    swell = [e for e in hits if e.start < 11.04]
    assert len(swell) == 4 and 11.04 - swell[0].start == pytest.approx(0.5)  # one beat
    velocities = [e.velocity for e in swell] + [on_cut[0].velocity]
    assert velocities == sorted(velocities) and velocities[0] < velocities[-1]
    quiet = _compose(cut_times=[11.04], options=ArrangeOptions(hits_track=False))
    assert not [e for e in quiet.events if e.channel == HITS_CHANNEL]
    assert HITS_CHANNEL not in quiet.parts


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

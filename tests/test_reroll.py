"""Lock and re-roll: ``--keep PREVIOUS.mid --reroll A:B`` keeps every chord outside the range.

These run the real pipeline (tempo fit, generation with a tiny random AMT, arrangement, MIDI
writing and reading) on synthetic features, so no video is decoded.
"""

from __future__ import annotations

import dataclasses

import mido
import pytest
from composition_helpers import synthetic_features, tiny_random_chord_model

from v2m_bridge import pipeline
from v2m_bridge.features import VideoFeatures
from v2m_bridge.music.reroll import RerollError, RerollRequest, kept_primer, plan_reroll
from v2m_bridge.options import RenderOptions
from v2m_bridge.output.midi_file import read_kept_midi, write_midi

torch = pytest.importorskip("torch")

SECONDS = 48
CUTS = [3.1, 7.45, 9.9, 14.2, 19.75, 22.3, 27.9, 31.05, 36.4, 41.8, 44.6]


@pytest.fixture(scope="module")
def chord_model():
    return tiny_random_chord_model()


def features(name="clip.mp4", duration=float(SECONDS), cuts=CUTS) -> VideoFeatures:
    return synthetic_features(name, duration, cuts)


def render(tmp_path, chord_model, name, options, reroll=None, feats=None):
    composition = pipeline.compose_features(feats or features(), options,
                                            chord_model=chord_model, reroll=reroll)
    return composition, write_midi(composition, tmp_path / name)


def notes_by_tick(path):
    """{(channel, start tick, end tick, pitch, velocity)} of every note in the file."""
    midi = mido.MidiFile(path)
    found = set()
    for track in midi.tracks[1:]:
        now, sounding = 0, {}
        for message in track:
            now += message.time
            if message.type == "note_on" and message.velocity:
                sounding[(message.channel, message.note)] = (now, message.velocity)
            elif message.type in ("note_on", "note_off"):
                start, velocity = sounding.pop((message.channel, message.note))
                found.add((message.channel, start, now, message.note, velocity))
    return found


def chord_markers(path):
    midi = mido.MidiFile(path)
    now, found = 0, []
    for message in midi.tracks[0]:
        now += message.time
        if message.type == "marker" and not message.text.startswith("cut "):
            found.append((now, message.text))
    return found


@pytest.mark.parametrize("tempo", [{"tempo_bpm": 120.0},
                                   {"tempo_bpm": "auto", "tempo_map": True}])
def test_every_chord_outside_the_range_is_kept_to_the_tick(tmp_path, chord_model, tempo):
    first, first_path = render(tmp_path, chord_model, "first.mid",
                               RenderOptions(seed=1, **tempo))
    kept = read_kept_midi(first_path)
    second, second_path = render(tmp_path, chord_model, "second.mid", RenderOptions(seed=2),
                                 RerollRequest(kept, (20.0, 40.0)))
    low_bar, high_bar = second.rerolled_bars
    tempo_map = first.tempo_map
    low = round(tempo_map.bar_start_beat(low_bar) * 480)
    high = round(tempo_map.bar_start_beat(high_bar + 1) * 480)
    assert abs(tempo_map.time_at(low / 480) - 20.0) <= tempo_map.seconds_per_beat_at(20) * 2.1
    before, after = notes_by_tick(first_path), notes_by_tick(second_path)

    def outside(notes):
        return {n for n in notes if not low <= n[1] < high}

    def inside(notes):
        return {n for n in notes if low <= n[1] < high}

    # notes outside the range keep their ticks; one held into the range (a bass, a hit) is cut
    # where the range starts
    kept_before = {(c, start, min(end, low) if start < low else end, p, v)
                   for c, start, end, p, v in outside(before)}
    assert outside(after) == kept_before and outside(before)
    assert inside(after) != inside(before)  # the range was re-rolled (another seed)
    markers_before, markers_after = chord_markers(first_path), chord_markers(second_path)
    assert [m for m in markers_after if m[0] < low] == [m for m in markers_before if m[0] < low]
    # after the range the kept chords resume (a marker may repeat the chord at the edge)
    assert {m for m in markers_after if m[0] > high} == {m for m in markers_before
                                                         if m[0] > high}
    # the tempo map is the kept one
    assert read_kept_midi(second_path).tempo_changes == kept.tempo_changes
    assert "re-rolled: bars" in " ".join(f"{k}: {v}" for k, v in
                                         second.provenance.facts.items())


def test_generation_is_primed_with_the_kept_chords_before_the_range(tmp_path, chord_model,
                                                                    monkeypatch):
    _, first_path = render(tmp_path, chord_model, "first.mid", RenderOptions(seed=1))
    kept = read_kept_midi(first_path)
    seen = {}
    original = pipeline.generate_chords

    def spy(amt, inputs, options, **kwargs):
        seen["primer"] = list(options.primer)
        return original(amt, inputs, options, **kwargs)

    monkeypatch.setattr(pipeline, "generate_chords", spy)
    render(tmp_path, chord_model, "second.mid", RenderOptions(seed=2),
           RerollRequest(kept, (20.0, 40.0)))
    plan = plan_reroll((20.0, 40.0), float(SECONDS), kept.tempo_map)
    primer = kept_primer(kept, plan, kept.tempo_map)
    assert seen["primer"] == primer and len(primer) == int(plan.start_s)
    markers = chord_markers(first_path)
    for second, chord in enumerate(primer):  # the chord sounding at each second before
        tick = kept.tempo_map.beat_at(second) * 480
        name = [text for at, text in markers if at <= tick + 1e-6][-1]
        assert chord.name(kept.key.prefers_flats) == name


def test_locked_chords_stay_on_their_bars_when_the_tempo_changes(tmp_path, chord_model):
    _, first_path = render(tmp_path, chord_model, "first.mid", RenderOptions(seed=1))
    kept = read_kept_midi(first_path)
    second, second_path = render(
        tmp_path, chord_model, "second.mid", RenderOptions(seed=2, tempo_bpm=100.0),
        RerollRequest(kept, (20.0, 30.0), keep_tempo=False))
    assert second.tempo_map.tempos == [100.0]
    low_bar, high_bar = second.rerolled_bars
    bar_tick = second.tempo_map.bar_start_beat
    low, high = round(bar_tick(low_bar) * 480), round(bar_tick(high_bar + 1) * 480)
    end = round(second.tempo_map.beat_at(SECONDS) * 480)
    assert second.tempo_map.pickup == kept.pickup  # the bars keep their pickup (issue 21, 3)
    before, after = notes_by_tick(first_path), notes_by_tick(second_path)
    # ticks are bars and beats: what was kept has the same bar, beat, pitch and velocity
    # (a note that sounds past the end of the video at the new tempo ends with it)
    # (and one held into the re-rolled range, a bass or a hit, is cut where the range starts)
    kept_before = {(c, start, min(stop, end, low) if start < low else min(stop, end),
                    pitch, velocity)
                   for c, start, stop, pitch, velocity in before
                   if not low <= start < high and start < end}
    assert {n for n in after if not low <= n[1] < high} == kept_before


@pytest.mark.parametrize("range_s, message", [
    ((30.0, 20.0), "reversed"),
    ((20.0, 20.0), "empty"),
    ((-5.0, 10.0), "outside the video"),
    ((40.0, 90.0), "outside the video"),
    ((60.0, 70.0), "outside the video"),
])
def test_bad_reroll_ranges_are_clear_errors(tmp_path, chord_model, range_s, message):
    _, first_path = render(tmp_path, chord_model, "first.mid", RenderOptions(seed=1))
    with pytest.raises(RerollError, match=message):
        render(tmp_path, chord_model, "second.mid", RenderOptions(seed=2),
               RerollRequest(read_kept_midi(first_path), range_s))
    assert not (tmp_path / "second.mid").exists()


def test_a_file_for_another_video_says_what_differs(tmp_path, chord_model):
    _, first_path = render(tmp_path, chord_model, "first.mid", RenderOptions(seed=1))
    other = dataclasses.replace(features("other.mp4", duration=40.0, cuts=CUTS[:8]))
    with pytest.raises(RerollError, match="different video") as error:
        render(tmp_path, chord_model, "second.mid", RenderOptions(seed=2),
               RerollRequest(read_kept_midi(first_path), (10.0, 20.0)), feats=other)
    text = str(error.value)
    assert "video duration" in text and "48.000 s" in text and "40.000 s" in text
    assert "video: kept file 'clip.mp4', this video 'other.mp4'" in text
    assert "video cuts" in text


def test_a_midi_file_we_did_not_write_is_refused(tmp_path):
    foreign = mido.MidiFile()
    track = mido.MidiTrack([mido.MetaMessage("text", text="made in a DAW"),
                            mido.Message("note_on", note=60, velocity=90, time=0),
                            mido.Message("note_off", note=60, time=480)])
    foreign.tracks.append(track)
    foreign.save(tmp_path / "daw.mid")
    with pytest.raises(RerollError, match="not written by v2m-bridge"):
        read_kept_midi(tmp_path / "daw.mid")
    (tmp_path / "text.mid").write_text("not midi")
    with pytest.raises(RerollError, match="not a readable MIDI file"):
        read_kept_midi(tmp_path / "text.mid")
    with pytest.raises(RerollError, match="no such file"):
        read_kept_midi(tmp_path / "missing.mid")


def test_key_and_primer_conflicts_are_refused(tmp_path, chord_model):
    _, first_path = render(tmp_path, chord_model, "first.mid",
                           RenderOptions(seed=1, key="C major"))
    kept = read_kept_midi(first_path)
    with pytest.raises(RerollError, match="is in C major"):
        render(tmp_path, chord_model, "x.mid", RenderOptions(key="D minor"),
               RerollRequest(kept, (10.0, 20.0)))
    with pytest.raises(RerollError, match="--primer cannot be combined"):
        render(tmp_path, chord_model, "x.mid", RenderOptions(primer="C F"),
               RerollRequest(kept, (10.0, 20.0)))

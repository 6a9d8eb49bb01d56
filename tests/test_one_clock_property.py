"""One clock for musical time (issue 21), as a property over random tempo maps: 1-30 tempos,
3/4, 4/4 and 6/8, pickups and lead-ins. Every chord change, note onset, cut marker and
MusicXML chord symbol lands on the same bar.beat in the MIDI file (read back), the MusicXML
(read back with music21), the cue sheet and the daemon's ``/v2m/status``.

Positions are compared at the MIDI file's resolution (a tick), each side through its own map:
the composition's, and the one read back from the file.
"""

from __future__ import annotations

import csv
import io
import math
import re

import mido
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from live_helpers import in_process_daemon

from v2m_bridge.daemon.state import Opened
from v2m_bridge.music.arrangement import ArrangeOptions, Provenance, arrange
from v2m_bridge.music.events import CHORDS_CHANNEL
from v2m_bridge.music.grid import plan_chord_changes
from v2m_bridge.music.hits import hit_label
from v2m_bridge.music.tempo_fit import TempoFit, evaluate
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.output.cue_sheet import cue_sheet_text
from v2m_bridge.output.midi_file import TICKS_PER_BEAT, read_kept_midi, write_midi
from v2m_bridge.vocab import parse_chords

torch = pytest.importorskip("torch")
music21 = pytest.importorskip("music21")

FPS = 25.0
CHORDS = parse_chords("C Am F G Em Dm G7 C Fmaj7 E")


@st.composite
def tempo_maps(draw) -> tuple[TempoMap, float]:
    """A map and a duration that reaches past its last tempo change."""
    beats_per_bar, beat_unit = draw(st.sampled_from([(3, 4), (4, 4), (6, 8)]))
    pickup = draw(st.integers(0, beats_per_bar - 1))
    count = draw(st.integers(1, 30))
    lengths = draw(st.lists(st.integers(1, 4), min_size=count, max_size=count))
    if count > 1 and draw(st.booleans()):  # a lead-in: a few beats at another tempo first
        lengths[0] = draw(st.integers(1, 3))
    low, high = (60.0, 160.0) if beat_unit == 4 else (120.0, 300.0)
    tempos = draw(st.lists(st.floats(low, high), min_size=count, max_size=count))
    changes, beat = [], 0
    for length, bpm in zip(lengths, tempos, strict=True):
        changes.append((float(beat), round(bpm, 3)))
        beat += length
    tempo_map = TempoMap.from_beats(changes, beats_per_bar, pickup, beat_unit).midi_exact()
    end_beat = beat + draw(st.integers(1, 10)) - draw(st.floats(0.0, 0.9))
    return tempo_map, max(tempo_map.time_at(end_beat), 1.0)


def _composition(tempo_map: TempoMap, duration: float, cut_fractions, rhythm: str, seed: int):
    seconds = math.ceil(duration)
    rng = np.random.default_rng(seed)
    cuts = sorted({round(0.3 + f * (duration - 0.6), 3) for f in cut_fractions})
    offsets = np.ones(seconds)
    for s in range(1, seconds):
        offsets[s] = 1 if any(s - 1 < c <= s for c in cuts) else offsets[s - 1] + 1
    motion = rng.uniform(0, 40, seconds)
    options = ArrangeOptions(tempo_bpm=tempo_map.main_bpm(duration), tempo_map=tempo_map,
                             harmonic_rhythm=rhythm)
    times = plan_chord_changes(duration, cuts, offsets, motion, options.grid_options(),
                               seed=seed)
    chords = [CHORDS[i] for i in rng.integers(0, len(CHORDS), seconds)]
    composition = arrange(chords, motion=motion, scene_offset=offsets,
                          emotion=rng.dirichlet(np.ones(6), seconds), cut_times=cuts,
                          duration=duration, options=options, change_times=times)
    candidate = evaluate(tempo_map, cuts, [], FPS)
    composition.tempo_fit = TempoFit("fixed", candidate, (candidate,), FPS)
    composition.provenance = Provenance(facts={"generator": "v2m-bridge (test)",
                                               "key": "C major"})
    return composition


def _at_tick(tempo_map: TempoMap, tick: int) -> tuple[int, float]:
    """bar, beat-in-bar of a tick, as that map reads it (to a millionth of a beat)."""
    bar, within = tempo_map.bar_beat(tempo_map.beat_of_tick(tick, TICKS_PER_BEAT))
    return bar, round(within, 6)


def _composition_at(tempo_map: TempoMap, time_s: float) -> tuple[int, float]:
    return _at_tick(tempo_map, tempo_map.tick_at(time_s, TICKS_PER_BEAT))


def _file_events(path):
    """Chord markers, cut markers (tick, text) and note onsets (tick, channel, pitch)."""
    midi = mido.MidiFile(str(path))
    chords, cuts, onsets = [], [], []
    for track in midi.tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "marker":
                (cuts if message.text.startswith("cut ") else chords).append((now, message.text))
            elif message.type == "note_on" and message.velocity:
                onsets.append((now, message.channel, message.note))
    return chords, cuts, onsets


@pytest.fixture(scope="module")
def daemon():
    from v2m_bridge.model import AMT, AMTConfig
    from v2m_bridge.model.loading import ChordModel

    torch.manual_seed(0)
    amt = AMT(AMTConfig(n_layers=1, num_heads=2, d_model=32, dim_feedforward=64)).eval()
    with in_process_daemon(ChordModel(amt, "tiny test model", None)) as running:
        yield running


def _label_beats(tempo_map: TempoMap, label: str) -> float:
    """Beat position of a "bar.beat" or "bar.beat.hundredths" label."""
    bar, beat, *hundredths = (int(part) for part in label.split("."))
    return tempo_map.bar_start_beat(bar) + beat - 1 + (hundredths[0] / 100 if hundredths else 0)


@settings(max_examples=25, deadline=None, phases=[Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mapped=tempo_maps(), cut_fractions=st.lists(st.floats(0.0, 1.0), max_size=8),
       rhythm=st.sampled_from(["beat", "half", "bar", "2bars"]), seed=st.integers(0, 1000))
def test_every_output_puts_the_music_on_the_same_bar_beat(tmp_path_factory, daemon, mapped,
                                                          cut_fractions, rhythm, seed):
    from music21 import converter, harmony, meter, tempo

    from v2m_bridge.output.musicxml import write_musicxml

    tempo_map, duration = mapped
    composition = _composition(tempo_map, duration, cut_fractions, rhythm, seed)
    folder = tmp_path_factory.mktemp("clock")
    midi_path = write_midi(composition, folder / "piece.mid")
    read_map = read_kept_midi(midi_path).tempo_map
    assert read_map == tempo_map  # tempi, metre and pickup survive the file

    # chord changes: the composition's, the file's markers, the score's symbols, the status
    changes, previous = [], None
    for span in composition.chord_spans:
        name = composition.chord_name(span)
        if name != previous:
            changes.append((span.start, name))
        previous = name
    chord_markers, cut_markers, onsets = _file_events(midi_path)
    assert [text for _, text in chord_markers] == [name for _, name in changes]
    expected = [_composition_at(tempo_map, start) for start, _ in changes]
    assert [_at_tick(read_map, tick) for tick, _ in chord_markers] == expected

    xml_path = write_musicxml(composition, folder / "piece.musicxml")
    score = converter.parse(str(xml_path))
    per_beat = tempo_map.quarters_per_beat
    symbols = [(symbol.measureNumber, round(float(symbol.offset) / per_beat + 1, 6))
               for symbol in score.recurse().getElementsByClass(harmony.Harmony)]
    assert symbols == expected
    signatures = [ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)]
    unit = tempo_map.beat_unit
    written = [f"{tempo_map.pickup}/{unit}"] if tempo_map.pickup else []
    if round(tempo_map.beat_at(duration) * 4) / 4 > tempo_map.pickup:  # the score gets past it
        written.append(f"{tempo_map.beats_per_bar}/{unit}")
    assert signatures == written
    marks = score.recurse().getElementsByClass(tempo.MetronomeMark)
    assert [round(mark.number, 2) for mark in marks] == [round(b, 2) for b in tempo_map.tempos]

    session = daemon.session
    session.opened = Opened("piece.mp4", 0.0, None, composition)
    for start, _ in changes:
        daemon.own_clock.seek(start)
        _mode, _position, bpm, _phase, bar_beat = session.status_args()
        assert bar_beat == tempo_map.position_label(start)
        assert bar_beat == read_map.bar_beat_label(
            read_map.beat_of_tick(tempo_map.tick_at(start, TICKS_PER_BEAT), TICKS_PER_BEAT))
        assert bpm == pytest.approx(tempo_map.tempo_at(start))

    # note onsets: every note of the composition sits at the file's bar.beat
    notes = {(_composition_at(tempo_map, e.start), e.channel, e.pitch)
             for e in composition.events}
    assert {(_at_tick(read_map, tick), channel, pitch)
            for tick, channel, pitch in onsets} == notes
    assert any(channel == CHORDS_CHANNEL for _, channel, _ in onsets)

    # cut markers: the marker text, its tick, the cue sheet and the status agree
    sheet = list(csv.DictReader(io.StringIO(cue_sheet_text(composition))))
    cuts = composition.tempo_fit.chosen.cuts
    assert len(cut_markers) == len(sheet) == len(cuts)
    for (tick, text), row, cut in zip(cut_markers, sheet, cuts, strict=True):
        label = re.fullmatch(r"cut \d+ \(bar (\S+)\)", text).group(1)
        assert label == hit_label(cut, tempo_map)
        # the cue sheet writes bar.beat and ticks (480 a beat), the marker hundredths of a beat
        cue_position = _label_beats(tempo_map, row["bar_beat"]) + int(row["ticks"]) / 480
        assert abs(cue_position - _label_beats(tempo_map, label)) <= 0.006
        assert _at_tick(read_map, tick) == _composition_at(tempo_map, cut.time)
        daemon.own_clock.seek(cut.time)
        assert session.status_args()[4] == tempo_map.position_label(cut.time)
    session.opened = Opened()

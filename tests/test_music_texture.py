"""Textures: the learned patterns, their adaptation to our chords, no rubbing passing tones, the
texture figures, and the POP909 reader / pattern extraction they come from."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shared_data import SHARED, needs_shared

from v2m_bridge.data.pop909_piano import ChordInBeats, PianoPart, read_piano_part, song_dirs
from v2m_bridge.data.texture_patterns import ATTRIBUTION, bar_patterns, learn
from v2m_bridge.music import figuration
from v2m_bridge.music.arrangement import TEXTURES, ArrangeOptions, TextureError, arrange
from v2m_bridge.music.clashes import chord_classes_at, limit_clashes
from v2m_bridge.music.events import BASS_CHANNEL, HITS_CHANNEL, NoteEvent
from v2m_bridge.music.figuration import lead_voices
from v2m_bridge.music.grid import build_grid
from v2m_bridge.music.patterns import TABLE_PATH, PatternNote, chord_pitch, load_patterns, scale_of
from v2m_bridge.music.texture_figures import BeatNote, texture_figures
from v2m_bridge.vocab import Chord, parse_chord, parse_chords, parse_key

POP909 = SHARED / "data" / "corpora" / "pop909"
PROGRESSION = parse_chords("C C Am Am F F G7 G7 C C Em Em Dm7 Dm7 G:sus4 G E:7 E:7 Am Am "
                           "Fmaj7 Fmaj7 B:hdim7 E:7 Am Am Dm Dm G G C C")


def _features(seconds: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    motion = np.concatenate([np.full(seconds // 2, 1.0), rng.uniform(5, 40, seconds -
                                                                      seconds // 2)])
    emotion = rng.dirichlet(np.ones(6), seconds)
    return {"motion": motion, "scene_offset": np.arange(1.0, seconds + 1), "emotion": emotion}


def _rubs(events: list[NoteEvent], grid) -> list[tuple[NoteEvent, NoteEvent, float]]:
    """Every (passing tone, chord tone a semitone away, overlap in beats) that sound together."""
    tempo = grid.tempo
    found = []
    for note in events:
        classes = chord_classes_at(grid, note.start)
        if not classes or note.pitch % 12 in classes:
            continue
        for other in events:
            if other.pitch % 12 not in chord_classes_at(grid, other.start):
                continue
            if (other.pitch - note.pitch) % 12 not in (1, 11):
                continue
            start, end = max(note.start, other.start), min(note.end, other.end)
            if end > start:
                found.append((note, other, tempo.beat_at(end) - tempo.beat_at(start)))
    return found


@pytest.mark.parametrize("texture", TEXTURES)
@pytest.mark.parametrize(("key", "tempo"), [("C major", 120.0), ("F# minor", 87.0)])
def test_no_passing_tone_rubs_a_chord_tone_for_more_than_an_eighth(texture, key, tempo):
    seconds = len(PROGRESSION)
    composition = arrange(PROGRESSION, cut_times=[7.3, 15.1, 22.6], **_features(seconds),
                          options=ArrangeOptions(key=parse_key(key), tempo_bpm=tempo,
                                                 texture=texture))
    rubs = _rubs(composition.events, composition.grid)
    assert all(overlap <= 0.5 + 1e-6 for _, _, overlap in rubs), max(r[2] for r in rubs)


def test_limit_clashes_shortens_a_held_passing_tone_and_keeps_chord_tones():
    chords = parse_chords("C C")
    grid = build_grid(chords, 2.0)  # 120 bpm: an eighth is 0.25 s
    held_e = NoteEvent(0.0, 2.0, 64, 80)  # chord tone E
    passing_f = NoteEvent(0.5, 2.0, 65, 70)  # F, a semitone above E, held 1.5 s
    short_d = NoteEvent(1.0, 1.2, 62, 70)  # D: no chord tone a semitone away, kept
    result = limit_clashes([held_e, passing_f, short_d], grid)
    assert held_e in result and short_d in result
    assert NoteEvent(0.5, 0.75, 65, 70) in result


def test_unknown_texture_is_a_clear_error():
    with pytest.raises(TextureError, match="--texture must be one of"):
        ArrangeOptions(texture="polka")


def test_register_still_shifts_the_learned_texture():
    seconds = len(PROGRESSION)
    means = {}
    for register in ("low", "mid", "high"):
        composition = arrange(PROGRESSION, **_features(seconds),
                              options=ArrangeOptions(register=register, hits_track=False))
        means[register] = np.mean([e.pitch for e in composition.events])
    assert means["low"] + 3 < means["mid"] < means["high"] - 3


def test_textures_differ_as_named():
    seconds = len(PROGRESSION)
    counts = {}
    for texture in ("ballad", "auto", "pulse"):
        composition = arrange(PROGRESSION, **_features(seconds),
                              options=ArrangeOptions(texture=texture, hits_track=False))
        counts[texture] = len(composition.events)
    assert counts["ballad"] < counts["auto"] < counts["pulse"]


def test_hits_track_off_in_official_mode_and_by_option():
    seconds = len(PROGRESSION)
    for options in (ArrangeOptions(cut_align=False), ArrangeOptions(hits_track=False)):
        composition = arrange(PROGRESSION, cut_times=[7.3], **_features(seconds),
                              options=options)
        assert not [e for e in composition.events if e.channel == HITS_CHANNEL]


# --- patterns ----------------------------------------------------------------------------------

def test_shipped_table_is_small_attributed_and_on_the_grid():
    assert TABLE_PATH.stat().st_size < 150_000
    table = json.loads(TABLE_PATH.read_text())
    assert "POP909" in table["attribution"] and "MIT" in table["attribution"]
    patterns = load_patterns()
    assert len(patterns) >= 100
    for pattern in patterns:
        assert all(0 <= n.position < 16 and 1 <= n.length <= 16 - n.position
                   and -1 <= n.degree <= 3 for n in pattern.notes)
    sizes = [len(p.notes) for p in patterns]
    assert min(sizes) <= 4 and max(sizes) >= 24  # sparse and busy bars to choose from


def test_chord_pitch_follows_the_chord():
    scale = scale_of(parse_key("C major"))
    root, third = PatternNote(0, 4, 48, 0, 0), PatternNote(0, 4, 64, 1, 0)
    a_minor = parse_chord("Am")
    assert chord_pitch(root, a_minor, scale, 0, is_bass=True) % 12 == 9
    assert abs(chord_pitch(root, a_minor, scale, 0, is_bass=True) - 48) <= 6
    assert chord_pitch(third, a_minor, scale, 0, is_bass=False) == 64  # E is in A minor
    assert chord_pitch(third, parse_chord("F"), scale, 0, is_bass=False) == 65  # nearest: F
    passing = PatternNote(2, 1, 66, -1, 0)  # F# over C: off the C major scale
    assert chord_pitch(passing, parse_chord("C"), scale, 0, is_bass=False) in (65, 67)



def test_chord_change_holds_common_tones_and_moves_the_others_to_the_nearest():
    c_major, f_major = (64, 67, 72), frozenset({5, 9, 0})
    # C (E G C) to F: the shared C is held, E and G move up by step to F and A (no crossing)
    assert lead_voices(c_major, f_major, c_major) == {64: 65, 67: 69, 72: 72}
    # a top line written at A over E minor continues the G that sounded: a common tone, held
    assert lead_voices([69], frozenset({4, 7, 11}), [67]) == {69: 67}
    # never further than COMMON_TONE_REACH from the written place, never onto a taken pitch
    assert lead_voices([76], frozenset({4, 7, 11}), [67]) == {76: 76}  # G is 9 away
    assert lead_voices([69], frozenset({4, 7, 11}), [67], taken={67}) == {69: 71}
    assert lead_voices([69], frozenset({4, 7, 11}), []) == {}  # nothing to lead from


def test_holding_common_tones_shortens_the_voice_leading_at_chord_changes(monkeypatch):
    seconds = len(PROGRESSION)

    def voice_leading() -> float:
        composition = arrange(PROGRESSION, cut_times=[7.3, 15.1, 22.6], **_features(seconds),
                              options=ArrangeOptions(hits_track=False))
        tempo = composition.grid.tempo
        notes = [BeatNote(tempo.beat_at(e.start), tempo.beat_at(e.end), e.pitch, e.velocity)
                 for e in composition.events]
        changes = [tempo.beat_at(t) for t in composition.grid.change_times[1:]]
        return texture_figures(notes, [0.0], changes)["voice_leading"]

    held = voice_leading()
    monkeypatch.setattr(figuration, "lead_voices", lambda *args, **kwargs: {})
    assert held < voice_leading() - 0.1


def test_the_bass_sounds_on_every_chord_change():
    seconds = len(PROGRESSION)
    composition = arrange(PROGRESSION, cut_times=[7.3, 15.1, 22.6], **_features(seconds),
                          options=ArrangeOptions(hits_track=False))
    bass_starts = [e.start for e in composition.events if e.channel == BASS_CHANNEL]
    changes = composition.grid.change_times[1:]
    assert changes and all(any(abs(s - c) < 1e-6 for s in bass_starts) for c in changes)

# --- texture figures ----------------------------------------------------------------------------

def test_figures_of_a_held_pad_and_of_a_moving_part():
    pad = [BeatNote(bar * 4, bar * 4 + 4, pitch, 80) for bar in range(4) for pitch in (48, 64, 67)]
    figures = texture_figures(pad, [0, 4, 8, 12, 16], [4, 8, 12])
    assert figures["pc_changes_per_beat"] == 0 and figures["sounding_at_onset"] == 3
    assert figures["bar_repetition"] == 1.0 and figures["downbeat_accent"] != figures[
        "downbeat_accent"]  # every note on a bar line: no "rest" to compare with (nan)
    assert figures["below_c3"] == 0 and figures["bass_under_beats"] == 1.0
    # eighths; the beat's note climbs C D E, C D E...: two steps, then a leap of a third
    line = [BeatNote(i * 0.5, i * 0.5 + 0.5, 60 + (i // 2 % 3) * 2, 90 if i % 8 == 0 else 70)
            for i in range(32)]
    moving = texture_figures(line, [0, 4, 8, 12, 16])
    assert moving["downbeat_accent"] == pytest.approx(20.0)
    assert moving["top_step"] == pytest.approx(2 / 3, abs=0.05)
    assert moving["top_leap_3_7"] == pytest.approx(1 / 3, abs=0.05)
    assert moving["grid16"] == 1.0
    assert moving["notes_per_beat"] == pytest.approx(2.0)


# --- extraction ---------------------------------------------------------------------------------

def _part(bars: list[list[tuple[float, float, int, int]]]) -> PianoPart:
    notes = tuple(BeatNote(bar * 4 + s, bar * 4 + e, p, v)
                  for bar, content in enumerate(bars) for s, e, p, v in content)
    return PianoPart("000", notes, tuple(float(4 * i) for i in range(len(bars) + 1)),
                     (ChordInBeats(0.0, 4.0 * len(bars), Chord(7, "maj")),), 4)


def test_bars_become_patterns_relative_to_their_chord():
    figure = [(0, 2, 43, 80), (0, 1, 59, 70), (1, 2, 62, 60), (2, 4, 67, 70), (3, 3.5, 69, 60)]
    off_grid = [(0, 2, 43, 80), (0.33, 1, 59, 70)]
    part = _part([figure, figure, off_grid])
    patterns = bar_patterns(part)
    assert len(patterns) == 2  # the off-grid bar is skipped
    metre, codes, _ = patterns[0]
    # G major, root taken as -5: 43 is the root (48 above), 59 the third, 69 a passing A
    assert metre == 4 and (0, 8, 48, 0) in codes and (0, 4, 64, 1) in codes
    assert (12, 2, 74, -1) in codes
    table = learn([part])
    [kept] = table["patterns"]["4"]
    assert kept["count"] == 2 and table["attribution"] == ATTRIBUTION


@needs_shared(POP909)
def test_pop909_piano_part_in_beats_and_disjoint_splits():
    train, test = song_dirs(POP909, "train"), song_dirs(POP909, "test")
    assert train and test and not {p.name for p in train} & {p.name for p in test}
    part = read_piano_part(test[0])
    starts = np.array([n.start for n in part.notes])
    on_sixteenths = np.abs(starts * 4 - np.round(starts * 4)) < 0.2
    assert on_sixteenths.mean() > 0.9  # hand-made parts sit on the beat file's grid
    assert 40 < np.mean([n.pitch for n in part.notes]) < 75
    assert part.beats_per_bar in (3, 4) and len(part.downbeats) > 10

"""The palette of the musical sampler (issue 22): no ping-pong or short loops, phrases may
repeat once, the picture's emotion colours the chord qualities, tense scenes leave the key."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from v2m_bridge.data.emotion_map import EMOTION_QUALITIES
from v2m_bridge.features import EMOTION_LABELS, one_hot_emotion
from v2m_bridge.model import AMT, AMTConfig, ConditioningInputs, generate_chords
from v2m_bridge.model.generate import musical_options
from v2m_bridge.model.palette import (
    Palette,
    colour_bias,
    key_penalties,
    key_tiers,
    loop_penalties,
)
from v2m_bridge.training.musicality import alternation_share, distinct_chords, top_share
from v2m_bridge.vocab import MINOR_FAMILY, parse_chord, parse_chords

TINY = AMTConfig(n_layers=2, num_heads=2, d_model=32, dim_feedforward=48)
PALETTE = Palette()
C_ID = parse_chord("C").id


def _penalty(history: str, candidate: str) -> float:
    return float(loop_penalties(PALETTE, parse_chords(history), C_ID)[parse_chord(candidate).id])


def _biased_model(biases: dict[str, float]) -> AMT:
    torch.manual_seed(0)
    amt = AMT(TINY).eval()
    with torch.no_grad():
        amt.Wout.bias.fill_(-4.0)
        for name, bias in biases.items():
            amt.Wout.bias[parse_chord(name).id] = bias
    return amt


# -- loops ------------------------------------------------------------------------------------


def test_ping_pong_is_penalised_where_a_new_chord_is_not():
    # C G C: a return to G makes C-G-C-G; F or Am continue differently
    assert _penalty("C G C", "G") >= PALETTE.pingpong_penalty
    assert _penalty("C G C", "F") == 0.0
    assert _penalty("C G C", "G") > _penalty("C G C", "Am") + PALETTE.pingpong_penalty - 1e-9
    # held chords count once: C C G G C C is still C-G-C
    assert _penalty("C C G G C C", "G") == _penalty("C G C", "G")


def test_a_four_chord_phrase_may_repeat_once_but_not_twice():
    once = "C Am F G C Am F"  # the second pass of a 4-chord progression
    assert _penalty(once, "G") == pytest.approx(PALETTE.frequency_penalty)  # used once lately
    twice = "C Am F G C Am F G"  # a third pass would start
    assert _penalty(twice, "C") >= PALETTE.loop_penalty


def test_a_three_chord_loop_is_penalised_after_one_repeat():
    assert _penalty("C F G C F", "G") < PALETTE.loop_penalty  # the first repeat completes
    assert _penalty("C F G C F G", "C") >= PALETTE.loop_penalty  # a third pass starts


def test_recent_chords_cost_more_the_more_they_were_used():
    history = "C G Am G F G"  # G arrived three times in the last changes
    assert _penalty(history, "G") == 0.0  # the sounding chord: choosing it is no change
    assert _penalty("C G Am G F G Dm", "G") > _penalty("C G Am G F G Dm", "Am")
    # the tonic is penalised half as much per arrival
    assert _penalty("C F C G C", "C") == 0.0
    assert _penalty("C F C G C Am", "C") < 3 * PALETTE.frequency_penalty


def test_sampling_with_the_palette_breaks_a_two_chord_loop():
    # a model that loves C and G and would ping-pong between them for two minutes
    amt = _biased_model({"C": 4.5, "G": 4.5, "F": 2.5, "A:min": 2.5, "D:min": 2.0,
                         "E:min": 2.0})
    inputs = ConditioningInputs.zeros(90)
    with_palette = [generate_chords(amt, inputs, musical_options(seed=s)) for s in range(3)]
    without = [generate_chords(amt, inputs, musical_options(seed=s, palette=None))
               for s in range(3)]
    assert np.mean([alternation_share(c) for c in without]) > 0.2, "the model must loop"
    assert np.mean([alternation_share(c) for c in with_palette]) <= 0.10
    assert np.mean([top_share(c) for c in with_palette]) < np.mean(
        [top_share(c) for c in without])
    assert min(distinct_chords(c) for c in with_palette) >= 4


# -- key palette ------------------------------------------------------------------------------


def test_key_tiers_know_the_borrowed_chords_of_each_mode():
    major, minor = key_tiers(0, False), key_tiers(0, True)
    for name in ("C", "Dm7", "Em", "G7", "Am", "Bm7b5"):
        assert major[parse_chord(name).id] == 0, name
    for name in ("Fm", "Ab", "Bb", "D7", "E7", "A7"):  # iv, bVI, bVII, V/V, V/vi, V/ii
        assert major[parse_chord(name).id] == 1, name
    for name in ("E", "E7", "Bb", "G#dim7"):  # V, V7, Neapolitan, vii°7 of A minor
        assert minor[parse_chord(name).id] == 1, name
    for name in ("F#", "C#m", "Ebm"):
        assert major[parse_chord(name).id] == 2 and minor[parse_chord(name).id] == 2, name
    # the tiers move with the kept scale: in D major (major tonic 2) Bb is bVI
    assert key_tiers(2, False)[parse_chord("Bb").id] == 1
    assert key_tiers(2, False)[parse_chord("F#m").id] == 0


def test_tense_and_fearful_seconds_leave_the_key_more():
    far = parse_chord("F#").id
    calm = key_penalties(PALETTE, 0, False, one_hot_emotion("relaxing"))
    for label in ("tense", "fearful"):
        tense = key_penalties(PALETTE, 0, False, one_hot_emotion(label))
        assert tense[far] < calm[far] - 0.5 * PALETTE.key_penalty
    assert calm[parse_chord("C").id] == 0.0


# -- colour -----------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [e for e in EMOTION_LABELS if e != "neutral"])
def test_colour_favours_the_official_qualities_of_the_seconds_emotion(label):
    bias = colour_bias(PALETTE, one_hot_emotion(label))
    for quality in ("maj", "min", "min7", "7", "dim", "sus4", "maj7", "hdim7"):
        chord = parse_chord(f"D:{quality}")
        expected = PALETTE.colour_strength if quality in EMOTION_QUALITIES[label] else 0.0
        assert bias[chord.id] == pytest.approx(expected), (label, quality)


def test_neutral_seconds_get_no_colour_and_a_mixed_reading_follows_its_leader():
    assert not colour_bias(PALETTE, one_hot_emotion("neutral")).any()
    mixed = np.array([0.1, 0.0, 0.0, 0.6, 0.0, 0.3])  # sad leads, a little exciting
    bias = colour_bias(PALETTE, mixed)
    assert bias[parse_chord("Am").id] == pytest.approx(PALETTE.colour_strength)
    assert 0 < bias[parse_chord("C").id] < 0.1 * PALETTE.colour_strength


def _sections(*labels: str, seconds: int = 30) -> ConditioningInputs:
    emotion = np.concatenate([np.tile(one_hot_emotion(e), (seconds, 1)) for e in labels])
    n = len(emotion)
    offsets = np.concatenate([np.arange(1, seconds + 1) for _ in labels]).astype(np.float32)
    return ConditioningInputs(np.zeros((n, 768), np.float32), offsets,
                              np.full(n, 3.0, np.float32), emotion)


def test_the_pictures_emotion_colours_the_chords_promptly_at_scene_changes():
    # a model indifferent between major and minor chords: the picture must decide
    amt = _biased_model({name: 3.0 for name in ("C", "F", "G", "A:min", "D:min", "E:min",
                                                "A:min7", "D:min7", "G:7", "F:maj7")})
    inputs = _sections("exciting", "sad", "relaxing", "sad")
    minor = {"exciting": [], "sad": [], "relaxing": []}
    first_after_cut = []
    for seed in range(4):
        chords = generate_chords(amt, inputs, musical_options(seed=seed))
        for index, label in enumerate(("exciting", "sad", "relaxing", "sad")):
            part = chords[30 * index:30 * (index + 1)]
            minor[label].append(np.mean([c.quality in MINOR_FAMILY for c in part]))
            if index:
                first_after_cut.append(part[0].quality in EMOTION_QUALITIES[label])
    assert np.mean(minor["sad"]) - np.mean(minor["exciting"]) >= 0.4, minor
    assert np.mean(minor["sad"]) - np.mean(minor["relaxing"]) >= 0.4, minor
    assert np.mean(first_after_cut) >= 0.75, "the cut into a new scene must take its colour"


def test_palette_strengths_are_checked():
    with pytest.raises(ValueError):
        Palette(colour_strength=-1.0)
    with pytest.raises(ValueError):
        Palette(tension_relief=1.5)


def test_excursions_outside_the_key_are_pulled_home():
    from v2m_bridge.model.palette import outside_share

    history = parse_chords("C Ab Bb Fm Ab")  # four of five recent changes borrowed
    share = outside_share(PALETTE, history, 0, False)
    assert share == pytest.approx(0.8)
    home = key_penalties(PALETTE, 0, False, None, 0.0)
    away = key_penalties(PALETTE, 0, False, None, share)
    bb = parse_chord("Bb").id
    assert home[bb] < 0 < away[bb]  # a bonus at home, a cost after a long excursion
    assert away[parse_chord("C").id] == home[parse_chord("C").id] == 0.0


# -- the figures the benchmark compares with real songs -----------------------------------------


def test_variety_figures():
    from v2m_bridge.training.musicality import emotion_correspondence, opening

    pingpong = parse_chords("C C G G C C G G C C G")  # C-G-C-G-C-G: 5 changes, 3 continue it
    assert alternation_share(pingpong) == pytest.approx(3 / 5)
    assert top_share(pingpong) == 1.0 and distinct_chords(pingpong) == 2
    song = parse_chords("C Am F G C Am Dm G E Am")  # arrivals after the first: 9
    assert top_share(song) == pytest.approx(6 / 9)  # Am (3), G (2) and one of the rest
    assert alternation_share(song) == 0.0
    assert [c.name() for c in opening(parse_chords("N N C G Am"), 2)] == ["C", "G"]
    emotion = np.stack([one_hot_emotion(e) for e in ("sad", "sad", "exciting", "neutral")])
    fits = emotion_correspondence(parse_chords("Am C C Am"), emotion)
    assert fits["sad"] == (1, 2) and fits["exciting"] == (1, 1) and fits["tense"] == (0, 0)

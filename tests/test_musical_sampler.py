"""The musical sampler (issue 12): when chords change, which chord comes, and the kept key."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from v2m_bridge.features import VideoFeatures
from v2m_bridge.model import AMT, AMTConfig, ConditioningInputs, GenerationOptions, generate_chords
from v2m_bridge.model.generate import musical_options
from v2m_bridge.model.musical import (
    MAJOR_SCALE,
    HarmonicRhythm,
    activity,
    in_key_share,
    in_scale_mask,
    plan_for_seconds,
    scale_of_chords,
)
from v2m_bridge.music.grid import GridOptions, plan_chord_changes
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.options import RenderOptions
from v2m_bridge.pipeline import ChordModel, compose_features
from v2m_bridge.vocab import parse_chord, parse_chords, parse_key

TINY = AMTConfig(n_layers=2, num_heads=2, d_model=32, dim_feedforward=48)


def _runs(flags: np.ndarray) -> list[int]:
    starts = [*list(np.flatnonzero(flags)), len(flags)]
    return [b - a for a, b in itertools.pairwise(starts)]


def calm(seconds: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(1, seconds + 1, dtype=np.float32), np.full(seconds, 0.5, np.float32)


def busy(seconds: int, every: int = 3) -> tuple[np.ndarray, np.ndarray]:
    offsets = (np.arange(seconds) % every + 1).astype(np.float32)
    return offsets, np.full(seconds, 30.0, np.float32)


def change_plan(offsets: np.ndarray, motion: np.ndarray, rhythm: HarmonicRhythm, seed: int,
                bpm: float = 120.0) -> np.ndarray:
    """Per second: a new chord starts (the grid's plan at ``bpm`` in 4/4, as the sampler gets
    it); cuts at the seconds whose scene offset is 1."""
    n = len(offsets)
    cuts = [float(s) for s in range(1, n) if offsets[s] == 1.0]
    grid = GridOptions(tempo_bpm=bpm, tempo_map=TempoMap.constant(bpm))
    times = plan_chord_changes(float(n), cuts, offsets, motion, grid, rhythm, seed)
    return np.array(plan_for_seconds(times, n), dtype=bool)


def _biased_model(*names: str, bias: float = 8.0) -> AMT:
    torch.manual_seed(0)
    amt = AMT(TINY).eval()
    with torch.no_grad():
        for name in names:
            amt.Wout.bias[parse_chord(name).id] = bias
    return amt


# -- when -----------------------------------------------------------------------------------


def test_calm_changes_only_on_bar_lines_and_never_holds_past_the_limit():
    rhythm = HarmonicRhythm()  # at 120 bpm a bar = 2 s
    for seed in range(10):
        plan = change_plan(*calm(120), rhythm, seed)
        assert plan[0]
        assert not plan[1::2].any(), "a change off the bar lines of a calm, uncut shot"
        assert max(_runs(plan)) <= rhythm.max_hold_bars * 2


def test_bar_lines_follow_the_tempo():
    plan = change_plan(*calm(120), HarmonicRhythm(calm_change_prob=1.0, busy_change_prob=1.0),
                       0, bpm=80)
    # a bar of 4 beats at 80 bpm is 3 s: changes at 3, 6, 9, ...
    assert list(np.flatnonzero(plan)[:5]) == [0, 3, 6, 9, 12]


def test_every_cut_starts_a_chord():
    offsets, motion = busy(60, every=5)
    cuts = np.flatnonzero(offsets == 1.0)[1:]
    for seed in range(5):
        plan = change_plan(offsets, motion, HarmonicRhythm(), seed)
        assert plan[cuts].all()


def test_busy_pictures_change_more_often_than_calm_ones():
    rhythm = HarmonicRhythm()
    calm_rate = np.mean([change_plan(*calm(240), rhythm, s).mean() for s in range(5)])
    busy_offsets = np.arange(1, 241, dtype=np.float32)  # no cuts, only motion
    busy_rate = np.mean([change_plan(busy_offsets, np.full(240, 35.0), rhythm, s).mean()
                         for s in range(5)])
    assert busy_rate > calm_rate * 1.3
    # a calm shot can hold a chord for 6 s or more
    assert max(max(_runs(change_plan(*calm(60), rhythm, s))) for s in range(5)) >= 6


def test_activity_rises_with_motion_and_cuts():
    still = activity(*calm(30))
    moving = activity(np.arange(1, 31, dtype=np.float32), np.full(30, 30.0))
    cut = activity(*busy(30, every=2)[:1], np.full(30, 0.5))
    assert moving.mean() > still.mean() + 0.4
    assert cut.mean() > still.mean() + 0.4


# -- which ----------------------------------------------------------------------------------


def test_planned_changes_never_repeat_and_holds_never_change():
    amt = _biased_model("G", bias=50.0)  # the model only wants G
    plan = [True, False, False, True, False, True, True, False]
    options = GenerationOptions(seed=0, max_repeats=None, change_plan=plan)
    chords = generate_chords(amt, ConditioningInputs.zeros(len(plan)), options)
    for second in range(1, len(plan)):
        if plan[second]:
            assert chords[second] != chords[second - 1]
        else:
            assert chords[second] == chords[second - 1]


def test_without_musical_options_the_official_sampler_is_unchanged():
    amt = _biased_model("G", bias=50.0)
    inputs = ConditioningInputs.zeros(30)
    chords = generate_chords(amt, inputs, GenerationOptions(seed=0))
    # the official repeat cap: G at most twice in a row, a change every 3 s at the latest
    assert all(len(set(chords[i:i + 3])) > 1 for i in range(len(chords) - 2))


# -- key ------------------------------------------------------------------------------------


def test_scale_mask_and_scale_of_chords():
    mask = in_scale_mask(MAJOR_SCALE)
    assert mask[parse_chord("Am7").id] and mask[parse_chord("G7").id]
    assert not mask[parse_chord("E").id] and not mask[parse_chord("Bb").id]
    assert scale_of_chords(parse_chords("C Am F G")) == MAJOR_SCALE
    assert set(scale_of_chords(parse_chords("D G A Bm"))) == {2, 4, 6, 7, 9, 11, 1}


def test_the_key_is_kept_over_a_long_video():
    # a model that likes F# and C#m (far outside C major: not even borrowed) as much as the
    # key's own chords: the key palette must win, from the first minute to the seventh
    amt = _biased_model("C", "F", "G", "A:min", "F#", "C#:min", bias=6.0)
    inputs = ConditioningInputs.zeros(420)
    runs = [generate_chords(amt, inputs, musical_options(seed=seed)) for seed in range(3)]
    first = in_key_share([c for chords in runs for c in chords[:60]])
    last = in_key_share([c for chords in runs for c in chords[-60:]])
    assert first >= 0.8 and last >= 0.8
    assert abs(first - last) <= 0.1
    official = generate_chords(amt, inputs, GenerationOptions(seed=3))
    # the same model, unkept (the palette lets borrowed chords in, so the margin is not huge)
    assert in_key_share(official) < min(first, last) - 0.1


def test_the_primer_establishes_the_key():
    # D major's chords and far-out ones (Eb, G#m) equally liked: the primer (D major) decides
    amt = _biased_model("D", "G", "A", "B:min", "D#", "G#:min", bias=6.0)
    options = musical_options(seed=1, primer="D G A D")  # D major in the C major frame
    chords = generate_chords(amt, ConditioningInputs.zeros(120), options)
    d_major = (2, 4, 6, 7, 9, 11, 1)
    assert in_key_share(chords, d_major) >= 0.8
    assert in_key_share(chords, d_major) > in_key_share(chords, MAJOR_SCALE)


# -- through render ---------------------------------------------------------------------------


def _features(seconds: int, cut_times: list[float], motion: float) -> VideoFeatures:
    offsets = np.zeros(seconds, np.float32)
    cut_seconds = {int(c) for c in cut_times}
    for s in range(seconds):
        offsets[s] = 1.0 if s == 0 or s in cut_seconds else offsets[s - 1] + 1.0
    emotion = np.zeros((seconds, 6), np.float32)
    emotion[:, 5] = 1.0
    motion_arr = np.full(seconds, motion, np.float32)
    motion_arr[0] = 0.0
    return VideoFeatures(source="synthetic", fps=25.0, duration=float(seconds),
                         semantic=np.zeros((seconds, 768), np.float32), emotion=emotion,
                         scene_offset=offsets, motion=motion_arr, cut_times=cut_times,
                         provenance="fallback")


@pytest.mark.parametrize("sampler", ["musical", "official"])
def test_render_every_cut_gets_a_change_or_a_restrike(sampler):
    model = ChordModel(_biased_model("C", "F", "G", "A:min", bias=3.0), "test", None)
    features = _features(40, [3.5, 9.25, 17.0, 30.0], 8.0)
    composition = compose_features(features, RenderOptions(seed=0, sampler=sampler),
                                   chord_model=model)
    starts = [span.start for span in composition.grid.spans]
    assert all(any(abs(s - cut) < 1e-6 for s in starts) for cut in composition.cut_times)
    assert composition.provenance.facts["sampler"] == sampler


def test_render_default_is_musical_and_holds_chords_longer():
    model = ChordModel(_biased_model("C", "F", "G", "A:min", bias=3.0), "test", None)
    features = _features(60, [], 0.5)

    def mean_length(sampler: str) -> float:
        lengths = []
        for seed in range(3):
            spans = compose_features(features, RenderOptions(seed=seed, sampler=sampler),
                                     chord_model=model).chord_spans
            merged = [spans[0].chord] + [b.chord for a, b in itertools.pairwise(spans)
                                         if a.chord != b.chord]
            lengths.append(60 / len(merged))
        return float(np.mean(lengths))

    assert RenderOptions().sampler == "musical"
    assert mean_length("musical") >= 2.0
    assert mean_length("musical") > mean_length("official") + 0.5


def test_render_keeps_the_users_key():
    # the key's chords (A minor frame) and far-out ones (F#, C#m) equally liked
    model = ChordModel(_biased_model("A:min", "D:min", "E:min", "F", "C", "G", "F#", "C#:min",
                                     bias=6.0), "test", None)
    features = _features(60, [10.0, 20.0], 5.0)
    composition = compose_features(features, RenderOptions(seed=2, key="D minor"),
                                   chord_model=model)
    key = parse_key("D minor")
    assert composition.key == key
    normalised = [key.to_normalised(span.chord) for span in composition.grid.spans]
    assert in_key_share(normalised) >= 0.8


def test_an_asked_for_emotion_pulls_towards_its_qualities():
    # a model indifferent between C, F, G, Am, Dm, Em: the user's --emotion decides
    amt = _biased_model("C", "F", "G", "A:min", "D:min", "E:min", bias=6.0)
    inputs = ConditioningInputs.zeros(120)
    shares = {}
    for index, name in ((3, "sad"), (0, "exciting")):
        override = np.zeros(6, np.float32)
        override[index] = 1.0
        chords = [c for seed in range(3) for c in generate_chords(
            amt, inputs, musical_options(seed=seed, emotion_override=override))]
        shares[name] = np.mean([c.quality == "min" for c in chords])
    assert shares["sad"] >= 0.7 and shares["exciting"] <= 0.1, shares
    # the video's own emotion gets no push: without an override the sampler is indifferent
    plain = [c for seed in range(3)
             for c in generate_chords(amt, inputs, musical_options(seed=seed))]
    assert 0.2 < np.mean([c.quality == "min" for c in plain]) < 0.8

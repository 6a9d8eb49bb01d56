"""The application layer: video → features → chords → arrangement, a thin chain of calls.

The CLI ``render`` command and the daemon both call :func:`compose`; :func:`compose_features`
starts from features already extracted (the daemon, tests, cached analyses). The chord model
comes from :func:`~v2m_bridge.model.loading.load_chord_model`, the only loader; the options are
:class:`~v2m_bridge.options.RenderOptions`, kept in their own module so the command line can
parse and check them without importing torch (this module imports it at the top, and the CLI
imports this module only when a render runs).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from v2m_bridge import __version__
from v2m_bridge.features import VideoFeatures
from v2m_bridge.model.checkpoint import load_regression
from v2m_bridge.model.generate import (
    ConditioningInputs,
    GenerationOptions,
    generate_chords,
    musical_options,
)
from v2m_bridge.model.loading import ChordModel, load_chord_model
from v2m_bridge.music.arrangement import ArrangeOptions, Composition, arrange
from v2m_bridge.music.dynamics import Dynamics, dynamics_from_regression
from v2m_bridge.music.grid import plan_chord_changes
from v2m_bridge.music.hits import cut_strengths
from v2m_bridge.music.reroll import (
    RerollError,
    RerollRequest,
    check_same_video,
    kept_primer,
    plan_reroll,
    splice,
    video_facts,
)
from v2m_bridge.music.tempo_fit import TempoFit, evaluate, fit_tempo, fixed_tempo
from v2m_bridge.options import RenderOptions
from v2m_bridge.video.analyze import analyze_video

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]

# Share of the progress bar each stage gets (features dominate on CPU).
_FEATURES_SHARE = 0.6
_CHORDS_SHARE = 0.35

FALLBACK_FEATURES_NOTE = ("features from the CLIP fallback: CLIP ViT-L/14@336px weights were not "
                          "found, so semantic features are zero and emotion is estimated from "
                          "colour and motion")


def regression_dynamics(checkpoint: str | os.PathLike, features: VideoFeatures,
                        device: torch.device) -> Dynamics:
    """Note density and loudness from a bi-GRU regression checkpoint, run on ``device``."""
    regression = load_regression(checkpoint, device=device)
    tensors = ConditioningInputs.from_features(features).tensors(device)
    with torch.inference_mode():
        output = regression(*tensors)[0].cpu().numpy()
    return dynamics_from_regression(output)


def _scaled(progress: ProgressCallback | None, start: float, share: float) -> ProgressCallback:
    def report(fraction: float, stage: str) -> None:
        if progress is not None:
            progress(start + share * min(max(fraction, 0.0), 1.0), stage)
    return report


def choose_tempo(features: VideoFeatures, options: RenderOptions,
                 reroll: RerollRequest | None = None) -> TempoFit:
    """The tempo (map) of a render, scored against the video's cuts: the kept file's map for a
    re-roll that keeps its tempo, a fit for ``--tempo auto``, else the fixed tempo."""
    strengths = cut_strengths(features.cut_times, features.motion)
    beats_per_bar = options.arrange_options.beats_per_bar
    if reroll is not None and reroll.keep_tempo:
        candidate = evaluate(reroll.kept.tempo_map, features.cut_times, strengths, features.fps)
        return TempoFit("kept", candidate, (candidate,), features.fps)
    if reroll is not None:  # a new tempo: the kept bars keep their metre and pickup
        beats_per_bar = reroll.kept.beats_per_bar
    if options.tempo_auto:
        fit = fit_tempo(features.cut_times, strengths, features.fps, options.search_range,
                        tempo_map=options.tempo_map, beats_per_bar=beats_per_bar)
    else:
        fit = fixed_tempo(float(options.tempo_bpm), features.cut_times, strengths,
                          features.fps, beats_per_bar)
    if reroll is not None:
        kept = reroll.kept.tempo_map
        candidate = evaluate(fit.tempo_map.with_bars(kept.beats_per_bar, kept.pickup,
                                                     kept.beat_unit),
                             features.cut_times, strengths, features.fps)
        fit = dataclasses.replace(fit, chosen=candidate, candidates=(candidate,))
    return fit


def compose(video_path: str | os.PathLike, options: RenderOptions,
            progress: ProgressCallback | None = None,
            chord_model: ChordModel | None = None,
            reroll: RerollRequest | None = None) -> Composition:
    """Analyse a video and arrange music for it.

    Args:
        video_path: the video file (checked by :func:`~v2m_bridge.video.analyze.analyze_video`).
        options: key, primer, emotion, seed, tempo, checkpoints, cut alignment, register.
        progress: called with (fraction 0..1, stage name).
        chord_model: an already loaded model (the daemon keeps one); else from ``options``.
        reroll: keep an earlier file's chords and regenerate one range of it.
    """
    started = time.perf_counter()
    model = chord_model or load_chord_model(options.checkpoint)  # fail fast on a bad checkpoint
    loaded = time.perf_counter()
    features = analyze_video(video_path, clip_weights=options.clip_weights,
                             progress=_scaled(progress, 0.0, _FEATURES_SHARE))
    analysed = time.perf_counter()
    composition = compose_features(features, options, progress, model, reroll)
    composition.timings = {"model_load": loaded - started, "features": analysed - loaded,
                           **composition.timings}
    return composition


def generation_options(options: RenderOptions, seed: int, override: np.ndarray | None,
                       primer: tuple = (), change_times: tuple[float, ...] | None = None,
                       ) -> GenerationOptions:
    """The sampler a render uses: the musical one (grid decides when, model decides which,
    key kept) unless ``options.sampler == "official"`` (one draw per second, at most 2
    repeats, as the official code). ``primer``: the chords to start from (the user's, or the
    kept chords before a re-rolled range); ``change_times``: when chords change, planned on
    the render's grid (:func:`plan_changes_for`)."""
    if options.sampler == "official":
        return GenerationOptions(key=options.key, primer=primer, seed=seed,
                                 emotion_override=override)
    return musical_options(key=options.key, primer=primer, seed=seed,
                           emotion_override=override, change_times=change_times)


def plan_changes_for(features: VideoFeatures, options: RenderOptions,
                     arrange_options: ArrangeOptions, seed: int) -> tuple[float, ...] | None:
    """When chords change (media seconds), planned on the render's grid and tempo map, for
    the musical sampler with cut-aligned harmony; None otherwise (the grid then takes the
    longest model chord of each span, or one per second)."""
    if options.sampler == "official" or not arrange_options.cut_align:
        return None
    return plan_chord_changes(features.duration, features.cut_times, features.scene_offset,
                              features.motion, arrange_options.grid_options(), seed=seed)


def compose_features(features: VideoFeatures, options: RenderOptions,
                     progress: ProgressCallback | None = None,
                     chord_model: ChordModel | None = None,
                     reroll: RerollRequest | None = None) -> Composition:
    """Chords and arrangement for already extracted :class:`VideoFeatures`."""
    identity = video_facts(Path(str(features.source)).name, features.duration, features.fps,
                           features.cut_times)
    if reroll is not None and options.key_auto:  # a re-roll keeps the kept music's key
        options, key_choice = dataclasses.replace(options, key=reroll.kept.key), None
    else:
        options, key_choice = options.with_key_for(features)
    if reroll is not None:
        _check_reroll(reroll, options, identity)
    model = chord_model or load_chord_model(options.checkpoint)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    override = options.emotion_override(features.n_seconds)

    fit_started = time.perf_counter()
    tempo_fit = choose_tempo(features, options, reroll)
    tempo_map = tempo_fit.tempo_map
    fit_seconds = time.perf_counter() - fit_started
    plan = (plan_reroll(reroll.range_s, features.duration, tempo_map)
            if reroll is not None else None)
    primer = (tuple(kept_primer(reroll.kept, plan, tempo_map))
              if reroll is not None and plan is not None else options.primer_chords)

    arrange_options = dataclasses.replace(
        options.arrange_options, tempo_bpm=tempo_map.main_bpm(features.duration),
        beats_per_bar=tempo_map.beats_per_bar, tempo_map=tempo_map)
    change_times = plan_changes_for(features, options, arrange_options, seed)

    chords_started = time.perf_counter()
    generation = generation_options(options, seed, override, primer, change_times)
    chords = generate_chords(model.amt, ConditioningInputs.from_features(features), generation,
                             progress=_scaled(progress, _FEATURES_SHARE, _CHORDS_SHARE))
    dynamics = (regression_dynamics(options.regression_checkpoint, features, model.amt.device)
                if options.regression_checkpoint is not None else None)

    arrange_started = time.perf_counter()
    emotion = features.emotion if override is None else override
    notes = _notes(features, model) + ([tempo_fit.reason] if tempo_fit.reason else [])
    composition = arrange(
        chords, motion=features.motion, scene_offset=features.scene_offset,
        emotion=np.asarray(emotion), cut_times=features.cut_times, duration=features.duration,
        options=arrange_options, dynamics=dynamics, notes=notes, change_times=change_times)
    composition.tempo_fit = tempo_fit
    facts = {**_facts(features, options, model, composition, seed), **identity,
             **_tempo_facts(tempo_fit),
             "key choice": key_choice.reading if key_choice is not None else "given"}
    if reroll is not None and plan is not None:
        composition = splice(composition, reroll.kept, plan)
        composition.rerolled_bars = (plan.first_bar, plan.last_bar)
        facts["re-rolled"] = f"{plan.describe()}, the rest kept from " \
                             f"{Path(reroll.kept.path).name}"
    composition.provenance = dataclasses.replace(
        composition.provenance, source=str(features.source), facts=facts)
    if progress is not None:
        progress(1.0, "done")
    composition.timings = {"tempo fit": fit_seconds, "model": arrange_started - chords_started,
                           "arrangement": time.perf_counter() - arrange_started}
    return composition


def _check_reroll(reroll: RerollRequest, options: RenderOptions,
                  identity: dict[str, str]) -> None:
    check_same_video(reroll.kept, identity)
    if options.primer_chords:
        raise RerollError("--primer cannot be combined with --keep: the kept chords before the "
                          "re-rolled range prime the model")
    if reroll.kept.key != options.key:
        raise RerollError(f"--keep {reroll.kept.path} is in {reroll.kept.key.name}, but this "
                          f"render is in {options.key.name}; leave --key out to keep the key")


def _tempo_facts(fit: TempoFit) -> dict[str, str]:
    chosen = fit.chosen
    how = {"fixed": "fixed", "kept": "kept from the earlier file",
           "auto": "fitted to the cuts", "map": "tempo map fitted to the cuts"}[fit.mode]
    if fit.reason:  # a fit that had nothing to go on
        how = "the default: too few cuts to fit"
    facts = {"tempo": f"{chosen.tempo_map.describe()} ({how})"}
    if chosen.cuts:
        facts["hits"] = (f"{chosen.hits} of {len(chosen.cuts)} cuts within 1 frame of a beat, "
                         f"{chosen.near_misses} near misses, {chosen.misses} misses")
    return facts


def _notes(features: VideoFeatures, model: ChordModel) -> list[str]:
    """Honesty messages: fallback features first, then the model's own note."""
    notes = [FALLBACK_FEATURES_NOTE] if features.provenance == "fallback" else []
    return notes + ([model.note] if model.note else [])


def _facts(features: VideoFeatures, options: RenderOptions, model: ChordModel,
           composition: Composition, seed: int) -> dict[str, str]:
    """The provenance lines every output carries (MIDI text events, the plot title)."""
    dynamics = composition.trace.dynamics if composition.trace is not None else None
    return {
        "generator": f"v2m-bridge {__version__}",
        "video": Path(str(features.source)).name,
        "chord model": model.label,
        "features": "CLIP ViT-L/14@336px" if features.provenance == "clip" else "CLIP fallback",
        "dynamics": dynamics.source if dynamics is not None else "none",
        "seed": str(seed),
        "key": options.key.name,
        "primer": " ".join(chord.name() for chord in options.primer_chords) or "(tonic)",
        "emotion override": options.emotion or "none",
        "cut-aligned harmony": "on" if options.cut_align else "off (one chord per second)",
        "harmonic rhythm": options.harmonic_rhythm if options.cut_align else "every second",
        "sampler": options.sampler,
    }

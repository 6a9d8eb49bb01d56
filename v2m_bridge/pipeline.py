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
from v2m_bridge.model.generate import ConditioningInputs, GenerationOptions, generate_chords
from v2m_bridge.model.loading import ChordModel, load_chord_model
from v2m_bridge.music.arrangement import Composition, arrange
from v2m_bridge.music.dynamics import Dynamics, dynamics_from_regression
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


def compose(video_path: str | os.PathLike, options: RenderOptions,
            progress: ProgressCallback | None = None,
            chord_model: ChordModel | None = None) -> Composition:
    """Analyse a video and arrange music for it.

    Args:
        video_path: the video file (checked by :func:`~v2m_bridge.video.analyze.analyze_video`).
        options: key, primer, emotion, seed, tempo, checkpoints, cut alignment, register.
        progress: called with (fraction 0..1, stage name).
        chord_model: an already loaded model (the daemon keeps one); else from ``options``.
    """
    started = time.perf_counter()
    model = chord_model or load_chord_model(options.checkpoint)  # fail fast on a bad checkpoint
    loaded = time.perf_counter()
    features = analyze_video(video_path, clip_weights=options.clip_weights,
                             progress=_scaled(progress, 0.0, _FEATURES_SHARE))
    analysed = time.perf_counter()
    composition = compose_features(features, options, progress, model)
    composition.timings = {"model_load": loaded - started, "features": analysed - loaded,
                           **composition.timings}
    return composition


def compose_features(features: VideoFeatures, options: RenderOptions,
                     progress: ProgressCallback | None = None,
                     chord_model: ChordModel | None = None) -> Composition:
    """Chords and arrangement for already extracted :class:`VideoFeatures`."""
    model = chord_model or load_chord_model(options.checkpoint)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    override = options.emotion_override(features.n_seconds)

    chords_started = time.perf_counter()
    generation = GenerationOptions(key=options.key, primer=options.primer_chords, seed=seed,
                                   emotion_override=override)
    chords = generate_chords(model.amt, ConditioningInputs.from_features(features), generation,
                             progress=_scaled(progress, _FEATURES_SHARE, _CHORDS_SHARE))
    dynamics = (regression_dynamics(options.regression_checkpoint, features, model.amt.device)
                if options.regression_checkpoint is not None else None)

    arrange_started = time.perf_counter()
    emotion = features.emotion if override is None else override
    composition = arrange(
        chords, motion=features.motion, scene_offset=features.scene_offset,
        emotion=np.asarray(emotion), cut_times=features.cut_times, duration=features.duration,
        options=options.arrange_options, dynamics=dynamics, notes=_notes(features, model))
    composition.provenance = dataclasses.replace(
        composition.provenance, source=str(features.source),
        facts=_facts(features, options, model, composition, seed))
    if progress is not None:
        progress(1.0, "done")
    composition.timings = {"model": arrange_started - chords_started,
                           "arrangement": time.perf_counter() - arrange_started}
    return composition


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
    }

"""The render pipeline: video → features → chords → arrangement (a thin chain of calls).

The CLI ``render`` command and the daemon both call :func:`compose`; :func:`compose_features`
starts from features already extracted (tests, cached analyses).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2m_bridge import __version__
from v2m_bridge.music.arrangement import ArrangeOptions, Composition, arrange
from v2m_bridge.music.dynamics import Dynamics, dynamics_from_regression
from v2m_bridge.options import RenderOptions

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]

# Share of the progress bar each stage gets (features dominate on CPU).
_FEATURES_SHARE = 0.6
_CHORDS_SHARE = 0.35

STARTER_MODEL_NOTE = ("chords from the v2m-bridge starter model, trained on chord corpora without "
                      "paired video (see models/README.md); not the official Video2Music weights")
FALLBACK_FEATURES_NOTE = ("features from the CLIP fallback: CLIP ViT-L/14@336px weights were not "
                          "found, so semantic features are zero and emotion is estimated from "
                          "colour and motion")


@dataclass(frozen=True)
class ChordModel:
    """A loaded AMT plus what users should be told about it."""

    amt: object
    label: str  # provenance text, e.g. "starter" or a checkpoint path
    note: str | None  # an honesty message, when the model is not the official one


def load_chord_model(checkpoint: str | os.PathLike | None) -> ChordModel:
    """The AMT from ``checkpoint``, or the shipped starter model when ``None``."""
    from v2m_bridge import model
    from v2m_bridge.model.loading import STARTER_AMT_FILE

    if checkpoint is not None:
        amt = model.load_amt(checkpoint)
        metadata = getattr(amt, "metadata", None) or {}
        is_starter = Path(checkpoint).name == STARTER_AMT_FILE or bool(metadata.get("starter"))
        return ChordModel(amt, f"checkpoint {Path(checkpoint).name}",
                          STARTER_MODEL_NOTE if is_starter else None)
    # load_default_amt raises a CheckpointError saying where it looked when none is shipped.
    return ChordModel(model.load_default_amt(), "starter model", STARTER_MODEL_NOTE)


def regression_dynamics(checkpoint: str | os.PathLike, features) -> Dynamics:
    """Note density and loudness from a bi-GRU regression checkpoint."""
    import torch

    from v2m_bridge.model import ConditioningInputs, load_regression

    regression = load_regression(checkpoint)
    tensors = ConditioningInputs.from_features(features).tensors(torch.device("cpu"))
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
        video_path: the video file.
        options: key, primer, emotion, seed, tempo, checkpoints, cut alignment, register.
        progress: called with (fraction 0..1, stage name).
        chord_model: an already loaded model (the daemon keeps one); else from ``options``.
    """
    from v2m_bridge.video import analyze_video

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


def generation_options(options: RenderOptions, seed: int, override: np.ndarray | None):
    """The sampler a render uses: the musical one (grid decides when, model decides which,
    key kept) unless ``options.sampler == "official"`` (one draw per second, at most 2
    repeats, as the official code)."""
    from v2m_bridge.model import GenerationOptions
    from v2m_bridge.model.musical import musical_options

    if options.sampler == "official":
        return GenerationOptions(key=options.key, primer=options.primer_chords, seed=seed,
                                 emotion_override=override)
    return musical_options(key=options.key, primer=options.primer_chords, seed=seed,
                           emotion_override=override, tempo_bpm=options.tempo_bpm)


def compose_features(features, options: RenderOptions,
                     progress: ProgressCallback | None = None,
                     chord_model: ChordModel | None = None) -> Composition:
    """Chords and arrangement for already extracted :class:`VideoFeatures`."""
    from v2m_bridge.model import ConditioningInputs, generate_chords

    model = chord_model or load_chord_model(options.checkpoint)
    notes = [note for note in (model.note,) if note]
    if features.provenance == "fallback":
        notes.insert(0, FALLBACK_FEATURES_NOTE)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    override = options.emotion_override(features.n_seconds)

    chords_started = time.perf_counter()
    generation = generation_options(options, seed, override)
    chords = generate_chords(model.amt, ConditioningInputs.from_features(features), generation,
                             progress=_scaled(progress, _FEATURES_SHARE, _CHORDS_SHARE))
    dynamics = (regression_dynamics(options.regression_checkpoint, features)
                if options.regression_checkpoint is not None else None)

    arrange_started = time.perf_counter()
    emotion = features.emotion if override is None else override
    composition = arrange(
        chords, motion=features.motion, scene_offset=features.scene_offset,
        emotion=np.asarray(emotion), cut_times=features.cut_times, duration=features.duration,
        options=ArrangeOptions(key=options.key, tempo_bpm=options.tempo_bpm,
                               cut_align=options.cut_align, register=options.register),
        dynamics=dynamics, notes=notes)
    composition.source = str(features.source)
    composition.provenance = {
        "generator": f"v2m-bridge {__version__}",
        "video": Path(str(features.source)).name,
        "chord model": model.label,
        "features": "CLIP ViT-L/14@336px" if features.provenance == "clip" else "CLIP fallback",
        "dynamics": composition.dynamics.source if composition.dynamics else "none",
        "seed": str(seed),
        "key": options.key.name,
        "primer": " ".join(chord.name() for chord in options.primer_chords) or "(tonic)",
        "emotion override": options.emotion or "none",
        "cut-aligned harmony": "on" if options.cut_align else "off (one chord per second)",
        "sampler": options.sampler,
    }
    if progress is not None:
        progress(1.0, "done")
    composition.timings = {"model": arrange_started - chords_started,
                           "arrangement": time.perf_counter() - arrange_started}
    return composition

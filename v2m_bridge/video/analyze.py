"""``analyze_video``: a video file in, :class:`VideoFeatures` out (one decode pass, cached)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from v2m_bridge.errors import V2MError
from v2m_bridge.features import SEMANTIC_DIM, VideoFeatures, scene_offsets_from_cuts
from v2m_bridge.video.cache import FeatureCache, cache_key, file_digest
from v2m_bridge.video.clip_features import (
    CLIP_MODEL_NAME,
    ClipEncoder,
    ClipWeights,
    ClipWeightsError,
    build_clip_encoder,
    find_clip_weights,
)
from v2m_bridge.video.decode import check_video_path, decode_video
from v2m_bridge.video.fallback_emotion import estimate_emotion, frame_colour_stats
from v2m_bridge.video.scenes import DEFAULT_DETECTOR, DETECTORS

logger = logging.getLogger(__name__)

# progress(fraction in [0, 1], stage name); may be called from the decode thread.
ProgressCallback = Callable[[float, str], None]


def analyze_video(
    path: str | Path,
    *,
    clip_weights: str | Path | None = None,
    allow_download: bool = False,
    detector: str = DEFAULT_DETECTOR,
    use_cache: bool = True,
    progress: ProgressCallback | None = None,
    device: str | None = None,
) -> VideoFeatures:
    """Per-second features of ``path`` as the official system defines them (spec §1).

    Args:
        clip_weights: ViT-L-14-336 weights file; else ``$V2M_CLIP_WEIGHTS`` or the local caches.
        allow_download: let open_clip download the OpenAI weights when none are found.
        detector: ``"adaptive"`` (official parity) or ``"content"``.
        use_cache: reuse and store results in the feature cache (see :mod:`.cache`).
        progress: called with (fraction, stage) as the analysis advances.
        device: torch device for CLIP; default cuda, then mps, then cpu.

    Raises:
        VideoInputError: the path is not a decodable video.
        ClipWeightsError: weights named explicitly are missing or do not load.
    """
    report = progress or (lambda fraction, stage: None)
    if detector not in DETECTORS:
        raise V2MError(f"unknown scene detector {detector!r}; expected one of "
                       f"{', '.join(DETECTORS)}")
    path = check_video_path(path)
    weights = _resolve_weights(clip_weights, allow_download)
    settings = {
        "detector": detector,
        "clip_model": CLIP_MODEL_NAME if weights else "none",
        "clip_weights": weights.identity if weights else "none",
    }
    cache = FeatureCache() if use_cache else None
    key = None
    if cache is not None:
        report(0.0, "hash")
        key = cache_key(file_digest(path), settings)
        cached = cache.get(key)
        if cached is not None:
            logger.debug("feature cache hit for %s", path)
            report(1.0, "done")
            return replace(cached, source=str(path))

    encoder = _load_encoder(weights, device) if weights else None
    if encoder is None:
        if weights is not None:  # a failed download: do not cache fallback under a CLIP key
            cache = None
        settings["clip_model"] = settings["clip_weights"] = "none"
    features = extract_features(path, encoder=encoder, detector=detector, settings=settings,
                                progress=report)
    if cache is not None and key is not None:
        cache.put(key, features)
    report(1.0, "done")
    return features


def extract_features(
    path: str | Path,
    *,
    encoder: ClipEncoder | None = None,
    detector: str = DEFAULT_DETECTOR,
    settings: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
) -> VideoFeatures:
    """The uncached single pass: decode once, CLIP with ``encoder`` or the fallback if None."""
    report = progress or (lambda fraction, stage: None)
    settings = dict(settings or {"detector": detector})
    colour_stats: list[np.ndarray] = []
    if encoder is not None:
        encoder.reset()

    def on_sample(frame: np.ndarray, second: int) -> None:
        if encoder is not None:
            encoder.add(frame)
        else:
            colour_stats.append(frame_colour_stats(frame))

    decoded = decode_video(path, detector=detector, on_sample=on_sample,
                           progress=lambda fraction: report(0.95 * fraction, "decode"))
    n_seconds = decoded.n_seconds
    if decoded.looks_truncated:
        settings["incomplete_decode"] = (f"decoded {decoded.duration:.2f} s of the "
                                         f"{decoded.announced_duration:.2f} s announced")
    if encoder is not None:
        report(0.95, "clip")
        semantic, emotion = encoder.finish()
        provenance = "clip"
    else:
        _warn_fallback_once()
        semantic = np.zeros((n_seconds, SEMANTIC_DIM), np.float32)
        emotion = estimate_emotion(np.stack(colour_stats), decoded.motion)
        provenance = "fallback"
    return VideoFeatures(
        source=str(path),
        fps=decoded.fps,
        duration=decoded.duration,
        semantic=semantic,
        emotion=emotion,
        scene_offset=scene_offsets_from_cuts(decoded.cut_times, n_seconds),
        motion=decoded.motion,
        cut_times=decoded.cut_times,
        provenance=provenance,
        settings=settings,
    )


def _resolve_weights(clip_weights: str | Path | None, allow_download: bool) -> ClipWeights | None:
    found = find_clip_weights(clip_weights)
    if found is not None:
        return ClipWeights(found)
    return ClipWeights(None) if allow_download else None


@functools.lru_cache(maxsize=1)
def _load_encoder(weights: ClipWeights, device: str | None) -> ClipEncoder | None:
    """The CLIP encoder, or None when an allowed download failed (then the fallback runs).

    The last one is kept, so analysing many videos loads the weights once."""
    try:
        return build_clip_encoder(weights, device)
    except ClipWeightsError:
        raise
    except (RuntimeError, OSError) as err:
        if weights.path is not None:
            raise ClipWeightsError(f"could not load CLIP weights {weights.path}: {err}") from err
        logger.warning("downloading the CLIP %s weights failed: %s", CLIP_MODEL_NAME, err)
        return None


@functools.cache
def _warn_fallback_once() -> None:
    logger.warning(
        "CLIP %s weights not found (give --clip-weights PATH, set V2M_CLIP_WEIGHTS, or allow "
        "a download with --allow-download): using the fallback features — semantic vectors "
        "are zeros and emotion is a colour/motion estimate (provenance 'fallback')",
        CLIP_MODEL_NAME)

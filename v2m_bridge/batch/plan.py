"""How a batch analyses: the same settings, and so the same cache keys, as ``analyze_video``.

The weights are resolved once, on the driver, and handed to every worker by path (a cluster's
nodes must see them at that path), so all workers agree on the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from v2m_bridge.errors import V2MError
from v2m_bridge.video.analyze import cache_settings
from v2m_bridge.video.cache import FeatureCache, cache_key, default_cache_dir
from v2m_bridge.video.clip_features import (
    ClipWeights,
    build_clip_encoder,
    find_clip_weights,
)
from v2m_bridge.video.scenes import DEFAULT_DETECTOR, DETECTORS


class BatchError(V2MError):
    """A batch that cannot start (no Ray, an unreachable cluster, an unwritable output...)."""


@dataclass(frozen=True)
class ClipEncoderFactory:
    """Builds the CLIP encoder inside a worker (picklable, so Ray can ship it)."""

    weights: Path
    device: str | None = None

    def __call__(self):
        return build_clip_encoder(ClipWeights(self.weights), self.device)


@dataclass(frozen=True)
class AnalysisPlan:
    """Detector, CLIP weights (``None``: the labelled fallback) and the feature cache folder."""

    cache_dir: Path
    detector: str = DEFAULT_DETECTOR
    clip_weights: Path | None = None
    device: str | None = None  # CLIP device; None: the actor's GPU if it has one, else CPU
    encoder_factory: object | None = None  # tests: a tiny CLIP; default ClipEncoderFactory

    @classmethod
    def resolve(cls, clip_weights: str | Path | None = None, *, detector: str = DEFAULT_DETECTOR,
                cache_dir: Path | None = None, device: str | None = None) -> AnalysisPlan:
        """Find the weights as ``analyze_video`` does (``--clip-weights``, the environment, the
        local caches), never downloading."""
        if detector not in DETECTORS:
            raise BatchError(f"unknown scene detector {detector!r}; expected one of "
                             f"{', '.join(DETECTORS)}")
        weights = find_clip_weights(clip_weights)
        return cls(cache_dir=cache_dir or default_cache_dir(), detector=detector,
                   clip_weights=weights, device=device)

    @property
    def uses_clip(self) -> bool:
        return self.clip_weights is not None

    def settings(self) -> dict[str, str]:
        """The settings ``analyze_video`` records and keys the cache by."""
        weights = ClipWeights(self.clip_weights) if self.clip_weights else None
        return cache_settings(self.detector, weights)

    def key(self, digest: str) -> str:
        return cache_key(digest, self.settings())

    def cache(self) -> FeatureCache:
        return FeatureCache(self.cache_dir)

    def make_encoder_factory(self):
        if self.clip_weights is None:
            return None
        return self.encoder_factory or ClipEncoderFactory(self.clip_weights, self.device)

"""The model work the daemon asks for: video features, compositions, CLIP features of an image."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from v2m_bridge.errors import V2MError
from v2m_bridge.features import VideoFeatures
from v2m_bridge.music.arrangement import Composition
from v2m_bridge.options import RenderOptions
from v2m_bridge.pipeline import ChordModel, compose_features
from v2m_bridge.video.analyze import analyze_video
from v2m_bridge.video.clip_features import ClipWeights, build_clip_encoder, find_clip_weights

ProgressCallback = Callable[[float, str], None]
FEATURES_SHARE = 0.6  # of the progress bar, as in music.compose


class ModelBackend:
    """The real pipeline: video features once per video, then chords and arrangement per request.

    ``chord_model`` is loaded once by ``serve`` (:func:`v2m_bridge.pipeline.load_chord_model`).
    """

    def __init__(self, chord_model: ChordModel, *, clip_weights: str | None = None,
                 device: str | None = None) -> None:
        self.chord_model = chord_model
        self.clip_weights = clip_weights
        self.device = device
        self._clip = None  # the CLIP encoder, loaded by the first /v2m/live/image

    def analyse(self, path: str, progress: ProgressCallback) -> VideoFeatures:
        return analyze_video(path, clip_weights=self.clip_weights, device=self.device,
                             progress=lambda f, stage: progress(FEATURES_SHARE * f, stage))

    def compose(self, features: VideoFeatures, options: RenderOptions,
                progress: ProgressCallback) -> Composition:
        return compose_features(features, options, progress, self.chord_model)

    def encode_image(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        """CLIP semantic (768,) and emotion (6,) of one image (live mode); loads CLIP once."""
        if self._clip is None:
            found = find_clip_weights(self.clip_weights)
            if found is None:
                raise V2MError("no CLIP ViT-L/14@336px weights found: start serve with "
                               "--clip-weights PATH or set V2M_CLIP_WEIGHTS (live frames work "
                               "without them)")
            self._clip = build_clip_encoder(ClipWeights(found), self.device)
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        if frame is None:
            raise V2MError(f"cannot read an image at {path!r} (PNG, JPEG, TIFF... expected)")
        semantic, emotion = self._clip.encode(self._clip.preprocess(frame).unsqueeze(0))
        return semantic[0], emotion[0]

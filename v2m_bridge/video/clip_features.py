"""CLIP semantic and zero-shot emotion features (spec §1.2, §1.3) with open_clip.

One image forward per sampled frame gives both features: the raw (unnormalised) image embedding
is the semantic vector, and the softmax of CLIP's scaled cosine similarities to the six emotion
words is the emotion vector. Weights are looked up locally; nothing is downloaded unless the
caller allows it.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from v2m_bridge.device import pick_device
from v2m_bridge.errors import V2MError
from v2m_bridge.features import EMOTION_LABELS

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

CLIP_MODEL_NAME = "ViT-L-14-336"  # OpenAI's ViT-L/14@336px, the official feature extractor
CLIP_PRETRAINED_TAG = "openai"
WEIGHTS_ENV_VAR = "V2M_CLIP_WEIGHTS"
# Where open_clip (and OpenAI's clip package) keep the OpenAI weights, and open_clip's HF mirror.
OPENAI_CACHE_FILE = Path("~/.cache/clip/ViT-L-14-336px.pt")
HF_REPO_ID = "timm/vit_large_patch14_clip_336.openai"
HF_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# OpenAI's preprocessing constants (open_clip.constants.OPENAI_DATASET_MEAN/STD).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 64
# Keys of OpenAI's TorchScript archives that are not parameters.
_TORCHSCRIPT_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")


class ClipWeightsError(V2MError):
    """CLIP weights that were named but cannot be found or do not fit the model."""


@dataclass(frozen=True)
class ClipWeights:
    """Where the weights come from: a local file, or a download by open_clip."""

    path: Path | None  # None means "download with open_clip" (only when allowed)

    @property
    def identity(self) -> str:
        """Stable description for cache keys (path, size and modification time)."""
        if self.path is None:
            return f"{CLIP_MODEL_NAME}/{CLIP_PRETRAINED_TAG}/download"
        stat = self.path.stat()
        return f"{CLIP_MODEL_NAME}/{self.path.resolve()}/{stat.st_size}/{stat.st_mtime_ns}"


def find_clip_weights(explicit: str | Path | None = None) -> Path | None:
    """Locate ViT-L-14-336 OpenAI weights without touching the network.

    Order: ``explicit`` (``--clip-weights``), the ``V2M_CLIP_WEIGHTS`` environment variable,
    the Hugging Face cache (open_clip's ``timm/vit_large_patch14_clip_336.openai``), then
    ``~/.cache/clip/ViT-L-14-336px.pt`` (open_clip's and OpenAI clip's download location).
    A path given explicitly or by the environment must exist.
    """
    for origin, named in (("--clip-weights", explicit), (WEIGHTS_ENV_VAR, os.environ.get(
            WEIGHTS_ENV_VAR))):
        if named:
            path = Path(named).expanduser()
            if not path.is_file():
                raise ClipWeightsError(f"CLIP weights named by {origin} not found: {path}; "
                                       f"expected a {CLIP_MODEL_NAME} checkpoint file")
            return path
    cached = _find_in_hf_cache()
    if cached is not None:
        return cached
    openai_file = OPENAI_CACHE_FILE.expanduser()
    return openai_file if openai_file.is_file() else None


def _find_in_hf_cache() -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in HF_WEIGHT_FILES:
        found = try_to_load_from_cache(repo_id=HF_REPO_ID, filename=filename)
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def load_clip_model(weights: ClipWeights,
                    architecture: Callable[[], torch.nn.Module] | None = None) -> torch.nn.Module:
    """Build the model (default ViT-L-14-336 with QuickGELU, as OpenAI trained it) and load the
    weights on the CPU: an open_clip / Hugging Face checkpoint or OpenAI's TorchScript ``.pt``."""
    import open_clip

    if weights.path is None:
        return open_clip.create_model(CLIP_MODEL_NAME, pretrained=CLIP_PRETRAINED_TAG,
                                      force_quick_gelu=True)
    if not (zipfile.is_zipfile(weights.path) or weights.path.suffix == ".safetensors"):
        # Checked before building the 428M-parameter model, so a wrong file fails at once.
        raise ClipWeightsError(f"{weights.path} is not a PyTorch (.pt/.bin) or .safetensors "
                               f"checkpoint; expected {CLIP_MODEL_NAME} OpenAI weights")
    model = (architecture or build_clip_architecture)()
    try:
        if _is_torchscript_archive(weights.path):
            _load_torchscript_weights(model, weights.path)
        else:
            open_clip.load_checkpoint(model, str(weights.path))
    except Exception as err:  # torch, pickle, zipfile and safetensors each raise their own type
        raise ClipWeightsError(f"{weights.path} could not be loaded as {CLIP_MODEL_NAME} "
                               f"weights: {err}") from err
    return model


def build_clip_architecture() -> torch.nn.Module:
    """ViT-L-14-336 with QuickGELU (as OpenAI trained it) and random weights."""
    import open_clip

    config = open_clip.get_model_config(CLIP_MODEL_NAME)
    return open_clip.CLIP(**{**config, "quick_gelu": True})


def _is_torchscript_archive(path: Path) -> bool:
    """OpenAI's own ``.pt`` files are TorchScript archives, which ``weights_only`` loads refuse."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


def _load_torchscript_weights(model: torch.nn.Module, path: Path) -> None:
    import torch

    state_dict = torch.jit.load(str(path), map_location="cpu").state_dict()
    # Scripted modules also export metadata and non-persistent buffers (attention masks).
    state_dict = {key: value for key, value in state_dict.items()
                  if key not in _TORCHSCRIPT_EXTRA_KEYS and not key.endswith("attn_mask")}
    model.load_state_dict(state_dict, strict=True)


class ClipEncoder:
    """Turns BGR frames into (semantic, emotion) rows, batching as frames arrive.

    Call :meth:`add` per sampled frame (in second order) and :meth:`finish` once at the end;
    :meth:`encode` does one batch directly. Works with any open_clip ``CLIP`` model, so tests use
    a tiny randomly initialised one.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, device: torch.device | str = "cpu",
                 batch_size: int | None = None) -> None:
        import torch

        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.batch_size = batch_size or (
            CPU_BATCH_SIZE if self.device.type == "cpu" else GPU_BATCH_SIZE)
        image_size = model.visual.image_size
        self.image_size = int(image_size[0] if isinstance(image_size, tuple | list) else image_size)
        self._mean = torch.tensor(OPENAI_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(OPENAI_STD, device=self.device).view(1, 3, 1, 1)
        with torch.inference_mode():
            tokens = tokenizer(list(EMOTION_LABELS)).to(self.device)
            text = self.model.encode_text(tokens).float()
            self._text_directions = text / text.norm(dim=-1, keepdim=True)
            self._logit_scale = self.model.logit_scale.float().exp()
        self._pending: list[torch.Tensor] = []
        self._semantic: list[np.ndarray] = []
        self._emotion: list[np.ndarray] = []

    def preprocess(self, frame_bgr: np.ndarray) -> torch.Tensor:
        """CLIP's preprocessing in torch: shortest side to ``image_size`` (bicubic, antialiased,
        like PIL), centre crop, scale to [0, 1], normalise. Returns (3, S, S)."""
        import torch
        import torch.nn.functional as F

        rgb = torch.from_numpy(np.ascontiguousarray(frame_bgr[..., ::-1])).to(self.device)
        image = rgb.permute(2, 0, 1).unsqueeze(0).float()
        height, width = image.shape[-2:]
        size = self.image_size
        # torchvision's Resize(int): the long side becomes int(size * long / short).
        new_h = size if height <= width else int(size * height / width)
        new_w = size if width <= height else int(size * width / height)
        image = F.interpolate(image, size=(new_h, new_w), mode="bicubic", antialias=True,
                              align_corners=False).round_().clamp_(0, 255)
        top = round((new_h - size) / 2.0)
        left = round((new_w - size) / 2.0)
        image = image[..., top:top + size, left:left + size] / 255.0
        image = (image - self._mean) / self._std
        return image[0].to(self.dtype)

    def encode(self, pixels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(B, 3, S, S) preprocessed pixels → semantic (B, D) and emotion (B, 6), float32."""
        import torch

        with torch.inference_mode():
            embedding = self.model.encode_image(pixels.to(self.device, self.dtype)).float()
            directions = embedding / embedding.norm(dim=-1, keepdim=True)
            logits = self._logit_scale * directions @ self._text_directions.T
            emotion = logits.softmax(dim=-1)
        return embedding.cpu().numpy(), emotion.cpu().numpy()

    def add(self, frame_bgr: np.ndarray) -> None:
        self._pending.append(self.preprocess(frame_bgr))
        if len(self._pending) >= self.batch_size:
            self._flush()

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """All rows added since the last finish/reset: semantic (T, D) and emotion (T, 6).
        The encoder is then empty and ready for the next video."""
        self._flush()
        if not self._semantic:
            embed_dim = int(self._text_directions.shape[-1])
            return (np.zeros((0, embed_dim), np.float32),
                    np.zeros((0, len(EMOTION_LABELS)), np.float32))
        semantic, emotion = np.concatenate(self._semantic), np.concatenate(self._emotion)
        self.reset()
        return semantic, emotion

    def reset(self) -> None:
        """Forget frames added so far (for example after a failed decode)."""
        self._pending.clear()
        self._semantic.clear()
        self._emotion.clear()

    def _flush(self) -> None:
        import torch

        if not self._pending:
            return
        semantic, emotion = self.encode(torch.stack(self._pending))
        self._pending.clear()
        self._semantic.append(semantic.astype(np.float32))
        self._emotion.append(emotion.astype(np.float32))


def build_clip_encoder(weights: ClipWeights, device: str | None = None) -> ClipEncoder:
    """Load the real ViT-L-14-336 and wrap it (raises :class:`ClipWeightsError` on failure)."""
    import open_clip

    model = load_clip_model(weights)
    return ClipEncoder(model, open_clip.get_tokenizer(CLIP_MODEL_NAME), pick_device(device))

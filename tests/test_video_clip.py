"""CLIP semantic + emotion code, run on a tiny randomly initialised open_clip model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from v2m_bridge.features import EMOTION_LABELS
from v2m_bridge.video import clip_features
from v2m_bridge.video.clip_features import (
    CLIP_MODEL_NAME,
    HF_REPO_ID,
    ClipEncoder,
    ClipWeights,
    ClipWeightsError,
    find_clip_weights,
    load_clip_model,
)

IMAGE_SIZE = 336  # the real model's input size, so preprocessing is exercised as in production


def tiny_clip(seed: int = 0) -> open_clip.CLIP:
    """Same family as ViT-L-14-336 (768-d embedding, 336 px input) but one narrow layer."""
    torch.manual_seed(seed)
    return open_clip.CLIP(
        embed_dim=768,
        vision_cfg=dict(image_size=IMAGE_SIZE, layers=1, width=64, patch_size=48, head_width=32),
        text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=1),
        quick_gelu=True,
    )


@pytest.fixture(scope="module")
def encoder() -> ClipEncoder:
    return ClipEncoder(tiny_clip(), open_clip.get_tokenizer(CLIP_MODEL_NAME), "cpu", batch_size=2)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (180, 320, 3), dtype=np.uint8) for _ in range(5)]


def test_preprocessing_matches_open_clips_pil_transform(encoder, frames):
    pil_transform = open_clip.image_transform(IMAGE_SIZE, is_train=False)
    smooth = cv2.resize(frames[0][:12, :20], (320, 180), interpolation=cv2.INTER_LINEAR)
    reference = pil_transform(Image.fromarray(smooth[..., ::-1]))
    mine = encoder.preprocess(smooth)
    assert mine.shape == reference.shape == (3, IMAGE_SIZE, IMAGE_SIZE)
    # Same resize kernel (antialiased bicubic) and crop; differences are uint8 rounding only.
    assert torch.mean(torch.abs(mine - reference)).item() < 0.01
    assert torch.max(torch.abs(mine - reference)).item() < 0.1


def test_encode_shapes_and_emotion_rows_sum_to_one(encoder, frames):
    pixels = torch.stack([encoder.preprocess(f) for f in frames])
    semantic, emotion = encoder.encode(pixels)
    assert semantic.shape == (5, 768) and emotion.shape == (5, len(EMOTION_LABELS))
    assert semantic.dtype == emotion.dtype == np.float32
    assert np.allclose(emotion.sum(axis=1), 1.0, atol=1e-5)


def test_semantic_is_the_raw_image_embedding_and_emotion_is_clips_zero_shot(encoder, frames):
    pixels = torch.stack([encoder.preprocess(f) for f in frames[:2]])
    semantic, emotion = encoder.encode(pixels)
    model = encoder.model
    tokens = open_clip.get_tokenizer(CLIP_MODEL_NAME)(list(EMOTION_LABELS))
    with torch.no_grad():
        raw = model.encode_image(pixels)
        image_dirs, text_dirs, scale = model(pixels, tokens)[:3]
        expected = (scale * image_dirs @ text_dirs.T).softmax(dim=-1)
    assert np.allclose(semantic, raw.numpy(), atol=1e-5)
    assert not np.allclose(np.linalg.norm(semantic, axis=1), 1.0)  # not normalised, as official
    assert np.allclose(emotion, expected.numpy(), atol=1e-5)


def test_batched_streaming_equals_one_frame_at_a_time(encoder, frames):
    for frame in frames:  # batch_size=2: two full batches and a remainder of one
        encoder.add(frame)
    semantic, emotion = encoder.finish()
    singles = [encoder.encode(encoder.preprocess(f)[None]) for f in frames]
    assert np.allclose(semantic, np.concatenate([s for s, _ in singles]), atol=1e-4)
    assert np.allclose(emotion, np.concatenate([e for _, e in singles]), atol=1e-5)
    assert encoder.finish()[0].shape == (0, 768)  # finish empties it for the next video


# --- weights discovery and loading ----------------------------------------------------------

@pytest.fixture
def no_local_weights(tmp_path, monkeypatch):
    monkeypatch.delenv(clip_features.WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(clip_features, "OPENAI_CACHE_FILE", tmp_path / "clip" / "none.pt")
    return tmp_path


def test_no_weights_anywhere_gives_none(no_local_weights):
    assert find_clip_weights() is None


def test_explicit_or_environment_path_must_exist(no_local_weights, monkeypatch):
    with pytest.raises(ClipWeightsError, match="--clip-weights not found"):
        find_clip_weights(no_local_weights / "missing.pt")
    monkeypatch.setenv(clip_features.WEIGHTS_ENV_VAR, str(no_local_weights / "gone.pt"))
    with pytest.raises(ClipWeightsError, match="V2M_CLIP_WEIGHTS not found"):
        find_clip_weights()
    real = no_local_weights / "w.pt"
    real.write_bytes(b"x")
    monkeypatch.setenv(clip_features.WEIGHTS_ENV_VAR, str(real))
    assert find_clip_weights() == real


def test_weights_are_found_in_the_hugging_face_cache(no_local_weights):
    repo = no_local_weights / "hf" / f"models--{HF_REPO_ID.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(b"x")
    assert find_clip_weights() == snapshot / "open_clip_model.safetensors"


def test_weights_are_found_in_the_openai_download_cache(no_local_weights, monkeypatch):
    cached = no_local_weights / "clip" / "ViT-L-14-336px.pt"
    cached.parent.mkdir()
    cached.write_bytes(b"x")
    monkeypatch.setattr(clip_features, "OPENAI_CACHE_FILE", cached)
    assert find_clip_weights() == cached


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


def test_load_a_state_dict_checkpoint(tmp_path):
    source = tiny_clip()
    torch.save(source.state_dict(), tmp_path / "w.pt")
    loaded = load_clip_model(ClipWeights(tmp_path / "w.pt"), architecture=_fresh_tiny)
    assert _same_weights(loaded, source)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
def test_load_an_openai_style_torchscript_archive(tmp_path):
    source = tiny_clip()
    traced = torch.jit.trace_module(
        source, {"encode_image": torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)})
    torch.jit.save(traced, str(tmp_path / "w.pt"))
    loaded = load_clip_model(ClipWeights(tmp_path / "w.pt"), architecture=_fresh_tiny)
    assert _same_weights(loaded, source)


def test_a_file_that_is_not_a_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("not weights")
    with pytest.raises(ClipWeightsError, match="is not a PyTorch"):
        load_clip_model(ClipWeights(bad))  # fails before building the real model


def test_a_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    torch.save({"visual.proj": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ClipWeightsError, match="could not be loaded"):
        load_clip_model(ClipWeights(tmp_path / "other.pt"), architecture=_fresh_tiny)


def test_weights_identity_changes_with_the_file(tmp_path):
    path = Path(tmp_path / "w.pt")
    path.write_bytes(b"a")
    first = ClipWeights(path).identity
    path.write_bytes(b"ab")
    assert ClipWeights(path).identity != first


def _fresh_tiny() -> open_clip.CLIP:
    return tiny_clip(seed=1)  # different weights, so loading must change them


def test_the_real_architecture_is_vit_l_14_336_with_quick_gelu():
    from open_clip.transformer import QuickGELU

    from v2m_bridge.video.clip_features import build_clip_architecture

    with torch.device("meta"):  # shapes only, no memory for 428M parameters
        model = build_clip_architecture()
    assert model.visual.image_size == (336, 336) and model.visual.output_dim == 768
    assert len(model.visual.transformer.resblocks) == 24
    assert any(isinstance(m, QuickGELU) for m in model.modules())  # as OpenAI trained it

"""The Affective Multimodal Transformer (AMT): video features in, chord logits out.

Numerically the official Video2Music model (spec §5): per-second video features (CLIP semantic,
scene offset, motion, emotion) are projected and encoded; a decoder with relative-position
self-attention reads the chord prefix (root and quality embeddings plus the major/minor flag) and
predicts the next chord over the 159-class vocabulary.

Two ways to run it:

* ``amt(root, attr, key, semantic, scene_offset, motion, emotion)``: teacher-forced logits for
  every position, as in training and in the official ``forward``;
* ``amt.encode(...)`` once, then ``amt.decode_step(...)`` per chord with a key/value cache,
  as :func:`v2m_bridge.model.generate.generate_chords` does.
"""

from __future__ import annotations

import torch
from torch import nn

from v2m_bridge.errors import FeatureError
from v2m_bridge.features import EMOTION_DIM, SEMANTIC_DIM
from v2m_bridge.model.config import AMTConfig
from v2m_bridge.model.layers import EncoderDecoder, LayerCache, PositionalEncoding
from v2m_bridge.vocab import CHORD_VOCAB_SIZE, QUALITY_VOCAB_SIZE, ROOT_VOCAB_SIZE


def concat_video_features(semantic: torch.Tensor, scene_offset: torch.Tensor,
                          motion: torch.Tensor, emotion: torch.Tensor,
                          length: int | None = None) -> torch.Tensor:
    """``[semantic | scene_offset | motion | emotion]`` as ``(B, T, 776)``, checked.

    When ``length`` is given and longer than ``T``, the sequence is zero padded to it, as the
    official loaders pad every video to 300 seconds (the encoder has no padding mask, so the
    zeros are part of what a trained model expects to see).
    """
    if semantic.dim() != 3 or semantic.shape[-1] != SEMANTIC_DIM:
        raise FeatureError(f"semantic must be (B, T, {SEMANTIC_DIM}), got {tuple(semantic.shape)}")
    batch, seconds, _ = semantic.shape
    expected = {"scene_offset": (scene_offset, (batch, seconds)),
                "motion": (motion, (batch, seconds)),
                "emotion": (emotion, (batch, seconds, EMOTION_DIM))}
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape:
            raise FeatureError(f"{name} must be {shape} to match semantic (B, T) = "
                               f"{(batch, seconds)}, got {tuple(tensor.shape)}")
    video = torch.cat([semantic, scene_offset.unsqueeze(-1), motion.unsqueeze(-1), emotion], -1)
    if not torch.isfinite(video).all():
        raise FeatureError("video features contain NaN or infinite values")
    if length is not None and seconds < length:
        video = nn.functional.pad(video, (0, 0, 0, length - seconds))
    return video.float()


class AMT(nn.Module):
    """The official AMT architecture; attribute names give the official state_dict keys."""

    def __init__(self, config: AMTConfig | None = None):
        super().__init__()
        config = config or AMTConfig()
        self.config = config
        d = config.d_model
        # Present in official checkpoints but never used by the official forward: kept so that
        # checkpoints load strictly and state_dict keys stay identical.
        self.embedding = nn.Embedding(CHORD_VOCAB_SIZE, d)
        self.condition_linear = nn.Linear(1, d)
        self.Wout_root = nn.Linear(d, ROOT_VOCAB_SIZE)
        self.Wout_attr = nn.Linear(d, QUALITY_VOCAB_SIZE)

        self.embedding_root = nn.Embedding(ROOT_VOCAB_SIZE, d)
        self.embedding_attr = nn.Embedding(QUALITY_VOCAB_SIZE, d)
        self.Linear_chord = nn.Linear(d + 1, d)  # chord embedding + major/minor flag
        self.Linear_vis = nn.Linear(config.total_vf_dim, d)
        self.positional_encoding = PositionalEncoding(d, config.max_sequence_chord,
                                                      config.dropout)
        self.positional_encoding_video = PositionalEncoding(d, config.max_sequence_video,
                                                            config.dropout)
        self.transformer = EncoderDecoder(config.n_layers, d, config.num_heads,
                                          config.dim_feedforward, config.dropout,
                                          er_len=config.max_sequence_chord)
        self.Wout = nn.Linear(d, CHORD_VOCAB_SIZE)
        for param in self.transformer.parameters():  # as nn.Transformer initialises itself
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    @property
    def device(self) -> torch.device:
        return self.Wout.weight.device

    def encode(self, semantic: torch.Tensor, scene_offset: torch.Tensor, motion: torch.Tensor,
               emotion: torch.Tensor) -> torch.Tensor:
        """Encode up to ``max_sequence_video`` seconds of video into memory ``(B, S, d)``."""
        limit = self.config.max_sequence_video
        if semantic.dim() == 3 and semantic.shape[1] > limit:
            raise FeatureError(f"{semantic.shape[1]} seconds of video exceed the encoder's "
                               f"{limit}; generate_chords() splits long videos into windows")
        video = concat_video_features(semantic, scene_offset, motion, emotion, length=limit)
        video = self.positional_encoding_video(self.Linear_vis(video.to(self.device)))
        return self.transformer.encoder(video)

    def embed_chords(self, root: torch.Tensor, attr: torch.Tensor, key: torch.Tensor,
                     start: int = 0) -> torch.Tensor:
        """Chord tokens ``(B, L)`` at positions ``start..`` -> decoder input ``(B, L, d)``."""
        if root.shape != attr.shape or root.dim() != 2:
            raise ValueError(f"root and attr must both be (B, L), got {tuple(root.shape)} and "
                             f"{tuple(attr.shape)}")
        batch, length = root.shape
        key = torch.as_tensor(key, dtype=torch.float32, device=self.device).reshape(-1)
        if key.numel() not in (1, batch):
            raise ValueError(f"key must have 1 or B={batch} values, got {key.numel()}")
        key_column = key.view(-1, 1, 1).expand(batch, length, 1)
        chords = self.embedding_root(root) + self.embedding_attr(attr)
        chords = self.Linear_chord(torch.cat([chords, key_column], dim=-1))
        return self.positional_encoding(chords, start)

    def forward(self, root: torch.Tensor, attr: torch.Tensor, key: torch.Tensor,
                semantic: torch.Tensor, scene_offset: torch.Tensor, motion: torch.Tensor,
                emotion: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, L, 159)`` with a causal mask over the chord prefix."""
        if root.shape[-1] > self.config.max_sequence_chord:
            raise ValueError(f"{root.shape[-1]} chords exceed max_sequence_chord "
                             f"{self.config.max_sequence_chord}")
        memory = self.encode(semantic, scene_offset, motion, emotion)
        hidden = self.transformer.decoder(self.embed_chords(root, attr, key), memory)
        return self.Wout(hidden)

    def new_cache(self, memory: torch.Tensor, max_len: int | None = None) -> list[LayerCache]:
        """Empty decoder cache for up to ``max_len`` chords (default: the RPR table length)."""
        return self.transformer.decoder.new_cache(memory, max_len or self.config.max_sequence_chord)

    def decode_step(self, root: torch.Tensor, attr: torch.Tensor, key: torch.Tensor,
                    cache: list[LayerCache], position: int) -> torch.Tensor:
        """Logits ``(B, 159)`` for the chord after the one at ``position`` (tokens ``(B, 1)``)."""
        if position >= self.config.max_sequence_chord:
            raise ValueError(f"position {position} is past max_sequence_chord "
                             f"{self.config.max_sequence_chord}")
        x = self.embed_chords(root, attr, key, start=position)
        hidden = self.transformer.decoder.step(x, cache, position)
        return self.Wout(hidden)[:, -1]

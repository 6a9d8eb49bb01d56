"""Transformer building blocks of the AMT, with the official parameter names.

The official model is ``nn.Transformer`` with a custom decoder whose self-attention adds a learned
relative-position term (Huang et al., "Music Transformer"). We write the blocks ourselves so the
decoder can keep a key/value cache: generation then costs one decoder position per chord instead
of re-running the whole model for every chord. Parameter names (``in_proj_weight``, ``Er``,
``norm1`` ...) match the official state_dict so checkpoints load one to one.

Shapes are batch-first throughout: ``(B, L, d_model)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_table(length: int, d_model: int) -> torch.Tensor:
    """``(length, 1, d_model)`` table: sin on even, cos on odd channels, no sqrt(d) scaling."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                         * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, 1, d_model)
    table[:, 0, 0::2] = torch.sin(position * div_term)
    table[:, 0, 1::2] = torch.cos(position * div_term)
    return table


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table (kept as the official ``pe`` buffer) from a start position."""

    def __init__(self, d_model: int, max_len: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pe", sinusoidal_table(max_len, d_model))

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        length = x.shape[1]
        if start + length > self.pe.shape[0]:
            raise ValueError(f"positions {start}..{start + length - 1} exceed the positional "
                             f"table of {self.pe.shape[0]}")
        return self.dropout(x + self.pe[start:start + length, 0].unsqueeze(0))


class PackedAttention(nn.Module):
    """Multi-head attention with packed q/k/v weights, as ``nn.MultiheadAttention`` stores them."""

    def __init__(self, d_model: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = dropout
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, d) -> (B, H, L, hd)
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def project_query(self, x: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        return self._heads(F.linear(x, self.in_proj_weight[:d], self.in_proj_bias[:d]))

    def project_key_value(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = x.shape[-1]
        k = F.linear(x, self.in_proj_weight[d:2 * d], self.in_proj_bias[d:2 * d])
        v = F.linear(x, self.in_proj_weight[2 * d:], self.in_proj_bias[2 * d:])
        return self._heads(k), self._heads(v)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               bias: torch.Tensor | None = None) -> torch.Tensor:
        """Scaled dot-product attention over heads; ``bias`` is added to the logits."""
        logits = (q * self.head_dim ** -0.5) @ k.transpose(-2, -1)
        if bias is not None:
            logits = logits + bias
        weights = F.dropout(torch.softmax(logits, dim=-1), self.dropout, self.training)
        out = (weights @ v).transpose(1, 2).flatten(2)  # (B, Lq, d)
        return self.out_proj(out)

    def forward(self, query: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        k, v = self.project_key_value(memory)
        return self.attend(self.project_query(query), k, v)


class RelativeSelfAttention(PackedAttention):
    """Causal self-attention plus a learned relative-position term.

    ``Er`` has one row per relative distance, shared by all heads; row ``er_len - 1 - d`` holds
    distance ``d``. For query ``i`` and key ``j <= i`` the logit gains ``q_i . Er[er_len-1-(i-j)]``
    with ``q_i`` already scaled by ``1/sqrt(head_dim)``; keys after ``i`` are masked.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float, er_len: int):
        super().__init__(d_model, num_heads, dropout)
        self.Er = nn.Parameter(torch.empty(er_len, d_model // num_heads))
        nn.init.xavier_uniform_(self.Er)

    def _relative_bias(self, q_scaled: torch.Tensor, q_start: int, kv_len: int) -> torch.Tensor:
        """Bias ``(B, H, Lq, kv_len)`` for queries at positions ``q_start ..`` over keys ``0..``."""
        er_len = self.Er.shape[0]
        q_len = q_scaled.shape[2]
        q_pos = torch.arange(q_start, q_start + q_len, device=q_scaled.device).unsqueeze(1)
        k_pos = torch.arange(kv_len, device=q_scaled.device).unsqueeze(0)
        distance = q_pos - k_pos  # (Lq, Lk), >= 0 where allowed
        # Only rows for distances 0..q_end-1 are ever used: score against that slice only.
        needed = q_start + q_len
        table = self.Er[er_len - needed:]  # row r <-> distance needed-1-r
        scores = q_scaled @ table.transpose(0, 1)  # (B, H, Lq, needed)
        index = (needed - 1 - distance).clamp(0, needed - 1)
        bias = torch.gather(scores, 3, index.expand(*scores.shape[:2], q_len, kv_len))
        causal = distance < 0
        return bias.masked_fill(causal, float("-inf"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Teacher-forced pass over a whole sequence ``(B, L, d)``."""
        if x.shape[1] > self.Er.shape[0]:
            raise ValueError(f"sequence of {x.shape[1]} chords is longer than the relative-"
                             f"position table ({self.Er.shape[0]} rows)")
        q = self.project_query(x)
        k, v = self.project_key_value(x)
        bias = self._relative_bias(q * self.head_dim ** -0.5, 0, x.shape[1])
        return self.attend(q, k, v, bias)

    def step(self, x: torch.Tensor, cache: LayerCache, position: int) -> torch.Tensor:
        """One new position ``(B, 1, d)`` at ``position``, reusing cached keys and values."""
        q = self.project_query(x)
        k, v = self.project_key_value(x)
        cache.self_k[:, :, position] = k[:, :, 0]
        cache.self_v[:, :, position] = v[:, :, 0]
        keys = cache.self_k[:, :, :position + 1]
        values = cache.self_v[:, :, :position + 1]
        bias = self._relative_bias(q * self.head_dim ** -0.5, position, position + 1)
        return self.attend(q, keys, values, bias)


@dataclass
class LayerCache:
    """Per decoder layer: growing self-attention keys/values and fixed memory keys/values."""

    self_k: torch.Tensor  # (B, H, max_len, hd)
    self_v: torch.Tensor
    memory_k: torch.Tensor  # (B, H, S, hd)
    memory_v: torch.Tensor


class _PostNormLayer(nn.Module):
    """Shared position-wise feed-forward; subclasses own ``linear1``, ``linear2``, ``dropout``."""

    linear1: nn.Linear
    linear2: nn.Linear
    dropout: nn.Dropout

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear2(self.dropout(F.relu(self.linear1(x)))))


class EncoderLayer(_PostNormLayer):
    """Post-norm layer of ``nn.TransformerEncoderLayer``: attention, add, norm; FF, add, norm."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.self_attn = PackedAttention(d_model, num_heads, dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.self_attn(x, x)))
        return self.norm2(x + self.feed_forward(x))


class DecoderLayer(_PostNormLayer):
    """Post-norm decoder layer: relative self-attention, cross-attention to the video, FF."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float,
                 er_len: int):
        super().__init__()
        self.self_attn = RelativeSelfAttention(d_model, num_heads, dropout, er_len)
        self.multihead_attn = PackedAttention(d_model, num_heads, dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.self_attn(x)))
        x = self.norm2(x + self.dropout(self.multihead_attn(x, memory)))
        return self.norm3(x + self.feed_forward(x))

    def new_cache(self, memory: torch.Tensor, max_len: int) -> LayerCache:
        batch = memory.shape[0]
        attn = self.self_attn
        empty = memory.new_zeros(batch, attn.num_heads, max_len, attn.head_dim)
        memory_k, memory_v = self.multihead_attn.project_key_value(memory)
        return LayerCache(empty, empty.clone(), memory_k, memory_v)

    def step(self, x: torch.Tensor, cache: LayerCache, position: int) -> torch.Tensor:
        x = self.norm1(x + self.self_attn.step(x, cache, position))
        cross = self.multihead_attn
        x = self.norm2(x + cross.attend(cross.project_query(x), cache.memory_k, cache.memory_v))
        return self.norm3(x + self.feed_forward(x))


class Encoder(nn.Module):
    def __init__(self, n_layers: int, d_model: int, num_heads: int, dim_feedforward: int,
                 dropout: float):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d_model, num_heads, dim_feedforward, dropout)
                                    for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class Decoder(nn.Module):
    def __init__(self, n_layers: int, d_model: int, num_heads: int, dim_feedforward: int,
                 dropout: float, er_len: int):
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, dim_feedforward, dropout, er_len)
            for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, memory)
        return self.norm(x)

    def new_cache(self, memory: torch.Tensor, max_len: int) -> list[LayerCache]:
        return [layer.new_cache(memory, max_len) for layer in self.layers]

    def step(self, x: torch.Tensor, cache: list[LayerCache], position: int) -> torch.Tensor:
        for layer, layer_cache in zip(self.layers, cache, strict=True):
            x = layer.step(x, layer_cache, position)
        return self.norm(x)


class EncoderDecoder(nn.Module):
    """Holds ``encoder`` and ``decoder`` under the official ``transformer.`` prefix."""

    def __init__(self, n_layers: int, d_model: int, num_heads: int, dim_feedforward: int,
                 dropout: float, er_len: int):
        super().__init__()
        self.encoder = Encoder(n_layers, d_model, num_heads, dim_feedforward, dropout)
        self.decoder = Decoder(n_layers, d_model, num_heads, dim_feedforward, dropout, er_len)

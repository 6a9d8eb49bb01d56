"""Model hyper-parameters, and how to read them back from a checkpoint's tensor shapes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import torch

from v2m_bridge.errors import CheckpointError
from v2m_bridge.features import EMOTION_DIM, SEMANTIC_DIM

VIDEO_FEATURE_DIM = SEMANTIC_DIM + 1 + 1 + EMOTION_DIM  # semantic | scene offset | motion | emotion


@dataclass(frozen=True)
class AMTConfig:
    """Affective Multimodal Transformer size. Defaults are the official inference model."""

    n_layers: int = 6  # encoder and decoder each
    num_heads: int = 8
    d_model: int = 512
    dim_feedforward: int = 1024
    dropout: float = 0.1
    max_sequence_video: int = 300  # video positions the encoder sees (zero padded)
    max_sequence_chord: int = 300  # longest chord sequence = rows of each RPR table
    total_vf_dim: int = VIDEO_FEATURE_DIM

    def __post_init__(self) -> None:
        if self.d_model % self.num_heads:
            raise CheckpointError(f"d_model {self.d_model} is not divisible by num_heads "
                                  f"{self.num_heads}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping) -> AMTConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise CheckpointError(f"unknown AMT config fields {sorted(unknown)}; known: "
                                  f"{sorted(known)}")
        return cls(**values)


@dataclass(frozen=True)
class RegressionConfig:
    """Bi-GRU note-density / loudness regressor size. Defaults are the official model."""

    n_layers: int = 2
    d_model: int = 64  # GRU hidden size per direction
    dropout: float = 0.1
    max_sequence_video: int = 300
    total_vf_dim: int = VIDEO_FEATURE_DIM

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping) -> RegressionConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise CheckpointError(f"unknown regression config fields {sorted(unknown)}")
        return cls(**values)


def _shape(state: Mapping[str, torch.Tensor], key: str) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"checkpoint has no tensor {key!r}; is it an AMT state_dict?")
    return tuple(state[key].shape)


def _count_layers(state: Mapping[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"\.(\d+)\.")
    indices = {int(m.group(1)) for key in state if (m := pattern.match(key))}
    if not indices:
        raise CheckpointError(f"checkpoint has no {prefix}.N layers")
    if indices != set(range(len(indices))):
        raise CheckpointError(f"{prefix} layer indices are not contiguous: {sorted(indices)}")
    return len(indices)


def infer_amt_config(state: Mapping[str, torch.Tensor], dropout: float = 0.1) -> AMTConfig:
    """Rebuild the AMT size from tensor shapes alone (official checkpoints carry no config).

    Rule: ``d_model`` and ``total_vf_dim`` from ``Linear_vis``; layer counts from the layer
    indices; ``dim_feedforward`` from ``linear1``; ``max_sequence_chord`` from the rows of the
    decoder's relative-position table ``Er`` (which may be shorter than 300); the head count from
    ``Er``'s width, which is the per-head dimension (``num_heads = d_model / Er.shape[1]``);
    ``max_sequence_video`` from the video positional-encoding buffer.
    """
    d_model, total_vf_dim = _shape(state, "Linear_vis.weight")
    n_enc = _count_layers(state, "transformer.encoder.layers")
    n_dec = _count_layers(state, "transformer.decoder.layers")
    if n_enc != n_dec:
        raise CheckpointError(f"encoder has {n_enc} layers but decoder {n_dec}; the AMT uses "
                              "the same number for both")
    dim_feedforward, _ = _shape(state, "transformer.encoder.layers.0.linear1.weight")
    er_rows, head_dim = _shape(state, "transformer.decoder.layers.0.self_attn.Er")
    if head_dim == 0 or d_model % head_dim:
        raise CheckpointError(f"Er width {head_dim} does not divide d_model {d_model}")
    video_len = _shape(state, "positional_encoding_video.pe")[0]
    return AMTConfig(
        n_layers=n_enc,
        num_heads=d_model // head_dim,
        d_model=d_model,
        dim_feedforward=dim_feedforward,
        dropout=dropout,
        max_sequence_video=video_len,
        max_sequence_chord=er_rows,
        total_vf_dim=total_vf_dim,
    )


def infer_regression_config(state: Mapping[str, torch.Tensor]) -> RegressionConfig:
    """Rebuild the bi-GRU size from ``bigru`` tensor shapes."""
    gates, total_vf_dim = _shape(state, "bigru.weight_ih_l0")
    n_layers = len({k.split("_l")[-1].replace("_reverse", "")
                    for k in state if k.startswith("bigru.weight_ih_l")})
    return RegressionConfig(n_layers=n_layers, d_model=gates // 3, total_vf_dim=total_vf_dim)

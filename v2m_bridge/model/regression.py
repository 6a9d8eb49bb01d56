"""The official bi-GRU that predicts per-second note density and loudness from video features."""

from __future__ import annotations

import torch
from torch import nn

from v2m_bridge.model.amt import concat_video_features
from v2m_bridge.model.config import RegressionConfig


class VideoRegression(nn.Module):
    """Bi-GRU over the 776-d per-second features -> ``(B, T, 2)`` = [note density, loudness].

    Official checkpoints also hold ``bilstm``, ``lstm``, ``gru`` and ``fc`` weights that the
    inference path never uses; the modules exist so such checkpoints load strictly.
    """

    def __init__(self, config: RegressionConfig | None = None):
        super().__init__()
        config = config or RegressionConfig()
        self.config = config
        hidden, layers, inputs = config.d_model, config.n_layers, config.total_vf_dim
        self.bilstm = nn.LSTM(inputs, hidden, layers, bidirectional=True)  # unused
        self.bigru = nn.GRU(inputs, hidden, layers, bidirectional=True)
        self.lstm = nn.LSTM(inputs, hidden, layers)  # unused
        self.gru = nn.GRU(inputs, hidden, layers)  # unused
        self.bifc = nn.Linear(2 * hidden, 2)
        self.fc = nn.Linear(hidden, 2)  # unused
        self.input_dropout = nn.Dropout(config.dropout)

    def forward(self, semantic: torch.Tensor, scene_offset: torch.Tensor, motion: torch.Tensor,
                emotion: torch.Tensor) -> torch.Tensor:
        seconds = semantic.shape[1]
        # Padded to the official 300 s: the backward GRU direction sees the padding, as it did
        # in training.
        video = concat_video_features(semantic, scene_offset, motion, emotion,
                                      length=self.config.max_sequence_video)
        video = self.input_dropout(video.to(self.bifc.weight.device))
        hidden, _ = self.bigru(video.transpose(0, 1))  # sequence-first, like the official model
        return self.bifc(hidden.transpose(0, 1))[:, :seconds]

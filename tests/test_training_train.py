"""Training loops on a tiny slice: loss goes down, checkpoints load, resume continues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from training_helpers import write_tiny_layout

from v2m_bridge.data.muvi_sync import DatasetError
from v2m_bridge.device import pick_device
from v2m_bridge.errors import V2MError
from v2m_bridge.model import AMTConfig, RegressionConfig, load_amt, load_regression
from v2m_bridge.training.train import (
    TrainConfig,
    TrainingError,
    cut_weights,
    inverse_sqrt_schedule,
    train_amt,
    train_regression,
)

TINY = AMTConfig(n_layers=1, num_heads=2, d_model=16, dim_feedforward=32, dropout=0.0,
                 max_sequence_video=16, max_sequence_chord=16)


def _config(**changes) -> TrainConfig:
    values = {"epochs": 3, "batch_size": 4, "window": 16, "learning_rate": 5e-3,
              "warmup_steps": 1, "progress": False, "device": "cpu"}
    return TrainConfig(**{**values, **changes})


def test_loss_decreases_and_best_checkpoint_loads(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path / "data", n_songs=5, seconds=40)
    result = train_amt(tmp_path / "data", tmp_path / "run", TINY, _config(epochs=4))
    losses = [r.val_loss for r in result.history]
    assert losses[-1] < losses[0]
    model = load_amt(result.best_checkpoint)
    assert model.config == TINY
    assert model.metadata["semantic_input"].startswith("ignored")
    # the semantic columns stayed exactly zero; the others were trained
    assert model.Linear_vis.weight[:, :768].abs().max() == 0
    assert model.Linear_vis.weight[:, 768:].abs().max() > 0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]


def test_resume_continues_where_it_stopped(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path / "data", n_songs=4, seconds=30)
    straight = train_amt(tmp_path / "data", tmp_path / "a", TINY, _config(epochs=2))
    train_amt(tmp_path / "data", tmp_path / "b", TINY, _config(epochs=1))
    resumed = train_amt(tmp_path / "data", tmp_path / "b", None, _config(epochs=2), resume=True)
    assert [r.epoch for r in resumed.history] == [1, 2]
    assert resumed.history[-1].val_loss == pytest.approx(straight.history[-1].val_loss, rel=1e-4)


def test_resume_without_state_and_bad_settings(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path / "data", n_songs=3, seconds=20)
    with pytest.raises(TrainingError, match="nothing to resume"):
        train_amt(tmp_path / "data", tmp_path / "run", TINY, _config(), resume=True)
    with pytest.raises(TrainingError, match="longer than"):
        train_amt(tmp_path / "data", tmp_path / "run", TINY, _config(window=64))
    with pytest.raises(DatasetError, match="not found"):
        train_amt(tmp_path / "missing", tmp_path / "run", TINY, _config())
    (tmp_path / "run" / "last.pt").write_bytes(b"garbage")
    with pytest.raises(TrainingError, match="not a readable training state"):
        train_amt(tmp_path / "data", tmp_path / "run", TINY, _config(), resume=True)


def test_device_choice() -> None:
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(V2MError, match="unknown device"):
        pick_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(V2MError, match="no CUDA"):
            pick_device("cuda")


def test_schedule_and_cut_weights() -> None:
    factor = inverse_sqrt_schedule(100)
    assert factor(50) == pytest.approx(0.5)
    assert factor(100) == pytest.approx(1.0)
    assert factor(400) == pytest.approx(0.5)
    batch = {"scene_offset": torch.tensor([[1.0, 2.0, 1.0, 2.0]])}
    assert cut_weights(batch, 1.0) is None
    assert cut_weights(batch, 3.0).tolist() == [[1.0, 3.0, 1.0, 1.0]]


def test_regression_trains_on_music_targets(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path / "data", n_songs=3, seconds=20, with_targets=True)
    config = RegressionConfig(n_layers=1, d_model=8, max_sequence_video=20)
    best = train_regression(tmp_path / "data", tmp_path / "run", config,
                            _config(epochs=2, window=20, weight_decay=0.0))
    model = load_regression(best)
    assert model.config == config and "loudness_rmse" in model.metadata


def test_regression_needs_music_targets(tmp_path: Path) -> None:
    write_tiny_layout(tmp_path / "data", n_songs=3, seconds=20, with_targets=False)
    with pytest.raises(DatasetError, match="vevo_loudness"):
        train_regression(tmp_path / "data", tmp_path / "run",
                         RegressionConfig(n_layers=1, d_model=8, max_sequence_video=20),
                         _config(epochs=1, window=20))

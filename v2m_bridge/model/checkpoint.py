"""Loading and saving AMT and regression checkpoints, safely.

Two formats load:

* an official Video2Music file (``best_loss_weights.pickle``, ``best_rmse_weights.pickle``): a
  bare ``state_dict``; the model size is inferred from tensor shapes;
* a project checkpoint written by :func:`save_amt` / :func:`save_regression`: a dict with
  ``format``, ``config``, ``state_dict`` and free-form ``metadata`` (training data, metrics).

Everything goes through ``torch.load(weights_only=True)``, so a file that needs code execution to
unpickle is refused rather than run.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from v2m_bridge.errors import CheckpointError
from v2m_bridge.model.amt import AMT
from v2m_bridge.model.config import (
    AMTConfig,
    RegressionConfig,
    infer_amt_config,
    infer_regression_config,
)
from v2m_bridge.model.regression import VideoRegression
from v2m_bridge.output.paths import atomic_output

AMT_FORMAT = "v2m-bridge/amt"
REGRESSION_FORMAT = "v2m-bridge/regression"
_MAX_LISTED = 6


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _read(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint path is a directory, not a file: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        detail = str(err).split("WeightsUnpickler error:")[-1].strip()
        if "Unsupported global" in detail:
            raise CheckpointError(
                f"{path}: refused to load; the file holds Python objects that need code "
                f"execution to unpickle (only plain tensors and containers are allowed). "
                f"Detail: {_first_line(Exception(detail))}") from err
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (corrupt, truncated "
                              f"or another kind of file)") from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (corrupt or "
                              f"truncated?): {_first_line(err)}") from err


def _split(raw: Any, path: Path, expected_format: str
           ) -> tuple[dict[str, torch.Tensor], dict | None, dict]:
    """Return (state_dict, stored config or None, metadata) from either format."""
    if isinstance(raw, Mapping) and "state_dict" in raw and "format" in raw:
        if raw["format"] != expected_format:
            raise CheckpointError(f"{path} is a {raw['format']!r} checkpoint, expected "
                                  f"{expected_format!r}")
        state, config, metadata = raw["state_dict"], raw.get("config"), raw.get("metadata", {})
        metadata = {**metadata, "checkpoint_format": expected_format}
    elif isinstance(raw, Mapping):
        state, config, metadata = raw, None, {"checkpoint_format": "official state_dict"}
    else:
        raise CheckpointError(f"{path}: expected a state_dict (a mapping of names to tensors), "
                              f"got {type(raw).__name__}")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(f"{path}: not a state_dict; entries that are not tensors: "
                              f"{bad[:_MAX_LISTED]}")
    return {k: v.float() for k, v in state.items()}, config, metadata


def _load_into(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Strict load with an error that names missing, unexpected and mis-shaped tensors."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mis_shaped = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in own if k in state and state[k].shape != own[k].shape]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors, e.g. {missing[:_MAX_LISTED]}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensors, e.g. {unexpected[:_MAX_LISTED]}")
    if mis_shaped:
        problems.append(f"wrong shapes: {mis_shaped[:_MAX_LISTED]}")
    if problems:
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(state, strict=True)


def _config_or_infer(cls, stored, given, infer, state, path: Path):
    if given is not None:
        return given
    if stored is not None:
        return cls.from_dict(stored)
    try:
        return infer(state)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from err


def load_amt(path: str | os.PathLike, config: AMTConfig | None = None,
             device: str | torch.device | None = None) -> AMT:
    """Load an official or project AMT checkpoint in eval mode.

    The size comes from ``config`` if given, else from the checkpoint's stored config, else it
    is inferred from tensor shapes (:func:`~v2m_bridge.model.config.infer_amt_config`).
    ``model.metadata`` records where it came from.
    """
    path = Path(path)
    state, stored, metadata = _split(_read(path), path, AMT_FORMAT)
    model = AMT(_config_or_infer(AMTConfig, stored, config, infer_amt_config, state, path))
    _load_into(model, state, path)
    model.metadata = {**metadata, "path": str(path)}
    return model.to(device or "cpu").eval()


def load_regression(path: str | os.PathLike, config: RegressionConfig | None = None,
                    device: str | torch.device | None = None) -> VideoRegression:
    """Load an official or project bi-GRU regression checkpoint in eval mode."""
    path = Path(path)
    state, stored, metadata = _split(_read(path), path, REGRESSION_FORMAT)
    model = VideoRegression(_config_or_infer(RegressionConfig, stored, config,
                                             infer_regression_config, state, path))
    _load_into(model, state, path)
    model.metadata = {**metadata, "path": str(path)}
    return model.to(device or "cpu").eval()


def _save(model: nn.Module, fmt: str, path: str | os.PathLike, metadata: dict | None,
          dtype: torch.dtype) -> Path:
    path = Path(path)
    payload = {
        "format": fmt,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().to("cpu", dtype) for k, v in model.state_dict().items()},
        "metadata": dict(metadata or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temp_path:  # an interrupted save never leaves half a file
        torch.save(payload, temp_path)
    return path


def save_amt(model: AMT, path: str | os.PathLike, metadata: dict | None = None,
             dtype: torch.dtype = torch.float32) -> Path:
    """Write a project AMT checkpoint; ``dtype=torch.float16`` halves the file size."""
    return _save(model, AMT_FORMAT, path, metadata, dtype)


def save_regression(model: VideoRegression, path: str | os.PathLike,
                    metadata: dict | None = None) -> Path:
    return _save(model, REGRESSION_FORMAT, path, metadata, torch.float32)

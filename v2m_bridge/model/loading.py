"""Finding the model to use: a user's checkpoint, or the starter model shipped in ``models/``."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from v2m_bridge.errors import CheckpointError
from v2m_bridge.model.amt import AMT
from v2m_bridge.model.checkpoint import load_amt

STARTER_AMT_FILE = "starter_amt.pt"
MODELS_ENV = "V2M_MODELS_DIR"


def models_dirs() -> list[Path]:
    """Where shipped checkpoints are looked for, in order."""
    dirs = []
    if os.environ.get(MODELS_ENV):
        dirs.append(Path(os.environ[MODELS_ENV]))
    package = Path(__file__).resolve().parents[1]
    dirs.append(package / "models_data")  # package data: editable installs and wheels alike
    dirs.append(package.parent / "models")  # a source checkout
    return dirs


def starter_amt_path() -> Path:
    """The shipped starter AMT checkpoint, or a clear error saying where it was looked for."""
    for folder in models_dirs():
        candidate = folder / STARTER_AMT_FILE
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(d / STARTER_AMT_FILE) for d in models_dirs())
    raise CheckpointError(f"no starter model found (looked for {looked}). Pass --checkpoint "
                          f"PATH or set {MODELS_ENV} to the folder that holds {STARTER_AMT_FILE}")


def load_default_amt(device: str | torch.device | None = None) -> AMT:
    """Load the shipped starter AMT (see ``models/README.md`` for what it is and is not)."""
    model = load_amt(starter_amt_path(), device=device)
    model.metadata = {**model.metadata, "starter": True}
    return model


def amt_from_option(checkpoint: str | None, device: str | torch.device | None = None) -> AMT:
    """``--checkpoint PATH`` if given, else the starter model."""
    if checkpoint:
        return load_amt(checkpoint, device=device)
    return load_default_amt(device)

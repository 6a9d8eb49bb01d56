"""The one way to get a chord model for generation: :func:`load_chord_model`.

It takes a user's checkpoint or, without one, the starter model shipped in ``models/``, puts it
on the device :func:`~v2m_bridge.device.pick_device` chooses, and says what users should be told
about it. :func:`~v2m_bridge.model.checkpoint.load_amt` stays the low-level file reader.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from v2m_bridge.device import pick_device
from v2m_bridge.errors import CheckpointError
from v2m_bridge.model.amt import AMT
from v2m_bridge.model.checkpoint import load_amt

STARTER_AMT_FILE = "starter_amt.pt"
MODELS_ENV = "V2M_MODELS_DIR"
STARTER_MODEL_NOTE = ("chords from the v2m-bridge starter model, trained on chord corpora without "
                      "paired video (see models/README.md); not the official Video2Music weights")


@dataclass(frozen=True)
class ChordModel:
    """A loaded AMT plus what users should be told about it."""

    amt: AMT
    label: str  # provenance text: "starter model" or "checkpoint NAME"
    note: str | None  # an honesty message, when the model is not the official one


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


def load_chord_model(checkpoint: str | os.PathLike | None = None,
                     device: str | torch.device | None = None) -> ChordModel:
    """The AMT from ``checkpoint`` (the starter model when empty), in eval mode on ``device``.

    ``device`` None or "auto" picks CUDA, then MPS, then the CPU.
    """
    target = pick_device(device)
    if not checkpoint:
        amt = load_amt(starter_amt_path(), device=target)
        amt.metadata = {**amt.metadata, "starter": True}
        return ChordModel(amt, "starter model", STARTER_MODEL_NOTE)
    amt = load_amt(checkpoint, device=target)
    is_starter = Path(checkpoint).name == STARTER_AMT_FILE or bool(amt.metadata.get("starter"))
    return ChordModel(amt, f"checkpoint {Path(checkpoint).name}",
                      STARTER_MODEL_NOTE if is_starter else None)

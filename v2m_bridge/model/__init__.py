"""The AMT chord model and the bi-GRU dynamics model, official-compatible.

::

    from v2m_bridge.model import load_chord_model, generate_chords
    model = load_chord_model("best_loss_weights.pickle")  # or None: the starter model
    chords = generate_chords(model.amt, ConditioningInputs.from_features(features),
                             GenerationOptions(key=parse_key("D minor"), seed=1))

:func:`load_chord_model` is how every caller gets a model to generate with (checkpoint or
starter model, on the picked device); :func:`load_amt` is the file reader under it.

Names are imported on first use (PEP 562), so ``import v2m_bridge.cli.model`` and the
``v2m-bridge`` command line start without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "AMT": "v2m_bridge.model.amt",
    "AMTConfig": "v2m_bridge.model.config",
    "RegressionConfig": "v2m_bridge.model.config",
    "ConditioningInputs": "v2m_bridge.model.generate",
    "GenerationError": "v2m_bridge.model.generate",
    "GenerationOptions": "v2m_bridge.model.generate",
    "generate_chords": "v2m_bridge.model.generate",
    "sample_next_chord": "v2m_bridge.model.generate",
    "load_amt": "v2m_bridge.model.checkpoint",
    "load_regression": "v2m_bridge.model.checkpoint",
    "save_amt": "v2m_bridge.model.checkpoint",
    "save_regression": "v2m_bridge.model.checkpoint",
    "ChordModel": "v2m_bridge.model.loading",
    "load_chord_model": "v2m_bridge.model.loading",
    "starter_amt_path": "v2m_bridge.model.loading",
    "VideoRegression": "v2m_bridge.model.regression",
}

__all__ = [
    "AMT",
    "AMTConfig",
    "ChordModel",
    "ConditioningInputs",
    "GenerationError",
    "GenerationOptions",
    "RegressionConfig",
    "VideoRegression",
    "generate_chords",
    "load_amt",
    "load_chord_model",
    "load_regression",
    "sample_next_chord",
    "save_amt",
    "save_regression",
    "starter_amt_path",
]

if TYPE_CHECKING:
    from v2m_bridge.model.amt import AMT
    from v2m_bridge.model.checkpoint import load_amt, load_regression, save_amt, save_regression
    from v2m_bridge.model.config import AMTConfig, RegressionConfig
    from v2m_bridge.model.generate import (
        ConditioningInputs,
        GenerationError,
        GenerationOptions,
        generate_chords,
        sample_next_chord,
    )
    from v2m_bridge.model.loading import ChordModel, load_chord_model, starter_amt_path
    from v2m_bridge.model.regression import VideoRegression


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'v2m_bridge.model' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

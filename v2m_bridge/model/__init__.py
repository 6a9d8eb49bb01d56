"""The AMT chord model and the bi-GRU dynamics model, official-compatible.

::

    from v2m_bridge.model import load_chord_model, generate_chords
    model = load_chord_model("best_loss_weights.pickle")  # or None: the starter model
    chords = generate_chords(model.amt, ConditioningInputs.from_features(features),
                             GenerationOptions(key=parse_key("D minor"), seed=1))

:func:`load_chord_model` is how every caller gets a model to generate with (checkpoint or
starter model, on the picked device); :func:`load_amt` is the file reader under it.

Importing this package loads torch; the command line imports it inside its command functions, so
``v2m-bridge --help`` stays instant.
"""

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

"""The AMT chord model and the bi-GRU dynamics model, official-compatible.

::

    from v2m_bridge.model import load_amt, load_regression, generate_chords
    amt = load_amt("best_loss_weights.pickle")      # official file or project checkpoint
    chords = generate_chords(amt, ConditioningInputs.from_features(features),
                             GenerationOptions(key=parse_key("D minor"), seed=1))
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
from v2m_bridge.model.loading import amt_from_option, load_default_amt, starter_amt_path
from v2m_bridge.model.regression import VideoRegression

__all__ = [
    "AMT",
    "AMTConfig",
    "ConditioningInputs",
    "GenerationError",
    "GenerationOptions",
    "RegressionConfig",
    "VideoRegression",
    "amt_from_option",
    "generate_chords",
    "load_amt",
    "load_default_amt",
    "load_regression",
    "sample_next_chord",
    "save_amt",
    "save_regression",
    "starter_amt_path",
]

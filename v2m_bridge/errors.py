"""The one exception family users see.

Every error a user can cause (a bad path, a corrupt checkpoint, an unknown chord) is a
:class:`V2MError` subclass with a message that says what was wrong and what was expected. The CLI
prints these without a traceback; the daemon turns them into ``/v2m/error`` replies.
"""


class V2MError(Exception):
    """Base class for errors caused by input, files or environment, not by a bug."""


class CheckpointError(V2MError, ValueError):
    """A checkpoint file that cannot be read or does not fit the model."""


class FeatureError(V2MError, ValueError):
    """Video features with the wrong shape, type or values (NaN, inf)."""

"""Building OSC messages the same way everywhere (daemon replies, ``send``, tests)."""

from __future__ import annotations

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder


def osc_message(address: str, *args: object) -> OscMessage:
    """An OSC message; floats are always sent as float32 (``f``), other types as python-osc
    infers them (int ``i``, str ``s``)."""
    builder = OscMessageBuilder(address=address)
    for arg in args:
        if isinstance(arg, float):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            builder.add_arg(arg)
    return builder.build()

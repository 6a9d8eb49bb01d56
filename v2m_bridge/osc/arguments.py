"""Checking a request's decoded OSC arguments against the types an address accepts.

A signature is a string of letters, one per argument:

* ``s`` text: an OSC string or liblo's symbol ``S``. In a signature with one ``s``, several
  strings in a row are joined with single spaces (Pure Data's ``[oscformat]`` sends ``D minor``,
  or a path with a space, as two strings);
* ``f`` a number: int or float (Max sends whole numbers as ints), finite and within float32's
  range; always handed on as a :class:`float`;
* ``i`` an integer: an int, a float or double with a whole value (Pd and Max flonums send every
  number as a float), or ``T``/``F`` (1/0, for flags); handed on as an :class:`int`.

:func:`coerce_arguments` returns the arguments converted as listed, or raises
:class:`ArgumentError` with a message that says what the address expects and what it got.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from v2m_bridge.errors import V2MError
from v2m_bridge.osc.parse import type_name

FLOAT32_MAX = 3.4028234663852886e38
MAX_WHOLE_FLOAT = 2.0 ** 53  # beyond it a float cannot say which integer it meant
KIND_NAMES = {"s": "string", "f": "float", "i": "int"}


class ArgumentError(V2MError, ValueError):
    """Arguments that fit none of an address's signatures."""


class _NoMatch(Exception):
    """This argument does not fit this letter (try the next signature)."""


class _OutOfRange(Exception):
    """A number of the right type but not finite or beyond float32 (a clearer error)."""


def _convert(kind: str, value: object) -> object:
    if kind == "s":
        if isinstance(value, str):
            return value
        raise _NoMatch
    if kind == "f":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _NoMatch
        number = float(value)
        if not math.isfinite(number) or abs(number) > FLOAT32_MAX:
            raise _OutOfRange(value)
        return number
    if kind == "i":
        if isinstance(value, int):  # bool too: T/F are 1/0
            return int(value)
        if isinstance(value, float) and math.isfinite(value) and value == int(value) and (
                abs(value) <= MAX_WHOLE_FLOAT):
            return int(value)
        raise _NoMatch
    raise AssertionError(f"unknown OSC signature letter {kind!r}")


def _match(signature: str, args: Sequence[object]) -> tuple | None:
    """The converted arguments if they fit ``signature`` (a lone ``s`` takes all surplus
    strings)."""
    surplus = len(args) - len(signature)
    if surplus > 0 and signature.count("s") == 1:
        position = signature.index("s")
        words = args[position:position + surplus + 1]
        if all(isinstance(word, str) for word in words):
            args = (*args[:position], " ".join(words), *args[position + surplus + 1:])
    if len(signature) != len(args):
        return None
    try:
        return tuple(_convert(kind, value) for kind, value in zip(signature, args, strict=True))
    except _NoMatch:
        return None


def describe(signatures: Sequence[str]) -> str:
    """``(string float) or (string)``: what an address accepts, for error messages."""
    def form(signature: str) -> str:
        if len(signature) > 3 and len(set(signature)) == 1:
            return f"{len(signature)} {KIND_NAMES[signature[0]]}s"
        return " ".join(KIND_NAMES[k] for k in signature) or "no arguments"

    return " or ".join(f"({form(signature)})" for signature in signatures)


def coerce_arguments(signatures: Sequence[str], address: str, args: Sequence[object]) -> tuple:
    """``args`` converted by the first signature they fit; :class:`ArgumentError` if none."""
    out_of_range = None
    for signature in signatures:
        try:
            matched = _match(signature, args)
        except _OutOfRange as err:
            out_of_range = err.args[0]
            continue
        if matched is not None:
            return matched
    if out_of_range is not None:
        raise ArgumentError(f"{address} got {out_of_range!r}; numbers must be finite and within "
                            f"float32's range (±{FLOAT32_MAX:.4g})")
    got = " ".join(type_name(value) for value in args) or "no arguments"
    raise ArgumentError(f"{address} expects {describe(signatures)}, got ({got})")

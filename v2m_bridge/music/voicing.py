"""Chord voicings with smooth voice leading.

Every one of the 13 qualities is voiced from :data:`v2m_bridge.vocab.QUALITY_INTERVALS`, so the
notes are the real chord tones: the official renderer swapped hdim7/dim7, read hdim7 as a dominant
7th, doubled the 2nd/4th of sus chords and dropped 7ths from arpeggios (spec §11.2); none of that
happens here. A voicing is a bass note (the root, low) plus the chord tones in a close position
above it. Between chords, the upper voices move as little as possible while staying near the
register's centre, and the bass takes the octave of the root nearest to the previous bass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from v2m_bridge.errors import V2MError
from v2m_bridge.vocab import QUALITY_INTERVALS, Chord


class RegisterError(V2MError, ValueError):
    """An unknown register name."""


@dataclass(frozen=True)
class Register:
    """Where a voicing sits: the bass range and the centre of the upper voices (MIDI pitches)."""

    name: str
    bass_low: int
    bass_high: int
    upper_centre: int


REGISTERS: dict[str, Register] = {
    "low": Register("low", 31, 45, 55),
    "mid": Register("mid", 36, 50, 63),
    "high": Register("high", 43, 57, 72),
}
DEFAULT_REGISTER = "mid"

# How far the upper voices may stray from the register centre, in semitones.
_UPPER_SPREAD_BELOW = 10
_UPPER_SPREAD_ABOVE = 14
# Cost per semitone of distance between the voicing's mean pitch and the register centre,
# relative to one semitone of voice movement: keeps long progressions from drifting.
_CENTRE_PULL = 0.35
# Cost of starting a piece on an inversion rather than root position.
_FIRST_INVERSION_COST = 1.0


@dataclass(frozen=True)
class Voicing:
    """A voiced chord: bass note and ascending upper voices; both empty for N (no chord)."""

    chord: Chord
    bass: int | None
    upper: tuple[int, ...]

    @property
    def pitches(self) -> tuple[int, ...]:
        """All notes, ascending (bass first)."""
        return self.upper if self.bass is None else (self.bass, *self.upper)

    @property
    def is_silent(self) -> bool:
        return self.bass is None and not self.upper


def get_register(name: str | Register) -> Register:
    if isinstance(name, Register):
        return name
    try:
        return REGISTERS[name]
    except KeyError:
        raise RegisterError(f"unknown register {name!r}; choose one of "
                            f"{', '.join(REGISTERS)}") from None


def _close_positions(chord: Chord) -> list[tuple[int, ...]]:
    """Every inversion of the chord in close position, lowest note in octave 0 (pitch 0..11)."""
    assert chord.root is not None
    classes = [(chord.root + interval) % 12 for interval in QUALITY_INTERVALS[chord.quality]]
    shapes = []
    for inversion in range(len(classes)):
        rotated = classes[inversion:] + classes[:inversion]
        notes = [rotated[0]]
        for pitch_class in rotated[1:]:
            step = (pitch_class - notes[-1]) % 12 or 12
            notes.append(notes[-1] + step)
        shapes.append(tuple(notes))
    return shapes


def _movement(candidate: Sequence[int], previous: Sequence[int]) -> float:
    """Symmetric nearest-note distance between two voicings (works for different sizes)."""
    forward = sum(min(abs(note - other) for other in previous) for note in candidate)
    backward = sum(min(abs(note - other) for other in candidate) for note in previous)
    return (forward + backward) / 2.0


def _upper_candidates(chord: Chord, register: Register, floor: int) -> list[tuple[int, ...]]:
    low = register.upper_centre - _UPPER_SPREAD_BELOW
    high = register.upper_centre + _UPPER_SPREAD_ABOVE
    candidates = []
    for shape in _close_positions(chord):
        for octave in range(0, 11):
            notes = tuple(note + 12 * octave for note in shape)
            if notes[0] >= max(low, floor + 1) and notes[-1] <= high:
                candidates.append(notes)
    return candidates


def _choose_bass(chord: Chord, register: Register, previous_bass: int | None) -> int:
    assert chord.root is not None
    options = [pitch for pitch in range(register.bass_low, register.bass_high + 1)
               if pitch % 12 == chord.root]
    target = previous_bass if previous_bass is not None else (
        register.bass_low + register.bass_high) / 2
    return min(options, key=lambda pitch: (abs(pitch - target), pitch))


def voice_chord(chord: Chord, register: str | Register = DEFAULT_REGISTER,
                previous: Voicing | None = None) -> Voicing:
    """Voice one chord, moving smoothly from ``previous`` when given."""
    reg = get_register(register)
    if chord.is_none:
        return Voicing(chord, None, ())
    has_previous = previous is not None and not previous.is_silent
    bass = _choose_bass(chord, reg, previous.bass if has_previous else None)
    candidates = _upper_candidates(chord, reg, bass)

    def cost(candidate: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
        mean = sum(candidate) / len(candidate)
        value = _CENTRE_PULL * abs(mean - reg.upper_centre)
        if has_previous and previous.upper:
            value += _movement(candidate, previous.upper)
        elif chord.root is not None and candidate[0] % 12 != chord.root:
            value += _FIRST_INVERSION_COST
        return value, candidate  # the tuple breaks ties deterministically

    return Voicing(chord, bass, min(candidates, key=cost))


def voice_progression(chords: Sequence[Chord],
                      register: str | Register = DEFAULT_REGISTER) -> list[Voicing]:
    """Voice a progression; N chords become silent voicings and do not break the leading."""
    reg = get_register(register)
    voicings: list[Voicing] = []
    previous: Voicing | None = None
    for chord in chords:
        voicing = voice_chord(chord, reg, previous)
        voicings.append(voicing)
        if not voicing.is_silent:
            previous = voicing
    return voicings

"""The AMT chord vocabulary, chord-name parsing and the 24 keys.

Ids are exactly the official Video2Music ones (spec §3) so official checkpoints read our tokens:

* chord id: ``0`` = N (no chord), ``13 * (root - 1) + quality`` for root ids 1..12 (C..B, sharps)
  and quality ids 1..13, ``157`` = END, ``158`` = PAD (159 classes);
* root id: 0 = N, 1..12 = C..B, 13 = END, 14 = PAD;
* quality ("attr") id: 0 = N, 1 maj, 2 dim, 3 sus4, 4 min7, 5 min, 6 sus2, 7 aug, 8 dim7,
  9 maj6, 10 hdim7, 11 7, 12 min6, 13 maj7, 14 = END, 15 = PAD.

The model was trained on songs transposed to C major or A minor and only knows the mode; a
:class:`Key` carries the tonic and moves chords and notes between the user's key and that
normalised frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from v2m_bridge.errors import V2MError

QUALITIES: tuple[str, ...] = (
    "maj", "dim", "sus4", "min7", "min", "sus2", "aug",
    "dim7", "maj6", "hdim7", "7", "min6", "maj7",
)  # fmt: skip
"""Quality names in official order: ``QUALITIES[i]`` has quality id ``i + 1``."""

SHARP_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

N_CHORD_ID = 0
END_CHORD_ID = 157
PAD_CHORD_ID = 158
CHORD_VOCAB_SIZE = 159

N_ROOT_ID = 0
END_ROOT_ID = 13
PAD_ROOT_ID = 14
ROOT_VOCAB_SIZE = 15

N_QUALITY_ID = 0
END_QUALITY_ID = 14
PAD_QUALITY_ID = 15
QUALITY_VOCAB_SIZE = 16

QUALITY_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "dim": (0, 3, 6),
    "sus4": (0, 5, 7),
    "min7": (0, 3, 7, 10),
    "min": (0, 3, 7),
    "sus2": (0, 2, 7),
    "aug": (0, 4, 8),
    "dim7": (0, 3, 6, 9),
    "maj6": (0, 4, 7, 9),
    "hdim7": (0, 3, 6, 10),
    "7": (0, 4, 7, 10),
    "min6": (0, 3, 7, 9),
    "maj7": (0, 4, 7, 11),
}
"""Semitones above the root for each quality (the correct chords, not the official voicings)."""

MINOR_FAMILY: frozenset[str] = frozenset({"min", "min7", "min6", "dim", "dim7", "hdim7"})
"""Qualities with a minor third: what "minor-family share" counts in evaluation."""

# How each quality is written back for musicians ("" is the bare root, a major triad).
_QUALITY_SUFFIX: dict[str, str] = {
    "maj": "", "dim": "dim", "sus4": "sus4", "min7": "m7", "min": "m", "sus2": "sus2",
    "aug": "aug", "dim7": "dim7", "maj6": "6", "hdim7": "m7b5", "7": "7", "min6": "m6",
    "maj7": "maj7",
}  # fmt: skip

# Every suffix we accept, after the root, mapped to a quality.
_SUFFIX_TO_QUALITY: dict[str, str] = {
    "": "maj", "maj": "maj", "M": "maj", "major": "maj",
    "m": "min", "min": "min", "-": "min", "minor": "min",
    "dim": "dim", "o": "dim", "°": "dim",
    "aug": "aug", "+": "aug", "+5": "aug", "#5": "aug",
    "sus4": "sus4", "sus": "sus4", "sus2": "sus2",
    "7": "7", "dom7": "7",
    "maj7": "maj7", "M7": "maj7", "ma7": "maj7", "Δ": "maj7", "Δ7": "maj7", "^7": "maj7",
    "m7": "min7", "min7": "min7", "-7": "min7",
    "dim7": "dim7", "o7": "dim7", "°7": "dim7",
    "m7b5": "hdim7", "min7b5": "hdim7", "-7b5": "hdim7", "ø": "hdim7", "ø7": "hdim7",
    "hdim7": "hdim7", "hdim": "hdim7",
    "6": "maj6", "maj6": "maj6", "M6": "maj6",
    "m6": "min6", "min6": "min6", "-6": "min6",
}  # fmt: skip

_ACCIDENTALS = {"#": 1, "♯": 1, "b": -1, "♭": -1}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ROOT_RE = re.compile(r"^([A-Ga-g])([#♯b♭]*)(.*)$")

ACCEPTED_CHORD_FORMS = (
    "C, Cmaj, CM (major); Am, Amin, A- (minor); C7; Cmaj7, CM7, CΔ; Am7, A-7; Cdim, Co; "
    "Cdim7, Co7; Bm7b5, Bø (half-diminished); Caug, C+; Csus2; Csus4, Csus; C6; Cm6; "
    "Harte labels such as C:min7, A:hdim7; N for no chord; flats and sharps (Bb, F#); "
    "a slash bass (C/E) is accepted and dropped"
)


class ChordError(V2MError, ValueError):
    """A chord name or id that is not in the AMT vocabulary."""


class KeyNameError(V2MError, ValueError):
    """A key name that is not one of the 24 major and minor keys."""


def pitch_class_name(pitch_class: int, flats: bool = False) -> str:
    """Spell a pitch class 0..11 with sharps (default) or flats."""
    return (FLAT_NAMES if flats else SHARP_NAMES)[pitch_class % 12]


def _parse_root(text: str, whole: str) -> tuple[int, str]:
    match = _ROOT_RE.match(text)
    if not match:
        raise ChordError(f"unknown chord {whole!r}: a chord starts with a root letter A-G. "
                         f"Accepted forms: {ACCEPTED_CHORD_FORMS}")
    letter, accidentals, rest = match.groups()
    # "Bb" is B-flat, but in "Ebm" the accidental run is "b" then "m": only b/#/♯/♭ are consumed.
    pitch = _LETTERS[letter.upper()] + sum(_ACCIDENTALS[a] for a in accidentals)
    return pitch % 12, rest


@dataclass(frozen=True)
class Chord:
    """One vocabulary entry: a root pitch class and a quality, or no chord (``root is None``)."""

    root: int | None
    quality: str = "maj"

    def __post_init__(self) -> None:
        if self.root is None:
            object.__setattr__(self, "quality", "N")
            return
        if not 0 <= self.root <= 11:
            raise ChordError(f"chord root must be a pitch class 0..11, got {self.root}")
        if self.quality not in QUALITY_INTERVALS:
            raise ChordError(f"unknown chord quality {self.quality!r}; known: "
                             f"{', '.join(QUALITIES)}")

    @property
    def is_none(self) -> bool:
        return self.root is None

    @property
    def id(self) -> int:
        """Official chord id 0..156."""
        if self.root is None:
            return N_CHORD_ID
        return 13 * self.root + QUALITIES.index(self.quality) + 1

    @property
    def root_id(self) -> int:
        return N_ROOT_ID if self.root is None else self.root + 1

    @property
    def quality_id(self) -> int:
        """Official "attr" id. A plain major chord is 1 (the official primer wrongly used 0)."""
        return N_QUALITY_ID if self.root is None else QUALITIES.index(self.quality) + 1

    @property
    def symbol(self) -> str:
        """Official dataset symbol: ``"C"``, ``"A:min"``, ``"G:7"``, ``"N"``."""
        if self.root is None:
            return "N"
        root = SHARP_NAMES[self.root]
        return root if self.quality == "maj" else f"{root}:{self.quality}"

    def name(self, flats: bool = False) -> str:
        """The chord as musicians write it: ``"Am7"``, ``"Bbmaj7"`` (with ``flats``), ``"N"``."""
        if self.root is None:
            return "N"
        return pitch_class_name(self.root, flats) + _QUALITY_SUFFIX[self.quality]

    def pitch_classes(self) -> tuple[int, ...]:
        """Pitch classes of the chord tones, root first; empty for N."""
        if self.root is None:
            return ()
        return tuple((self.root + i) % 12 for i in QUALITY_INTERVALS[self.quality])

    def transpose(self, semitones: int) -> Chord:
        if self.root is None:
            return self
        return Chord((self.root + semitones) % 12, self.quality)

    def __str__(self) -> str:
        return self.name()


NO_CHORD = Chord(None)


def parse_chord(text: str) -> Chord:
    """Parse a chord name as musicians write it, or an official/Harte symbol.

    Raises:
        ChordError: the name is not in the vocabulary; the message lists the accepted forms.
    """
    if not isinstance(text, str):
        raise ChordError(f"a chord name must be a string, got {type(text).__name__}")
    name = text.strip()
    if name.upper() in {"N", "NC", "N.C.", "X"}:
        return NO_CHORD
    if "/" in name:  # slash bass: the vocabulary has no inversions
        name = name.split("/", 1)[0]
    root, rest = _parse_root(name, text)
    if rest.startswith(":"):  # Harte / official: "A:min7", "C:maj"
        harte = rest[1:]
        quality = harte if harte in QUALITY_INTERVALS else _SUFFIX_TO_QUALITY.get(harte)
    else:
        quality = _SUFFIX_TO_QUALITY.get(rest)
    if quality is None:
        raise ChordError(f"unknown chord {text!r}. Accepted forms: {ACCEPTED_CHORD_FORMS}")
    return Chord(root, quality)


def parse_chords(text: str) -> list[Chord]:
    """Parse a whitespace- or comma-separated progression such as ``"C Am F G"``."""
    return [parse_chord(token) for token in re.split(r"[\s,]+", text.strip()) if token]


def chord_from_id(chord_id: int) -> Chord:
    """Inverse of :attr:`Chord.id` for ids 0..156."""
    chord_id = int(chord_id)
    if chord_id == N_CHORD_ID:
        return NO_CHORD
    if not 1 <= chord_id <= 156:
        raise ChordError(f"chord id {chord_id} is not a chord (0 = N, 1..156 chords, 157 END, "
                         "158 PAD)")
    root, quality = divmod(chord_id - 1, 13)
    return Chord(root, QUALITIES[quality])


def chord_from_tokens(root_id: int, quality_id: int) -> Chord:
    """Chord from official (root id, quality id); quality 0 with a real root reads as major."""
    if root_id == N_ROOT_ID:
        return NO_CHORD
    if not 1 <= root_id <= 12 or not 0 <= quality_id <= 13:
        raise ChordError(f"(root id {root_id}, quality id {quality_id}) is not a chord")
    return Chord(root_id - 1, QUALITIES[max(quality_id, 1) - 1])


# --------------------------------------------------------------------------------------------
# Keys

_KEY_RE = re.compile(
    r"^\s*([A-Ga-g][#♯b♭]?)\s*(?::|\s)?\s*(major|minor|maj|min|m|M)?\s*$",
)


@dataclass(frozen=True)
class Key:
    """A major or minor key: tonic pitch class and mode."""

    tonic: int
    mode: str  # "major" or "minor"

    def __post_init__(self) -> None:
        if self.mode not in ("major", "minor"):
            raise KeyNameError(f"key mode must be 'major' or 'minor', got {self.mode!r}")
        object.__setattr__(self, "tonic", self.tonic % 12)

    @property
    def is_minor(self) -> bool:
        return self.mode == "minor"

    @property
    def mode_value(self) -> float:
        """The AMT's key input: 0.0 major, 1.0 minor."""
        return 1.0 if self.is_minor else 0.0

    @property
    def prefers_flats(self) -> bool:
        """Whether this key's signature is written with flats (F, Bb, ... / D, G, ... minor)."""
        major_tonic = (self.tonic + 3) % 12 if self.is_minor else self.tonic
        return major_tonic in {5, 10, 3, 8, 1, 6}  # F Bb Eb Ab Db Gb

    @property
    def semitones_from_normalised(self) -> int:
        """Semitones from C major / A minor to this key, in -7..+4 (the official table).

        The official range keeps transposed notes near the register the model's voicings use.
        """
        offset = (self.tonic - (9 if self.is_minor else 0)) % 12
        return offset - 12 if offset > 4 else offset

    def to_normalised(self, chord: Chord) -> Chord:
        """Move a chord written in this key to the C major / A minor frame the model uses."""
        return chord.transpose(-self.semitones_from_normalised)

    def from_normalised(self, chord: Chord) -> Chord:
        """Move a model chord (C major / A minor frame) into this key."""
        return chord.transpose(self.semitones_from_normalised)

    @property
    def name(self) -> str:
        return f"{pitch_class_name(self.tonic, self.prefers_flats)} {self.mode}"

    @property
    def mido_name(self) -> str:
        """Key name as a MIDI key-signature meta message wants it (``"Bb"``, ``"F#m"``)."""
        return pitch_class_name(self.tonic, self.prefers_flats) + ("m" if self.is_minor else "")

    def __str__(self) -> str:
        return self.name


C_MAJOR = Key(0, "major")
A_MINOR = Key(9, "minor")


def parse_key(text: str) -> Key:
    """Parse ``"D minor"``, ``"Bb major"``, ``"F#m"``, ``"Dm"``, ``"C"``, ``"Eb:min"``.

    A bare tonic means major. Raises :class:`KeyNameError` with the accepted forms.
    """
    if not isinstance(text, str):
        raise KeyNameError(f"a key name must be a string, got {type(text).__name__}")
    match = _KEY_RE.match(text)
    if not match:
        raise KeyNameError(f"unknown key {text!r}. Write a tonic A-G with an optional # or b and "
                           "a mode: 'D minor', 'Bb major', 'F#m', 'Dm', 'C' (major), 'Eb:min'")
    tonic_text, mode_text = match.groups()
    tonic, _ = _parse_root(tonic_text[0].upper() + tonic_text[1:], text)
    minor = mode_text in ("minor", "min", "m")
    return Key(tonic, "minor" if minor else "major")


ALL_KEYS: tuple[Key, ...] = tuple(Key(t, m) for m in ("major", "minor") for t in range(12))

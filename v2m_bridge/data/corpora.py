"""POP909 and McGill Billboard → per-second chord sequences in the AMT vocabulary.

Both corpora ship timed Harte labels (``start <TAB> end <TAB> label``). Following their READMEs
(``shared/data/corpora/*/README.md``):

* the chord of second ``t`` is the label sounding at ``t + 0.5`` s;
* labels are reduced to the 13 official qualities: the bass after ``/`` and the extensions in
  parentheses are dropped, 9/11/13 chords become their 7th chords, ``minmaj7`` becomes ``min``,
  Billboard's power chord ``5`` and bass-only ``1`` become ``maj`` and ``X`` becomes ``N``;
* every second is transposed so that its key lands on C major or A minor (the ``lab_v2_norm``
  frame). POP909 gives keys with a mode; Billboard gives only the tonic, so the mode of each tonic
  region is inferred from the chords with Krumhansl–Kessler key profiles.

Each song also carries phrase starts (Billboard: its human-timed phrase lines and section labels;
POP909: every fourth downbeat), which :mod:`.conditioning` turns into scene cuts.
"""

from __future__ import annotations

import bisect
import math
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2m_bridge.errors import V2MError
from v2m_bridge.vocab import NO_CHORD, Chord, Key, KeyNameError, parse_key

KEPT_QUALITIES = frozenset(
    {"maj", "min", "dim", "aug", "sus2", "sus4", "7", "maj7", "min7", "dim7", "hdim7", "maj6",
     "min6"}
)
REDUCED_QUALITIES: dict[str, str] = {
    "maj9": "maj7", "maj11": "maj7", "maj13": "maj7",
    "min9": "min7", "min11": "min7", "min13": "min7",
    "9": "7", "11": "7", "13": "7",
    "minmaj7": "min",
    "5": "maj", "1": "maj",
}  # fmt: skip
"""Shorthands outside the vocabulary and the quality each one is reduced to (README rules)."""

_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ROOT_RE = re.compile(r"^([A-G])([#b]*)$")

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


class CorpusError(V2MError, ValueError):
    """A corpus folder or annotation file that cannot be read as documented."""


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    label: str


@dataclass(frozen=True)
class SongChords:
    """One song, one chord per second, in the C major / A minor frame."""

    song_id: str  # e.g. "pop909-001", "billboard-0003"
    group: str  # songs with the same group (duplicates) always land in the same split
    chords: tuple[Chord, ...]
    mode: str  # "major" or "minor": the key input the model gets
    phrase_starts: tuple[int, ...]  # seconds where a phrase starts
    section_starts: tuple[int, ...] = ()  # seconds where a labelled section starts

    @property
    def key_line(self) -> str:
        return f"key {'C major' if self.mode == 'major' else 'A minor'}"


# ---------------------------------------------------------------------------------------------
# Labels


def _root_pitch(text: str, label: str) -> int:
    match = _ROOT_RE.match(text)
    if not match:
        raise CorpusError(f"chord label {label!r}: root {text!r} is not a note name A-G with "
                          "optional # or b")
    letter, accidentals = match.groups()
    return (_LETTERS[letter] + accidentals.count("#") - accidentals.count("b")) % 12


def _quality_from_intervals(intervals: list[str]) -> str:
    """Quality of a Harte chord written only as an interval list, e.g. ``C:(b3,b7)``."""
    has = set(intervals)
    if "b3" in has:
        if "b5" in has:
            return "hdim7" if "b7" in has else ("dim7" if "bb7" in has else "dim")
        return "min7" if "b7" in has else "min"
    if "3" in has and "7" in has:
        return "maj7"
    if "b7" in has:
        return "7"
    return "maj"


def map_harte_label(label: str) -> Chord:
    """Map one Harte label from POP909 or Billboard to the AMT vocabulary.

    Examples: ``A:min7/b3`` → A:min7, ``C:9`` → C:7, ``E:5`` → E, ``Ab:maj(9)`` → G#,
    ``X`` → N.

    Raises:
        CorpusError: the label is not Harte syntax or its shorthand is unknown.
    """
    text = label.strip()
    if text in {"N", "X", ""}:
        return NO_CHORD
    text = text.split("/", 1)[0]
    root_text, _, quality_text = text.partition(":")
    root = _root_pitch(root_text, label)
    if not quality_text:
        return Chord(root, "maj")  # a bare root is a major triad in Harte syntax
    shorthand, _, extensions = quality_text.partition("(")
    if not shorthand:
        intervals = [part.strip() for part in extensions.rstrip(")").split(",")]
        return Chord(root, _quality_from_intervals(intervals))
    if shorthand in KEPT_QUALITIES:
        return Chord(root, shorthand)
    if shorthand in REDUCED_QUALITIES:
        return Chord(root, REDUCED_QUALITIES[shorthand])
    raise CorpusError(f"chord label {label!r}: unknown quality {shorthand!r}")


# ---------------------------------------------------------------------------------------------
# Timed files


def read_timed_labels(path: Path) -> list[Segment]:
    """Read a ``start <TAB> end <TAB> label`` file; blank lines are skipped.

    Segments that end before they start are dropped: one Billboard file (0974) ends with a run of
    such segments counting down to 0 s, an annotation slip rather than music.

    Raises:
        CorpusError: naming the file and line, for a line that is not two numbers and a label.
    """
    segments = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        try:
            start, end = float(parts[0]), float(parts[1])
            label = parts[2].strip()
        except (IndexError, ValueError):
            raise CorpusError(f"{path}:{number}: expected 'start<TAB>end<TAB>label', got "
                              f"{line!r}") from None
        if not (math.isfinite(start) and math.isfinite(end)):
            raise CorpusError(f"{path}:{number}: segment times must be finite, got {line!r}")
        if end < start:
            continue
        segments.append(Segment(start, end, label))
    if not segments:
        raise CorpusError(f"{path}: no chord segments")
    return segments


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorpusError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise CorpusError(f"{path}: not UTF-8 text ({err.reason})") from None


def label_at_seconds(segments: list[Segment], n_seconds: int | None = None) -> list[str]:
    """The label sounding at ``t + 0.5`` for ``t = 0 .. n_seconds - 1`` (N outside segments).

    ``n_seconds`` defaults to ``floor`` of the last segment's end.
    """
    ordered = sorted(segments, key=lambda s: s.start)
    starts = [s.start for s in ordered]
    if n_seconds is None:
        n_seconds = math.floor(max(s.end for s in ordered))
    labels = []
    for second in range(n_seconds):
        instant = second + 0.5
        index = bisect.bisect_right(starts, instant) - 1
        if index >= 0 and ordered[index].end > instant:
            labels.append(ordered[index].label)
        else:
            labels.append("N")
    return labels


def first_second_at_or_after(time_s: float) -> int:
    """The first second whose sample point (``t + 0.5``) is at or after ``time_s``."""
    return max(0, math.ceil(time_s - 0.5))


# ---------------------------------------------------------------------------------------------
# Keys


def infer_mode(chords: list[Chord], tonic: int) -> str:
    """``"major"`` or ``"minor"`` for a known tonic, from a chord-tone histogram.

    Each chord adds its chord tones to a pitch-class histogram (one count per second); the mode
    whose Krumhansl–Kessler profile, rotated to the tonic, correlates better wins. Ties and songs
    without chords count as major.
    """
    histogram = np.zeros(12)
    for chord in chords:
        for pitch_class in chord.pitch_classes():
            histogram[pitch_class] += 1.0
    if not histogram.any():
        return "major"
    rotated = np.roll(histogram, -tonic)
    major = np.corrcoef(rotated, _MAJOR_PROFILE)[0, 1]
    minor = np.corrcoef(rotated, _MINOR_PROFILE)[0, 1]
    return "minor" if minor > major else "major"


def normalise_to_key(chords: list[Chord], keys: list[Key]) -> list[Chord]:
    """Transpose each second's chord by that second's key into C major / A minor."""
    if len(chords) != len(keys):
        raise ValueError(f"{len(chords)} chords but {len(keys)} keys")
    return [key.to_normalised(chord) for chord, key in zip(chords, keys, strict=True)]


def dominant_mode(keys: list[Key]) -> str:
    """The mode that covers most seconds (major on a tie)."""
    minor_seconds = sum(key.is_minor for key in keys)
    return "minor" if minor_seconds > len(keys) - minor_seconds else "major"


# ---------------------------------------------------------------------------------------------
# POP909


def read_pop909_song(song_dir: Path, bars_per_phrase: int = 4) -> SongChords:
    """Read one ``POP909/NNN`` folder: ``chord_audio.txt``, ``key_audio.txt`` and
    ``beat_audio.txt``."""
    segments = read_timed_labels(song_dir / "chord_audio.txt")
    labels = label_at_seconds(segments)
    chords = [_map_with_context(label, song_dir / "chord_audio.txt") for label in labels]
    keys = _pop909_keys(song_dir / "key_audio.txt", len(chords))
    downbeats = _pop909_downbeats(song_dir / "beat_audio.txt")
    phrase_starts = sorted({first_second_at_or_after(t) for t in downbeats[::bars_per_phrase]
                            if first_second_at_or_after(t) < len(chords)})
    return SongChords(
        song_id=f"pop909-{song_dir.name}",
        group=f"pop909-{song_dir.name}",
        chords=tuple(normalise_to_key(chords, keys)),
        mode=dominant_mode(keys),
        phrase_starts=tuple(phrase_starts),
    )


def _map_with_context(label: str, path: Path) -> Chord:
    try:
        return map_harte_label(label)
    except CorpusError as err:
        raise CorpusError(f"{path}: {err}") from None


def _pop909_keys(path: Path, n_seconds: int) -> list[Key]:
    segments = read_timed_labels(path)
    try:
        parsed = [(s.start, s.end, parse_key(s.label)) for s in segments]
    except KeyNameError as err:
        raise CorpusError(f"{path}: {err}") from None
    parsed.sort(key=lambda item: item[0])
    keys = []
    for second in range(n_seconds):
        instant = second + 0.5
        current = parsed[0][2]  # before the first key segment: the first key
        for start, _end, key in parsed:
            if start <= instant:
                current = key
        keys.append(current)
    return keys


def _pop909_downbeats(path: Path) -> list[float]:
    downbeats = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            time_s, beat = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            raise CorpusError(f"{path}:{number}: expected 'time<TAB>beat index', got "
                              f"{line!r}") from None
        if beat == 1.0:
            downbeats.append(time_s)
    return downbeats


def iter_pop909(root: Path) -> Iterator[SongChords]:
    """Every song under ``root`` (the corpus folder or its ``POP909`` sub-folder), in id order."""
    base = root / "POP909" if (root / "POP909").is_dir() else root
    song_dirs = sorted(p for p in _list_dir(base) if p.is_dir() and p.name.isdigit())
    if not song_dirs:
        raise CorpusError(f"{root}: no POP909 song folders (NNN/chord_audio.txt) found")
    for song_dir in song_dirs:
        yield read_pop909_song(song_dir)


def _list_dir(path: Path) -> list[Path]:
    if not path.is_dir():
        raise CorpusError(f"{path}: not a folder")
    return list(path.iterdir())


# ---------------------------------------------------------------------------------------------
# McGill Billboard

_SECTION_RE = re.compile(r"^[A-Z]'*\s*,")


@dataclass(frozen=True)
class _SalamiInfo:
    title: str
    artist: str
    tonics: list[tuple[float, int]]  # (time from which the tonic holds, pitch class)
    phrase_times: list[float]
    section_times: list[float]


def _read_salami(path: Path) -> _SalamiInfo:
    headers: dict[str, str] = {}
    tonics: list[tuple[float, int]] = []
    phrase_times: list[float] = []
    section_times: list[float] = []
    pending_tonic: int | None = None
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            name, _, value = line[1:].partition(":")
            name, value = name.strip(), value.strip()
            headers.setdefault(name, value)
            if name == "tonic":
                try:
                    pending_tonic = _root_pitch(value, value)
                except CorpusError:
                    raise CorpusError(f"{path}:{number}: bad tonic {value!r}") from None
            continue
        time_text, _, rest = line.partition("\t")
        try:
            time_s = float(time_text)
        except ValueError:
            raise CorpusError(f"{path}:{number}: expected '<time><TAB>...', got {line!r}") from None
        if pending_tonic is not None:
            tonics.append((time_s if tonics else 0.0, pending_tonic))
            pending_tonic = None
        if "|" in rest:
            phrase_times.append(time_s)
            if _SECTION_RE.match(rest):
                section_times.append(time_s)
    if not tonics:
        raise CorpusError(f"{path}: no '# tonic:' line")
    return _SalamiInfo(headers.get("title", ""), headers.get("artist", ""), tonics, phrase_times,
                       section_times)


def read_billboard_song(lab_path: Path, salami_path: Path) -> SongChords:
    """Read one Billboard song from its ``full.lab`` and ``salami_chords.txt``."""
    segments = read_timed_labels(lab_path)
    chords = [_map_with_context(label, lab_path) for label in label_at_seconds(segments)]
    info = _read_salami(salami_path)
    n = len(chords)
    region_starts = [first_second_at_or_after(t) for t, _ in info.tonics]
    region_starts[0] = 0
    keys: list[Key] = []
    for index, (start, (_, tonic)) in enumerate(zip(region_starts, info.tonics, strict=True)):
        end = region_starts[index + 1] if index + 1 < len(region_starts) else n
        if end <= start:
            continue
        mode = infer_mode(chords[start:end], tonic)
        keys.extend([Key(tonic, mode)] * (min(end, n) - start))
    keys = keys[:n] + [keys[-1] if keys else Key(0, "major")] * max(0, n - len(keys))
    group = f"billboard-{info.title.lower().strip()}|{info.artist.lower().strip()}"
    return SongChords(
        song_id=f"billboard-{lab_path.parent.name}",
        group=group if info.title else f"billboard-{lab_path.parent.name}",
        chords=tuple(normalise_to_key(chords, keys)),
        mode=dominant_mode(keys),
        phrase_starts=_seconds(info.phrase_times, n),
        section_starts=_seconds(info.section_times, n),
    )


def _seconds(times: list[float], n_seconds: int) -> tuple[int, ...]:
    return tuple(sorted({s for s in map(first_second_at_or_after, times) if s < n_seconds}))


def iter_billboard(root: Path) -> Iterator[SongChords]:
    """Every annotated Billboard song under the corpus folder ``root``, in id order."""
    lab_root = root / "billboard-2.0.1-lab"
    salami_root = root / "billboard-2.0-salami_chords"
    if not lab_root.is_dir() or not salami_root.is_dir():
        raise CorpusError(f"{root}: expected the folders billboard-2.0.1-lab/ and "
                          "billboard-2.0-salami_chords/ (McGill Billboard 2.0)")
    song_dirs = sorted(p for p in lab_root.iterdir() if (p / "full.lab").is_file())
    if not song_dirs:
        raise CorpusError(f"{lab_root}: no NNNN/full.lab files")
    for song_dir in song_dirs:
        yield read_billboard_song(song_dir / "full.lab",
                                  salami_root / song_dir.name / "salami_chords.txt")


# ---------------------------------------------------------------------------------------------
# Splits


def split_of(group: str, val_share: float = 0.05, test_share: float = 0.05) -> str:
    """``"train"``, ``"val"`` or ``"test"``: a stable hash of the song group, so duplicates of a
    song never straddle splits and the split does not depend on which songs are present."""
    bucket = zlib.crc32(group.encode("utf-8")) % 10_000 / 10_000
    if bucket < val_share:
        return "val"
    if bucket < val_share + test_share:
        return "test"
    return "train"

"""The PIANO track of a POP909 song in beats, with its bar lines and chords.

POP909 (MIT, Music X Lab; see ``shared/data/corpora/pop909/README.md``) ships each song's hand-made
arrangement (``NNN/NNN.mid``: MELODY, BRIDGE and PIANO tracks) with its beats in MIDI time
(``beat_midi.txt``: time, beat flag, downbeat flag) and the arrangement's chords
(``chord_midi.txt``). The PIANO track is a professional accompaniment: what
:mod:`v2m_bridge.music.texture_figures` measures our renders against and what the texture
patterns are learned from. Note times go ticks → seconds (the file's tempo events) → beats
(interpolated between the beat file's beats), so a rubato or a tempo change is followed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from v2m_bridge.data.corpora import CorpusError, map_harte_label, read_timed_labels, split_of
from v2m_bridge.music.texture_figures import BeatNote
from v2m_bridge.vocab import Chord

PIANO_TRACK = "PIANO"


@dataclass(frozen=True)
class ChordInBeats:
    start: float
    end: float
    chord: Chord


@dataclass(frozen=True)
class PianoPart:
    """One song's PIANO track: notes, bar lines and chords, all in beats from the first beat."""

    song: str  # "001"
    notes: tuple[BeatNote, ...]
    downbeats: tuple[float, ...]
    chords: tuple[ChordInBeats, ...]
    beats_per_bar: int  # the most common bar length in the beat file

    @property
    def chord_changes(self) -> list[float]:
        return [c.start for i, c in enumerate(self.chords)
                if i > 0 and c.chord != self.chords[i - 1].chord]


def _tick_seconds(midi: mido.MidiFile) -> Callable[[float], float]:
    """A function ticks → seconds under the file's tempo events (any track)."""
    changes: dict[int, int] = {}
    for track in midi.tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "set_tempo":
                changes[now] = message.tempo
    points = sorted(changes.items()) or [(0, 500_000)]
    if points[0][0] != 0:
        points.insert(0, (0, 500_000))
    ticks = np.array([p[0] for p in points], dtype=np.float64)
    tempos = np.array([p[1] for p in points], dtype=np.float64) / 1e6 / midi.ticks_per_beat
    seconds = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * tempos[:-1])])

    def convert(tick: float) -> float:
        index = int(np.searchsorted(ticks, tick, side="right") - 1)
        return float(seconds[index] + (tick - ticks[index]) * tempos[index])
    return convert


def _piano_notes_seconds(path: Path) -> list[tuple[float, float, int, int]]:
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise CorpusError(f"{path}: not a readable MIDI file: {err}") from err
    to_seconds = _tick_seconds(midi)
    tracks = [t for t in midi.tracks if t.name.strip().upper() == PIANO_TRACK]
    if not tracks:
        raise CorpusError(f"{path}: no track named {PIANO_TRACK}")
    notes, sounding, now = [], {}, 0
    for message in tracks[0]:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            sounding[message.note] = (now, message.velocity)
        elif message.type in ("note_on", "note_off") and message.note in sounding:
            start, velocity = sounding.pop(message.note)
            if now > start:
                notes.append((to_seconds(start), to_seconds(now), message.note, velocity))
    return sorted(notes)


def _beats(path: Path) -> tuple[np.ndarray, list[int]]:
    times, downbeat_indices = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            times.append(float(parts[0]))
            if float(parts[2]) == 1.0:
                downbeat_indices.append(len(times) - 1)
        except (IndexError, ValueError):
            raise CorpusError(f"{path}:{number}: expected 'time beat downbeat'") from None
    if len(times) < 2:
        raise CorpusError(f"{path}: fewer than two beats")
    return np.array(times), downbeat_indices


def _to_beats(times: np.ndarray, beat_times: np.ndarray) -> np.ndarray:
    """Seconds → beats, linear between the beat file's beats and beyond its ends."""
    index = np.arange(beat_times.size, dtype=np.float64)
    inside = np.interp(times, beat_times, index)
    before = (times - beat_times[0]) / (beat_times[1] - beat_times[0])
    after = index[-1] + (times - beat_times[-1]) / (beat_times[-1] - beat_times[-2])
    return np.where(times < beat_times[0], before, np.where(times > beat_times[-1], after, inside))


def read_piano_part(song_dir: Path) -> PianoPart:
    """Read ``NNN/NNN.mid`` (its PIANO track), ``beat_midi.txt`` and ``chord_midi.txt``."""
    song = song_dir.name
    notes = _piano_notes_seconds(song_dir / f"{song}.mid")
    beat_times, downbeat_indices = _beats(song_dir / "beat_midi.txt")
    if not notes:
        raise CorpusError(f"{song_dir}: the PIANO track has no notes")
    starts = _to_beats(np.array([n[0] for n in notes]), beat_times)
    ends = _to_beats(np.array([n[1] for n in notes]), beat_times)
    beat_notes = tuple(BeatNote(float(s), float(e), p, v)
                       for s, e, (_, _, p, v) in zip(starts, ends, notes, strict=True) if e > s)
    segments = read_timed_labels(song_dir / "chord_midi.txt")
    seg_starts = _to_beats(np.array([s.start for s in segments]), beat_times)
    seg_ends = _to_beats(np.array([s.end for s in segments]), beat_times)
    chords = tuple(ChordInBeats(float(a), float(b), map_harte_label(s.label))
                   for a, b, s in zip(seg_starts, seg_ends, segments, strict=True))
    lengths = np.diff(downbeat_indices)
    beats_per_bar = int(np.bincount(lengths).argmax()) if lengths.size else 4
    return PianoPart(song, beat_notes, tuple(float(i) for i in downbeat_indices), chords,
                     beats_per_bar)


def song_dirs(root: Path, split: str) -> list[Path]:
    """The POP909 song folders of one split (``"train"``, ``"val"`` or ``"test"``; the same
    hashed split as :func:`v2m_bridge.data.corpora.split_of` uses for the chord model)."""
    base = root / "POP909" if (root / "POP909").is_dir() else root
    if not base.is_dir():
        raise CorpusError(f"{root}: not a folder")
    return sorted(p for p in base.iterdir() if p.is_dir() and p.name.isdigit()
                  and (p / f"{p.name}.mid").is_file() and split_of(f"pop909-{p.name}") == split)

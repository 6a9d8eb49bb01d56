"""MusicXML with real chord symbols, for notation programs (MuseScore, Dorico, Sibelius).

A MIDI file cannot carry a chord symbol: its chord names are markers or lyrics at best. This
writes the chord track as a MusicXML part, with one ``<harmony>`` chord symbol (root and kind,
so a notation program shows it in its own chord style and can transpose it) at every chord
change, over the chord the file plays, written on a sixteenth-note grid of the composition's
tempo. "N" (no chord) is a rest under a "N.C." symbol. Tempo, metre and key come along.

It needs music21 (``pip install "v2m-bridge[notation]"``); :mod:`v2m_bridge.cli.render` imports
this module only for ``render --musicxml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from music21 import chord, harmony, key, metadata, meter, note, pitch, stream, tempo

from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.events import CHORDS_CHANNEL
from v2m_bridge.output.paths import atomic_output, check_output_path
from v2m_bridge.vocab import QUALITY_INTERVALS, Chord

GRID_QL = 0.25  # a sixteenth note, in quarter lengths
CHORDS_PART_NAME = "V2M Chords"

# vocabulary quality -> music21's chord-symbol kind (the MusicXML <kind> values, music21 spelling)
KINDS = {
    "maj": "major", "min": "minor", "dim": "diminished", "aug": "augmented",
    "sus2": "suspended-second", "sus4": "suspended-fourth", "7": "dominant-seventh",
    "maj7": "major-seventh", "min7": "minor-seventh", "dim7": "diminished-seventh",
    "hdim7": "half-diminished-seventh", "maj6": "major-sixth", "min6": "minor-sixth",
}
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")


@dataclass(frozen=True)
class ChordChange:
    start: float  # seconds
    end: float
    chord: Chord
    name: str


def chord_changes(composition: Composition) -> list[ChordChange]:
    """Consecutive spans of the same chord joined: one entry per chord change."""
    changes: list[ChordChange] = []
    for span in composition.chord_spans:
        name = composition.chord_name(span)
        if changes and changes[-1].name == name:
            changes[-1] = ChordChange(changes[-1].start, span.end, span.chord, name)
        else:
            changes.append(ChordChange(span.start, span.end, span.chord, name))
    return changes


def chord_symbol(value: Chord, flats: bool) -> harmony.Harmony:
    if value.root is None:
        return harmony.NoChord()
    names = _FLAT_NAMES if flats else _SHARP_NAMES
    return harmony.ChordSymbol(root=pitch.Pitch(names[value.root]), kind=KINDS[value.quality])


def _quarters(seconds: float, bpm: float) -> float:
    return round(seconds * bpm / 60.0 / GRID_QL) * GRID_QL


def composition_to_score(composition: Composition) -> stream.Score:
    bpm = composition.tempo_bpm
    flats = composition.key.prefers_flats
    score = stream.Score()
    score.metadata = metadata.Metadata()
    video = composition.provenance.facts.get("video")
    score.metadata.title = f"{video}" if video else "v2m-bridge"
    score.metadata.composer = "v2m-bridge"
    part = stream.Part()
    part.partName = CHORDS_PART_NAME
    part.insert(0, tempo.MetronomeMark(number=bpm))
    part.insert(0, meter.TimeSignature(f"{composition.grid.beats_per_bar}/4"))
    part.insert(0, key.Key((_FLAT_NAMES if flats else _SHARP_NAMES)[composition.key.tonic],
                           composition.key.mode))
    chord_notes = [e for e in composition.events if e.channel == CHORDS_CHANNEL]
    end_ql = max(_quarters(composition.duration, bpm), GRID_QL)
    previous_ql = -GRID_QL
    for change in chord_changes(composition):
        # never two changes on one grid step: each change keeps its own symbol
        offset = max(_quarters(change.start, bpm), previous_ql + GRID_QL)
        if offset >= end_ql:
            break
        previous_ql = offset
        part.insert(offset, chord_symbol(change.chord, flats))
    offsets = [h.offset for h in part.getElementsByClass(harmony.Harmony)]
    for index, change in enumerate(chord_changes(composition)):
        if index >= len(offsets):
            break
        offset = offsets[index]
        length = (offsets[index + 1] if index + 1 < len(offsets) else end_ql) - offset
        if change.chord.root is None:
            part.insert(offset, note.Rest(quarterLength=length))
            continue
        pitches = sorted({e.pitch for e in chord_notes if change.start <= e.start < change.end})
        if not pitches:  # not played (e.g. a chord shorter than a note): its plain voicing
            pitches = [60 + change.chord.root + i for i in QUALITY_INTERVALS[change.chord.quality]]
        part.insert(offset, chord.Chord(pitches, quarterLength=length))
    score.insert(0, part)
    return score


def write_musicxml(composition: Composition, path: str | os.PathLike,
                   inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Write the chord track with chord symbols as MusicXML, atomically."""
    target = check_output_path(path, inputs, what="MusicXML output")
    score = composition_to_score(composition)
    with atomic_output(target) as temp_path:
        score.write("musicxml", fp=str(temp_path))
    return target

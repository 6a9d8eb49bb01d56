"""MusicXML with real chord symbols, for notation programs (MuseScore, Dorico, Sibelius).

A MIDI file cannot carry a chord symbol: its chord names are markers or lyrics at best. This
writes the chord track as a MusicXML part, with one ``<harmony>`` chord symbol (root and kind,
so a notation program shows it in its own chord style and can transpose it) at every chord
change, over the chord the file plays. Every position comes from the composition's tempo map,
as in the MIDI file: the pickup as a short first bar (its own time signature, as the MIDI file
writes it, so bar numbers match the DAW's), the metre after it, a tempo mark at each tempo
change, and each chord symbol at the MIDI file's bar.beat (on a quarter-beat grid: chord changes
on the harmonic rhythm and at hit points are exact; the one-chord-per-second mode is rounded to
it). "N" (no chord) is a rest under a "N.C." symbol. The key comes along.

It needs music21 (``pip install "v2m-bridge[notation]"``); :mod:`v2m_bridge.cli.render` imports
this module only for ``render --musicxml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from music21 import chord, duration, harmony, key, metadata, meter, note, pitch, stream, tempo

from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.events import CHORDS_CHANNEL
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.output.paths import atomic_output, check_output_path
from v2m_bridge.vocab import QUALITY_INTERVALS, Chord

GRID_BEATS = Fraction(1, 4)  # chord symbols sit on a quarter-beat grid (a 16th in x/4)
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


def _offset(time_s: float, tempo_map: TempoMap) -> Fraction:
    """The score offset (quarter notes) of media time ``time_s``, on the quarter-beat grid."""
    steps = round(tempo_map.beat_at(time_s) / GRID_BEATS)
    return steps * GRID_BEATS * Fraction(tempo_map.quarters_per_beat)


def _metre_and_tempi(part: stream.Part, tempo_map: TempoMap, end: Fraction) -> None:
    """Time signatures (a short pickup bar, then the metre) and a tempo mark at each tempo."""
    per_beat = Fraction(tempo_map.quarters_per_beat)
    unit = tempo_map.beat_unit
    if tempo_map.pickup:
        part.insert(0, meter.TimeSignature(f"{tempo_map.pickup}/{unit}"))
    if not tempo_map.pickup or tempo_map.pickup * per_beat < end:
        part.insert(tempo_map.pickup * per_beat,
                    meter.TimeSignature(f"{tempo_map.beats_per_bar}/{unit}"))
    for segment in tempo_map.segments:
        offset = Fraction(segment.beat).limit_denominator(10_000) * per_beat
        if offset < end or offset == 0:
            part.insert(offset, tempo.MetronomeMark(
                number=round(segment.bpm, 2),
                referent=duration.Duration(float(per_beat))))


def composition_to_score(composition: Composition) -> stream.Score:
    tempo_map = composition.tempo_map
    flats = composition.key.prefers_flats
    score = stream.Score()
    score.metadata = metadata.Metadata()
    video = composition.provenance.facts.get("video")
    score.metadata.title = f"{video}" if video else "v2m-bridge"
    score.metadata.composer = "v2m-bridge"
    part = stream.Part()
    part.partName = CHORDS_PART_NAME
    step = GRID_BEATS * Fraction(tempo_map.quarters_per_beat)
    end = max(_offset(composition.duration, tempo_map), step)
    _metre_and_tempi(part, tempo_map, end)
    part.insert(0, key.Key((_FLAT_NAMES if flats else _SHARP_NAMES)[composition.key.tonic],
                           composition.key.mode))
    chord_notes = [e for e in composition.events if e.channel == CHORDS_CHANNEL]
    changes = chord_changes(composition)
    offsets: list[Fraction] = []
    for change in changes:
        # never two changes on one grid step: each change keeps its own symbol
        offset = max(_offset(change.start, tempo_map), offsets[-1] + step if offsets else 0)
        if offset >= end:
            break
        offsets.append(offset)
        part.insert(offset, chord_symbol(change.chord, flats))
    for index, (change, offset) in enumerate(zip(changes, offsets, strict=False)):
        length = (offsets[index + 1] if index + 1 < len(offsets) else end) - offset
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

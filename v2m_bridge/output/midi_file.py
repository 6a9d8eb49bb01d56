"""Standard MIDI files a composer can open in any DAW.

Type 1 file: a conductor track (the tempo or tempo map, time and key signature,
a marker with the chord name at every chord change for DAWs, a marker "cut 12 (bar 9.1)" and a
cue point with its strength and frames off at every detected cut, text events with the
provenance and honesty notes), then one named track per part, each on its own channel
(:data:`PART_TRACKS`): "V2M Chords" (channel 1 in DAW numbering), "V2M Figuration" (2),
"V2M Bass" (3) and, unless the hits track is off, "V2M Hits" (4). Every track ends exactly at
the media duration, so the file is as long as the video.

Notation programs (MuseScore, music21, pretty_midi) drop markers, so each chord name is also a
lyric event (FF 05) on the chord track at the chord's first note. MuseScore 3 turns every text
event that falls on a note onset into a lyric, wherever its track, so the provenance text events
sit at the end tick, where no note starts (checked with MuseScore 3.2 on Debian 12: at tick 0
"generator: v2m-bridge ..." became a lyric of the first chord; at the end tick nothing does).

Nothing time-dependent (dates, paths of temp files) goes in: the same composition gives a
byte-identical file.
"""

from __future__ import annotations

import bisect
import os
from pathlib import Path

import mido

from v2m_bridge.errors import V2MError
from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.events import ARP_CHANNEL, BASS_CHANNEL, CHORDS_CHANNEL, HITS_CHANNEL
from v2m_bridge.music.hits import cue_text, marker_text
from v2m_bridge.music.reroll import KeptNote, KeptPiece, RerollError, kept_from_parts
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.output.paths import atomic_output, check_output_path

TICKS_PER_BEAT = 480
CHORDS_TRACK_NAME = "V2M Chords"
FIGURATION_TRACK_NAME = "V2M Figuration"
BASS_TRACK_NAME = "V2M Bass"
HITS_TRACK_NAME = "V2M Hits"
CONDUCTOR_TRACK_NAME = "V2M Conductor"
METRE_LABEL = "metre"  # the text event "metre: 4/4, 3-beat pickup"
PART_TRACKS: tuple[tuple[int, str], ...] = (
    (CHORDS_CHANNEL, CHORDS_TRACK_NAME), (ARP_CHANNEL, FIGURATION_TRACK_NAME),
    (BASS_CHANNEL, BASS_TRACK_NAME), (HITS_CHANNEL, HITS_TRACK_NAME))
"""(channel, track name) of every part, in track order; the chord names are lyrics on the
first. A composition writes the parts it has (:attr:`Composition.parts`)."""


def seconds_to_ticks(time_s: float, tempo: TempoMap) -> int:
    """The file's tick of media time ``time_s``, asked of the composition's tempo map (every
    track's notes and markers go through here)."""
    return tempo.tick_at(time_s, TICKS_PER_BEAT)


def _to_track(name: str, timed: list[tuple[int, int, mido.Message | mido.MetaMessage]],
              end_tick: int) -> mido.MidiTrack:
    """Build a track from (tick, order, message) with delta times, ending at ``end_tick``."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    now = 0
    for tick, _order, message in sorted(timed, key=lambda item: (item[0], item[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end_tick - now, 0)))
    return track


def _note_track(composition: Composition, channel: int, name: str,
                end_tick: int, lyrics: list[tuple[int, str]] = ()) -> mido.MidiTrack:
    tempo = composition.tempo_map
    timed: list[tuple[int, int, mido.Message]] = []
    program = composition.programs.get(channel)
    if program is not None:
        timed.append((0, 0, mido.Message("program_change", channel=channel, program=program)))
    # Ticks are rounded, so re-resolve same-pitch overlaps at tick resolution.
    last_off: dict[int, int] = {}
    notes = sorted((seconds_to_ticks(e.start, tempo), seconds_to_ticks(e.end, tempo), e.pitch,
                    e.velocity) for e in composition.events if e.channel == channel)
    scheduled: list[list[int]] = []
    for start, end, pitch, velocity in notes:
        start = min(start, end_tick - 1)
        end = min(max(end, start + 1), end_tick)
        previous = last_off.get(pitch)
        if previous is not None and scheduled[previous][1] > start:
            if scheduled[previous][0] >= start:  # same tick: one note, not two
                scheduled[previous][1] = max(scheduled[previous][1], end)
                continue
            scheduled[previous][1] = start
        last_off[pitch] = len(scheduled)
        scheduled.append([start, end, pitch, velocity])
    for start, end, pitch, velocity in scheduled:
        # order: note-offs (1) before lyrics (2) before note-ons (3) at the same tick, so
        # re-strikes work and a lyric precedes the note it belongs to.
        timed.append((start, 3, mido.Message("note_on", channel=channel, note=pitch,
                                             velocity=velocity)))
        timed.append((end, 1, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    starts = sorted({start for start, *_ in scheduled})
    for index, (tick, text) in enumerate(lyrics):
        next_tick = lyrics[index + 1][0] if index + 1 < len(lyrics) else end_tick
        first = bisect.bisect_left(starts, tick)  # the chord's first note, not a bare tick
        if first < len(starts) and starts[first] < next_tick:
            timed.append((starts[first], 2, mido.MetaMessage("lyrics", text=_ascii(text))))
    return _to_track(name, timed, end_tick)


def _chord_changes(composition: Composition, end_tick: int) -> list[tuple[int, str]]:
    """(tick, name) at every chord change, and at 0."""
    changes, previous_name = [], None
    for span in composition.chord_spans:
        name = composition.chord_name(span)
        tick = min(seconds_to_ticks(span.start, composition.tempo_map), end_tick)
        if name != previous_name or span.start == 0:
            changes.append((tick, name))
        previous_name = name
    return changes


def _conductor_track(composition: Composition, end_tick: int) -> mido.MidiTrack:
    tempo = composition.tempo_map
    timed: list[tuple[int, int, mido.MetaMessage]] = [
        (0, 2, mido.MetaMessage("key_signature", key=composition.key.mido_name)),
    ]
    # a short first bar, then the metre; a file that ends inside its pickup bar cannot hold
    # the second signature, so the "metre" text below says it
    for tick, numerator, denominator in tempo.midi_time_signatures(TICKS_PER_BEAT):
        if tick < end_tick or tick == 0:
            timed.append((tick, 1, mido.MetaMessage("time_signature", numerator=numerator,
                                                    denominator=denominator)))
    for tick, per_quarter in tempo.midi_tempo_events(TICKS_PER_BEAT):
        if tick < end_tick or tick == 0:
            timed.append((tick, 0, mido.MetaMessage("set_tempo", tempo=per_quarter)))
    provenance = composition.provenance
    texts = [f"{label}: {value}" for label, value in provenance.facts.items()
             if label != METRE_LABEL]
    texts.append(f"{METRE_LABEL}: {tempo.metre_text}")
    texts += [f"note: {note}" for note in provenance.notes]
    # at the end tick: no note starts there, so no reader takes them for lyrics
    timed.extend((end_tick, 7, mido.MetaMessage("text", text=_ascii(text))) for text in texts)
    timed.extend((tick, 4, mido.MetaMessage("marker", text=_ascii(name)))
                 for tick, name in _chord_changes(composition, end_tick))
    if composition.tempo_fit is not None:
        for cut in composition.tempo_fit.chosen.cuts:
            tick = min(seconds_to_ticks(cut.time, tempo), end_tick)
            timed.append((tick, 5, mido.MetaMessage("marker", text=marker_text(cut, tempo))))
            timed.append((tick, 6, mido.MetaMessage("cue_marker", text=cue_text(cut))))
    return _to_track(CONDUCTOR_TRACK_NAME, timed, end_tick)


def _ascii(text: str) -> str:
    """MIDI text events are Latin-1 in mido; keep them plain ASCII for every DAW."""
    return text.encode("ascii", "replace").decode("ascii")


def composition_to_midi(composition: Composition) -> mido.MidiFile:
    """The composition as a type 1 :class:`mido.MidiFile` (not written)."""
    end_tick = max(seconds_to_ticks(composition.duration, composition.tempo_map), 1)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor_track(composition, end_tick))
    lyrics = [(tick, name) for tick, name in _chord_changes(composition, end_tick) if name != "N"]
    for channel, name in PART_TRACKS:
        if channel in composition.parts:
            midi.tracks.append(_note_track(composition, channel, name, end_tick,
                                           lyrics if channel == CHORDS_CHANNEL else ()))
    return midi


def write_midi(composition: Composition, path: str | os.PathLike,
               inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Write the composition as a MIDI file, atomically (no partial file on failure)."""
    target = check_output_path(path, inputs, what="MIDI output")
    midi = composition_to_midi(composition)
    with atomic_output(target) as temp_path:
        midi.save(str(temp_path))
    return target


def read_kept_midi(path: str | os.PathLike) -> KeptPiece:
    """Read a MIDI file v2m-bridge wrote back into ticks, for ``--keep``.

    Raises:
        RerollError: the file is missing, not a MIDI file, or not one v2m-bridge wrote.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise RerollError(f"--keep {str(source)!r}: no such file")
    try:
        midi = mido.MidiFile(str(source))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise RerollError(f"--keep {str(source)!r} is not a readable MIDI file: {err}") from err
    texts: list[str] = []
    tempos: list[tuple[int, int]] = []  # (tick, microseconds per quarter)
    markers: list[tuple[int, str]] = []
    notes: list[KeptNote] = []
    signatures: list[tuple[int, int, int]] = []  # (tick, numerator, denominator)
    key_name, end_tick = None, 0
    tpb = midi.ticks_per_beat
    for track in midi.tracks:
        now = 0
        sounding: dict[tuple[int, int], tuple[int, int]] = {}
        for message in track:
            now += message.time
            if message.type == "set_tempo":
                tempos.append((now, message.tempo))
            elif message.type == "time_signature":
                signatures.append((now, message.numerator, message.denominator))
            elif message.type == "key_signature" and now == 0:
                key_name = message.key
            elif message.type == "text":
                texts.append(message.text)
            elif message.type == "marker":
                markers.append((now, message.text))
            elif message.type == "note_on" and message.velocity > 0:
                sounding[(message.channel, message.note)] = (now, message.velocity)
            elif message.type in ("note_on", "note_off"):
                started = sounding.pop((message.channel, message.note), None)
                if started is not None:
                    notes.append(KeptNote(started[0], now, message.note, started[1],
                                          message.channel))
        end_tick = max(end_tick, now)
    metre = next((text.partition(": ")[2] for text in texts
                  if text.startswith(f"{METRE_LABEL}: ")), None)
    try:
        tempo_map = TempoMap.from_midi(tempos, signatures, tpb, metre)
    except V2MError as err:
        raise RerollError(f"--keep {str(source)!r}: its tempo map cannot be read: {err}") from err
    return kept_from_parts(str(source), tpb, texts, tempo_map, key_name, markers,
                           sorted(notes, key=lambda n: (n.start_tick, n.channel, n.pitch)),
                           end_tick)

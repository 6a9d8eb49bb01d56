"""Standard MIDI files a composer can open in any DAW.

Type 1 file with three tracks: a conductor track (tempo, time and key signature, a marker with the
chord name at every chord change, text events with the provenance and honesty notes), then
"V2M Chords" (channel 1 in DAW numbering, :data:`CHORDS_CHANNEL`) and "V2M Arp"
(:data:`ARP_CHANNEL`). Every track ends exactly at the media duration, so the file is as long as
the video. Nothing time-dependent (dates, paths of temp files) goes in: the same composition
gives a byte-identical file.
"""

from __future__ import annotations

import os
from pathlib import Path

import mido

from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.events import ARP_CHANNEL, CHORDS_CHANNEL
from v2m_bridge.output.paths import atomic_output, check_output_path

TICKS_PER_BEAT = 480
CHORDS_TRACK_NAME = "V2M Chords"
ARP_TRACK_NAME = "V2M Arp"
CONDUCTOR_TRACK_NAME = "V2M Conductor"


def seconds_to_ticks(time_s: float, tempo_bpm: float) -> int:
    return round(time_s * tempo_bpm / 60.0 * TICKS_PER_BEAT)


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
                end_tick: int) -> mido.MidiTrack:
    tempo = composition.tempo_bpm
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
        # order: note-offs (1) before note-ons (2) at the same tick, so re-strikes work.
        timed.append((start, 2, mido.Message("note_on", channel=channel, note=pitch,
                                             velocity=velocity)))
        timed.append((end, 1, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    return _to_track(name, timed, end_tick)


def _conductor_track(composition: Composition, end_tick: int) -> mido.MidiTrack:
    tempo = composition.tempo_bpm
    timed: list[tuple[int, int, mido.MetaMessage]] = [
        (0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo))),
        (0, 1, mido.MetaMessage("time_signature", numerator=composition.grid.beats_per_bar,
                                denominator=4)),
        (0, 2, mido.MetaMessage("key_signature", key=composition.key.mido_name)),
    ]
    provenance = composition.provenance
    texts = [f"{label}: {value}" for label, value in provenance.facts.items()]
    texts += [f"note: {note}" for note in provenance.notes]
    timed.extend((0, 3, mido.MetaMessage("text", text=_ascii(text))) for text in texts)
    previous_name = None
    for span in composition.chord_spans:
        name = composition.chord_name(span)
        tick = min(seconds_to_ticks(span.start, tempo), end_tick)
        if name != previous_name or span.start == 0:
            timed.append((tick, 4, mido.MetaMessage("marker", text=_ascii(name))))
        previous_name = name
    return _to_track(CONDUCTOR_TRACK_NAME, timed, end_tick)


def _ascii(text: str) -> str:
    """MIDI text events are Latin-1 in mido; keep them plain ASCII for every DAW."""
    return text.encode("ascii", "replace").decode("ascii")


def composition_to_midi(composition: Composition) -> mido.MidiFile:
    """The composition as a type 1 :class:`mido.MidiFile` (not written)."""
    end_tick = max(seconds_to_ticks(composition.duration, composition.tempo_bpm), 1)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor_track(composition, end_tick))
    midi.tracks.append(_note_track(composition, CHORDS_CHANNEL, CHORDS_TRACK_NAME, end_tick))
    midi.tracks.append(_note_track(composition, ARP_CHANNEL, ARP_TRACK_NAME, end_tick))
    return midi


def write_midi(composition: Composition, path: str | os.PathLike,
               inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Write the composition as a MIDI file, atomically (no partial file on failure)."""
    target = check_output_path(path, inputs, what="MIDI output")
    midi = composition_to_midi(composition)
    with atomic_output(target) as temp_path:
        midi.save(str(temp_path))
    return target

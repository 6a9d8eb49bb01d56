"""Small generated music and datasets for the retrieval tests."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from v2m_bridge.data.muvi_sync import write_song, write_splits
from v2m_bridge.vocab import parse_chord


def midi_bytes(chords: list[str], seconds_per_chord: float = 2.0, bpm: float = 120.0,
               channel: int = 0, velocity: int = 90, tempo: bool = True,
               extra_notes: tuple[int, ...] = ()) -> mido.MidiFile:
    """A type-0 file of block chords (root in octave 3, chord tones in octave 4)."""
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    if tempo:
        track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    ticks = round(seconds_per_chord * (bpm if tempo else 120.0) / 60 * 480)
    for name in chords:
        chord = parse_chord(name)
        pitches = sorted({48 + chord.root} | {60 + pc for pc in chord.pitch_classes()}
                         | set(extra_notes))
        for pitch in pitches:
            track.append(mido.Message("note_on", note=pitch, velocity=velocity, channel=channel,
                                      time=0))
        for i, pitch in enumerate(pitches):
            track.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel,
                                      time=ticks if i == 0 else 0))
    return midi


def write_midi_file(path: Path, chords: list[str], **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    midi_bytes(chords, **kwargs).save(str(path))
    return path


# A small MuVi-Sync dataset: six "clips" whose pictures differ in mood and pace, each paired with
# music whose chord qualities and harmonic rhythm follow them.
PATTERNS = [
    # (dominant emotion index, cut every n s, chord cycle, seconds per chord)
    (0, 2, ["C", "G", "F", "G:7"], 1),  # exciting, fast
    (3, 12, ["A:min", "D:min", "E:min", "A:min"], 6),  # sad, slow
    (4, 8, ["C:maj7", "F:maj7", "C:maj6", "F"], 4),  # relaxing
    (1, 3, ["B:dim", "E:min7", "B:hdim7", "D#:dim7"], 2),  # fearful
    (2, 4, ["G:7", "G:sus4", "D:min7", "B:dim"], 2),  # tense
    (5, 20, ["C", "C", "A:aug", "C"], 10),  # neutral, very slow
]


def write_muvi_dataset(root: Path, seconds: int = 40, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    ids = []
    for index, (emotion_index, cut_every, cycle, per_chord) in enumerate(PATTERNS):
        song_id = f"{index + 1:03d}"
        chords = [cycle[(t // per_chord) % len(cycle)] for t in range(seconds)]
        emotion = np.full((seconds, 6), 0.05)
        emotion[:, emotion_index] = 0.75
        emotion += rng.uniform(0, 0.05, emotion.shape)
        emotion /= emotion.sum(axis=1, keepdims=True)
        offsets = np.array([t % cut_every + 1 for t in range(seconds)], dtype=float)  # 1 at a cut
        motion = np.full(seconds, 40.0 / cut_every) * rng.uniform(0.8, 1.2, seconds)
        motion[0] = 0
        semantic = rng.normal(0, 1, (seconds, 768)).astype(np.float32)
        write_song(root, song_id, [parse_chord(c).symbol for c in chords], "major",
                   emotion, motion, offsets, semantic=semantic,
                   loudness=np.full(seconds, 0.2 + 0.1 * index),
                   note_density=np.full(seconds, 1.0 + index))
        ids.append(song_id)
    write_splits(root, {"train": ids, "val": ids, "test": ids})
    return ids

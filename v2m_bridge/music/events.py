"""The note event record shared by the arranger, the MIDI writer and the live scheduler."""

from __future__ import annotations

from dataclasses import dataclass

CHORDS_CHANNEL = 0  # chords / pad
ARP_CHANNEL = 1  # figuration (the arpeggio in the arpeggio texture)
BASS_CHANNEL = 2
HITS_CHANNEL = 3  # accents, low hits and swells on strong cuts


@dataclass(frozen=True, order=True)
class NoteEvent:
    """One note in media time (seconds from the start of the video).

    Ordered by start time, so ``sorted(events)`` is playback order.
    """

    start: float
    end: float
    pitch: int
    velocity: int
    channel: int = CHORDS_CHANNEL

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"note must end after it starts: {self.start} -> {self.end}")
        if not 0 <= self.pitch <= 127 or not 1 <= self.velocity <= 127:
            raise ValueError(f"pitch must be 0..127 and velocity 1..127, got "
                             f"{self.pitch}, {self.velocity}")
        if not 0 <= self.channel <= 15:
            raise ValueError(f"MIDI channel must be 0..15, got {self.channel}")

"""Arpeggio patterns chosen by note density.

The official renderer picked its pattern from the predicted *loudness* and ignored the note
density (spec §11.1). Here the pattern level comes from the **note density** and loudness only
sets velocity. Patterns are written per two-beat cell (the official cell: one chord per second at
120 bpm) and get strictly busier with each level: 2, 3, 4, 6 and 8 notes per cell. Each level has
two variants that alternate from cell to cell, as the official even/odd run positions did.

Tone indices count up through the chord's upper voices and continue into the next octave
(index ``len(tones)`` is the lowest tone an octave up), so 7ths and 6ths are always played.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from v2m_bridge.music.dynamics import MAX_NOTE_DENSITY
from v2m_bridge.music.events import ARP_CHANNEL, NoteEvent
from v2m_bridge.music.grid import HarmonicGrid
from v2m_bridge.music.voicing import Voicing

CELL_BEATS = 2.0

Pattern = tuple[tuple[float, int], ...]  # (beat offset inside the cell, tone index)

PATTERNS: tuple[tuple[Pattern, Pattern], ...] = (
    (((0, 0), (1, 2)),
     ((0, 1), (1, 3))),
    (((0, 0), (0.5, 1), (1, 2)),
     ((0, 2), (0.5, 1), (1, 3))),
    (((0, 0), (0.5, 1), (1, 2), (1.5, 3)),
     ((0, 3), (0.5, 2), (1, 1), (1.5, 2))),
    (((0, 0), (0.25, 1), (0.5, 2), (1, 3), (1.25, 2), (1.5, 1)),
     ((0, 1), (0.25, 2), (0.5, 3), (1, 4), (1.25, 3), (1.5, 2))),
    (((0, 0), (0.25, 1), (0.5, 2), (0.75, 3), (1, 4), (1.25, 3), (1.5, 2), (1.75, 1)),
     ((0, 1), (0.25, 2), (0.5, 3), (0.75, 4), (1, 3), (1.25, 2), (1.5, 1), (1.75, 2))),
)  # fmt: skip
"""Per density level: (variant for even cells, variant for odd cells)."""

# Upper bounds of note density for levels 0..3; anything denser is level 4. The official
# density range 0..40 is split evenly.
DENSITY_LEVEL_BOUNDS: tuple[float, ...] = tuple(
    MAX_NOTE_DENSITY * fraction for fraction in (0.2, 0.4, 0.6, 0.8))


def pattern_level(note_density: float) -> int:
    """Pattern level 0..4 for a note density on the official 0..40 scale."""
    for level, bound in enumerate(DENSITY_LEVEL_BOUNDS):
        if note_density <= bound:
            return level
    return len(DENSITY_LEVEL_BOUNDS)


def arp_pitch(voicing: Voicing, tone_index: int, octave_shift: int = 1) -> int:
    """Pitch of a tone index over the voicing's upper voices, ``octave_shift`` octaves up."""
    tones = voicing.upper
    octave, position = divmod(tone_index, len(tones))
    return min(127, tones[position] + 12 * (octave + octave_shift))


def arpeggiate(grid: HarmonicGrid, voicings: dict[int, Voicing],
               density_at: Callable[[float], float], velocity_at: Callable[[float], int],
               octave_shift: int = 1) -> list[NoteEvent]:
    """Arpeggio notes over the whole grid.

    Args:
        grid: chord spans on the tempo grid.
        voicings: voicing of each span, by span index.
        density_at: note density at a time (seconds); picks each cell's pattern level.
        velocity_at: velocity of a note starting at a time.
        octave_shift: octaves above the pad's upper voices.

    A chord change inside a cell (a cut-aligned change on a sixteenth) restarts the pattern on
    the new chord at that instant, so the cut is heard.
    """
    tempo = grid.tempo
    span_starts = [span.start for span in grid.spans[1:]]
    events: list[NoteEvent] = []
    total_beats = tempo.beat_at(grid.duration)
    for cell_index in range(math.ceil(total_beats / CELL_BEATS - 1e-9)):
        cell_beat = cell_index * CELL_BEATS
        cell_start = tempo.time_at(cell_beat)
        cell_end = min(tempo.time_at(cell_beat + CELL_BEATS), grid.duration)
        level = pattern_level(density_at(cell_start))
        steps = {round(tempo.time_at(cell_beat + offset), 6): index
                 for offset, index in PATTERNS[level][cell_index % 2]}
        for start in span_starts:  # restart on chord changes between steps
            if cell_start < start < cell_end:
                steps.setdefault(round(start, 6), 0)
        times = sorted(time_s for time_s in steps if time_s < grid.duration)
        for position, time_s in enumerate(times):
            span_index = grid.span_index(time_s)
            voicing = voicings[span_index]
            if voicing.is_silent:
                continue
            next_time = times[position + 1] if position + 1 < len(times) else cell_end
            end = min(next_time, grid.spans[span_index].end, grid.duration)
            if end - time_s < 1e-6:
                continue
            events.append(NoteEvent(time_s, end, arp_pitch(voicing, steps[time_s], octave_shift),
                                    velocity_at(time_s), ARP_CHANNEL))
    return events

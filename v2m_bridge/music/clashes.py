"""No rubbing passing tones: a note outside the chord is never held for more than an eighth note
against a chord tone a semitone away (a minor second, major seventh or minor ninth).

Real parts use passing and neighbour tones freely, but a held one against the chord tone beside
it sounds like a wrong note. Such a note is shortened so that the rub lasts an eighth note at
most (dropped when nothing is left); chord tones are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from v2m_bridge.music.events import NoteEvent
from v2m_bridge.music.grid import HarmonicGrid
from v2m_bridge.vocab import QUALITY_INTERVALS

MAX_RUB_BEATS = 0.5


def chord_classes_at(grid: HarmonicGrid, time_s: float) -> frozenset[int]:
    """Pitch classes of the chord sounding at ``time_s`` (empty for no chord)."""
    chord = grid.spans[grid.span_index(time_s)].chord
    if chord.root is None:
        return frozenset()
    return frozenset((chord.root + i) % 12 for i in QUALITY_INTERVALS[chord.quality])


def limit_clashes(events: Sequence[NoteEvent], grid: HarmonicGrid) -> list[NoteEvent]:
    """``events`` with every passing tone's rub against a chord tone cut to an eighth note."""
    if not events:
        return []
    starts = np.array([e.start for e in events])
    ends = np.array([e.end for e in events])
    classes = np.array([e.pitch % 12 for e in events])
    is_chord_tone = np.array([e.pitch % 12 in chord_classes_at(grid, e.start) for e in events])
    result: list[NoteEvent] = []
    for index, event in enumerate(events):
        if is_chord_tone[index]:
            result.append(event)
            continue
        distance = (classes - event.pitch % 12) % 12
        rubs = is_chord_tone & ((distance == 1) | (distance == 11)) \
            & (starts < event.end) & (ends > event.start)
        end = event.end
        eighth = MAX_RUB_BEATS * grid.tempo.seconds_per_beat_at(event.start)
        for other in np.flatnonzero(rubs):
            overlap_start = max(event.start, starts[other])
            if min(end, ends[other]) - overlap_start > eighth:
                end = overlap_start + eighth
        if end - event.start > 1e-6:
            result.append(event if end == event.end else NoteEvent(
                event.start, float(end), event.pitch, event.velocity, event.channel))
    return result

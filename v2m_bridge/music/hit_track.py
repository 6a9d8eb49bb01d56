"""The hits track: strong cuts sound, as a film composer would score them.

Every cut whose strength (:func:`v2m_bridge.music.hits.cut_strengths`, the cue sheet's column)
is at least :data:`STRONG_CUT` gets a low hit *on the cut's own frame* (the detected time, not
the beat it was snapped to): the root of the chord the cut brings, low, doubled an octave down,
louder for a stronger cut. A one-beat swell leads into it: a roll of sixteenths on the same note,
getting louder, timed back from the cut so its last stroke falls right before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from v2m_bridge.music.events import HITS_CHANNEL, NoteEvent
from v2m_bridge.music.grid import HarmonicGrid
from v2m_bridge.vocab import Chord

STRONG_CUT = 0.5
HIT_LOW, HIT_HIGH = 38, 49  # the hit's root sits in D2..C#3
HIT_BEATS = 1.0
SWELL_STEPS = 4  # sixteenths of the roll before the cut
SWELL_FROM, SWELL_TO = 0.45, 0.85  # roll velocities, as shares of the hit's
HIT_LIFT = 10  # velocity above the picture's, plus up to 10 more for the strongest cut


def _chord_at_cut(grid: HarmonicGrid, cut: float) -> Chord:
    """The chord the cut brings: the span starting at the cut's hit point (snapped to the
    nearest sixteenth, so within a sixteenth of the cut), else the chord sounding at it."""
    sixteenth = grid.tempo.seconds_per_beat_at(cut) / 4
    near = [span for span in grid.spans if span.at_cut and abs(span.start - cut) <= sixteenth]
    if near:
        return min(near, key=lambda span: abs(span.start - cut)).chord
    return grid.spans[grid.span_index(cut)].chord


def hit_events(grid: HarmonicGrid, cut_times: Sequence[float], strengths: Sequence[float],
               velocity_at: Callable[[float], int]) -> list[NoteEvent]:
    """Hit and swell notes for the strong cuts (cut times in media seconds)."""
    tempo = grid.tempo
    events: list[NoteEvent] = []
    previous_end = 0.0
    for cut, strength in sorted(zip(cut_times, strengths, strict=True)):
        if strength < STRONG_CUT or not 0 < cut < grid.duration:
            continue
        chord = _chord_at_cut(grid, cut)
        if chord.root is None:
            continue
        root = HIT_LOW + (chord.root - HIT_LOW) % 12
        velocity = min(127, velocity_at(cut) + HIT_LIFT + round(20 * (strength - STRONG_CUT)))
        cut_beat = tempo.beat_at(cut)
        for step in range(SWELL_STEPS):
            start = tempo.time_at(cut_beat - (SWELL_STEPS - step) / 4)
            end = tempo.time_at(cut_beat - (SWELL_STEPS - step - 1) / 4)
            if start < previous_end - 1e-9 or start < 0:
                continue
            share = SWELL_FROM + (SWELL_TO - SWELL_FROM) * step / (SWELL_STEPS - 1)
            events.append(NoteEvent(start, end, root, max(1, round(velocity * share)),
                                    HITS_CHANNEL))
        end = min(tempo.time_at(cut_beat + HIT_BEATS), grid.duration)
        events.extend(NoteEvent(cut, end, pitch, velocity, HITS_CHANNEL)
                      for pitch in (root, root - 12))
        previous_end = end
    return events

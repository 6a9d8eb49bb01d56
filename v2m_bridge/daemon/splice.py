"""``/v2m/regenerate``: a media range of a new composition spliced into the old one."""

from __future__ import annotations

import dataclasses

from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.events import NoteEvent
from v2m_bridge.music.grid import ChordSpan


def splice_events(old: list[NoteEvent], new: list[NoteEvent], start: float, end: float
                  ) -> list[NoteEvent]:
    """``old`` outside ``[start, end)``, ``new`` inside; notes crossing a boundary are cut there."""
    kept = []
    for event in old:
        if event.start < start:
            kept.append(dataclasses.replace(event, end=min(event.end, start))
                        if event.end > start else event)
        elif event.start >= end:
            kept.append(event)
    for event in new:
        if start <= event.start < end:
            kept.append(dataclasses.replace(event, end=min(event.end, end)))
    return sorted(kept)


def splice_spans(old: tuple[ChordSpan, ...], new: tuple[ChordSpan, ...], start: float,
                 end: float) -> tuple[ChordSpan, ...]:
    """Chord spans spliced like :func:`splice_events`."""
    spans = [dataclasses.replace(s, end=min(s.end, start)) for s in old if s.start < start]
    spans += [dataclasses.replace(s, start=max(s.start, start), end=min(s.end, end))
              for s in new if s.start < end and s.end > start]
    spans += [dataclasses.replace(s, start=max(s.start, end)) for s in old if s.end > end]
    return tuple(sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, s.end)))


def splice(old: Composition, new: Composition, start: float, end: float) -> Composition:
    """``old`` with ``new``'s notes and chords inside ``[start, end)``."""
    return dataclasses.replace(
        old, events=splice_events(old.events, new.events, start, end),
        grid=dataclasses.replace(old.grid, spans=splice_spans(old.chord_spans, new.chord_spans,
                                                              start, end)))

"""``/v2m/regenerate``: a media range of a new composition spliced into the old one."""

from __future__ import annotations

import dataclasses

from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.events import NoteEvent


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


def splice_spans(old: list, new: list, start: float, end: float) -> list:
    """Chord spans ``(start_s, end_s, name)`` spliced like :func:`splice_events`."""
    spans = [(s, min(e, start), n) for s, e, n in old if s < start]
    spans += [(max(s, start), min(e, end), n) for s, e, n in new if s < end and e > start]
    spans += [(max(s, end), e, n) for s, e, n in old if e > end]
    return sorted(span for span in spans if span[1] > span[0])


def splice(old: Composition, new: Composition, start: float, end: float) -> Composition:
    """``old`` with ``new``'s notes and chords inside ``[start, end)``."""
    return dataclasses.replace(
        old, events=splice_events(old.events, new.events, start, end),
        chord_spans=splice_spans(old.chord_spans, new.chord_spans, start, end))

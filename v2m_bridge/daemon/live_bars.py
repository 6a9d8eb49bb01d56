"""Live mode along an Ableton Link session: each chord change waits for the session's next bar
line, so a chord changes when the drummer's bar starts.

Live notes are in media seconds and play when the frames' clock reaches media time + latency.
:func:`measure_grid` finds the session's bar lines (phase 0 at the metre's beats per bar) on that
timeline; :func:`align_update` then delays every chord span of a :class:`LiveUpdate` to the first
bar line at or after its start, its notes moving with it and ending where the next (moved) chord
starts. A chord whose successor lands on the same bar line is never heard: the chord current at
the bar line plays. Notes only move later, never into what was already played, and the scheduler
gets ordinary events (its no-hanging-notes guarantees hold as they are).

The grid is kept from update to update while a fresh measurement agrees with it within
:data:`GRID_TOLERANCE_S` (so the same chord lands at the same time in successive plans and its
notes are not re-struck); a tempo change in the session or a jump of the frames' clock sets a new
one.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass

from v2m_bridge.daemon.link_clock import LinkClock
from v2m_bridge.daemon.live_composer import LiveUpdate
from v2m_bridge.daemon.transport import TransportState

GRID_TOLERANCE_S = 0.001  # a fresh measurement this close to the kept grid leaves it alone
_EPSILON = 1e-9


@dataclass(frozen=True)
class BarGrid:
    """The session's bar lines in media seconds: ``first + n * period``."""

    first: float
    period: float

    def next_bar(self, media_time: float) -> float:
        """The first bar line at or after ``media_time``."""
        bars = math.ceil((media_time - self.first) / self.period - _EPSILON)
        return self.first + bars * self.period

    def agrees_with(self, other: BarGrid, tolerance: float = GRID_TOLERANCE_S) -> bool:
        """Whether ``other``'s next bar lines (its first and four bars on) are within
        ``tolerance`` of this grid's (a period off by microseconds, as Link's clock counts
        them, still agrees)."""
        if abs(self.period - other.period) > 0.01 * self.period:
            return False
        for bar in (other.first, other.first + 4 * other.period):
            offset = (bar - self.first) % self.period
            if min(offset, self.period - offset) > tolerance:
                return False
        return True


def measure_grid(link: LinkClock, state: TransportState, latency: float, quantum: float,
                 now: float) -> BarGrid | None:
    """The session's bar lines on the live timeline as it runs at ``now`` (None while the
    frames' clock is stopped: nothing plays, there is nothing to place)."""
    if not state.playing or state.rate <= 0:
        return None
    first, second = link.bar_lines(now, quantum)
    return BarGrid(state.position_at(first) - latency, (second - first) * state.rate)


def keep_or_replace(kept: BarGrid | None, fresh: BarGrid | None) -> BarGrid | None:
    """The kept grid while the fresh measurement agrees with it, else the fresh one."""
    if kept is not None and fresh is not None and kept.agrees_with(fresh):
        return kept
    return fresh


def align_update(update: LiveUpdate, grid: BarGrid) -> LiveUpdate:
    """``update`` with each chord span moved to the first bar line at or after its start."""
    starts = sorted(set(update.spans) | {start for start, _ in update.chords})
    if not starts:
        return update
    targets = [grid.next_bar(start) for start in starts]

    def span_of(time: float) -> int:
        return bisect.bisect_right(starts, time + _EPSILON) - 1

    def moved(time: float, span: int) -> tuple[float, float]:
        """``time`` of span ``span`` (-1: before the first) moved, and where that span ends."""
        shift = targets[span] - starts[span] if span >= 0 else 0.0
        end = targets[span + 1] if span + 1 < len(targets) else math.inf
        return time + shift, end

    events = []
    for event in update.events:
        span = span_of(event.start)
        start, span_end = moved(event.start, span)
        end = min(moved(event.end, span)[0], span_end)
        if start < span_end - _EPSILON and end > start:
            events.append(dataclasses.replace(event, start=start, end=end))
    chords = []
    for start, name in update.chords:
        target, span_end = moved(start, span_of(start))
        if target < span_end - _EPSILON:  # else the next chord takes this bar line
            chords.append((target, name))
    first, span_end = moved(update.start, span_of(update.start))
    return LiveUpdate(min(first, span_end), sorted(events), chords, tuple(targets))

"""Chords and notes for a live session, one media second at a time, from past frames only.

When second ``s`` is complete the model picks the chord of second ``s + 1`` from the seconds seen
so far (those after are unknown to it, padded as zeros). A cut flagged inside second ``s`` moves
that change earlier: the chord of ``s + 1`` is picked at once, from the part of ``s`` seen so far,
and the grid puts the change (or a re-strike) on the cut, as offline rendering does.

Each update re-arranges a short window ending at the newest chord with the offline arranger
(:func:`v2m_bridge.music.arrangement.arrange`), so voicing, dynamics and cut handling are the
offline ones. Windows start on whole bars (every :func:`bar_period_s` seconds from the session
start), so the beat and bar grid stays put from one update to the next.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from v2m_bridge.config import DEFAULT_TEMPO_BPM
from v2m_bridge.daemon.live_frames import SecondFeatures, neutral_second
from v2m_bridge.features import scene_offsets_from_cuts
from v2m_bridge.model.amt import AMT
from v2m_bridge.model.generate import ConditioningInputs, GenerationOptions, next_chord
from v2m_bridge.music.arrangement import arrange
from v2m_bridge.music.events import NoteEvent
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.options import RenderOptions
from v2m_bridge.vocab import Chord

HISTORY_S = 6  # past seconds re-arranged with each update (voice leading, smoothing)
# Seconds (and chords) the model sees per step: the newest minute is plenty for harmony, and at
# half the starter model's 128 the step is about a third faster.
CONTEXT_S = 64
MAX_BAR_PERIOD_S = 32


def bar_period_s(tempo: TempoMap) -> int:
    """The fewest whole seconds holding a whole number of bars of the live tempo (2 at 120 bpm
    in 4/4, 12 at 100 bpm), so windows starting on multiples of it share one bar grid. Tempos
    without such a period under :data:`MAX_BAR_PERIOD_S` use that, and the grid may shift when
    a window moves."""
    return tempo.whole_bar_period(MAX_BAR_PERIOD_S) or MAX_BAR_PERIOD_S


def live_tempo_map(options: RenderOptions) -> TempoMap:
    """The live session's tempo map: the fixed tempo asked for, else the default tempo (a live
    session cannot fit a tempo to cuts it has not seen yet)."""
    bpm = options.tempo_bpm if options.tempo_bpm is not None else DEFAULT_TEMPO_BPM
    return TempoMap.constant(bpm, options.arrange_options.beats_per_bar)


def warm_up(amt: AMT, options: RenderOptions) -> None:
    """A throwaway first second (own generator, nothing kept), so that the session's first real
    one does not pay one-time costs: torch's start-up on this thread, first allocations."""
    composer = LiveComposer(amt, options, 0, torch.Generator())
    composer.begin()
    composer.complete([neutral_second(0)])


@dataclass(frozen=True)
class LiveUpdate:
    """New notes (media seconds) that replace what was planned from ``start`` on."""

    start: float
    events: list[NoteEvent]
    chords: list[tuple[float, str]]  # (media start, name in the key) of chord spans from start
    spans: tuple[float, ...] = ()  # media starts of every chord span of the window (bar lines)


@dataclass(frozen=True)
class _Prepared:
    """What :meth:`LiveComposer.complete` gives if the current second completes as ``features``
    and nothing else changed since (same chords, seconds, cuts and generator state)."""

    features: SecondFeatures
    n_chords: int
    n_cuts: int
    state: torch.Tensor  # the generator's state before the step ...
    state_after: torch.Tensor  # ... and after it
    chord: Chord
    update: LiveUpdate

    def holds_for(self, composer: LiveComposer, seconds: list[SecondFeatures]) -> bool:
        if len(seconds) != 1 or (self.n_chords, self.n_cuts) != (len(composer.chords),
                                                                 len(composer.cuts)):
            return False
        new, seen = seconds[0], self.features
        return (new.second == seen.second and new.frames == seen.frames
                and new.motion == seen.motion and np.array_equal(new.emotion, seen.emotion)
                and np.array_equal(new.semantic, seen.semantic)
                and torch.equal(composer.generator.get_state(), self.state))


class LiveComposer:
    """One live run from media second ``origin`` (a seek starts a new one)."""

    def __init__(self, amt: AMT, options: RenderOptions, origin: int,
                 generator: torch.Generator) -> None:
        self.amt = amt
        self.options = options
        self.origin = origin
        self.generator = generator
        self.generation = GenerationOptions(key=options.fixed_key, primer=options.primer_chords)
        self.tempo = live_tempo_map(options)  # beat 0 at the session's origin
        self.arrange_options = dataclasses.replace(
            options.arrange_options, tempo_bpm=self.tempo.main_bpm(), tempo_map=self.tempo)
        self.period = bar_period_s(self.tempo)
        self.window = min(amt.config.max_sequence_chord, amt.config.max_sequence_video,
                          CONTEXT_S)
        self.chords: list[Chord] = self.generation.normalised_primer()  # [i]: second origin + i
        self.seconds: list[SecondFeatures] = []  # complete seconds, [i]: second origin + i
        self.cuts: list[float] = []  # media seconds
        self._prepared: _Prepared | None = None

    # --- triggers ------------------------------------------------------------------------------

    def begin(self) -> LiveUpdate:
        """The primer's first chord(s), from the first frame on."""
        return self._update(float(self.origin))

    def prepare(self, partial: SecondFeatures) -> None:
        """Work ahead: ``partial`` (the current second as seen so far) is likely complete, its
        next frame being due in the next second. Choose the chord after it and arrange now, so
        that :meth:`complete` only has to check that the second completed as ``partial`` stood.
        Nothing visible changes: chords, seconds and the generator's state are put back, and a
        second that completes otherwise (a later frame, an image, a cut) is worked out afresh."""
        self._prepared = None
        if (partial.second != self.origin + len(self.seconds)
                or len(self.chords) != len(self.seconds) + 1):
            return  # the chord after this second is already chosen (at a cut)
        n_chords, state = len(self.chords), self.generator.get_state()
        self.seconds.append(partial)
        try:
            chord = self._next_chord(self.seconds)
            self.chords.append(chord)
            update = self._update(float(self.origin + n_chords))
        finally:
            del self.seconds[-1:], self.chords[n_chords:]
            state_after = self.generator.get_state()
            self.generator.set_state(state)
        self._prepared = _Prepared(partial, n_chords, len(self.cuts), state, state_after, chord,
                                   update)

    def complete(self, seconds: list[SecondFeatures]) -> LiveUpdate | None:
        """Seconds just completed (in order): choose the chord after each, then re-arrange."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared.holds_for(self, seconds):
            self.seconds.append(seconds[0])
            self.chords.append(prepared.chord)
            self.generator.set_state(prepared.state_after)
            return prepared.update
        first_new = len(self.chords)
        for features in seconds:
            if features.second != self.origin + len(self.seconds):
                raise ValueError(f"second {features.second} completed out of order (expected "
                                 f"{self.origin + len(self.seconds)})")
            self.seconds.append(features)
            if len(self.chords) < len(self.seconds) + 1:
                self.chords.append(self._next_chord(self.seconds))
        if len(self.chords) == first_new:
            return None  # the next chord was already chosen at a cut
        return self._update(float(self.origin + first_new))

    def cut(self, media_time: float, partial: SecondFeatures) -> LiveUpdate:
        """A cut inside the current second: the next chord now, the change on the cut."""
        self.cuts.append(media_time)
        if len(self.chords) < len(self.seconds) + 2:
            self.chords.append(self._next_chord([*self.seconds, partial]))
        # from the cut as the grid snaps it, so the new plan starts with the change or re-strike
        grid = self.arrange_options.grid_options()
        snapped = self.origin + self.tempo.snap_time(media_time - self.origin,
                                                     grid.cut_snap_beats)
        return self._update(max(snapped, float(self.origin)))

    # --- model and arrangement -----------------------------------------------------------------

    def _next_chord(self, seen: list[SecondFeatures]) -> Chord:
        index = len(self.chords)  # the chord to choose, at second origin + index
        first = max(0, index - self.window)
        inputs = self._conditioning(seen[first:index], first)
        override = self.options.emotion_override(self.origin + index)
        options = self.generation
        if override is not None:
            rows = override[self.origin + first:self.origin + first + inputs.n_seconds]
            options = dataclasses.replace(options, emotion_override=rows)
        return next_chord(self.amt, inputs, self.chords[first:index], self.chords, options,
                          self.generator)

    def _conditioning(self, seen: list[SecondFeatures], first: int) -> ConditioningInputs:
        offsets = self._scene_offsets(first + len(seen))[first:]
        return ConditioningInputs(
            semantic=np.stack([s.semantic for s in seen]).astype(np.float32),
            scene_offset=offsets.astype(np.float32),
            motion=np.array([s.motion for s in seen], np.float32),
            emotion=np.stack([s.emotion for s in seen]).astype(np.float32))

    def _scene_offsets(self, n_seconds: int) -> np.ndarray:
        return scene_offsets_from_cuts([c - self.origin for c in self.cuts], n_seconds)

    def _update(self, start: float) -> LiveUpdate:
        """Arrange the window ending at the newest chord; notes from ``start`` on."""
        n = len(self.chords)
        first = self.period * max(0, math.floor((n - HISTORY_S) / self.period))
        known = self.seconds[first:] or [neutral_second(self.origin)]
        rows = [known[min(i, len(known) - 1)] for i in range(n - first)]  # hold the newest
        window_start = float(self.origin + first)
        composition = arrange(
            self.chords[first:], motion=np.array([r.motion for r in rows]),
            scene_offset=self._scene_offsets(n)[first:],
            emotion=np.stack([r.emotion for r in rows]),
            cut_times=[c - window_start for c in self.cuts if c > window_start],
            duration=float(n - first), options=self.arrange_options)
        events = [dataclasses.replace(e, start=e.start + window_start, end=e.end + window_start)
                  for e in composition.events if e.end + window_start > start]
        chords = [(span.start + window_start, composition.chord_name(span))
                  for span in composition.chord_spans if span.end + window_start > start]
        spans = tuple(span.start + window_start for span in composition.chord_spans)
        return LiveUpdate(start, events, chords, spans)

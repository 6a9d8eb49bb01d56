"""The temp track and ``/v2m/use``: library excerpts played into a video's scenes.

Each scene's chosen excerpt is laid out by :func:`.progression.lay_out`: every chord the listing
shows, in order, the first at the scene's cut and every later change on a beat of the tempo
map, scenes back to back (no gaps). The notes come from the arranger's own pad and arpeggio on
those spans (:func:`~v2m_bridge.music.arrangement.part_events`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from v2m_bridge.config import DEFAULT_TEMPO_BPM
from v2m_bridge.features import VideoFeatures
from v2m_bridge.music.arrangement import (
    ArrangeOptions,
    Composition,
    arrange,
    note_curves,
    part_events,
    remove_overlaps,
)
from v2m_bridge.music.dynamics import heuristic_dynamics
from v2m_bridge.music.grid import ChordSpan
from v2m_bridge.output.midi_file import write_midi
from v2m_bridge.retrieval.index import LibraryError, LibraryIndex
from v2m_bridge.retrieval.match import MatchResult, parse_excerpt_id
from v2m_bridge.retrieval.progression import ProgressionError, lay_out, progression
from v2m_bridge.vocab import C_MAJOR, Chord, Key

_END_TOLERANCE_S = 0.01  # listings give times to the millisecond; OSC floats are 32-bit


def excerpt_chords(index: LibraryIndex, excerpt: str) -> tuple[np.ndarray, str]:
    """The chord ids (normalised frame) of an excerpt id and its piece's mode."""
    item_id, start, end = parse_excerpt_id(excerpt)
    item = index.find(item_id)
    chords = index.item_chords(item)
    end = len(chords) if end < 0 else end
    if not 0 <= start < end <= len(chords):
        raise LibraryError(f"excerpt {excerpt!r} is outside {item_id} (0-{len(chords)} s)")
    return chords[start:end], index.items[item].mode


def excerpt_spans(index: LibraryIndex, excerpt: str, start: float, end: float,
                  composition: Composition) -> list[ChordSpan]:
    """The excerpt's chords (in the composition's key) over media ``[start, end)`` on the
    composition's tempo map."""
    ids, _mode = excerpt_chords(index, excerpt)
    heard = [(composition.key.from_normalised(chord), seconds)
             for chord, seconds in progression(ids)]
    try:
        return lay_out(heard, start, end, composition.tempo_map)
    except ProgressionError as err:
        raise LibraryError(f"{excerpt}: {err}") from None


def with_spans(composition: Composition, spans: list[ChordSpan], features: VideoFeatures,
               options: ArrangeOptions) -> Composition:
    """``composition`` re-voiced and re-arranged (pad + arpeggio) on ``spans``, which cover the
    whole duration; tempo, cuts, accents and dynamics stay."""
    grid = dataclasses.replace(composition.grid, spans=tuple(spans))
    dynamics = (composition.trace.dynamics if composition.trace is not None else
                heuristic_dynamics(features.motion, features.scene_offset, features.emotion))
    velocity_at, density_at = note_curves(grid, dynamics, options)
    events = part_events(grid, dataclasses.replace(options, texture="arpeggio"), velocity_at,
                         density_at)
    return dataclasses.replace(composition, grid=grid, events=remove_overlaps(events))


def _spans_inside(spans: list[ChordSpan] | tuple[ChordSpan, ...], start: float, end: float
                  ) -> list[ChordSpan]:
    return [dataclasses.replace(s, start=max(s.start, start), end=min(s.end, end))
            for s in spans if s.start < end and s.end > start]


def build_temp_track(result: MatchResult, index: LibraryIndex, features: VideoFeatures, *,
                     key: Key = C_MAJOR, tempo_bpm: float = DEFAULT_TEMPO_BPM,
                     choices: dict[int, str] | None = None) -> Composition:
    """The best excerpt of each scene (or ``choices[scene] = excerpt id``) played into its
    scene, in ``key`` at ``tempo_bpm``: every listed chord, changes on beats, no gaps."""
    if not result.scenes:
        raise LibraryError("a temp track needs per-scene matches (run with per_scene)")
    options = ArrangeOptions(key=key, tempo_bpm=tempo_bpm, harmonic_rhythm="beat")
    facts = {"temp track": result.label}
    notes = [result.label, "temp track: library excerpts played into the scenes, transposed to "
             f"{key.name}, every listed chord on the {tempo_bpm:g} bpm beat grid; not generated"]
    base = arrange([Chord(0, "maj")] * features.n_seconds, motion=features.motion,
                   scene_offset=features.scene_offset, emotion=features.emotion,
                   cut_times=features.cut_times, duration=features.duration, options=options,
                   notes=notes)
    spans: list[ChordSpan] = []
    for number, scene in enumerate(result.scenes):
        chosen = (choices or {}).get(number)
        if chosen is None and scene.candidates:
            chosen = scene.candidates[0].excerpt_id
        end = min(scene.end, features.duration)
        if chosen is None:  # nothing matched: the scene before goes on
            if spans:
                spans[-1] = dataclasses.replace(spans[-1], end=end)
            continue
        spans += excerpt_spans(index, chosen, scene.start, end, base)
        facts[f"scene {number + 1} ({scene.start:.2f}-{scene.end:.2f} s)"] = chosen
    if not spans:
        raise LibraryError("no scene has a matching excerpt")
    spans[0] = dataclasses.replace(spans[0], start=0.0)
    composition = with_spans(base, spans, features, options)
    composition.provenance = dataclasses.replace(composition.provenance, facts=facts,
                                                 source=str(features.source))
    return composition


def write_temp_track(result: MatchResult, index: LibraryIndex, features: VideoFeatures,
                     path: str | os.PathLike, *, key: Key = C_MAJOR,
                     tempo_bpm: float = DEFAULT_TEMPO_BPM) -> Path:
    composition = build_temp_track(result, index, features, key=key, tempo_bpm=tempo_bpm)
    return write_midi(composition, path)


def use_excerpt(composition: Composition, features: VideoFeatures, index: LibraryIndex,
                excerpt: str, start: float, end: float, options: ArrangeOptions,
                label: str) -> Composition:
    """A new composition with the excerpt's chords over media ``[start, end)`` (the first at
    ``start``, later changes on the composition's beats) and the old chords elsewhere; the
    caller splices its notes in, as ``/v2m/regenerate`` does."""
    if not 0 <= start < end <= composition.duration + _END_TOLERANCE_S:
        raise LibraryError(f"range must satisfy 0 <= start < end within the video "
                           f"(0-{composition.duration:g} s), got {start:g}..{end:g}")
    end = min(end, composition.duration)  # a listed end rounded up to the millisecond
    new = excerpt_spans(index, excerpt, start, end, composition)
    spans = (_spans_inside(composition.chord_spans, 0.0, start) + new
             + _spans_inside(composition.chord_spans, end, composition.duration))
    used = with_spans(composition, spans, features, options)
    note = f"{start:.2f}-{end:.2f} s: chords of library excerpt {excerpt}, not generated"
    used.provenance = dataclasses.replace(
        composition.provenance, notes=(*composition.provenance.notes, label, note),
        facts={**composition.provenance.facts, f"excerpt {start:.2f}-{end:.2f} s": excerpt})
    return used

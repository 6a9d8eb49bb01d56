"""Chords per second + video features → a piano accompaniment (:class:`Composition`).

Needs no model and no video: the live mode and the tests call :func:`arrange` directly with
arrays. The texture (``ArrangeOptions.texture``) is one of :data:`TEXTURES`:

* ``auto`` (default), ``ballad``, ``pulse``: bar patterns learned from real piano parts
  (:mod:`v2m_bridge.music.figuration`); ``auto`` follows the picture (calm: sparse, low,
  sustained; action: busy), ``ballad`` stays sparse, ``pulse`` drives on the eighths;
* ``pad``: sustained block chords over the bass;
* ``arpeggio``: the block-chord pad and a density-driven arpeggio an octave up (the arrangement
  before issue 23).

Parts: chords on :data:`CHORDS_CHANNEL`, figuration (or the arpeggio) on :data:`ARP_CHANNEL`,
the bass on :data:`BASS_CHANNEL` and, unless ``hits_track`` is off, hits and swells on strong
cuts on :data:`HITS_CHANNEL` (:mod:`v2m_bridge.music.hit_track`). Velocities follow the loudness
through the official curve (49..112), with accents on cut-aligned chord changes and motion
peaks. No passing tone rubs against a chord tone for more than an eighth
(:mod:`v2m_bridge.music.clashes`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from v2m_bridge.config import DEFAULT_HARMONIC_RHYTHM, DEFAULT_KEY, DEFAULT_TEMPO_BPM
from v2m_bridge.errors import FeatureError
from v2m_bridge.music.arpeggio import arpeggiate
from v2m_bridge.music.clashes import limit_clashes
from v2m_bridge.music.dynamics import (
    HEURISTIC_LABEL,
    MAX_NOTE_DENSITY,
    Dynamics,
    heuristic_dynamics,
    velocity_from_loudness,
)
from v2m_bridge.music.events import (
    ARP_CHANNEL,
    BASS_CHANNEL,
    CHORDS_CHANNEL,
    HITS_CHANNEL,
    NoteEvent,
)
from v2m_bridge.music.figuration import STYLES, figurate
from v2m_bridge.music.grid import ChordSpan, GridOptions, HarmonicGrid, build_grid
from v2m_bridge.music.hit_track import hit_events
from v2m_bridge.music.hits import cut_strengths
from v2m_bridge.music.tempo_fit import TempoFit
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.music.voicing import DEFAULT_REGISTER, Voicing, get_register, voice_progression
from v2m_bridge.vocab import Chord, Key, parse_key

# General MIDI programs (0-based) for the audio preview; a DAW replaces them with its own sounds.
PAD_PROGRAM = 89  # "Pad 2 (warm)"
ARP_PROGRAM = 0  # "Acoustic Grand Piano", as the official renderer
PIANO_PROGRAM = 0
HITS_PROGRAM = 47  # "Timpani": low hits and rolls

TEXTURES = ("auto", "ballad", "pulse", "pad", "arpeggio")
DEFAULT_TEXTURE = "auto"
# semitones the learned textures move for --register (the voicings' upper centres, mid = 0)
_REGISTER_SHIFT = {"low": -7, "mid": 0, "high": 7}


class TextureError(FeatureError):
    """An unknown texture name."""


@dataclass(frozen=True)
class ArrangeOptions:
    """How chords become notes. The CLI's defaults come from here."""

    key: Key = field(default_factory=lambda: parse_key(DEFAULT_KEY))
    tempo_bpm: float = DEFAULT_TEMPO_BPM
    cut_align: bool = True
    register: str = DEFAULT_REGISTER
    beats_per_bar: int = 4
    arp_octave_shift: int = 1  # the arpeggio sits this many octaves above the pad
    pad_velocity_scale: float = 0.8  # the pad sits under the arpeggio
    accent_boost: int = 16  # velocity added on cut-aligned changes and motion accents
    phrase_boost: int = 8  # velocity added to the pad where a 4-bar phrase starts
    harmonic_rhythm: str = DEFAULT_HARMONIC_RHYTHM  # beat, half, bar or 2bars
    tempo_map: TempoMap | None = None  # a fitted tempo map; None: tempo_bpm throughout
    texture: str = DEFAULT_TEXTURE  # one of TEXTURES
    hits_track: bool = True  # low hits and swells on strong cuts

    def __post_init__(self) -> None:
        if self.tempo_map is not None and self.tempo_map.beats_per_bar != self.beats_per_bar:
            object.__setattr__(self, "beats_per_bar", self.tempo_map.beats_per_bar)
        get_register(self.register)  # raises RegisterError for an unknown name
        if self.texture not in TEXTURES:
            raise TextureError(f"--texture must be one of {', '.join(TEXTURES)}, got "
                               f"{self.texture!r}")
        self.grid_options()  # raises GridError for a bad tempo or harmonic rhythm

    def grid_options(self) -> GridOptions:
        return GridOptions(tempo_bpm=self.tempo_bpm, beats_per_bar=self.beats_per_bar,
                           cut_align=self.cut_align, harmonic_rhythm=self.harmonic_rhythm,
                           tempo_map=self.tempo_map)


@dataclass(frozen=True)
class FeatureTrace:
    """The per-second features the arrangement followed, kept for the plot and the cut report."""

    motion: np.ndarray  # (T,)
    emotion: np.ndarray  # (T, 6)
    dynamics: Dynamics  # note density and loudness per second
    detected_cuts: tuple[float, ...] = ()  # cut times as detected, before snapping


@dataclass(frozen=True)
class Provenance:
    """What produced the music: labelled facts and honesty notes, written into every output."""

    facts: dict[str, str] = field(default_factory=dict)  # label -> value, e.g. "seed" -> "7"
    notes: tuple[str, ...] = ()  # honesty messages for users
    source: str | None = None  # the video path, when composed from one


@dataclass
class Composition:
    """An arranged piece in media seconds, ready for a MIDI file, audio or the live scheduler.

    The grid holds the tempo, metre, duration, chord spans (in :attr:`key`), snapped cuts and
    accents; ``trace`` is what the music followed; the rest says how it was made.
    """

    events: list[NoteEvent]  # sorted by start time
    grid: HarmonicGrid
    key: Key
    trace: FeatureTrace | None = None
    provenance: Provenance = field(default_factory=Provenance)
    programs: dict[int, int] = field(
        default_factory=lambda: {CHORDS_CHANNEL: PAD_PROGRAM, ARP_CHANNEL: ARP_PROGRAM,
                                 BASS_CHANNEL: PIANO_PROGRAM, HITS_CHANNEL: HITS_PROGRAM})
    timings: dict[str, float] = field(default_factory=dict)  # seconds per pipeline stage
    tempo_fit: TempoFit | None = None  # how the tempo was chosen, and every cut's hit or miss
    rerolled_bars: tuple[int, int] | None = None  # first and last bar (1-based) re-rolled
    parts: tuple[int, ...] = (CHORDS_CHANNEL, ARP_CHANNEL, BASS_CHANNEL, HITS_CHANNEL)
    """Channels of the parts, each a named track of the MIDI file (hits only when on)."""

    @property
    def duration(self) -> float:
        return self.grid.duration

    @property
    def tempo_bpm(self) -> float:
        return self.grid.tempo_bpm

    @property
    def tempo_map(self) -> TempoMap:
        return self.grid.tempo

    @property
    def chord_spans(self) -> tuple[ChordSpan, ...]:
        return self.grid.spans

    @property
    def cut_times(self) -> tuple[float, ...]:
        """Cuts as snapped onto the grid (empty in the official one-chord-per-second mode)."""
        return self.grid.cut_times

    def chord_name(self, span: ChordSpan) -> str:
        """The span's chord as written in :attr:`key` (flats in flat keys)."""
        return span.chord.name(self.key.prefers_flats)

    def cut_alignment(self) -> list[float]:
        """For each detected cut, seconds to the nearest chord span start (0 = on the cut)."""
        starts = [span.start for span in self.chord_spans[1:]]
        detected = self.trace.detected_cuts if self.trace is not None else ()
        return [min((abs(start - cut) for start in starts), default=math.inf)
                for cut in detected]


def remove_overlaps(events: Sequence[NoteEvent]) -> list[NoteEvent]:
    """Sorted events where no note overlaps an earlier one of the same pitch and channel.

    A re-struck pitch truncates the earlier note at the new start (what MIDI players do anyway,
    but explicit, so every note-on has its own note-off). Notes cut to nothing are dropped.
    """
    result: list[NoteEvent] = []
    sounding: dict[tuple[int, int], int] = {}  # (channel, pitch) -> index in result
    for event in sorted(events):
        slot = (event.channel, event.pitch)
        earlier_index = sounding.get(slot)
        if earlier_index is not None:
            earlier = result[earlier_index]
            if earlier.end > event.start:
                if event.start - earlier.start > 1e-9:
                    result[earlier_index] = NoteEvent(earlier.start, event.start, earlier.pitch,
                                                      earlier.velocity, earlier.channel)
                else:  # same start: keep the longer, louder one
                    result[earlier_index] = NoteEvent(
                        earlier.start, max(earlier.end, event.end), earlier.pitch,
                        max(earlier.velocity, event.velocity), earlier.channel)
                    continue
        sounding[slot] = len(result)
        result.append(event)
    return sorted(result)


def _check_inputs(chords: Sequence[Chord], motion: np.ndarray, scene_offset: np.ndarray,
                  emotion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not chords or not all(isinstance(chord, Chord) for chord in chords):
        raise FeatureError("chords must be a non-empty list of Chord objects, one per second")
    motion = np.asarray(motion, dtype=np.float64)
    scene_offset = np.asarray(scene_offset, dtype=np.float64)
    emotion = np.asarray(emotion, dtype=np.float64)
    length = motion.shape[0] if motion.ndim == 1 else -1
    if length < 1 or scene_offset.shape != (length,) or emotion.shape != (length, 6):
        raise FeatureError("expected motion (T,), scene_offset (T,) and emotion (T, 6) with the "
                           f"same T, got {motion.shape}, {scene_offset.shape}, {emotion.shape}")
    for name, values in (("motion", motion), ("scene_offset", scene_offset),
                         ("emotion", emotion)):
        if not np.all(np.isfinite(values)):
            raise FeatureError(f"{name} contains NaN or infinite values")
    return motion, scene_offset, emotion


def arrange(chords: Sequence[Chord], *, motion: np.ndarray, scene_offset: np.ndarray,
            emotion: np.ndarray, cut_times: Sequence[float] = (), duration: float | None = None,
            options: ArrangeOptions | None = None, dynamics: Dynamics | None = None,
            notes: Sequence[str] = (), change_times: Sequence[float] | None = None,
            ) -> Composition:
    """Arrange model chords (C major / A minor frame, one per second) for the features.

    Args:
        chords: one chord per second in the normalised frame; transposed to ``options.key``.
        motion, scene_offset, emotion: per-second features, (T,), (T,), (T, 6).
        cut_times: detected cuts, seconds.
        duration: media length; defaults to ``T`` seconds.
        dynamics: note density and loudness; defaults to :func:`heuristic_dynamics`.
        notes: honesty messages carried into the composition.
        change_times: the musical sampler's planned chord changes (media seconds, from
            :func:`~v2m_bridge.music.grid.plan_chord_changes` on the same options); each
            chord then starts exactly there (see :func:`~v2m_bridge.music.grid.build_grid`).
    """
    options = options or ArrangeOptions()
    motion, scene_offset, emotion = _check_inputs(chords, motion, scene_offset, emotion)
    duration = float(len(motion) if duration is None else duration)
    if not (math.isfinite(duration) and duration > 0):
        raise FeatureError(f"duration must be a positive number of seconds, got {duration!r}")
    messages = list(notes)
    if dynamics is None:
        dynamics = heuristic_dynamics(motion, scene_offset, emotion)
    if dynamics.source == "heuristic":
        messages.append(f"dynamics: {HEURISTIC_LABEL}")

    keyed = [options.key.from_normalised(chord) for chord in chords]
    grid = build_grid(keyed, duration, cut_times, motion, options.grid_options(), change_times)
    velocity_at, density_at = note_curves(grid, dynamics, options)
    events = part_events(grid, options, velocity_at, density_at)
    detected = tuple(float(cut) for cut in cut_times if 0 < cut < duration)
    if options.hits_track and options.cut_align:
        events += hit_events(grid, detected, cut_strengths(detected, motion), velocity_at)
    programs = {CHORDS_CHANNEL: PAD_PROGRAM if options.texture in ("pad", "arpeggio")
                else PIANO_PROGRAM, ARP_CHANNEL: ARP_PROGRAM, BASS_CHANNEL: PIANO_PROGRAM,
                HITS_CHANNEL: HITS_PROGRAM}
    return Composition(
        events=remove_overlaps(limit_clashes(events, grid)), grid=grid, key=options.key,
        trace=FeatureTrace(motion, emotion, dynamics, detected),
        provenance=Provenance(notes=tuple(messages)), programs=programs,
        parts=(CHORDS_CHANNEL, ARP_CHANNEL, BASS_CHANNEL)
        + ((HITS_CHANNEL,) if options.hits_track and options.cut_align else ()))


def note_curves(grid: HarmonicGrid, dynamics: Dynamics, options: ArrangeOptions
                ) -> tuple[Callable[[float], int], Callable[[float], float]]:
    """Velocity and note density over media time: the picture's dynamics, plus
    ``options.accent_boost`` where a span starts at a cut and on the grid's accents."""
    accent_times = [span.start for span in grid.spans if span.at_cut] + list(grid.accents)

    def velocity_at(time_s: float) -> int:
        base = int(velocity_from_loudness(dynamics.at(time_s)[1]))
        if any(abs(time_s - accent) < 1e-6 for accent in accent_times):
            base += options.accent_boost
        return int(np.clip(base, 1, 127))

    def density_at(time_s: float) -> float:
        return dynamics.at(time_s)[0]

    return velocity_at, density_at


def part_events(grid: HarmonicGrid, options: ArrangeOptions,
                velocity_at: Callable[[float], int],
                density_at: Callable[[float], float]) -> list[NoteEvent]:
    """The accompaniment on ``grid``'s spans in ``options.texture`` (bass, chords and
    figuration; not the hits track), with the curves of :func:`note_curves`."""
    if options.texture in STYLES:
        def activity_at(time_s: float) -> float:
            return min(max(density_at(time_s) / MAX_NOTE_DENSITY, 0.0), 1.0)

        return figurate(grid, options.key, options.texture, activity_at, velocity_at,
                        _REGISTER_SHIFT.get(options.register, 0))
    voicings = dict(enumerate(voice_progression([span.chord for span in grid.spans],
                                                options.register)))
    events = _pad_events(grid, voicings, velocity_at, options)
    if options.texture == "arpeggio":
        events += arpeggiate(grid, voicings, density_at, velocity_at, options.arp_octave_shift)
    return events


def _pad_events(grid: HarmonicGrid, voicings: dict[int, Voicing],
                velocity_at: Callable[[float], int], options: ArrangeOptions) -> list[NoteEvent]:
    """Block chords: struck at each span start, again at bar lines and accents inside a span;
    a little louder where a phrase starts. The bass note goes to :data:`BASS_CHANNEL`."""
    bars = grid.bar_times()
    phrases = {round(t, 6) for t in grid.phrase_starts}
    events: list[NoteEvent] = []
    for index, span in enumerate(grid.spans):
        voicing = voicings[index]
        if voicing.is_silent:
            continue
        strikes = {span.start}
        strikes.update(t for t in bars if span.start < t < span.end)
        strikes.update(t for t in grid.accents if span.start < t < span.end)
        times = sorted(round(t, 6) for t in strikes if span.start <= t < span.end)
        for position, start in enumerate(times):
            end = times[position + 1] if position + 1 < len(times) else span.end
            if end - start < 1e-6:
                continue
            boost = options.phrase_boost if start in phrases else 0
            velocity = max(1, min(127, round(velocity_at(start) * options.pad_velocity_scale)
                                  + boost))
            events.extend(NoteEvent(start, end, pitch, velocity, CHORDS_CHANNEL)
                          for pitch in voicing.upper)
            if voicing.bass is not None:
                events.append(NoteEvent(start, end, voicing.bass, velocity, BASS_CHANNEL))
    return events

"""Lock and re-roll: keep the chords of an earlier v2m-bridge MIDI file, regenerate one range.

``render --keep PREVIOUS.mid --reroll 20:40`` (and the daemon's ``/v2m/regenerate``):

1. The earlier file is read back as a :class:`KeptPiece` (by
   :func:`v2m_bridge.output.midi_file.read_kept_midi`): its tempo map, metre, key, chord changes
   and every note, in MIDI ticks. It must be one v2m-bridge wrote, for the same video
   (:func:`check_same_video` says what differs).
2. The range is snapped to whole bars of the tempo map (:func:`plan_reroll`).
3. The model is primed with the kept chords of every second before the range
   (:func:`kept_primer`), so the join into the range follows what is already there.
4. :func:`splice` keeps every note and chord outside the range at its tick, pitch and velocity,
   and takes the new music inside it.

Everything kept is kept in **ticks**, i.e. in bars and beats. With the same tempo map (the
default) the kept notes are byte-identical in time and pitch; with a new tempo they stay on
their bars and move in seconds with the bar lines.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from v2m_bridge.errors import V2MError
from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.events import NoteEvent
from v2m_bridge.music.grid import ChordSpan
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.vocab import Chord, Key, parse_chord, parse_key

GENERATOR_PREFIX = "v2m-bridge"
# provenance facts that identify the video a file was made for
VIDEO_FACTS = ("video", "video duration", "video fps", "video cuts")


class RerollError(V2MError, ValueError):
    """A keep / re-roll request that cannot be honoured (foreign file, other video, bad range)."""


@dataclass(frozen=True)
class KeptNote:
    start_tick: int
    end_tick: int
    pitch: int
    velocity: int
    channel: int


@dataclass(frozen=True)
class KeptPiece:
    """An earlier v2m-bridge MIDI file, in ticks."""

    path: str
    ticks_per_beat: int  # per quarter note, as MIDI counts them
    facts: dict[str, str]
    tempo_map: TempoMap  # the file's tempi, metre and pickup
    key: Key
    chords: tuple[tuple[int, Chord], ...]  # (tick, chord) at each chord marker
    notes: tuple[KeptNote, ...]
    end_tick: int
    # kept in memory (the daemon): the music itself in seconds, reused as is under its own map
    composition: Composition | None = None

    @property
    def tempo_changes(self) -> tuple[tuple[float, float], ...]:
        """``(beat, bpm)`` of every tempo."""
        return tuple((segment.beat, segment.bpm) for segment in self.tempo_map.segments)

    @property
    def beats_per_bar(self) -> int:
        return self.tempo_map.beats_per_bar

    @property
    def pickup(self) -> int:
        return self.tempo_map.pickup

    def beat_of_tick(self, tick: float) -> float:
        """The beat position of one of the file's ticks."""
        return self.tempo_map.beat_of_tick(tick, self.ticks_per_beat)

    def chord_at_beat(self, beat: float) -> Chord | None:
        current = None
        tick = beat * self.tempo_map.quarters_per_beat * self.ticks_per_beat
        for start, chord in self.chords:
            if start > tick + 1e-6:
                break
            current = chord
        return current


def kept_from_parts(path: str, ticks_per_beat: int, texts: Sequence[str],
                    tempo_map: TempoMap, key_name: str | None,
                    markers: Sequence[tuple[int, str]], notes: Sequence[KeptNote],
                    end_tick: int) -> KeptPiece:
    """Check what a MIDI reader found and build the :class:`KeptPiece` (or say why not)."""
    facts: dict[str, str] = {}
    for text in texts:
        label, sep, value = text.partition(": ")
        if sep and label != "note":
            facts[label] = value
    if not facts.get("generator", "").startswith(GENERATOR_PREFIX):
        raise RerollError(f"--keep {path}: this MIDI file was not written by v2m-bridge (it has "
                          "no 'generator: v2m-bridge' text event), so its chords cannot be "
                          "kept; render the video first and keep that file")
    key_text = facts.get("key") or key_name
    try:
        key = parse_key(key_text or "")
    except V2MError as err:
        raise RerollError(f"--keep {path}: the key {key_text!r} cannot be read: {err}") from err
    chords: list[tuple[int, Chord]] = []
    for tick, text in markers:
        if text.startswith("cut "):
            continue
        try:
            chords.append((tick, parse_chord(text)))
        except V2MError:
            continue  # a marker the user added in a DAW
    if not chords:
        raise RerollError(f"--keep {path}: the file has no chord markers to keep")
    return KeptPiece(path, ticks_per_beat, facts, tempo_map, key, tuple(chords), tuple(notes),
                     end_tick)


def kept_from_composition(composition: Composition, ticks_per_beat: int = 480) -> KeptPiece:
    """An in-memory composition as a :class:`KeptPiece` (the daemon's ``/v2m/regenerate``)."""
    tempo = composition.tempo_map

    def tick(time_s: float) -> int:
        return tempo.tick_at(time_s, ticks_per_beat)

    notes = tuple(KeptNote(tick(e.start), tick(e.end), e.pitch, e.velocity, e.channel)
                  for e in composition.events)
    chords: list[tuple[int, Chord]] = []
    for span in composition.chord_spans:
        if not chords or chords[-1][1] != span.chord:
            chords.append((tick(span.start), span.chord))
    return KeptPiece("(the opened composition)", ticks_per_beat,
                     dict(composition.provenance.facts), tempo, composition.key, tuple(chords),
                     notes, tick(composition.duration), composition)


def video_facts(name: str, duration: float, fps: float, cut_times: Sequence[float],
                ) -> dict[str, str]:
    """The facts that identify a video in every MIDI file (compared by ``--keep``)."""
    return {"video": name, "video duration": f"{duration:.3f} s", "video fps": f"{fps:.3f}",
            "video cuts": f"{len(cut_times)} at "
                          + (" ".join(f"{t:.2f}" for t in cut_times[:40]) or "-")}


def check_same_video(kept: KeptPiece, current: dict[str, str]) -> None:
    """Raise :class:`RerollError` naming every fact that differs between the kept file's video
    and this one."""
    differences = [f"{label}: kept file {kept.facts.get(label, '(missing)')!r}, this video "
                   f"{current[label]!r}" for label in VIDEO_FACTS
                   if label in current and kept.facts.get(label) != current[label]]
    if differences:
        raise RerollError(f"--keep {kept.path} was made for a different video; "
                          + "; ".join(differences))


def parse_range(text: str) -> tuple[float, float]:
    """``"20:40"`` → (20.0, 40.0) media seconds."""
    left, sep, right = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return float(left), float(right)
    except ValueError:
        raise RerollError(f"--reroll must look like START:END in seconds (e.g. 20:40), got "
                          f"{text!r}") from None


@dataclass(frozen=True)
class RerollRequest:
    """Keep ``kept`` and regenerate ``range_s`` (media seconds, snapped to bars)."""

    kept: KeptPiece
    range_s: tuple[float, float]
    keep_tempo: bool = True  # the kept file's tempo map; False: the render's own tempo


@dataclass(frozen=True)
class RerollPlan:
    """The bar-snapped range to regenerate."""

    start_beat: float
    end_beat: float
    start_s: float
    end_s: float
    first_bar: int  # 1-based, as the DAW numbers them
    last_bar: int

    @property
    def bars(self) -> list[int]:
        """The 1-based bar numbers re-rolled."""
        return list(range(self.first_bar, self.last_bar + 1))

    def describe(self) -> str:
        bars = (f"bar {self.first_bar}" if self.first_bar == self.last_bar
                else f"bars {self.first_bar}-{self.last_bar}")
        return f"{bars} ({self.start_s:.2f}-{self.end_s:.2f} s)"


def plan_reroll(range_s: tuple[float, float], duration: float,
                tempo_map: TempoMap) -> RerollPlan:
    """Snap ``range_s`` to the nearest bar lines; refuse a reversed, empty or outside range."""
    start, end = (float(v) for v in range_s)
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RerollError(f"--reroll needs finite seconds, got {start}:{end}")
    if end < start:
        raise RerollError(f"--reroll {start:g}:{end:g} is reversed: give START:END with "
                          "START < END")
    if end == start:
        raise RerollError(f"--reroll {start:g}:{end:g} is empty: give START:END with START < END")
    if start < 0 or start >= duration or end > duration + 0.5:
        raise RerollError(f"--reroll {start:g}:{end:g} is outside the video (0-{duration:.2f} s)")
    last_beat = tempo_map.beat_at(duration)
    lines = [*tempo_map.bar_line_beats(last_beat), last_beat]

    def nearest(beat: float) -> int:
        return min(range(len(lines)), key=lambda i: (abs(lines[i] - beat), i))

    first = min(nearest(tempo_map.beat_at(start)), len(lines) - 2)
    last = max(nearest(tempo_map.beat_at(min(end, duration))), first + 1)
    start_beat, end_beat = float(lines[first]), float(lines[last])
    return RerollPlan(start_beat, end_beat, tempo_map.time_at(start_beat),
                      min(tempo_map.time_at(end_beat), duration),
                      tempo_map.bar_beat(start_beat)[0],
                      tempo_map.bar_beat(end_beat - 1e-6)[0])


def kept_primer(kept: KeptPiece, plan: RerollPlan, tempo_map: TempoMap) -> list[Chord]:
    """The kept chord of every whole second before the range (in the kept key), to prime the
    model with: the second ``s`` takes the chord sounding at ``s``."""
    chords: list[Chord] = []
    for second in range(math.floor(plan.start_s + 1e-9)):
        chord = kept.chord_at_beat(tempo_map.beat_at(float(second)))
        if chord is None:
            break
        chords.append(chord)
    return chords


def splice(composition: Composition, kept: KeptPiece, plan: RerollPlan) -> Composition:
    """The new composition inside the plan's range, the kept notes and chords outside it."""
    tempo = composition.tempo_map
    if (tempo.beats_per_bar, tempo.pickup, tempo.beat_unit) != (
            kept.tempo_map.beats_per_bar, kept.pickup, kept.tempo_map.beat_unit):
        raise RerollError(f"--keep {kept.path} is in {kept.tempo_map.metre_text}, this render "
                          f"in {tempo.metre_text}: the kept chords could not stay on their bars")
    tpb = kept.ticks_per_beat
    per_beat = tpb * tempo.quarters_per_beat
    low, high = round(plan.start_beat * per_beat), round(plan.end_beat * per_beat)
    duration = composition.duration
    end_beat = tempo.beat_at(duration)

    def seconds(tick: int) -> float:
        return tempo.time_of_tick(tick, tpb)

    if kept.composition is not None and kept.tempo_map == tempo.midi_exact() == \
            kept.composition.tempo_map.midi_exact():
        return _splice_same_map(composition, kept.composition, plan)
    events: list[NoteEvent] = []
    for note in kept.notes:
        if low <= note.start_tick < high or kept.beat_of_tick(note.start_tick) >= end_beat - 1e-9:
            continue
        end_tick = min(note.end_tick, low) if note.start_tick < low else note.end_tick
        events.append(NoteEvent(seconds(note.start_tick), min(seconds(end_tick), duration),
                                note.pitch, note.velocity, note.channel))
    for event in composition.events:
        if plan.start_s - 1e-9 <= event.start < plan.end_s - 1e-9:
            events.append(dataclasses.replace(event, end=min(event.end, plan.end_s)))

    spans: list[ChordSpan] = []
    kept_changes = [(kept.beat_of_tick(tick), chord) for tick, chord in kept.chords]

    def add_kept(from_beat: float, to_beat: float) -> None:
        bounds = [b for b, _ in kept_changes]
        for index, (beat, chord) in enumerate(kept_changes):
            following = bounds[index + 1] if index + 1 < len(bounds) else math.inf
            start, stop = max(beat, from_beat), min(following, to_beat)
            if stop - start > 1e-9:
                spans.append(ChordSpan(round(tempo.time_at(start), 6),
                                       round(min(tempo.time_at(stop), duration), 6), chord))

    add_kept(0.0, plan.start_beat)
    for span in composition.chord_spans:
        start, stop = max(span.start, plan.start_s), min(span.end, plan.end_s)
        if stop - start > 1e-9:
            spans.append(dataclasses.replace(span, start=round(start, 6), end=round(stop, 6)))
    add_kept(plan.end_beat, end_beat)
    spans = [span for span in spans if span.end - span.start > 1e-9]
    grid = dataclasses.replace(composition.grid, spans=tuple(spans))
    return dataclasses.replace(composition, events=sorted(events), grid=grid)


def _splice_same_map(composition: Composition, kept: Composition,
                     plan: RerollPlan) -> Composition:
    """Splice under one tempo map: kept notes and spans are reused exactly as they were."""
    start, end = plan.start_s, plan.end_s
    events = [e for e in kept.events if e.start < start - 1e-9 or e.start >= end - 1e-9]
    events = [dataclasses.replace(e, end=min(e.end, start)) if e.start < start < e.end else e
              for e in events]
    events += [dataclasses.replace(e, end=min(e.end, end)) for e in composition.events
               if start - 1e-9 <= e.start < end - 1e-9]
    spans = [dataclasses.replace(s, end=min(s.end, start)) for s in kept.chord_spans
             if s.start < start - 1e-9]
    spans += [dataclasses.replace(s, start=max(s.start, start), end=min(s.end, end))
              for s in composition.chord_spans if s.start < end - 1e-9 and s.end > start + 1e-9]
    spans += [dataclasses.replace(s, start=max(s.start, end)) for s in kept.chord_spans
              if s.end > end + 1e-9]
    spans = [s for s in spans if s.end - s.start > 1e-9]
    grid = dataclasses.replace(composition.grid, spans=tuple(spans))
    return dataclasses.replace(composition, events=sorted(events), grid=grid)

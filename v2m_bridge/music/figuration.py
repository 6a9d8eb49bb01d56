"""A piano accompaniment from learned bar patterns: chosen by the picture, adapted to our chords.

Bar by bar (on the grid's tempo map), a pattern from :mod:`v2m_bridge.music.patterns` is chosen
for how active the picture is (notes per bar and register: calm shots get sparse, low, sustained
bars; action gets busy ones), for smooth voice leading from the bar before, and for how often
real players use it. As a pianist keeps a figure for a phrase, the pattern chosen on a phrase's
first bar goes on (re-voiced onto each chord) and the phrase's last bar varies it; a cut or a
big change of activity chooses anew. A chord change inside a bar (a cut on a sixteenth) re-strikes
the pattern's downbeat on the new chord. At every chord change the upper voices hold the common
tones and move the others to the nearest chord tone (:func:`lead_voices`), and the bass sounds.
No note outlasts its chord. The patterns are 4/4 bars: a shorter bar plays their first beats, a
pickup bar their last ones.

The notes go to three parts: the bass (the lowest notes, under G3), chords (notes struck two or
more at once) and figuration (single notes). Velocity starts from the picture's velocity at the
note, then adds the pattern's own accents, a metric accent on the bar line, a phrase arc
(louder towards the phrase's third bar) and a small balance per part.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from v2m_bridge.music.clashes import chord_classes_at
from v2m_bridge.music.dynamics import VELOCITY_MIN
from v2m_bridge.music.events import ARP_CHANNEL, BASS_CHANNEL, CHORDS_CHANNEL, NoteEvent
from v2m_bridge.music.grid import HarmonicGrid
from v2m_bridge.music.patterns import Pattern, PatternNote, chord_pitch, load_patterns, scale_of
from v2m_bridge.vocab import Chord, Key

BASS_SPLIT = 55  # notes under G3 that are within a fifth of the bar's lowest note are the bass
PHRASE_BARS = 4
CANDIDATES = 30  # patterns nearest the wanted density that are scored for each choice
LOWEST, HIGHEST = 28, 88  # the piano's useful range for an accompaniment
DOWNBEAT_ACCENT = 1
MID_BAR_ACCENT = 2
OFFBEAT_DROP = 3  # sixteenths between the beats are played lighter
UPPER_HOLD_BEATS = 1.0  # chords and figuration ring on to their next onset, a beat at most
PHRASE_ARC = (-2, 2, 6, -3)  # velocity added on the phrase's bars 1..4
PART_BALANCE = {BASS_CHANNEL: -2, CHORDS_CHANNEL: -5, ARP_CHANNEL: 0}
PATTERN_ACCENT_SCALE = 1.0
VELOCITY_FLOOR = VELOCITY_MIN - 12  # accents shape the picture's velocity, never drown a note
# choice costs besides register and density (in semitones of register distance)
VOICE_LEADING_WEIGHT = 2.0
WRAP_WEIGHT = 1.5  # patterns that flow over the bar line into their own repeat
LEAP_WEIGHT = 7.0  # patterns whose top line leaps 3-7 semitones from beat to beat
EMPTY_DOWNBEAT_COST = 8.0  # the right hand silent on the bar line
COMMON_TONE_REACH = 4  # semitones an upper voice may leave its written place to hold a tone


@dataclass(frozen=True)
class TextureStyle:
    """How the wanted notes per bar and mean pitch follow the picture's activity (0..1)."""

    name: str
    notes_calm: float
    notes_active: float
    centre_calm: float
    centre_active: float
    min_on_eighths: float = 0.0  # driving styles keep to patterns on the eighths

    def notes(self, activity: float) -> float:
        return self.notes_calm + (self.notes_active - self.notes_calm) * activity

    def centre(self, activity: float) -> float:
        return self.centre_calm + (self.centre_active - self.centre_calm) * activity


STYLES: dict[str, TextureStyle] = {
    "auto": TextureStyle("auto", 6, 26, 54, 59),
    "ballad": TextureStyle("ballad", 4, 11, 53, 56),
    "pulse": TextureStyle("pulse", 14, 30, 56, 59, min_on_eighths=0.9),
}


@dataclass(frozen=True)
class _Bar:
    index: int  # 0-based, counting the pickup bar if there is one
    start_beat: float
    beats: float
    phrase_bar: int  # 0..PHRASE_BARS-1
    skip: int  # sixteenths of the pattern left out at the start (a pickup plays the tail)


@dataclass(frozen=True)
class _Played:
    start: float
    end: float
    pitch: int
    accent: int  # the pattern's own velocity against its bar's mean
    position: int  # sixteenths from the pattern's bar line
    place: int | None = None  # an upper chord tone's written place (see chord_pitch)
    bass: bool = False  # one of the pattern's bass notes


def _bars(grid: HarmonicGrid) -> list[_Bar]:
    tempo = grid.tempo
    total = tempo.beat_at(grid.duration)
    lines = [*tempo.bar_line_beats(total), total]
    bars, full = [], 0
    for index, (start, end) in enumerate(itertools.pairwise(lines)):
        beats = end - start
        if beats <= 1e-6:
            continue
        is_pickup = index == 0 and tempo.pickup and beats < tempo.beats_per_bar - 1e-6
        skip = round((4 - min(beats, 4)) * 4) if is_pickup else 0
        bars.append(_Bar(index, start, beats, full % PHRASE_BARS, skip))
        full += 0 if is_pickup else 1
    return bars


def _upper(pitches: Sequence[int]) -> list[int]:
    return sorted(pitches)[1:] if len(pitches) > 1 else list(pitches)


def _movement(a: Sequence[int], b: Sequence[int]) -> float:
    if not a or not b:
        return 0.0
    forward = sum(min(abs(x - y) for y in b) for x in a)
    backward = sum(min(abs(x - y) for y in a) for x in b)
    return (forward + backward) / (len(a) + len(b))


def lead_voices(places: Collection[int], chord_classes: frozenset[int], before: Sequence[int],
                taken: Collection[int] = ()) -> dict[int, int]:
    """The pitches a pianist gives upper chord tones written at ``places`` on a new chord.

    Each place continues the voice that sounded ``before`` nearest it, and takes a chord tone
    within :data:`COMMON_TONE_REACH` of the place: the same pitch where the chords share it
    (a common tone is held), else the nearest chord tone; the cheapest moves are made first, two
    voices never take one pitch, nor a pitch ``taken`` already. Empty with nothing before.
    """
    if not before:
        return {}
    moves = []
    for place in places:
        voice = min(before, key=lambda pitch: (abs(pitch - place), pitch))
        moves.extend(((abs(pitch - voice), abs(pitch - place)), place, pitch)
                     for pitch in range(place - COMMON_TONE_REACH, place + COMMON_TONE_REACH + 1)
                     if pitch % 12 in chord_classes and pitch not in taken)
    led: dict[int, int] = {}
    for _cost, place, pitch in sorted(moves):
        if place not in led and pitch not in led.values():
            led[place] = pitch
    return led


def _hold_common_tones(grid: HarmonicGrid,
                       played: list[tuple[_Played, _Bar]]) -> list[tuple[_Played, _Bar]]:
    """Each chord change voiced as a pianist would: the upper chord tones struck first on the
    new chord follow :func:`lead_voices` from the upper chord tones of the beat before, and
    each keeps that pitch for its written place while the chord lasts (the pattern's contour
    is otherwise unchanged)."""
    tempo = grid.tempo
    result = list(played)
    order = sorted(range(len(played)), key=lambda i: played[i][0].start)
    chosen: dict[int, int] = {}  # written place -> pitch, for the chord sounding now
    chord, before, leading = None, [], False
    for start, group in itertools.groupby(order, key=lambda i: played[i][0].start):
        indices = list(group)
        span = grid.spans[grid.span_index(start)]
        if span.chord != chord:  # what sounds as the chord changes: held, or struck in the beat
            chord, chosen, leading = span.chord, {}, True
            beat_before = tempo.time_at(tempo.beat_at(span.start) - 1)
            before = [note.pitch for note, _ in result
                      if note.place is not None and note.start < span.start - 1e-6
                      and (note.end >= span.start - 1e-6 or note.start >= beat_before - 1e-6)]
        if leading and any(result[i][0].place is not None for i in indices):
            leading = False
            taken = {result[i][0].pitch for i in indices if result[i][0].place is None}
            places = {result[i][0].place for i in indices} - {None}
            chosen = lead_voices(places, chord_classes_at(grid, start), before, taken)
        for i in indices:
            note, bar = result[i]
            if note.place in chosen:
                result[i] = (dataclasses.replace(note, pitch=chosen[note.place]), bar)
    return result


def _top_leaps(notes: Sequence[tuple[int, PatternNote]], pitches: Sequence[int]) -> float:
    """Leaps of 3-7 semitones per beat of the top line as played on the chord (the highest
    note sounding on each beat): real parts' top lines step, hold or leap wider more often."""
    tops = []
    for beat in range(4):
        sounding = [pitch for (_, note), pitch in zip(notes, pitches, strict=True)
                    if note.position <= beat * 4 < note.position + note.length]
        if sounding:
            tops.append(max(sounding))
    return sum(3 <= abs(b - a) <= 7 for a, b in itertools.pairwise(tops)) / 4


class _Figurator:
    def __init__(self, grid: HarmonicGrid, key: Key, style: TextureStyle,
                 activity_at: Callable[[float], float], register_shift: int) -> None:
        self.grid = grid
        self.tempo = grid.tempo
        self.scale = scale_of(key)
        self.style = style
        self.activity_at = activity_at
        self.register_shift = register_shift
        patterns = load_patterns()
        driving = [p for p in patterns if p.on_eighths >= style.min_on_eighths]
        self.patterns = driving or list(patterns)
        self.cut_starts = [span.start for span in grid.spans if span.at_cut]
        self.previous_upper: list[int] = []

    # -- choosing ---------------------------------------------------------------------------

    def _in_bar(self, pattern: Pattern, bar: _Bar) -> list[tuple[int, PatternNote]]:
        limit = bar.skip + round(bar.beats * 4)
        return [(i, n) for i, n in enumerate(pattern.notes) if bar.skip <= n.position < limit]

    @staticmethod
    def _is_bass(pattern: Pattern, index: int, note: PatternNote, anchor: int) -> bool:
        return index in pattern.bass_notes and note.above_root + anchor < BASS_SPLIT

    def _pitch(self, pattern: Pattern, index: int, note: PatternNote, chord: Chord,
               anchor: int) -> int:
        return chord_pitch(note, chord, self.scale, anchor,
                           self._is_bass(pattern, index, note, anchor))

    def _cost(self, pattern: Pattern, chord: Chord, anchor: int, bar: _Bar,
              wanted_notes: float, centre: float, seed: int) -> float:
        notes = self._in_bar(pattern, bar)
        if not notes:
            return float("inf")
        pitches = [self._pitch(pattern, i, n, chord, anchor) for i, n in notes]
        if min(pitches) < LOWEST or max(pitches) > HIGHEST:
            return float("inf")
        mean = sum(pitches) / len(pitches)
        first = min(n.position for _, n in notes)
        opening = _upper([p for (_, n), p in zip(notes, pitches, strict=True)
                          if n.position == first])
        right_hand = any(p >= BASS_SPLIT for (_, n), p in zip(notes, pitches, strict=True)
                         if n.position == first)
        variety = ((pattern.index * 2654435761 + seed * 40503) % 1000) / 1000
        return (abs(mean - centre) + VOICE_LEADING_WEIGHT * _movement(self.previous_upper, opening)
                + WRAP_WEIGHT * pattern.wrap_movement
                + 6 * abs(len(pattern.notes) - wanted_notes) / max(wanted_notes, 1)
                - 0.3 * min(pattern.count, 20) ** 0.5 + 1.2 * variety
                + LEAP_WEIGHT * _top_leaps(notes, pitches)
                + (0 if right_hand else EMPTY_DOWNBEAT_COST))

    def _choose(self, bar: _Bar, chord: Chord, exclude: Pattern | None,
                seed: int) -> tuple[Pattern, int]:
        """A pattern and its anchor (where it sits: its mean on the wanted register)."""
        activity = self.activity_at(self.tempo.time_at(bar.start_beat))
        wanted = self.style.notes(activity)
        centre = self.style.centre(activity) + self.register_shift
        nearest = sorted(self.patterns, key=lambda p: (abs(len(p.notes) - wanted), p.index))
        best, best_cost = (nearest[0], round(centre - nearest[0].mean_above_root)), float("inf")
        for pattern in nearest[:CANDIDATES]:
            if exclude is not None and pattern.onsets == exclude.onsets:
                continue
            anchor = round(centre - pattern.mean_above_root)
            cost = self._cost(pattern, chord, anchor, bar, wanted, centre, seed)
            if cost < best_cost:
                best, best_cost = (pattern, anchor), cost
        return best

    # -- playing ----------------------------------------------------------------------------

    def _play(self, pattern: Pattern, anchor: int, bar: _Bar) -> list[_Played]:
        grid, tempo = self.grid, self.tempo
        bar_end = tempo.time_at(bar.start_beat + bar.beats)
        notes = self._in_bar(pattern, bar)
        played: list[_Played] = []
        for index, note in notes:
            start = tempo.time_at(bar.start_beat + (note.position - bar.skip) / 4)
            played.extend(self._at(pattern, index, note, start, note.length / 4, anchor,
                                   bar_end))
        # chord changes between the pattern's onsets re-strike its downbeat on the new chord
        onset_times = sorted({p.start for p in played})
        first = min((n.position for _, n in notes), default=0)
        for span in grid.spans:
            if not (tempo.time_at(bar.start_beat) < span.start < bar_end):
                continue
            if any(abs(t - span.start) < 1e-6 for t in onset_times):
                continue
            following = [t for t in onset_times if t > span.start]
            length_beats = (tempo.beat_at(min(following)) - tempo.beat_at(span.start)
                            if following else 1.0)
            for index, note in notes:
                if note.position == first:
                    played.extend(self._at(pattern, index, note, span.start,
                                           min(length_beats, 1.0), anchor, bar_end))
        return played + self._bass_on_changes(pattern, anchor, bar, played)

    def _bass_on_changes(self, pattern: Pattern, anchor: int, bar: _Bar,
                         played: list[_Played]) -> list[_Played]:
        """The left hand plays the new chord as it comes: a chord change (on the bar line or
        inside the bar) with no bass note struck gets the pattern's first bass note."""
        grid, tempo = self.grid, self.tempo
        bar_start = tempo.time_at(bar.start_beat)
        bar_end = tempo.time_at(bar.start_beat + bar.beats)
        basses = [(i, n) for i, n in self._in_bar(pattern, bar)
                  if self._is_bass(pattern, i, n, anchor)]
        if not basses:
            return []
        index, note = min(basses, key=lambda item: item[1].position)
        added: list[_Played] = []
        for k, span in enumerate(grid.spans):
            if not (bar_start - 1e-6 <= span.start < bar_end - 1e-6) or (
                    k > 0 and grid.spans[k - 1].chord == span.chord):
                continue
            if not any(p.bass and abs(p.start - span.start) < 1e-6 for p in played):
                added.extend(self._at(pattern, index, note, span.start, 1.0, anchor, bar_end))
        return added

    def _at(self, pattern: Pattern, index: int, note: PatternNote, start: float,
            length_beats: float, anchor: int, bar_end: float) -> list[_Played]:
        grid = self.grid
        if start >= grid.duration - 1e-6:
            return []
        span = grid.spans[grid.span_index(start)]
        if span.chord.is_none:
            return []
        end = min(self.tempo.time_at(self.tempo.beat_at(start) + length_beats), bar_end,
                  span.end, grid.duration)
        if end - start < 1e-6:
            return []
        pitch = self._pitch(pattern, index, note, span.chord, anchor)
        is_bass = self._is_bass(pattern, index, note, anchor)
        place = None if is_bass or note.degree < 0 else note.above_root + anchor
        return [_Played(start, end, max(0, min(127, pitch)), note.velocity, note.position,
                        place, is_bass)]

    def run(self) -> list[tuple[_Played, _Bar]]:
        result: list[tuple[_Played, _Bar]] = []
        current: Pattern | None = None
        current_anchor, current_notes = 0, 0.0
        for bar in _bars(self.grid):
            start = self.tempo.time_at(bar.start_beat)
            end = self.tempo.time_at(bar.start_beat + bar.beats)
            chord = self.grid.spans[self.grid.span_index(start)].chord
            if chord.is_none:
                self.previous_upper = []
                continue
            wanted = self.style.notes(self.activity_at(start))
            cut_inside = any(start - 1e-6 <= cut < end - 1e-6 for cut in self.cut_starts)
            seed = bar.index // PHRASE_BARS * 31 + (chord.root or 0)
            drifted = abs(current_notes - wanted) > max(4.0, 0.35 * wanted)
            if current is None or bar.phrase_bar == 0 or cut_inside or drifted:
                current, current_anchor = self._choose(bar, chord, None, seed)
                current_notes = len(current.notes)
                pattern, anchor = current, current_anchor
            elif bar.phrase_bar == PHRASE_BARS - 1:
                pattern, anchor = self._choose(bar, chord, current, seed + 7)
            else:
                pattern, anchor = current, current_anchor
            played = self._play(pattern, anchor, bar)
            result.extend((note, bar) for note in played)
            if played:  # what still rings at the bar line: the upper notes of its last beat
                last_beat = self.tempo.time_at(bar.start_beat + bar.beats - 1)
                ringing = [p.pitch for p in played
                           if p.start >= last_beat - 1e-6 and p.pitch >= BASS_SPLIT]
                self.previous_upper = ringing or _upper([p.pitch for p in played])
        return result


def _channels(played: list[tuple[_Played, _Bar]]) -> list[int]:
    """Bass, chords or figuration for each played note (see the module docstring)."""
    lowest: dict[int, int] = {}
    for note, bar in played:
        lowest[bar.index] = min(lowest.get(bar.index, 127), note.pitch)
    bass = [note.pitch < BASS_SPLIT and note.pitch <= lowest[bar.index] + 7
            for note, bar in played]
    together: dict[float, int] = {}
    for (note, _bar), is_bass in zip(played, bass, strict=True):
        if not is_bass:
            key = round(note.start, 6)
            together[key] = together.get(key, 0) + 1
    return [BASS_CHANNEL if is_bass else
            CHORDS_CHANNEL if together[round(note.start, 6)] >= 2 else ARP_CHANNEL
            for (note, _bar), is_bass in zip(played, bass, strict=True)]


def _legato(grid: HarmonicGrid, played: list[tuple[_Played, _Bar]],
            channels: list[int]) -> list[tuple[_Played, _Bar]]:
    """Every note held until its part's next onset, inside its chord (as a pianist's fingers
    and pedal would): the bass under the bar, the chords and figuration ringing into each
    other for up to :data:`UPPER_HOLD_BEATS`."""
    onsets: dict[int, list[float]] = {}
    for (note, _bar), channel in zip(played, channels, strict=True):
        onsets.setdefault(channel, []).append(note.start)
    for starts in onsets.values():
        starts.sort()
    result, tempo = [], grid.tempo
    for (note, bar), channel in zip(played, channels, strict=True):
        starts = onsets[channel]
        later = starts[bisect.bisect_right(starts, note.start + 1e-9):]
        span_end = grid.spans[grid.span_index(note.start)].end
        end = min(later[0] if later else grid.duration, span_end)
        if channel != BASS_CHANNEL:  # the hands let go after a beat; the bass is pedalled
            end = min(end, tempo.time_at(tempo.beat_at(note.start) + UPPER_HOLD_BEATS))
        if end > note.end:
            note = dataclasses.replace(note, end=end)
        result.append((note, bar))
    return result


def figurate(grid: HarmonicGrid, key: Key, style: str | TextureStyle,
             activity_at: Callable[[float], float], velocity_at: Callable[[float], int],
             register_shift: int = 0) -> list[NoteEvent]:
    """The learned accompaniment over the whole grid (bass, chords and figuration parts).

    Args:
        grid: chord spans on the tempo grid (chords already in ``key``).
        key: the key; passing tones keep to its scale.
        style: a :data:`STYLES` name or a :class:`TextureStyle`.
        activity_at: how active the picture is at a time, 0 (still) .. 1 (action).
        velocity_at: the picture's velocity for a note starting at a time.
        register_shift: semitones added to the wanted register (``--register``).
    """
    chosen = STYLES[style] if isinstance(style, str) else style
    played = _hold_common_tones(grid, _Figurator(grid, key, chosen, activity_at,
                                                 register_shift).run())
    channels = _channels(played)
    played = _legato(grid, played, channels)
    events = []
    for (note, bar), channel in zip(played, channels, strict=True):
        in_beat = note.position % 4
        metric = (DOWNBEAT_ACCENT if note.position == 0 else
                  MID_BAR_ACCENT if note.position == 8 else
                  -OFFBEAT_DROP if in_beat else 0)
        accent = max(-20, min(20, round(note.accent * PATTERN_ACCENT_SCALE)))
        if note.position == 0:  # the bar line is never played softer than the pattern's mean
            accent = max(accent, 0)
        velocity = (velocity_at(note.start) + metric + accent + PHRASE_ARC[bar.phrase_bar]
                    + PART_BALANCE[channel])
        events.append(NoteEvent(note.start, note.end, note.pitch,
                                max(VELOCITY_FLOOR, min(127, velocity)), channel))
    return events

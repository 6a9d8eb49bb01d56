"""Learn bar-long accompaniment patterns from the POP909 PIANO tracks (training split only).

Each bar of a hand-made part that sits on one chord becomes a pattern *relative to that chord*:
for every note its sixteenth inside the bar, its length in sixteenths, its pitch above the
chord's root (octave kept, root taken in -6..+5 so the register is kept), what it is in the
chord (root, third, fifth, seventh, or a passing/neighbour tone) and its velocity against the
bar's mean. Bars whose onsets are off the sixteenth grid (triplets, rubato) are skipped.
Identical patterns are counted; those seen in at least two bars are kept, the most frequent of
each density band, so the table stays small. :mod:`v2m_bridge.music.figuration` adapts them to
our chords, grid and picture.

Reproduce the shipped table (CPU, about a minute)::

    python -m v2m_bridge.data.texture_patterns --pop909 ../shared/data/corpora/pop909 \\
        --out v2m_bridge/music/texture_patterns.json

Only songs of the ``train`` split (:func:`v2m_bridge.data.corpora.split_of`) are read, so the
held-out ``test`` songs that ``benchmarks/bench_texture.py`` measures against stay unseen.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter, defaultdict
from pathlib import Path

from v2m_bridge.data.corpora import CorpusError
from v2m_bridge.data.pop909_piano import PianoPart, read_piano_part, song_dirs
from v2m_bridge.vocab import QUALITY_INTERVALS, Chord

ATTRIBUTION = ("Bar patterns learned from the PIANO tracks of POP909 (Wang et al., ISMIR 2020; "
               "MIT licence, Copyright (c) 2020 Music X Lab), training split only, by "
               "v2m_bridge.data.texture_patterns")
LOG = logging.getLogger(__name__)
METRES = (3, 4)
DENSITY_BANDS = ((2, 6), (7, 10), (11, 15), (16, 22), (23, 64))  # notes per bar
KEEP_PER_BAND = 60
MIN_COUNT = 2
OFF_GRID_BEATS = 0.05

NoteCode = tuple[int, int, int, int]  # (sixteenth, length in sixteenths, pitch above root, degree)


def root_offset(root: int) -> int:
    """The root pitch class as a signed offset -6..+5, so transposing keeps the register."""
    return root if root < 6 else root - 12


def degree_of(interval: int, chord: Chord) -> int:
    """0..3: root, third, fifth, seventh (by position in the chord); -1: not a chord tone."""
    intervals = QUALITY_INTERVALS[chord.quality]
    return intervals.index(interval % 12) if interval % 12 in intervals else -1


def _bar_chord(part: PianoPart, start: float, end: float) -> Chord | None:
    """The one chord sounding over the whole bar, or ``None``."""
    inside = [c.chord for c in part.chords if c.start < end - 0.05 and c.end > start + 0.05]
    if len(set(inside)) != 1 or inside[0].is_none:
        return None
    return inside[0]


def bar_patterns(part: PianoPart) -> list[tuple[int, tuple[NoteCode, ...], tuple[int, ...]]]:
    """(metre, note codes, velocity offsets) of every usable bar of one part."""
    result = []
    starts = sorted(part.notes, key=lambda n: n.start)
    for first, last in zip(part.downbeats, part.downbeats[1:], strict=False):
        metre = round(last - first)
        chord = _bar_chord(part, first, last)
        if metre not in METRES or chord is None:
            continue
        notes = [n for n in starts if first - 0.125 <= n.start < last - 0.125]
        if not 2 <= len(notes) <= 64 or min(n.start for n in notes) > first + 0.125:
            continue  # an empty downbeat: mostly a song's first bar or a break
        if any(abs((n.start - first) * 4 - round((n.start - first) * 4)) > OFF_GRID_BEATS * 4
               for n in notes):
            continue
        base = root_offset(chord.root)
        mean_velocity = sum(n.velocity for n in notes) / len(notes)
        codes, velocities = [], []
        for note in notes:
            position = max(0, round((note.start - first) * 4))
            length = min(max(1, round((note.end - note.start) * 4)), metre * 4 - position)
            above = note.pitch - base
            codes.append((position, length, above, degree_of(above, chord)))
            velocities.append(round(note.velocity - mean_velocity))
        order = sorted(range(len(codes)), key=lambda i: codes[i])
        result.append((metre, tuple(codes[i] for i in order), tuple(velocities[i] for i in order)))
    return result


def learn(parts: list[PianoPart]) -> dict:
    """The pattern table: per metre, the most frequent patterns of each density band."""
    counts: Counter = Counter()
    velocity_sums: dict = defaultdict(lambda: None)
    for part in parts:
        for metre, codes, velocities in bar_patterns(part):
            key = (metre, codes)
            counts[key] += 1
            previous = velocity_sums[key]
            velocity_sums[key] = velocities if previous is None else tuple(
                a + b for a, b in zip(previous, velocities, strict=True))
    table: dict[str, list] = {str(m): [] for m in METRES}
    for metre in METRES:
        for low, high in DENSITY_BANDS:
            band = [(count, key) for key, count in counts.items() if key[0] == metre
                    and low <= len(key[1]) <= high and count >= MIN_COUNT]
            band.sort(key=lambda item: (-item[0], item[1]))
            for count, key in band[:KEEP_PER_BAND]:
                velocities = [round(v / count) for v in velocity_sums[key]]
                table[str(metre)].append(
                    {"count": count,
                     "notes": [[*code, velocity] for code, velocity in
                               zip(key[1], velocities, strict=True)]})
    return {"attribution": ATTRIBUTION, "bars": sum(counts.values()),
            "songs": len(parts), "patterns": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pop909", type=Path, required=True, help="the POP909 corpus folder")
    parser.add_argument("--out", type=Path, required=True, help="the JSON table to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parts = []
    for song_dir in song_dirs(args.pop909, "train"):
        try:
            parts.append(read_piano_part(song_dir))
        except CorpusError as err:
            LOG.warning("skipped: %s", err)
    table = learn(parts)
    args.out.write_text(json.dumps(table, separators=(",", ":")) + "\n")
    kept = {metre: len(patterns) for metre, patterns in table["patterns"].items()}
    LOG.info("%d songs, %d single-chord bars on the grid; kept %s patterns -> %s",
             table["songs"], table["bars"], kept, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

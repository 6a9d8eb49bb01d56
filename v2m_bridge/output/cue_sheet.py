"""``--hits out.csv``: a cue sheet of the hit points, one row per detected cut.

Columns: cut number, time in seconds, SMPTE at the video's frame rate (non-drop), ``bar_beat``
(``bar.beat``, both from 1) and ``ticks`` (how far into that beat, at the MIDI file's
:data:`~v2m_bridge.output.midi_file.TICKS_PER_BEAT` per beat: 0 for hits and near misses, which
are placed on their beat; a miss sits between beats), frames off the nearest beat (signed:
positive when the cut comes after the beat), hit / near / miss, and the cut's strength.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.hits import smpte
from v2m_bridge.music.tempo_map import TempoMap
from v2m_bridge.output.midi_file import TICKS_PER_BEAT
from v2m_bridge.output.paths import atomic_output, check_output_path

COLUMNS = ("cut", "time_s", "smpte", "bar_beat", "ticks", "frames_off", "result", "strength")


def bar_beat_ticks(tempo_map: TempoMap, beat: float) -> tuple[str, int]:
    """``("7.4", 134)``: the bar and beat (from 1) holding beat position ``beat``, and the
    ticks into that beat, as a DAW's bar.beat.ticks display reads it."""
    ticks = round(beat * TICKS_PER_BEAT)
    whole_beats, into = divmod(ticks, TICKS_PER_BEAT)
    bar, within = tempo_map.bar_beat(float(whole_beats))
    return f"{bar}.{math.floor(within + 1e-9)}", into


def cue_sheet_text(composition: Composition) -> str:
    """The cue sheet as CSV text."""
    fit = composition.tempo_fit
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    if fit is None:
        return buffer.getvalue()
    tempo_map = composition.tempo_map  # the music's own map, as the MIDI file's markers
    for cut in fit.chosen.cuts:
        position = cut.nearest_beat if cut.kind != "miss" else cut.beat  # as the markers say
        bar_beat, ticks = bar_beat_ticks(tempo_map, position)
        writer.writerow([cut.index, f"{cut.time:.3f}", smpte(cut.time, fit.fps), bar_beat,
                         ticks, f"{cut.frames_off:+.2f}", cut.kind, f"{cut.strength:.2f}"])
    return buffer.getvalue()


def write_cue_sheet(composition: Composition, path: str | os.PathLike,
                    inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Write the cue sheet atomically."""
    target = check_output_path(path, inputs, what="hits output")
    text = cue_sheet_text(composition)
    with atomic_output(target) as temp_path:
        Path(temp_path).write_text(text, encoding="utf-8")
    return target

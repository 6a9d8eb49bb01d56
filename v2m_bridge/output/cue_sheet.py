"""``--hits out.csv``: a cue sheet of the hit points, one row per detected cut.

Columns: cut number, time in seconds, SMPTE at the video's frame rate (non-drop), bar.beat,
frames off the nearest beat (signed: positive when the cut comes after the beat), hit / near /
miss, and the cut's strength. The header rows say the tempo and frame rate.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from v2m_bridge.music.arrangement import Composition
from v2m_bridge.music.hits import hit_label, smpte
from v2m_bridge.output.paths import atomic_output, check_output_path

COLUMNS = ("cut", "time_s", "smpte", "bar_beat", "frames_off", "result", "strength")


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
        writer.writerow([cut.index, f"{cut.time:.3f}", smpte(cut.time, fit.fps),
                         hit_label(cut, tempo_map), f"{cut.frames_off:+.2f}", cut.kind,
                         f"{cut.strength:.2f}"])
    return buffer.getvalue()


def write_cue_sheet(composition: Composition, path: str | os.PathLike,
                    inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Write the cue sheet atomically."""
    target = check_output_path(path, inputs, what="hits output")
    text = cue_sheet_text(composition)
    with atomic_output(target) as temp_path:
        Path(temp_path).write_text(text, encoding="utf-8")
    return target

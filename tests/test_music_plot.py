"""The timeline plot draws every row, with or without a video to take thumbnails from."""

from __future__ import annotations

import numpy as np

from v2m_bridge.music.arrangement import arrange
from v2m_bridge.output.plot import draw_timeline, write_plot
from v2m_bridge.vocab import parse_chords


def _composition():
    seconds = 12
    emotion = np.full((seconds, 6), 1 / 6)
    motion = np.full(seconds, 2.0)
    motion[4] = 30.0
    return arrange(parse_chords("C C Am Am F F G G C C G G"), motion=motion,
                   scene_offset=np.arange(1.0, seconds + 1), emotion=emotion, cut_times=[6.9])


def test_timeline_rows_show_cuts_chords_and_notes():
    composition = _composition()
    figure = draw_timeline(composition)
    thumbs, emotion, motion, chords, roll = figure.axes[:5]
    assert "no video frames" in [text.get_text() for text in thumbs.texts]
    assert len(emotion.get_lines()) >= 6
    accents = [line.get_xdata()[0] for line in motion.get_lines() if line.get_marker() == "^"]
    assert accents == list(composition.grid.accents) == [4.0]
    assert [text.get_text() for text in chords.texts] == [composition.chord_name(span) for span
                                                          in composition.chord_spans]
    cut_lines = [line for line in roll.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in cut_lines] == list(composition.cut_times)
    assert len(roll.collections) == len(composition.events)


def test_plot_file_is_a_png(tmp_path):
    path = write_plot(_composition(), tmp_path / "t.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["t.png"]

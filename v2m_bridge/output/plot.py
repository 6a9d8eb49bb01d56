"""See it: a timeline PNG of a composition against its video.

Rows, all on one time axis: frame thumbnails, emotion probabilities, motion with the note
density, chord names over the bar lines (dotted; phrase starts darker), and a piano roll of both
parts. Cuts are red dashed lines through every row; on the chord row each detected cut is marked
as a hit (green triangle), near miss (orange) or miss (black cross) against the beat grid; motion
accents are orange triangles. The title gives the key, the tempo or tempo map, the bar count
and the hits. Uses matplotlib's object API with the Agg canvas, so
no global pyplot state and no display are needed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from v2m_bridge.emotion import EMOTIONS
from v2m_bridge.music.arrangement import Composition, FeatureTrace
from v2m_bridge.music.events import ARP_CHANNEL, BASS_CHANNEL, CHORDS_CHANNEL, HITS_CHANNEL
from v2m_bridge.output.paths import atomic_output, check_output_path

logger = logging.getLogger(__name__)

N_THUMBNAILS = 8
THUMBNAIL_HEIGHT = 120
EMOTION_COLOURS = ("#e4572e", "#6a4c93", "#f3a712", "#3a86ff", "#2a9d8f", "#9e9e9e")
PART_COLOURS = {CHORDS_CHANNEL: "#3a6ea5", ARP_CHANNEL: "#e07a5f", BASS_CHANNEL: "#2a9d8f",
                HITS_CHANNEL: "#d62828"}
PART_LABELS = {CHORDS_CHANNEL: "chords", ARP_CHANNEL: "figuration", BASS_CHANNEL: "bass",
               HITS_CHANNEL: "hits"}
CUT_COLOUR = "#d62828"
HIT_STYLES = {"hit": ("v", "#2a9d8f"), "near": ("v", "#f77f00"), "miss": ("x", "#111111")}


def read_thumbnails(video_path: str | os.PathLike, duration: float,
                    count: int = N_THUMBNAILS) -> list[tuple[float, float, np.ndarray]]:
    """``count`` evenly spaced RGB frames as (start_s, end_s, image); empty if unreadable."""
    import cv2

    capture = cv2.VideoCapture(str(video_path))
    thumbnails = []
    try:
        if not capture.isOpened():
            return []
        width = duration / count
        for index in range(count):
            capture.set(cv2.CAP_PROP_POS_MSEC, (index + 0.5) * width * 1000.0)
            ok, frame = capture.read()
            if not ok:
                continue
            scale = THUMBNAIL_HEIGHT / frame.shape[0]
            small = cv2.resize(frame, (max(1, int(frame.shape[1] * scale)), THUMBNAIL_HEIGHT))
            thumbnails.append((index * width, (index + 1) * width,
                               cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
    finally:
        capture.release()
    return thumbnails


def _mark_cuts(axes, composition: Composition) -> None:
    for cut in composition.cut_times:
        axes.axvline(cut, color=CUT_COLOUR, linestyle="--", linewidth=1.2, zorder=5)


def _draw_trace(emotion_ax, motion_ax, trace: FeatureTrace) -> None:
    """Emotion probabilities, motion bars and the note density the music followed."""
    seconds = np.arange(len(trace.motion)) + 0.5
    for column, name in enumerate(EMOTIONS):
        emotion_ax.plot(seconds, trace.emotion[:, column], label=name,
                        color=EMOTION_COLOURS[column], linewidth=1.6)
    emotion_ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=6, fontsize=8,
                      frameon=False, borderaxespad=0.0)
    motion_ax.bar(seconds, trace.motion, width=0.9, color="#8d99ae", label="motion")
    density_ax = motion_ax.twinx()
    density_seconds = np.arange(len(trace.dynamics)) + 0.5
    density_ax.plot(density_seconds, trace.dynamics.note_density, color="#2b2d42",
                    linewidth=1.6, label=f"note density ({trace.dynamics.source})")
    density_ax.set_ylim(0, 42)
    density_ax.set_ylabel("note density")
    density_ax.legend(loc="upper right", fontsize=8, frameon=False)


def draw_timeline(composition: Composition,
                  video_path: str | os.PathLike | None = None) -> Figure:
    """The timeline figure (not saved)."""
    duration = composition.duration
    figure = Figure(figsize=(16, 11), dpi=100, layout="constrained")
    axes = figure.subplots(5, 1, sharex=True, height_ratios=[1.2, 1.2, 1.0, 0.5, 2.6])
    thumbs_ax, emotion_ax, motion_ax, chord_ax, roll_ax = axes
    source = composition.provenance.source
    title = Path(source).name if source else "composition"
    figure.suptitle(_title(composition, title), fontsize=13)

    thumbs_ax.set_yticks([])
    thumbs_ax.set_ylabel("frames")
    thumbnails = read_thumbnails(video_path, duration) if video_path else []
    for start, end, image in thumbnails:
        thumbs_ax.imshow(image, extent=(start, end, 0, 1), aspect="auto")
    if not thumbnails:
        thumbs_ax.text(duration / 2, 0.5, "no video frames", ha="center", va="center")
    thumbs_ax.set_ylim(0, 1)

    trace = composition.trace
    if trace is not None:
        _draw_trace(emotion_ax, motion_ax, trace)
    emotion_ax.set_ylim(0, 1.05)
    emotion_ax.set_ylabel("emotion p")
    motion_ax.set_ylabel("motion (0-255)")
    for accent in composition.grid.accents:
        motion_ax.plot([accent], [0], marker="^", color="#f77f00", markersize=10, clip_on=False)

    chord_ax.set_yticks([])
    chord_ax.set_ylabel("chords")
    for index, span in enumerate(composition.chord_spans):
        chord_ax.axvspan(span.start, span.end, color="#edf2f4" if index % 2 else "#d9e2ec")
        chord_ax.text((span.start + span.end) / 2, 0.5, composition.chord_name(span),
                      ha="center", va="center", fontsize=8, clip_on=True)
    _draw_bars_and_hits(chord_ax, composition)
    chord_ax.set_ylim(0, 1)

    for channel, colour in PART_COLOURS.items():
        notes = [event for event in composition.events if event.channel == channel]
        for event in notes:
            roll_ax.broken_barh([(event.start, event.end - event.start)],
                                (event.pitch - 0.4, 0.8), facecolors=colour,
                                alpha=0.35 + 0.65 * event.velocity / 127)
        if notes:
            roll_ax.plot([], [], color=colour, linewidth=6, label=PART_LABELS[channel])
    pitches = [event.pitch for event in composition.events] or [60]
    roll_ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    roll_ax.set_ylabel("MIDI pitch")
    roll_ax.set_xlabel("time (s)")
    roll_ax.legend(loc="upper right", fontsize=8)

    for ax in axes:
        _mark_cuts(ax, composition)
        ax.set_xlim(0, duration)
    return figure


def _title(composition: Composition, name: str) -> str:
    tempo = composition.tempo_map
    bars = tempo.bar_beat(tempo.beat_at(composition.duration))
    text = (f"{name} - {composition.key.name}, {tempo.describe()}, "
            f"{bars[0] - (bars[1] < 1.01)} bars, {len(composition.cut_times)} cut(s)")
    fit = composition.tempo_fit
    if fit is not None and fit.chosen.cuts:
        chosen = fit.chosen
        text += (f": {chosen.hits} hits, {chosen.near_misses} near, {chosen.misses} misses "
                 f"(±1/±2 frames at {fit.fps:g} fps)")
    return text


def _draw_bars_and_hits(axes, composition: Composition) -> None:
    """Bar lines (phrase starts darker) and each cut's hit, near miss or miss."""
    phrases = {round(t, 6) for t in composition.grid.phrase_starts}
    for time_s in composition.grid.bar_times()[1:]:
        axes.axvline(time_s, color="#5c677d" if round(time_s, 6) in phrases else "#adb5bd",
                     linestyle=":", linewidth=1.0, zorder=1)
    fit = composition.tempo_fit
    if fit is None:
        return
    for kind, (marker, colour) in HIT_STYLES.items():
        times = [cut.time for cut in fit.chosen.cuts if cut.kind == kind]
        if times:
            axes.plot(times, [0.9] * len(times), linestyle="none", marker=marker, color=colour,
                      markersize=8, label=kind, zorder=6)
    if fit.chosen.cuts:
        axes.legend(loc="upper right", fontsize=7, ncols=3, frameon=False)


def write_plot(composition: Composition, path: str | os.PathLike,
               video_path: str | os.PathLike | None = None,
               inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Draw the timeline and save it as a PNG, atomically."""
    target = check_output_path(path, inputs, what="plot output")
    figure = draw_timeline(composition, video_path)
    with atomic_output(target) as temp_path:
        FigureCanvasAgg(figure).print_png(str(temp_path))
    return target

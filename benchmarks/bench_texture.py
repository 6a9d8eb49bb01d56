"""Does it sound like a part a pianist wrote? Every texture figure of issue 23, side by side:
held-out POP909 PIANO tracks (median and interquartile range over songs) and default renders of
the shared videos (median, min and max over videos x seeds), with the done-when band.

Run from the repository root (beside ``shared/``):

    python benchmarks/bench_texture.py [--seeds 3] [--texture auto|arpeggio|ballad|pulse|pad]
        [--pop909 ../shared/data/corpora/pop909] [--split test] [--json OUT.json]

The POP909 songs are the held-out ``test`` split of :func:`v2m_bridge.data.corpora.split_of`
(the texture patterns are learned from the ``train`` split only). Renders use fallback features
(no CLIP weights), the shipped starter chord model, default options; ``--texture`` picks another
style. Also printed: every strong cut (strength >= 0.5, as in the cue sheet) with a note of the
hits track within one frame of it, and the arrangement and render (chords + arrangement + MIDI
file) time of the 30 s clip, default texture against today's arpeggio (``--texture arpeggio``,
the arrangement as it was before issue 23) in the same run, interleaved.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from v2m_bridge.data.pop909_piano import read_piano_part, song_dirs
from v2m_bridge.music.texture_figures import BANDS, FIGURE_NAMES, BeatNote, texture_figures

ROOT = Path(__file__).resolve().parent.parent
VIDEOS = ("bbb_0_30.webm", "flower.mp4", "friday.mp4", "crystal.mp4", "montage_cc0_4shots.mp4")
CLIP_30S = "bbb_0_30.webm"
STRONG_CUT = 0.5


def _shared() -> Path:
    for base in (ROOT.parent / "shared", ROOT / "shared", Path("/work/shared")):
        if (base / "data").is_dir():
            return base / "data"
    sys.exit("shared/data not found beside the repository")


def composition_figures(composition, with_hits: bool = False) -> dict[str, float]:
    """The texture figures of a composition's piano parts (bass, chords, figuration: what a
    POP909 PIANO track holds), in beats of its tempo map; the hits track (low hits and swells
    on cuts, a percussive part) only with ``with_hits``."""
    tempo = composition.tempo_map
    try:
        from v2m_bridge.music.events import HITS_CHANNEL
    except ImportError:  # before issue 23 there is no hits track
        HITS_CHANNEL = None
    events = [e for e in composition.events if with_hits or e.channel != HITS_CHANNEL]
    starts = tempo.beats_at(np.array([e.start for e in events]))
    ends = tempo.beats_at(np.array([e.end for e in events]))
    notes = [BeatNote(float(s), float(t), e.pitch, e.velocity)
             for s, t, e in zip(starts, ends, events, strict=True)]
    total = tempo.beat_at(composition.duration)
    downbeats = [*tempo.bar_line_beats(total), total]
    changes = [float(b) for b in tempo.beats_at(np.array(composition.grid.change_times[1:]))]
    return texture_figures(notes, downbeats, changes)


def strong_cuts_hit(composition, fps: float) -> tuple[int, int]:
    """(strong cuts with a hits-track note within one frame, strong cuts)."""
    fit = composition.tempo_fit
    if fit is None:
        return 0, 0
    try:
        from v2m_bridge.music.events import HITS_CHANNEL
    except ImportError:  # before issue 23 there is no hits track
        return 0, sum(cut.strength >= STRONG_CUT for cut in fit.chosen.cuts)
    strong = [cut for cut in fit.chosen.cuts if cut.strength >= STRONG_CUT]
    starts = [e.start for e in composition.events if e.channel == HITS_CHANNEL]
    hit = sum(any(abs(s - cut.time) <= 1.0 / fps + 1e-6 for s in starts) for cut in strong)
    return hit, len(strong)


def _summary(values: list[float]) -> tuple[float, float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan, math.nan
    return (float(np.percentile(finite, 25)), statistics.median(finite),
            float(np.percentile(finite, 75)))


def _fmt(name: str, value: float) -> str:
    if not math.isfinite(value):
        return "-"
    share = name in {"below_c3", "top_step", "top_leap_3_7", "grid16", "bass_under_beats"}
    return f"{100 * value:.1f} %" if share else f"{value:.2f}"


def _options(texture: str | None, seed: int):
    from v2m_bridge.options import RenderOptions

    if texture is None:
        return RenderOptions(seed=seed)
    return RenderOptions(seed=seed, texture=texture)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--texture", help="a --texture style (default: the render default)")
    parser.add_argument("--pop909", type=Path, help="POP909 folder (default: shared/)")
    parser.add_argument("--split", default="test", choices=["test", "val"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import torch

    from v2m_bridge.model.loading import load_chord_model
    from v2m_bridge.output.midi_file import write_midi
    from v2m_bridge.pipeline import compose_features
    from v2m_bridge.video import analyze_video

    torch.set_num_threads(2)
    shared = _shared()
    pop909 = args.pop909 or shared / "corpora" / "pop909"
    real_rows = [texture_figures(p.notes, p.downbeats, p.chord_changes)
                 for p in map(read_piano_part, song_dirs(pop909, args.split))]

    model = load_chord_model(None, "cpu")
    videos = shared / "videos"
    features = {name: analyze_video(videos / name) for name in VIDEOS}
    render_rows, hits_rows, hits, strong = [], [], 0, 0
    for _name, feats in features.items():
        for seed in range(args.seeds):
            composition = compose_features(feats, _options(args.texture, seed), chord_model=model)
            render_rows.append(composition_figures(composition))
            hits_rows.append(composition_figures(composition, with_hits=True))
            got, total = strong_cuts_hit(composition, feats.fps)
            hits, strong = hits + got, strong + total

    print(f"# texture figures: {len(real_rows)} held-out POP909 piano parts ({args.split} split) "
          f"vs {len(render_rows)} renders ({len(VIDEOS)} videos x {args.seeds} seeds, texture "
          f"{args.texture or 'default'})")
    print(f"{'figure':<22}{'POP909 median (IQR)':>30}{'renders median (min..max)':>32}"
          f"{'band':>16}  ok   with hits")
    print("(renders: the piano parts, bass + chords + figuration, as POP909's PIANO tracks; "
          "'with hits': the hits track too, median)")
    out: dict[str, dict] = {"real": {}, "renders": {}}
    for figure in FIGURE_NAMES:
        q1, med, q3 = _summary([row[figure] for row in real_rows])
        values = [row[figure] for row in render_rows if math.isfinite(row[figure])]
        r_med = statistics.median(values) if values else math.nan
        low, high = BANDS.get(figure, (-math.inf, math.inf))
        ok = "yes" if low <= r_med <= high else "NO"
        band = "" if figure not in BANDS else (
            f">= {_fmt(figure, low)}" if high == math.inf else
            f"<= {_fmt(figure, high)}" if low == 0 else
            f"{_fmt(figure, low)}..{_fmt(figure, high)}")
        real_text = f"{_fmt(figure, med)} ({_fmt(figure, q1)}..{_fmt(figure, q3)})"
        render_text = (f"{_fmt(figure, r_med)} ({_fmt(figure, min(values))}.."
                       f"{_fmt(figure, max(values))})") if values else "-"
        with_hits = [row[figure] for row in hits_rows if math.isfinite(row[figure])]
        hits_text = _fmt(figure, statistics.median(with_hits)) if with_hits else "-"
        print(f"{figure:<22}{real_text:>30}{render_text:>32}{band:>16}  "
              f"{ok if figure in BANDS else '':<3}  {hits_text:>10}")
        out["real"][figure] = med
        out["renders"][figure] = r_med
    print(f"strong cuts (strength >= {STRONG_CUT}) with a hit within one frame: {hits} of {strong}")

    clip = features[CLIP_30S]
    styles = {"today's arpeggio": "arpeggio" if _has_textures() else None,
              "default": args.texture}
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in styles}
    with tempfile.TemporaryDirectory() as workdir:
        for repeat in range(7):  # interleaved, so load changes hit both alike
            for label, texture in styles.items():
                started = time.perf_counter()
                composition = compose_features(clip, _options(texture, repeat), chord_model=model)
                write_midi(composition, Path(workdir) / "bench.mid")
                samples[label].append((composition.timings["arrangement"],
                                       time.perf_counter() - started))
    timings = {label: (min(a for a, _ in runs), min(r for _, r in runs))
               for label, runs in samples.items()}
    base, new = timings["today's arpeggio"], timings["default"]
    print(f"30 s clip ({CLIP_30S}, features cached), fastest of 7, interleaved: arrangement "
          f"{1000 * new[0]:.1f} ms vs today's arpeggio {1000 * base[0]:.1f} ms "
          f"(x{new[0] / base[0]:.2f}); render (chords + arrangement + MIDI file) {new[1]:.2f} s "
          f"vs {base[1]:.2f} s (x{new[1] / base[1]:.2f}); load average "
          f"{os.getloadavg()[0]:.2f}")
    out["timings"] = timings
    out["strong_cuts"] = [hits, strong]
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


def _has_textures() -> bool:
    from v2m_bridge.options import RenderOptions

    return "texture" in RenderOptions.__dataclass_fields__


if __name__ == "__main__":
    sys.exit(main())

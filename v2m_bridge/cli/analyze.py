"""``v2m-bridge analyze`` and ``v2m-bridge export-dataset``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from v2m_bridge.config import DEFAULT_SCENE_DETECTOR as DEFAULT_DETECTOR
from v2m_bridge.config import SCENE_DETECTORS as DETECTORS


def register(subparsers: argparse._SubParsersAction) -> None:
    analyze = subparsers.add_parser(
        "analyze", help="per-second features of a video (CLIP, emotion, scenes, motion)",
        description="Analyse a video in one decode pass and print a summary (duration, cuts, "
        "dominant emotion per scene). Results are cached by file content and settings.")
    analyze.add_argument("video", type=Path, help="video file")
    analyze.add_argument("-o", "--output", type=Path, help="write the features to this .npz file")
    _add_analysis_options(analyze)
    analyze.set_defaults(func=run_analyze)

    export = subparsers.add_parser(
        "export-dataset", help="write features of a folder of videos in the MuVi-Sync layout",
        description="Analyse every video in a folder and write its features in the MuVi-Sync "
        "dataset layout (vevo_semantic, vevo_emotion, vevo_motion, vevo_scene_offset, vevo_meta).")
    export.add_argument("video_dir", type=Path, help="folder of video files")
    export.add_argument("output_dir", type=Path, help="dataset root to write into")
    export.add_argument("--allow-fallback", action="store_true",
                        help="export even without CLIP weights (semantic vectors are zeros)")
    _add_analysis_options(export)
    export.set_defaults(func=run_export)


def _add_analysis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clip-weights", type=Path, metavar="PATH",
                        help="ViT-L-14-336 OpenAI weights (default: $V2M_CLIP_WEIGHTS, then the "
                        "open_clip / Hugging Face caches)")
    parser.add_argument("--allow-download", action="store_true",
                        help="let open_clip download the CLIP weights if none are found")
    parser.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                        help="scene detector (default: %(default)s, as the official features)")
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not fill the "
                        "feature cache ($V2M_CACHE_DIR or ~/.cache/v2m-bridge/features)")
    parser.add_argument("--device", help="torch device for CLIP (default: cuda, mps, then cpu)")


def _analyzer(args: argparse.Namespace) -> Callable[[Path], object]:
    from tqdm import tqdm

    from v2m_bridge.video import analyze_video

    def analyze(path: Path):
        with tqdm(total=100, desc=path.name, unit="%", leave=False, disable=None,
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}") as bar:
            def progress(fraction: float, stage: str) -> None:
                bar.set_postfix_str(stage, refresh=False)
                bar.update(max(0.0, 100.0 * fraction - bar.n))

            return analyze_video(path, clip_weights=args.clip_weights,
                                 allow_download=args.allow_download, detector=args.detector,
                                 use_cache=not args.no_cache, progress=progress,
                                 device=args.device)

    return analyze


def run_analyze(args: argparse.Namespace) -> int:
    features = _analyzer(args)(args.video)
    for line in summary_lines(features):
        print(line)
    if args.output is not None:
        features.save(args.output)
        print(f"features written to {args.output}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from v2m_bridge.data.muvi_sync import export_dataset, find_videos

    videos = find_videos(args.video_dir)
    ids = export_dataset(videos, args.output_dir, _analyzer(args),
                         allow_fallback=args.allow_fallback)
    print(f"exported {len(ids)} video(s) to {args.output_dir} (ids {ids[0]}..{ids[-1]})",
          file=sys.stdout)
    return 0


def summary_lines(features) -> list[str]:
    """Short human summary: duration, cuts, dominant emotion per scene."""
    provenance = features.provenance
    if provenance == "fallback":
        provenance += " (no CLIP weights: semantic = 0, emotion estimated from colour and motion)"
    cuts = " ".join(f"{t:.2f}" for t in features.cut_times) or "none"
    lines = [
        f"{Path(features.source).name}: {features.duration:.2f} s at {features.fps:.3g} fps, "
        f"{features.n_seconds} seconds of features",
        f"provenance: {provenance}",
        f"cuts ({len(features.cut_times)}): {cuts}",
        "scenes (whole seconds, dominant emotion):",
    ]
    lines += [f"  {s.start_second:4d}-{s.end_second:<4d} {s.dominant_emotion}"
              for s in features.scene_segments()]
    return lines

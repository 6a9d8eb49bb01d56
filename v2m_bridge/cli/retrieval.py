"""``v2m-bridge match``, ``index-library``, ``train-retrieval`` and ``evaluate-retrieval``.

``train-retrieval`` is its own command (not ``train retrieval``) so that the retrieval embedding's
options do not mix with the AMT's training options.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from v2m_bridge.cli.analyze import _add_analysis_options, _analyzer
from v2m_bridge.config import DEFAULT_KEY, DEFAULT_TEMPO_BPM


def register(subparsers: argparse._SubParsersAction) -> None:
    match = subparsers.add_parser(
        "match", help="rank a library of music by fit to a video (whole video and per scene)",
        description="Rank every piece (and, with --per-scene, every 4-8-bar excerpt) of a music "
        "library by fit to the video, with the score and why (mood, pace, harmonic rhythm vs cut "
        "rate). Without --library (or $V2M_LIBRARY) it ranks the packaged index of the POP909 and "
        "McGill Billboard chord corpora.")
    match.add_argument("video", type=Path, help="video file (or a features .npz from analyze)")
    match.add_argument("--library", type=Path, help="folder of MIDI files, MuVi-Sync chord "
                       "folders or POP909 / Billboard corpora (default: $V2M_LIBRARY, else the "
                       "packaged corpora index)")
    match.add_argument("--per-scene", action="store_true", help="also rank excerpts for each "
                       "scene between cuts")
    match.add_argument("--top", type=int, default=5, help="how many per list (default 5)")
    match.add_argument("--temp-track", type=Path, metavar="OUT.mid", help="write a MIDI temp "
                       "track of the best excerpt per scene (implies --per-scene)")
    match.add_argument("--key", default=DEFAULT_KEY, help="key the chords are shown and the "
                       "temp track written in (default %(default)s)")
    match.add_argument("--tempo", type=float, default=DEFAULT_TEMPO_BPM,
                       help="tempo grid of the temp track in bpm (default %(default)s)")
    match.add_argument("--json", type=Path, metavar="OUT.json", help="also write the ranking "
                       "as JSON")
    match.add_argument("--checkpoint", type=Path, help="retrieval embedding (default: the "
                       "shipped starter embedding)")
    _add_analysis_options(match)
    match.set_defaults(func=run_match)

    index = subparsers.add_parser("index-library", help="build or update the cached index of a "
                                  "music library (match does this too)")
    index.add_argument("library", type=Path, nargs="?", help="library folder (default: "
                       "$V2M_LIBRARY, else the packaged corpora index)")
    index.add_argument("--checkpoint", type=Path, help="retrieval embedding (default: starter)")
    index.add_argument("--rebuild", action="store_true", help="ignore the cached index")
    index.add_argument("--export", type=Path, metavar="OUT.npz", help="also write a compact, "
                       "machine-independent copy (how the packaged corpora index is made: "
                       "v2m_bridge/library_data/corpora_index.npz)")
    index.add_argument("--kinds", default=None, help="with --export: only these kinds of "
                       "piece, comma-separated (the packaged index: pop909,billboard)")
    index.set_defaults(func=run_index)

    train = subparsers.add_parser(
        "train-retrieval", help="train the video-music retrieval embedding (CBVMR losses)",
        description="Train the two-branch retrieval embedding on a MuVi-Sync layout folder "
        "(--data; real video/music pairs) or on the chord corpora with video-side inputs derived "
        "from the music (--pop909/--billboard; how the starter embedding was made).")
    train.add_argument("--data", type=Path, help="MuVi-Sync layout folder")
    train.add_argument("--pop909", type=Path, help="POP909 corpus folder")
    train.add_argument("--billboard", type=Path, help="McGill Billboard corpus folder")
    train.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt)")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--crop-seconds", type=int, default=160)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--use-semantic", action="store_true", help="read the CLIP semantic "
                       "vectors (only with real video pairs)")
    train.add_argument("--use-dynamics", action="store_true", help="read note density and "
                       "loudness (only when the music has them)")
    train.add_argument("--label", help="what this embedding is, shown in every output")
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser(
        "evaluate-retrieval", help="whole-clip Recall@1/5/10 and median rank on a held-out split "
        "vs a random ranker and hand-written baselines")
    evaluate.add_argument("--data", type=Path, help="MuVi-Sync layout folder (test split)")
    evaluate.add_argument("--pop909", type=Path, help="POP909 corpus folder")
    evaluate.add_argument("--billboard", type=Path, help="McGill Billboard corpus folder")
    evaluate.add_argument("--checkpoint", type=Path, help="retrieval embedding (default: starter)")
    evaluate.add_argument("--split", default="test", choices=["val", "test"])
    evaluate.add_argument("--probe", action="store_true", help="also rank the default library "
                          "for synthetic videos (4 moods x fast / slow cutting) and report the "
                          "minor share and harmonic rhythm of what comes first")
    evaluate.set_defaults(func=run_evaluate)


def _progress(prefix: str):
    state = {"last": 0.0}

    def report(done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if done == total or now - state["last"] > 0.5:
            state["last"] = now
            end = "\n" if done == total else ""
            print(f"\r{prefix}: {done}/{total} {name[:40]:<40}", end=end, file=sys.stderr,
                  flush=True)

    return report


def _model(checkpoint: Path | None):
    from v2m_bridge.retrieval.embedding import load_embedding

    return load_embedding(checkpoint)


def _library(path: Path | None, model, use_cache: bool = True):
    """The index of ``path``, else of $V2M_LIBRARY, else the packaged corpora index."""
    from v2m_bridge.retrieval.packaged import open_library

    return open_library(path, model, progress=_progress("indexing"), use_cache=use_cache)


def _print_issues(index) -> None:
    if index.issues:
        print(f"skipped {len(index.issues)} file(s):", file=sys.stderr)
        for issue in index.issues[:50]:
            print(f"  {issue.message}", file=sys.stderr)
        if len(index.issues) > 50:
            print(f"  ... and {len(index.issues) - 50} more", file=sys.stderr)


def run_index(args: argparse.Namespace) -> int:
    from v2m_bridge.retrieval.embedding import label_of
    from v2m_bridge.retrieval.packaged import export_index

    model = _model(args.checkpoint)
    index = _library(args.library, model, use_cache=not args.rebuild)
    _print_issues(index)
    stats = index.stats
    print(f"embedding: {label_of(model)}")
    counts = (f" ({int(stats['read'])} read, {int(stats['reused'])} reused from the cache, "
              f"{int(stats['failed'])} skipped) in {stats['seconds']:.1f} s" if stats else "")
    print(f"{index.root}: {len(index)} pieces, {len(index.excerpt_item)} excerpts{counts}")
    if args.export is not None:
        kinds = tuple(args.kinds.split(",")) if args.kinds else None
        written = export_index(index, args.export, kinds)
        print(f"compact copy written to {written} ({written.stat().st_size / 1e6:.1f} MB)")
    return 0


def _features(args: argparse.Namespace):
    from v2m_bridge.features import VideoFeatures

    if args.video.suffix.lower() == ".npz":
        return VideoFeatures.load(args.video)
    return _analyzer(args)(args.video)


def _mmss(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def _cut_time(seconds: float) -> str:
    return f"{int(seconds) // 60}:{seconds % 60:05.2f}"


def _print_candidate(c, show_span: bool) -> None:
    span = f" @ {_mmss(c.start)}-{_mmss(c.end)}" if show_span else ""
    print(f"  {c.rank}. {c.score:+.3f}  {c.name}{span}  [{c.excerpt_id}]")
    print(f"       chords: {c.chords}")
    print(f"       mood: {c.explanation.mood}")
    print(f"       pace: {c.explanation.pace}")
    print(f"       harmonic rhythm vs cuts: {c.explanation.harmonic_rhythm}")


def run_match(args: argparse.Namespace) -> int:
    from v2m_bridge.music.arrangement import ArrangeOptions
    from v2m_bridge.music.tempo_map import TempoMap
    from v2m_bridge.retrieval.match import grid_hits, match_features
    from v2m_bridge.retrieval.temp_track import write_temp_track
    from v2m_bridge.vocab import parse_key

    key = parse_key(args.key)
    started = time.monotonic()
    features = _features(args)
    model = _model(args.checkpoint)
    index = _library(args.library, model)
    per_scene = args.per_scene or args.temp_track is not None
    grid = ArrangeOptions(key=key, tempo_bpm=args.tempo, harmonic_rhythm="beat")
    result = match_features(features, index, model, top=args.top, per_scene=per_scene, key=key,
                            tempo=TempoMap.constant(args.tempo), hits=grid_hits(features, grid))
    _print_issues(index)
    print(f"{Path(features.source).name} ({features.duration:.1f} s) against {index.root}: "
          f"{len(index)} pieces, {len(index.excerpt_item)} excerpts")
    print(f"NOTE: {result.label}")
    for note in result.notes:
        print(f"NOTE: {note}")
    print(f"chords are shown in {key.name} (--key); a scene lists at most one chord per beat at "
          f"{args.tempo:g} bpm, and --temp-track plays every chord listed")
    print(f"whole video, top {len(result.whole)} pieces (cosine score):")
    for candidate in result.whole:
        _print_candidate(candidate, False)
    for number, scene in enumerate(result.scenes, start=1):
        print(f"scene {number} ({_cut_time(scene.start)}-{_cut_time(scene.end)}), top "
              "excerpts:")
        for candidate in scene.candidates:
            _print_candidate(candidate, True)
    if args.temp_track is not None:
        written = write_temp_track(result, index, features, args.temp_track, key=key,
                                   tempo_bpm=args.tempo)
        print(f"temp track written to {written} ({key.name}, {args.tempo:g} bpm)")
    if args.json is not None:
        args.json.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"ranking written to {args.json}")
    print(f"matched in {time.monotonic() - started:.2f} s", file=sys.stderr)
    return 0


def _pairs(args: argparse.Namespace):
    from v2m_bridge.retrieval.train import RetrievalTrainingError, corpus_pairs, muvi_sync_pairs

    if args.data is not None:
        return muvi_sync_pairs(args.data), "MuVi-Sync pairs"
    if args.pop909 is None and args.billboard is None:
        from v2m_bridge.retrieval.index import SHARED_CORPORA

        raise RetrievalTrainingError("give --data DIR (MuVi-Sync layout) or --pop909 / "
                                     f"--billboard corpus folders (e.g. {SHARED_CORPORA}/pop909)")
    return corpus_pairs(args.pop909, args.billboard), "corpus songs with derived video sides"


def run_train(args: argparse.Namespace) -> int:
    from v2m_bridge.retrieval.embedding import STARTER_LABEL, EmbeddingConfig, save_embedding
    from v2m_bridge.retrieval.train import (
        RetrievalTrainConfig,
        evaluate_retrieval,
        format_table,
        train_retrieval,
    )

    splits, what = _pairs(args)
    print(f"{what}: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    config = RetrievalTrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                                  crop_seconds=args.crop_seconds, seed=args.seed)
    started = time.monotonic()
    model, history = train_retrieval(
        splits["train"], splits.get("val", []), config,
        EmbeddingConfig(use_semantic=args.use_semantic, use_dynamics=args.use_dynamics),
        report=print)
    seconds = time.monotonic() - started
    label = args.label or (STARTER_LABEL if args.data is None else
                           f"retrieval embedding trained on MuVi-Sync pairs in {args.data.name}")
    metadata = {"label": label, "data": what, "epochs": str(args.epochs), "seed": str(args.seed),
                "train_seconds": f"{seconds:.0f}",
                "best_epoch": str(max(history, key=lambda h: h["R@1"] + h["R@5"])["epoch"])}
    save_embedding(model, args.out, metadata)
    print(f"trained in {seconds:.0f} s; written to {args.out}")
    held_out = splits.get("test") or []
    if len(held_out) >= 2:
        print(format_table(evaluate_retrieval(model, held_out), len(held_out)))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from v2m_bridge.retrieval.embedding import label_of
    from v2m_bridge.retrieval.train import evaluate_retrieval, format_table

    splits, what = _pairs(args)
    model = _model(args.checkpoint)
    pairs = splits.get(args.split) or []
    print(f"embedding: {label_of(model)}")
    print(f"data: {what}, {args.split} split")
    print(format_table(evaluate_retrieval(model, pairs), len(pairs)))
    if args.probe:
        _print_probe(model)
    return 0


def _print_probe(model) -> None:
    from v2m_bridge.retrieval.match import mood_pace_probe

    index = _library(None, model)
    library = index.root
    shares = [item.minor_share for item in index.items]
    rates = [item.change_rate for item in index.items]
    print(f"probe: synthetic 60 s videos against {library} ({len(index)} pieces: "
          f"{sum(shares) / len(shares):.1%} minor-family, "
          f"{60 * sum(rates) / len(rates):.1f} chord changes/min on average)")
    print(f"{'video':<38} {'top-20 pieces':>22} {'per-scene top excerpts':>24}")
    print(f"{'':<38} {'minor':>8} {'changes/min':>13} {'minor':>10} {'changes/min':>13}")
    for row in mood_pace_probe(model, index):
        print(f"{row['video']:<38} {row['pieces_minor']:>8.1%} "
              f"{row['pieces_changes_per_min']:>13.1f} {row['excerpts_minor']:>10.1%} "
              f"{row['excerpts_changes_per_min']:>13.1f}")

"""``v2m-bridge batch analyze|export-dataset|render``: many videos at once, on Ray.

Runs on a local Ray cluster by default, or on an existing one with ``--address``. Needs the
``cluster`` extra; without it the commands say how to install it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

from v2m_bridge.cli.render_options import (
    add_render_options,
    options_fingerprint,
    render_options_from,
)
from v2m_bridge.config import DEFAULT_SCENE_DETECTOR as DEFAULT_DETECTOR
from v2m_bridge.config import SCENE_DETECTORS as DETECTORS

INSTALL_HINT = ('the batch commands run on Ray, which is not installed; install the cluster '
                'extra: pip install -e ".[cluster]" (or: pip install "ray[client]")')
MANIFEST_NAME = "v2m_batch_manifest.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    batch = subparsers.add_parser(
        "batch", help="analyse, export or render many videos on a Ray cluster",
        description="Process folders or lists of videos in parallel on Ray: a local cluster by "
        "default, or an existing one with --address. Decoding runs in CPU tasks, CLIP in a pool "
        "of GPU (or CPU) actors, chords and arrangement in CPU tasks. Results are the ones the "
        "one-video commands give; a rerun skips what is done; failures are recorded in a "
        "manifest and the rest go on.")
    jobs = batch.add_subparsers(dest="job", metavar="JOB", required=True)

    analyze = jobs.add_parser(
        "analyze", help="fill the feature cache for many videos",
        description="Analyse every video named (folders, list files with one path per line, "
        "or videos) into the feature cache, as `analyze` does one at a time.")
    analyze.add_argument("inputs", nargs="+", type=Path, metavar="DIR_OR_LIST",
                         help="folder of videos, text file listing videos, or a video")
    analyze.add_argument("--manifest", type=Path, default=None, metavar="PATH",
                         help="where to keep the batch manifest (default: in the feature cache, "
                         "one per set of inputs)")
    _analysis_options(analyze)
    _cluster_options(analyze)
    analyze.set_defaults(func=run_batch_analyze)

    export = jobs.add_parser(
        "export-dataset", help="features of a folder of videos in the MuVi-Sync layout",
        description="`export-dataset` on a cluster: the same MuVi-Sync layout, with failed "
        "videos left out and listed in vevo_meta/" + MANIFEST_NAME + ".")
    export.add_argument("video_dir", type=Path, help="folder of video files")
    export.add_argument("output_dir", type=Path, help="dataset root to write into")
    export.add_argument("--allow-fallback", action="store_true",
                        help="export even without CLIP weights (semantic vectors are zeros)")
    _analysis_options(export)
    _cluster_options(export)
    export.set_defaults(func=run_batch_export)

    render = jobs.add_parser(
        "render", help="a MIDI file per video",
        description="`render VIDEO -o OUT_DIR/VIDEO.mid` for every video named, in parallel, "
        "with the same music options as `render` (one definition serves both). The same "
        "options and seed give the same files as `render`.")
    render.add_argument("inputs", nargs="+", type=Path, metavar="DIR_OR_LIST",
                        help="folder of videos, text file listing videos, or a video")
    render.add_argument("output_dir", type=Path, metavar="OUT_DIR",
                        help="folder for the MIDI files (<video name>.mid) and the manifest")
    add_render_options(render, clip_weights=False)
    render.add_argument("--hits", action="store_true",
                        help="also write a cue sheet of the cuts per video "
                        "(OUT_DIR/<video name>.csv, as render --hits writes it)")
    _analysis_options(render)
    _cluster_options(render)
    render.set_defaults(func=run_batch_render)


def _analysis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clip-weights", type=Path, metavar="PATH",
                        help="ViT-L-14-336 OpenAI weights, at this path on every node (default: "
                        "$V2M_CLIP_WEIGHTS, then the local caches; none: the labelled fallback)")
    parser.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                        help="scene detector (default: %(default)s)")
    parser.add_argument("--device", default=None,
                        help="CLIP device: cpu or cuda (default: a GPU per CLIP actor when the "
                        "cluster has GPUs, else CPU)")


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster")
    group.add_argument("--address", default=None, metavar="ADDRESS",
                       help="an existing Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
                       "(default: start a local one)")
    group.add_argument("--num-cpus", type=int, default=None, metavar="N",
                       help="CPUs of the local cluster (default: all)")
    group.add_argument("--clip-actors", type=int, default=None, metavar="N",
                       help="CLIP actors (default: one per GPU, or 1 on CPU)")
    group.add_argument("--retry-failed", action="store_true",
                       help="retry videos that failed before even if they have not changed")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


# --- commands --------------------------------------------------------------------------------

def run_batch_analyze(args: argparse.Namespace) -> int:
    return _run(args, "analyze", args.inputs)


def run_batch_export(args: argparse.Namespace) -> int:
    return _run(args, "export-dataset", [args.video_dir], out_dir=args.output_dir)


def run_batch_render(args: argparse.Namespace) -> int:
    return _run(args, "render", args.inputs, out_dir=args.output_dir)


def _run(args: argparse.Namespace, job: str, inputs: list[Path], out_dir: Path | None = None
         ) -> int:
    try:
        import ray  # noqa: F401  (only to say how to install it when it is missing)
    except ImportError:
        from v2m_bridge.batch.plan import BatchError

        raise BatchError(INSTALL_HINT) from None
    from v2m_bridge.batch.cluster import connect, disconnect
    from v2m_bridge.batch.export import check_export_allowed, write_export
    from v2m_bridge.batch.inputs import discover
    from v2m_bridge.batch.manifest import Manifest
    from v2m_bridge.batch.plan import AnalysisPlan, BatchError
    from v2m_bridge.batch.report import summary_lines
    from v2m_bridge.batch.runner import RenderJob, run_batch

    plan = AnalysisPlan.resolve(args.clip_weights, detector=args.detector, device=args.device)
    fingerprint: dict = {"settings": plan.settings()}
    render = None
    if job == "render":
        options = render_options_from(args, clip_weights=plan.clip_weights)
        render = RenderJob(options, out_dir, hits=args.hits)
        fingerprint["render"] = options_fingerprint(options)
        fingerprint["hits"] = args.hits
        if args.checkpoint is not None and not args.checkpoint.is_file():
            raise BatchError(f"AMT checkpoint not found: {args.checkpoint}")
    if job == "export-dataset":
        check_export_allowed(plan, args.allow_fallback)
        fingerprint["allow_fallback"] = args.allow_fallback

    # Fail fast, before the cluster starts, on outputs that cannot be written.
    _check_writable(plan.cache_dir, "the feature cache folder")
    if out_dir is not None:
        _check_writable(out_dir, "the output folder")
    if job == "render":
        manifest_path = out_dir / MANIFEST_NAME
    elif job == "export-dataset":
        manifest_path = out_dir / "vevo_meta" / MANIFEST_NAME
    else:
        manifest_path = args.manifest or _default_manifest(plan.cache_dir, inputs)
    _check_writable(manifest_path.parent, "the manifest's folder")

    found = discover(inputs)
    manifest = Manifest.open(manifest_path, job, fingerprint)
    if not found.videos:
        for problem in found.problems:
            print(f"{problem.status}: {problem.path}: {problem.error}", file=sys.stderr)
        raise BatchError("no videos to process in " + ", ".join(map(str, inputs)))

    clusters = []

    def start_cluster() -> None:
        cluster = connect(args.address, args.num_cpus)
        clusters.append(cluster)
        print(f"Ray cluster: {cluster.address}, {cluster.nodes} node(s), {cluster.cpus:g} "
              f"CPU(s), {cluster.gpus:g} GPU(s); {len(found.videos)} video(s)", file=sys.stderr)

    stop = threading.Event()
    previous_handler = _stop_on_ctrl_c(stop)
    try:
        report = run_batch(found.videos, plan, manifest, problems=found.problems, render=render,
                           clip_actors=args.clip_actors, stop=stop,
                           show_progress=not args.no_progress, before_work=start_cluster,
                           retry_failed=args.retry_failed)
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        for cluster in clusters:
            disconnect(cluster)
    exported = ""
    if job == "export-dataset" and not report.interrupted:
        ids, written = write_export(found.videos, manifest, plan, out_dir,
                                    allow_fallback=args.allow_fallback,
                                    processed_any=bool(report.processed))
        exported = (f"exported {len(ids)} video(s) to {out_dir}" if written else
                    f"{out_dir} is up to date ({len(ids)} video(s))") if ids else \
            "nothing exported"
    for line in summary_lines(report.records, report.wall_s, manifest_path=str(manifest_path),
                              analyze_s=report.analyze_s, compose_s=report.compose_s,
                              clip=f"{report.clip_actors} {report.clip_device} actor(s)"
                              if report.clip_actors else ""):
        print(line)
    if exported:
        print(exported)
    if report.interrupted:
        print("interrupted: finished videos are kept; run the same command again to finish",
              file=sys.stderr)
        return 130
    return 1 if report.counts.get("failed") else 0


def _stop_on_ctrl_c(stop: threading.Event):
    """First Ctrl-C: stop submitting, cancel what runs, write the manifest. Second: abort."""
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame) -> None:
        print("\nstopping: cancelling the work in flight (Ctrl-C again to abort at once)",
              file=sys.stderr)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    return previous


def _check_writable(folder: Path, what: str) -> None:
    from v2m_bridge.batch.plan import BatchError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise BatchError(f"{what} {str(folder)!r} is not writable: "
                         f"{err.strerror or err}; choose another folder") from None


def _default_manifest(cache_dir: Path, inputs: list[Path]) -> Path:
    named = json.dumps(sorted(os.path.abspath(p) for p in inputs))
    return cache_dir / "batch" / f"analyze-{hashlib.sha256(named.encode()).hexdigest()[:12]}.json"

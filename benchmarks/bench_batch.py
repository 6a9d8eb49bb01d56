"""Videos per minute: the one-video `render` path run serially vs `batch render` on a local Ray
cluster, in one run, on the same clips, each with an empty feature cache.

    PYTHONPATH=. python benchmarks/bench_batch.py [--clips 8] [--seconds 6] [--width 320]
                                                  [--num-cpus 2] [--no-clip-cpu]

Also prints the per-stage rates that the projection to N GPU nodes rests on: decoding (+ scene
detection + motion) frames/s per CPU, compose seconds per video, and CLIP ViT-L/14@336 frames/s
on this CPU (random weights: the cost of a forward pass does not depend on the weights).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_VIDEOS = REPO.parent / "shared" / "data" / "videos"
SOURCES = [("montage_cc0_4shots.mp4", 0), ("bbb_0_30.webm", 0), ("crystal.mp4", 0),
           ("flower.mp4", 0), ("friday.mp4", 0), ("montage_cc0_4shots.mp4", 8),
           ("bbb_0_30.webm", 12), ("montage_cc0_4shots.mp4", 15), ("bbb_0_30.webm", 22),
           ("crystal.mp4", 5)]


def make_clips(folder: Path, count: int, seconds: float, width: int) -> list[Path]:
    clips = []
    for number in range(count):
        name, start = SOURCES[number % len(SOURCES)]
        target = folder / f"clip{number:02d}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(seconds),
                        "-i", str(SHARED_VIDEOS / name), "-vf", f"scale={width}:-2", "-an",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", str(number + 10),
                        str(target)], check=True)
        clips.append(target)
    return clips


def serial(clips: list[Path], out: Path, options) -> tuple[float, float, float, int]:
    """render VIDEO -o OUT.mid, one after the other, in one process (model loaded once)."""
    from v2m_bridge.output.midi_file import write_midi
    from v2m_bridge.pipeline import compose_features, load_chord_model
    from v2m_bridge.video import analyze_video

    started = time.perf_counter()
    model = load_chord_model(None)
    analyse_s = compose_s = 0.0
    frames = 0
    for clip in clips:
        t0 = time.perf_counter()
        features = analyze_video(clip)
        t1 = time.perf_counter()
        composition = compose_features(features, options, chord_model=model)
        write_midi(composition, out / f"{clip.stem}.mid", inputs=(clip,))
        compose_s += time.perf_counter() - t1
        analyse_s += t1 - t0
        frames += round(features.fps * features.duration)
    return time.perf_counter() - started, analyse_s, compose_s, frames


def serial_command(clips: list[Path], out: Path, cache: Path) -> float:
    """`v2m-bridge render VIDEO -o OUT.mid --seed 1`, one process per video, as a script would."""
    env = {**os.environ, "V2M_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    for clip in clips:
        subprocess.run([sys.executable, "-m", "v2m_bridge", "render", str(clip), "-o",
                        str(out / f"{clip.stem}.mid"), "--seed", "1"], env=env, check=True,
                       capture_output=True)
    return time.perf_counter() - started


def clip_cpu_rate(frames: int = 2) -> float:
    import numpy as np
    import open_clip

    from v2m_bridge.video.clip_features import CLIP_MODEL_NAME, ClipEncoder, build_clip_architecture

    encoder = ClipEncoder(build_clip_architecture(), open_clip.get_tokenizer(CLIP_MODEL_NAME),
                          "cpu", batch_size=frames)
    image = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    encoder.add(image)
    encoder.finish()  # warm-up
    started = time.perf_counter()
    for _ in range(frames):
        encoder.add(image)
    encoder.finish()
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--no-clip-cpu", action="store_true")
    args = parser.parse_args()

    import ray

    from v2m_bridge.batch.cluster import connect, disconnect
    from v2m_bridge.batch.inputs import discover
    from v2m_bridge.batch.manifest import Manifest
    from v2m_bridge.batch.plan import AnalysisPlan
    from v2m_bridge.batch.runner import RenderJob, run_batch, videos_per_minute
    from v2m_bridge.options import RenderOptions

    work = Path(tempfile.mkdtemp(prefix="v2m-bench-batch-"))
    try:
        (work / "clips").mkdir()
        clips = make_clips(work / "clips", args.clips, args.seconds, args.width)
        options = RenderOptions(seed=1)
        os.environ["V2M_CACHE_DIR"] = str(work / "serial-cache")
        (work / "serial").mkdir()
        serial_s, analyse_s, compose_s, frames = serial(clips, work / "serial", options)
        (work / "command").mkdir()
        command_s = serial_command(clips, work / "command", work / "command-cache")

        t0 = time.perf_counter()
        cluster = connect(None, args.num_cpus)
        startup_s = time.perf_counter() - t0
        plan = AnalysisPlan(cache_dir=work / "batch-cache")
        found = discover([work / "clips"])
        (work / "batch").mkdir()
        report = run_batch(found.videos, plan,
                           Manifest(work / "batch" / "m.json", "render", {}),
                           render=RenderJob(options, work / "batch"), show_progress=False)
        disconnect(cluster)
        assert not ray.is_initialized()
        same = all((work / "serial" / f"{c.stem}.mid").read_bytes() ==
                   (work / "batch" / f"{c.stem}.mid").read_bytes() ==
                   (work / "command" / f"{c.stem}.mid").read_bytes() for c in clips)

        n = len(clips)
        print(f"{n} clips of {args.seconds:g} s at {args.width} px wide, {frames} frames; "
              f"{os.cpu_count()} CPUs on the machine (shared), Ray cluster of "
              f"{args.num_cpus} CPUs; CLIP: labelled fallback (no weights here)")
        print(f"serial `render` command      : {command_s:6.1f} s  "
              f"{60 * n / command_s:6.1f} videos/min  (one process per video)")
        print(f"serial render (one process)  : {serial_s:6.1f} s  "
              f"{60 * n / serial_s:6.1f} videos/min  (library loop, model loaded once)")
        print(f"batch render (Ray)           : {report.wall_s:6.1f} s  "
              f"{videos_per_minute(report):6.1f} videos/min  "
              f"(+ {startup_s:.1f} s cluster start: {60 * n / (report.wall_s + startup_s):.1f} "
              "videos/min with it)")
        print(f"batch vs command             : {command_s / report.wall_s:.2f}x "
              f"({command_s / (report.wall_s + startup_s):.2f}x with the start-up)")
        print(f"batch vs one-process loop    : {serial_s / report.wall_s:.2f}x "
              f"({serial_s / (report.wall_s + startup_s):.2f}x with the start-up); "
              f"MIDI identical (all three): {same}")
        print(f"in Ray tasks                 : analysis {report.analyze_s:.1f} s, compose "
              f"{report.compose_s:.1f} s (summed over workers)")
        print("per-stage rates (serial, one process):")
        print(f"  decode + scenes + motion   : {frames / analyse_s:7.1f} frames/s "
              f"({analyse_s / n:.2f} s per video)")
        print(f"  chords + arrangement + MIDI: {compose_s / n:7.2f} s per video "
              f"({n * args.seconds / compose_s:.0f} s of video per s)")
        if not args.no_clip_cpu:
            rate = clip_cpu_rate()
            print(f"  CLIP ViT-L/14@336 on CPU   : {rate:7.2f} frames/s (1 frame per second of "
                  f"video: {rate:.2f} s of video per s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

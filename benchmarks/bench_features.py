"""Feature-extraction speed: our single pass vs an OpenCV decode-only floor vs the official
three-pass style, measured side by side in one run; plus CLIP frames per second.

    python benchmarks/bench_features.py [--video PATH] [--repeats 3] [--clip-frames 4]

Targets (issue 3): single pass (no CLIP) <= 1.3x decode-only, and >= 2x faster than three passes.
The three-pass baseline mirrors the official scripts: ffmpeg writing 1 fps JPEGs
(``select=...``, ``-vsync 0 -qmin 1 -q:v 1``), a separate PySceneDetect pass (open_video +
SceneManager + AdaptiveDetector) and a separate OpenCV motion pass. CLIP is timed apart, on random
ViT-L-14-336 weights (the speed does not depend on the values).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from v2m_bridge.video.analyze import extract_features
from v2m_bridge.video.clip_features import CLIP_MODEL_NAME, ClipEncoder, build_clip_architecture
from v2m_bridge.video.motion import MotionMeter

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "bbb_0_30.webm"
OFFICIAL_SELECT = "select=bitor(gte(t-prev_selected_t\\,1)\\,isnan(prev_selected_t))"


def decode_only(video: Path) -> None:
    capture = cv2.VideoCapture(str(video))
    while capture.read()[0]:
        pass
    capture.release()


def single_pass(video: Path) -> None:
    extract_features(video, encoder=None)


def three_passes(video: Path) -> None:
    from scenedetect import AdaptiveDetector, SceneManager, open_video

    with tempfile.TemporaryDirectory() as frames_dir:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(video), "-vf", OFFICIAL_SELECT, "-vsync", "0",
             "-qmin", "1", "-q:v", "1", str(Path(frames_dir) / "%03d.jpg")],
            check=True)
    manager = SceneManager()
    manager.add_detector(AdaptiveDetector())
    manager.detect_scenes(open_video(str(video)))
    manager.get_scene_list()
    capture = cv2.VideoCapture(str(video))
    meter = MotionMeter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        meter.add(frame, capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    capture.release()


def cpu_seconds() -> float:
    """CPU time of this process (all threads) plus finished children (the ffmpeg runs)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def time_interleaved(methods: dict[str, Callable[[Path], None]], video: Path,
                     repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each method; rounds interleave the methods so that load
    from other processes drifts evenly over them. CPU time is the fairer figure on a busy host."""
    for method in methods.values():  # warm-up: imports, file cache
        method(video)
    wall: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, method in methods.items():
            start_wall, start_cpu = time.perf_counter(), cpu_seconds()
            method(video)
            wall[name].append(time.perf_counter() - start_wall)
            cpu[name].append(cpu_seconds() - start_cpu)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name]))
            for name in methods}


def clip_frames_per_second(video: Path, n_frames: int, device: str) -> tuple[float, float]:
    """(preprocess frames/s, ViT-L-14-336 encode frames/s) with random weights."""
    import open_clip
    import torch

    encoder = ClipEncoder(build_clip_architecture(), open_clip.get_tokenizer(CLIP_MODEL_NAME),
                          device, batch_size=n_frames)
    capture = cv2.VideoCapture(str(video))
    frames = [capture.read()[1] for _ in range(n_frames)]
    capture.release()
    start = time.perf_counter()
    pixels = torch.stack([encoder.preprocess(frame) for frame in frames])
    preprocess_s = time.perf_counter() - start
    encoder.encode(pixels[:1])  # warm-up
    if encoder.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    encoder.encode(pixels)
    if encoder.device.type == "cuda":
        torch.cuda.synchronize()
    encode_s = time.perf_counter() - start
    return n_frames / preprocess_s, n_frames / encode_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clip-frames", type=int, default=4,
                        help="frames for the CLIP speed test (0 skips it)")
    parser.add_argument("--device", default="cpu", help="device for the CLIP speed test")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the fallback warning is expected here
    logging.getLogger("pyscenedetect").setLevel(logging.ERROR)

    methods: dict[str, Callable[[Path], None]] = {
        "decode-only (OpenCV)": decode_only,
        "single pass, no CLIP": single_pass,
    }
    if shutil.which("ffmpeg"):
        methods["three passes (official style)"] = three_passes
    else:
        print("ffmpeg not found: skipping the three-pass baseline")
    medians = time_interleaved(methods, args.video, args.repeats)
    print(f"video: {args.video.name}, median of {args.repeats} interleaved runs, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  {'':32s} {'wall':>7s} {'CPU':>7s}")
    for name, (wall_s, cpu_s) in medians.items():
        print(f"  {name:32s} {wall_s:6.2f}s {cpu_s:6.2f}s")
    ours = medians["single pass, no CLIP"]
    floor = medians["decode-only (OpenCV)"]
    print(f"  single pass / decode-only    = {ours[0] / floor[0]:.2f}x wall, "
          f"{ours[1] / floor[1]:.2f}x CPU (target <= 1.3x)")
    if "three passes (official style)" in medians:
        three = medians["three passes (official style)"]
        print(f"  three passes / single pass   = {three[0] / ours[0]:.2f}x wall, "
              f"{three[1] / ours[1]:.2f}x CPU (target >= 2x)")

    if args.clip_frames > 0:
        preprocess_fps, encode_fps = clip_frames_per_second(args.video, args.clip_frames,
                                                            args.device)
        print(f"CLIP ViT-L-14-336 on {args.device}, batch of {args.clip_frames}: "
              f"preprocess {preprocess_fps:.1f} frames/s, encode {encode_fps:.2f} frames/s")


if __name__ == "__main__":
    main()

"""Cached vs official-style uncached chord generation, timed side by side.

Full official AMT size (6+6 layers, d_model 512, 8 heads), random weights, random video features;
the same seed on both paths, so they must also produce the same chords.

    python benchmarks/bench_generate.py              # 300 chords, CPU or the GPU if present
    python benchmarks/bench_generate.py --chords 60 --device cpu
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from v2m_bridge.device import pick_device
from v2m_bridge.model import AMT, AMTConfig, ConditioningInputs, GenerationOptions, generate_chords


def random_inputs(seconds: int, seed: int = 0) -> ConditioningInputs:
    rng = np.random.default_rng(seed)
    emotion = rng.dirichlet(np.ones(6), seconds).astype(np.float32)
    return ConditioningInputs(rng.standard_normal((seconds, 768)).astype(np.float32),
                              (np.arange(seconds) % 7 + 1).astype(np.float32),
                              rng.uniform(0, 40, seconds).astype(np.float32), emotion)


def timed(fn, device: torch.device) -> tuple[float, list]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chords", type=int, default=300)
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: best)")
    parser.add_argument("--skip-uncached", action="store_true")
    args = parser.parse_args()

    device = pick_device(args.device)
    torch.manual_seed(0)
    amt = AMT(AMTConfig()).to(device).eval()
    inputs = random_inputs(args.chords)
    options = GenerationOptions(seed=1)
    generate_chords(amt, inputs.window(0, 8), options)  # warm-up: allocator, kernels

    cached_s, cached = timed(lambda: generate_chords(amt, inputs, options), device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, {args.chords} chords")
    print(f"cached   (encoder once, decoder KV cache): {cached_s:8.3f} s")
    if args.skip_uncached:
        return
    uncached_s, uncached = timed(
        lambda: generate_chords(amt, inputs, options, use_cache=False), device)
    print(f"uncached (official-style full recompute):  {uncached_s:8.3f} s")
    print(f"speed-up: {uncached_s / cached_s:.1f}x; same chords: {cached == uncached}")


if __name__ == "__main__":
    main()

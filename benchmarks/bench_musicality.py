"""Would a composer keep these chords? Every figure of issue 12, on held-out songs and videos.

Run from the repository root (beside ``shared/``), after importing the corpora once:

    v2m-bridge train import-corpora --pop909 ../shared/data/corpora/pop909 \\
        --billboard ../shared/data/corpora/mcgill-billboard --out /tmp/v2m_corpus
    python benchmarks/bench_musicality.py --data /tmp/v2m_corpus [--checkpoint CKPT]
        [--sampler musical|official] [--seeds 5] [--json OUT.json]

Figures (all chords in the model's C major / A minor frame; the renders use the default key,
C major, so nothing is transposed):

* reference: the held-out test songs themselves (POP909, Billboard), and the same songs with
  their changes shuffled: idiom score (mean log-prob per chord change under a bigram of changes
  counted on the training split), unseen-transition share, in-key share, mean / median-longest
  chord length;
* teacher forced: next-second Hits@1 on the test songs with chord-blind inputs (neutral; another
  song's), next to "the previous chord goes on";
* renders: ``compose_features`` with default options (or ``--sampler``) on the shared videos
  (fallback features), ``--seeds`` seeds each: idiom, unseen, in-key, mean chord length, longest
  chord, the longest chord of the calm single-shot clips, the share of detected cuts that start a
  chord span (a change or a re-strike);
* neutral inputs: ``v2m-bridge chords --seconds 120`` (neutral inputs), ``--seeds`` seeds;
* drift: a 7-minute input (the shared videos' features, looped) rendered, in-key share of the
  first vs the last minute;
* emotion override: minor-family share of rendered seconds with ``--emotion sad`` / ``exciting``;
* permutation: the share of seconds whose chord changes when a video's seconds are permuted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VIDEOS = ("bbb_0_30.webm", "flower.mp4", "friday.mp4", "crystal.mp4", "montage_cc0_4shots.mp4")
CALM_SINGLE_SHOTS = ("flower.mp4", "friday.mp4")


def _video_dir() -> Path:
    for base in (ROOT.parent / "shared", ROOT / "shared", Path("/work/shared")):
        if (base / "data" / "videos").is_dir():
            return base / "data" / "videos"
    sys.exit("shared/data/videos not found beside the repository")


def _per_second(composition) -> list:
    """The sounding chord at the middle of each second, back in the normalised frame."""
    grid = composition.grid
    key = composition.key
    return [key.to_normalised(grid.spans[grid.span_index(s + 0.5)].chord)
            for s in range(int(np.ceil(composition.duration)))]


def _span_lengths(composition) -> list[float]:
    """Durations of chords as heard: neighbouring spans of the same chord merged."""
    lengths: list[float] = []
    previous = None
    for span in composition.grid.spans:
        if previous is not None and span.chord == previous:
            lengths[-1] += span.end - span.start
        else:
            lengths.append(span.end - span.start)
        previous = span.chord
    return lengths


def _cut_coverage(composition) -> list[bool]:
    """Per snapped cut: does a chord span (a change or a re-strike) start on it?"""
    starts = [span.start for span in composition.grid.spans]
    return [any(abs(start - cut) < 1e-6 for start in starts) for cut in composition.cut_times]


def _looped(features_list, seconds: int):
    """One long VideoFeatures: the given videos' seconds back to back, looped to ``seconds``."""
    from v2m_bridge.features import VideoFeatures

    parts = {"semantic": [], "emotion": [], "scene_offset": [], "motion": []}
    cuts: list[float] = []
    total = 0
    while total < seconds:
        for features in features_list:
            n = min(features.n_seconds, seconds - total)
            if n <= 0:
                break
            for name in parts:
                parts[name].append(getattr(features, name)[:n])
            cuts += [total + c for c in features.cut_times if c < n]
            if total > 0:
                cuts.append(float(total))
            total += n
    offsets = np.concatenate(parts["scene_offset"]).copy()
    cut_seconds = {int(c) for c in cuts}
    for s in range(len(offsets)):
        offsets[s] = 1.0 if (s == 0 or s in cut_seconds) else offsets[s - 1] + 1.0
    return VideoFeatures(source="looped", fps=25.0, duration=float(total),
                         semantic=np.concatenate(parts["semantic"]),
                         emotion=np.concatenate(parts["emotion"]), scene_offset=offsets,
                         motion=np.concatenate(parts["motion"]), cut_times=sorted(set(cuts)),
                         provenance="fallback")


def _permuted(features, rng: np.random.Generator):
    order = rng.permutation(features.n_seconds)
    offsets = features.scene_offset[order]
    cuts = [float(s) for s in range(1, len(offsets)) if offsets[s] == 1.0]
    return replace(features, emotion=features.emotion[order], motion=features.motion[order],
                   semantic=features.semantic[order], scene_offset=offsets, cut_times=cuts)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


class _Report(dict):
    """The figures by section; each section is printed as soon as it is complete."""

    def __setitem__(self, section: str, values: dict) -> None:
        super().__setitem__(section, values)
        print(f"## {section}")
        for name, value in values.items():
            if isinstance(value, float):
                is_share = any(w in name for w in ("in_key", "unseen", "hits", "share",
                                                   "previous", "cuts_", "changed"))
                value = _pct(value) if is_share else f"{value:.3f}"
            print(f"  {name}: {value}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="imported corpus folder")
    parser.add_argument("--checkpoint", type=Path, help="AMT (default: the shipped starter)")
    parser.add_argument("--sampler", default="musical", choices=["musical", "official"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--top-p", type=float, help="override the musical sampler's top-p")
    parser.add_argument("--temperature", type=float, help="override its temperature")
    parser.add_argument("--skip-teacher-forced", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import torch

    from v2m_bridge.data.muvi_sync import read_split
    from v2m_bridge.model import ConditioningInputs, GenerationOptions, generate_chords
    from v2m_bridge.model import generate as musical_module  # the sampler presets live there
    from v2m_bridge.model.loading import load_chord_model
    from v2m_bridge.options import RenderOptions
    from v2m_bridge.pipeline import compose_features
    from v2m_bridge.training import musicality as mu
    from v2m_bridge.video import analyze_video
    from v2m_bridge.vocab import MINOR_FAMILY

    torch.set_num_threads(2)
    started = time.perf_counter()
    if args.top_p is not None:
        musical_module.MUSICAL_TOP_P = args.top_p if args.top_p < 1 else None
    if args.temperature is not None:
        musical_module.MUSICAL_TEMPERATURE = args.temperature

    model = load_chord_model(str(args.checkpoint) if args.checkpoint else None, "cpu")
    amt = model.amt
    train = read_split(args.data, "train")
    test = read_split(args.data, "test")
    bigram = mu.ChangeBigram(mu.song_chords(s) for s in train)
    out: dict[str, dict] = _Report()

    # reference: held-out songs
    rng = np.random.default_rng(0)
    for corpus in ("pop909", "billboard"):
        songs = [mu.song_chords(s) for s in test if s.song_id.startswith(corpus)]
        runs = [mu.run_lengths([c for c in song]) for song in songs]
        out[f"reference {corpus}"] = {
            "songs": len(songs),
            "idiom": mu.idiom_score(bigram, songs),
            "idiom_shuffled": mu.idiom_score(bigram, [mu.shuffled_changes(s, rng)
                                                      for s in songs]),
            "unseen": mu.unseen_share(bigram, songs),
            "in_key": mu.in_key_share([c for s in songs for c in s]),
            "mean_chord_s": float(np.mean([r for rs in runs for r in rs])),
            "median_longest_s": float(statistics.median(max(rs) for rs in runs)),
        }

    if not args.skip_teacher_forced:
        window = min(amt.config.max_sequence_chord, amt.config.max_sequence_video)
        for inputs in ("neutral", "other"):
            hits, repeat, count = mu.teacher_forced_hits_blind(amt, test, window, inputs)
            out[f"teacher forced, {inputs} inputs"] = {"hits1": hits, "previous_chord": repeat,
                                                       "targets": count}

    def render(features, seed: int, **changes):
        options = RenderOptions(seed=seed, sampler=args.sampler, **changes)
        return compose_features(features, options, chord_model=model)

    video_dir = _video_dir()
    features = {name: analyze_video(video_dir / name) for name in VIDEOS}
    seeds = range(args.seeds)
    per_second, lengths, cover, calm_longest = [], [], [], []
    for name, feats in features.items():
        for seed in seeds:
            composition = render(feats, seed)
            per_second.append(_per_second(composition))
            lengths.append(_span_lengths(composition))
            cover += _cut_coverage(composition)
            if name in CALM_SINGLE_SHOTS:
                calm_longest.append(max(lengths[-1]))
    still = _looped([features["friday.mp4"]], 30)  # a 30 s calm single shot: no cuts
    still = replace(still, cut_times=[], scene_offset=np.arange(1, 31, dtype=np.float32))
    still_longest = [max(_span_lengths(render(still, seed))) for seed in seeds]
    flat = [x for ls in lengths for x in ls]
    out["renders"] = {
        "videos": len(features), "seeds": args.seeds,
        "idiom": mu.idiom_score(bigram, per_second),
        "unseen": mu.unseen_share(bigram, per_second),
        "in_key": mu.in_key_share([c for s in per_second for c in s]),
        "mean_chord_s": float(np.mean(flat)),
        "longest_s": float(max(flat)),
        "calm_single_shot_longest_s": float(max(calm_longest)),
        "calm_30s_single_shot_longest_s": float(max(still_longest)),
        "cuts_with_change_or_restrike": float(np.mean(cover)) if cover else float("nan"),
    }

    from v2m_bridge.features import EMOTION_LABELS
    from v2m_bridge.music.dynamics import velocity_from_loudness

    reading, velocity = {}, {}
    for name, feats in features.items():
        mass = feats.emotion.mean(axis=0)
        reading[name] = " ".join(f"{label} {m:.2f}" for label, m in
                                 sorted(zip(EMOTION_LABELS, mass, strict=True),
                                        key=lambda item: -item[1])[:3])
        composition = render(feats, 0)
        curve = velocity_from_loudness(composition.trace.dynamics.loudness)
        notes = [event.velocity for event in composition.events]
        velocity[name] = (f"picture-driven {int(curve.min())}..{int(curve.max())} "
                          f"({int(curve.max() - curve.min())} steps); notes "
                          f"{min(notes)}..{max(notes)}")
    out["fallback reading (mean emotion, top 3)"] = reading
    out["velocity"] = velocity

    neutral = []
    for seed in seeds:
        if args.sampler == "official":
            options = GenerationOptions(seed=seed)
        else:
            options = musical_module.musical_options(seed=seed)
        neutral.append(generate_chords(amt, ConditioningInputs.zeros(120), options))
    runs = [r for s in neutral for r in mu.run_lengths(s)]
    out["neutral 120 s"] = {
        "idiom": mu.idiom_score(bigram, neutral), "unseen": mu.unseen_share(bigram, neutral),
        "in_key": mu.in_key_share([c for s in neutral for c in s]),
        "mean_chord_s": float(np.mean(runs)), "longest_s": float(max(runs)),
        "example": " ".join(c.name() for c in neutral[0][:24]),
    }

    long_input = _looped(list(features.values()), 420)
    first, last = [], []
    for seed in seeds:
        chords = _per_second(render(long_input, seed))
        first += chords[:60]
        last += chords[-60:]
    out["drift, 7-minute input"] = {"in_key_first_minute": mu.in_key_share(first),
                                    "in_key_last_minute": mu.in_key_share(last)}

    shares = {}
    for emotion in ("sad", "exciting"):
        chords = [c for feats in features.values() for seed in seeds
                  for c in _per_second(render(feats, seed, emotion=emotion))]
        shares[emotion] = sum(c.quality in MINOR_FAMILY for c in chords) / len(chords)
    out["emotion override"] = {"minor_share_sad": shares["sad"],
                               "minor_share_exciting": shares["exciting"]}

    changed = []
    for index, feats in enumerate(features.values()):
        permuted = _permuted(feats, np.random.default_rng(index))
        for seed in seeds:
            a = _per_second(render(feats, seed))
            b = _per_second(render(permuted, seed))
            changed.append(float(np.mean([x != y for x, y in zip(a, b, strict=True)])))
    out["permuted seconds"] = {"chords_changed_mean": float(np.mean(changed)),
                               "chords_changed_min_per_video_seed": float(min(changed))}
    out["run"] = {"sampler": args.sampler, "checkpoint": str(args.checkpoint or "starter"),
                  "top_p": musical_module.MUSICAL_TOP_P,
                  "temperature": musical_module.MUSICAL_TEMPERATURE,
                  "seconds": round(time.perf_counter() - started, 1)}

    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

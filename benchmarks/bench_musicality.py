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
* permutation: the share of seconds whose chord changes when a video's seconds are permuted;
* variety (issue 22), two-sided against the held-out songs (median and IQR per song, the songs'
  first 30 / 70 / 120 s after leading no-chord seconds, the same per-second reading): share of
  changes to the 3 most used chords, A-B-A-B alternation, distinct chords, in-key share,
  log-prob per change, unseen transitions, most used chords; for a 30 s render (``bbb_0_30``)
  and 70 s / 120 s renders (the five shared videos back to back, looped);
* emotion colour (issue 22, official quality table, seconds whose dominant emotion is not
  neutral): on 150 s of synthetic features with 30 s single-emotion sections (what ``chords
  --features`` does, no override), on the shared videos' renders, and on the held-out songs
  (with the corpus' own per-second emotion, and the base rate of each emotion's qualities);
  minor-family share per section, and seconds from a section's start to its first fitting chord.

``--only`` runs some sections (reference, teacher, renders, neutral, drift, override, permuted,
variety, colour); the default runs all.
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


SECTIONS = ("reference", "teacher", "renders", "neutral", "drift", "override", "permuted",
            "variety", "colour")
COLOUR_SECTIONS = ("exciting", "tense", "sad", "relaxing", "fearful")
SECTION_S = 30


def _spread(values) -> str:
    """"median (low-high)" over seeds or songs."""
    clean = [v for v in values if not np.isnan(v)]
    if not clean:
        return "nan"
    return f"{np.median(clean):.2f} ({min(clean):.2f}-{max(clean):.2f})"


def _iqr(values) -> str:
    from v2m_bridge.training.musicality import quartiles

    median, low, high = quartiles(values)
    return f"{median:.2f} (IQR {low:.2f}-{high:.2f})"


def _variety(mu, bigram, sequences) -> dict[str, list[float]]:
    """The issue-22 figures of each sequence (one chord per second)."""
    return {
        "top3_share": [mu.top_share(s) for s in sequences],
        "abab": [mu.alternation_share(s) for s in sequences],
        "distinct": [float(mu.distinct_chords(s)) for s in sequences],
        "in_key": [mu.in_key_share(s) for s in sequences],
        "logprob": [mu.idiom_score(bigram, [s]) for s in sequences],
        "unseen": [mu.unseen_share(bigram, [s]) for s in sequences],
    }


def _most_used(sequences, n: int = 6) -> str:
    from collections import Counter

    from v2m_bridge.vocab import chord_from_id

    counts = Counter(c if isinstance(c, int) else c.id for s in sequences for c in s)
    counts.pop(0, None)
    return " ".join(chord_from_id(c).name() for c, _ in counts.most_common(n))


def colour_sections(seconds: int = SECTION_S):
    """150 s of synthetic features: one clear emotion per 30 s section (exciting, tense, sad,
    relaxing, fearful), a cut at each section, low steady motion, no semantic content."""
    from v2m_bridge.features import VideoFeatures, one_hot_emotion, scene_offsets_from_cuts

    n = seconds * len(COLOUR_SECTIONS)
    emotion = np.concatenate([np.tile(one_hot_emotion(e), (seconds, 1))
                              for e in COLOUR_SECTIONS])
    cuts = [float(seconds * i) for i in range(1, len(COLOUR_SECTIONS))]
    return VideoFeatures(source="sections", fps=25.0, duration=float(n),
                         semantic=np.zeros((n, 768), np.float32), emotion=emotion,
                         scene_offset=scene_offsets_from_cuts(cuts, n),
                         motion=np.full(n, 4.0, np.float32), cut_times=cuts,
                         provenance="fallback")


def _correspondence(mu, pairs) -> dict[str, float]:
    """Per emotion and overall, from (chords, emotion rows) pairs."""
    totals: dict[str, list[int]] = {}
    for chords, emotion in pairs:
        for label, (fit, total) in mu.emotion_correspondence(chords, emotion).items():
            totals.setdefault(label, [0, 0])
            totals[label][0] += fit
            totals[label][1] += total
    out = {f"{label}": (fit / total if total else float("nan"))
           for label, (fit, total) in totals.items()}
    fit = sum(f for f, _ in totals.values())
    total = sum(t for _, t in totals.values())
    out["overall"] = fit / total if total else float("nan")
    out["seconds"] = {label: total for label, (_, total) in totals.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="imported corpus folder")
    parser.add_argument("--checkpoint", type=Path, help="AMT (default: the shipped starter)")
    parser.add_argument("--sampler", default="musical", choices=["musical", "official"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--top-p", type=float, help="override the musical sampler's top-p")
    parser.add_argument("--temperature", type=float, help="override its temperature")
    parser.add_argument("--skip-teacher-forced", action="store_true")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    wanted = set(args.only or SECTIONS) - ({"teacher"} if args.skip_teacher_forced else set())

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
    overlap = {s.song_id for s in train} & {s.song_id for s in test}
    if overlap:
        sys.exit(f"songs in both train and test: {sorted(overlap)[:5]}")
    bigram = mu.ChangeBigram(mu.song_chords(s) for s in train)
    out: dict[str, dict] = _Report()
    seeds = range(args.seeds)

    def render(features, seed: int, **changes):
        options = RenderOptions(seed=seed, sampler=args.sampler, **changes)
        return compose_features(features, options, chord_model=model)

    video_dir = _video_dir()
    features = {name: analyze_video(video_dir / name) for name in VIDEOS}

    if "reference" in wanted:
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

    if "teacher" in wanted:
        window = min(amt.config.max_sequence_chord, amt.config.max_sequence_video)
        for inputs in ("neutral", "other"):
            hits, repeat, count = mu.teacher_forced_hits_blind(amt, test, window, inputs)
            out[f"teacher forced, {inputs} inputs"] = {"hits1": hits, "previous_chord": repeat,
                                                       "targets": count}

    if "renders" in wanted:
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
                              f"{min(notes)}..{max(notes)}; key {composition.key.name}")
        out["fallback reading (mean emotion, top 3)"] = reading
        out["velocity"] = velocity

    if "neutral" in wanted:
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

    if "drift" in wanted:
        long_input = _looped(list(features.values()), 420)
        first, last = [], []
        for seed in seeds:
            chords = _per_second(render(long_input, seed))
            first += chords[:60]
            last += chords[-60:]
        out["drift, 7-minute input"] = {"in_key_first_minute": mu.in_key_share(first),
                                        "in_key_last_minute": mu.in_key_share(last)}

    if "override" in wanted:
        shares = {}
        for emotion in ("sad", "exciting"):
            chords = [c for feats in features.values() for seed in seeds
                      for c in _per_second(render(feats, seed, emotion=emotion))]
            shares[emotion] = sum(c.quality in MINOR_FAMILY for c in chords) / len(chords)
        out["emotion override"] = {"minor_share_sad": shares["sad"],
                                   "minor_share_exciting": shares["exciting"]}

    if "permuted" in wanted:
        changed = []
        for index, feats in enumerate(features.values()):
            permuted = _permuted(feats, np.random.default_rng(index))
            for seed in seeds:
                a = _per_second(render(feats, seed))
                b = _per_second(render(permuted, seed))
                changed.append(float(np.mean([x != y for x, y in zip(a, b, strict=True)])))
        out["permuted seconds"] = {"chords_changed_mean": float(np.mean(changed)),
                                   "chords_changed_min_per_video_seed": float(min(changed))}

    if "variety" in wanted:
        songs = [mu.song_chords(s) for s in test]
        for seconds in (30, 70, 120):
            real = _variety(mu, bigram, [mu.opening(s, seconds) for s in songs])
            out[f"variety, held-out songs' first {seconds} s ({len(songs)} songs)"] = {
                name: _iqr(values) for name, values in real.items()}
        out["variety, held-out songs, whole"] = {
            **{name: _iqr(values) for name, values in _variety(mu, bigram, songs).items()},
            "most_used": _most_used(songs)}
        inputs = {30: features["bbb_0_30.webm"],
                  70: _looped(list(features.values()), 70),
                  120: _looped(list(features.values()), 120)}
        for seconds, feats in inputs.items():
            chords = [_per_second(render(feats, seed)) for seed in seeds]
            figures = _variety(mu, bigram, chords)
            out[f"variety, default render {seconds} s ({args.seeds} seeds)"] = {
                **{name: _spread(values) for name, values in figures.items()},
                "most_used": _most_used(chords),
                "example": " ".join(c.name() for c in chords[0][:40])}

    if "colour" in wanted:
        from v2m_bridge.features import EMOTION_LABELS

        sections = colour_sections()
        pairs, lag = [], []
        minor = {e: [] for e in COLOUR_SECTIONS}
        in_key = {e: [] for e in COLOUR_SECTIONS}
        for seed in seeds:
            chords = _chords_command(sections, seed, args.sampler, model, musical_module)
            pairs.append((chords, sections.emotion))
            for index, label in enumerate(COLOUR_SECTIONS):
                part = chords[index * SECTION_S:(index + 1) * SECTION_S]
                minor[label].append(np.mean([c.quality in MINOR_FAMILY for c in part]))
                in_key[label].append(mu.in_key_share(part))
                fits = [mu.emotion_correspondence([c], sections.emotion[index * SECTION_S:][:1])
                        [label][0] for c in part]
                lag.append(fits.index(1) if 1 in fits else SECTION_S)
        figures = _correspondence(mu, pairs)
        out[f"colour, 30 s single-emotion sections ({args.seeds} seeds)"] = {
            **{k: v for k, v in figures.items() if k != "seconds"},
            **{f"minor_share_{label}": float(np.mean(v)) for label, v in minor.items()},
            **{f"in_key_{label}": float(np.mean(v)) for label, v in in_key.items()},
            "seconds_to_first_fitting_chord_median": float(np.median(lag)),
            "example": " ".join(c.name() for c in pairs[0][0][::2])}
        pairs = []
        for feats in features.values():
            for seed in seeds:
                pairs.append((_per_second(render(feats, seed)), feats.emotion))
        figures = _correspondence(mu, pairs)
        out[f"colour, shared videos' default renders ({args.seeds} seeds)"] = {
            **{k: v for k, v in figures.items() if k != "seconds"},
            "seconds": str(figures["seconds"])}
        songs = [(mu.song_chords(s), s.emotion[:len(s.chord_ids)]) for s in test]
        figures = _correspondence(mu, songs)
        base = {}
        all_chords = [c for chords, _ in songs for c in chords if not c.is_none]
        for label in EMOTION_LABELS[:-1]:
            row = np.zeros((1, 6), np.float32)
            row[0, EMOTION_LABELS.index(label)] = 1.0
            base[f"base_rate_{label}"] = float(np.mean(
                [mu.emotion_correspondence([c], row)[label][0] for c in all_chords]))
        out["colour, held-out songs (corpus emotion: section votes of the official table)"] = {
            **{k: v for k, v in figures.items() if k != "seconds"},
            "seconds": str(figures["seconds"]), **base}

    out["run"] = {"sampler": args.sampler, "checkpoint": str(args.checkpoint or "starter"),
                  "top_p": musical_module.MUSICAL_TOP_P,
                  "temperature": musical_module.MUSICAL_TEMPERATURE,
                  "sections": " ".join(s for s in SECTIONS if s in wanted),
                  "seconds": round(time.perf_counter() - started, 1)}

    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


def _chords_command(features, seed: int, sampler: str, model, musical_module) -> list:
    """What ``v2m-bridge chords --features FILE --seed SEED`` prints, in the normalised frame."""
    from v2m_bridge.model import ConditioningInputs, GenerationOptions, generate_chords

    key = _auto_key(features)
    if sampler == "official":
        options = GenerationOptions(key=key, seed=seed)
    else:
        options = musical_module.musical_options(key=key, seed=seed)
    return generate_chords(model.amt, ConditioningInputs.from_features(features), options)


def _auto_key(features):
    """The key ``chords`` uses by default (``--key auto``)."""
    from v2m_bridge.music.key_choice import choose_key

    return choose_key(features).key


if __name__ == "__main__":
    sys.exit(main())

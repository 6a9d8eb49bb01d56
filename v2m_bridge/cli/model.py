"""``v2m-bridge inspect`` (what a checkpoint holds) and ``v2m-bridge chords`` (chords only)."""

from __future__ import annotations

import argparse
import sys

from v2m_bridge.config import DEFAULT_KEY_CHOICE


def register(subparsers: argparse._SubParsersAction) -> None:
    inspect = subparsers.add_parser(
        "inspect", help="show the size, parameter count and provenance of a checkpoint",
        description="Load an AMT or regression checkpoint (official or project) and describe it.")
    inspect.add_argument("checkpoint", help="path to a .pt/.pickle checkpoint")
    inspect.set_defaults(func=run_inspect)

    chords = subparsers.add_parser(
        "chords", help="generate a chord progression from saved video features",
        description="Generate one chord per second from a features file written by "
        "`v2m-bridge analyze -o FILE.npz`, or from neutral inputs with --seconds.")
    source = chords.add_mutually_exclusive_group(required=True)
    source.add_argument("--features", help="features .npz from `v2m-bridge analyze`")
    source.add_argument("--seconds", type=int, help="neutral inputs of this many seconds")
    chords.add_argument("--checkpoint", help="AMT checkpoint (default: the shipped starter)")
    chords.add_argument("--key", default=DEFAULT_KEY_CHOICE,
                        help="e.g. 'D minor', 'Bb', 'F#m', or auto (default): from the "
                        "features' valence and arousal")
    chords.add_argument("--primer", default="", help="first chords, e.g. 'Dm Bb F C'")
    chords.add_argument("--emotion", help="override: an emotion or a curve '0:tense,20:sad'")
    chords.add_argument("--seed", type=int)
    chords.add_argument("--temperature", type=float,
                        help="default: 1.0 (both samplers)")
    chords.add_argument("--top-k", type=int)
    chords.add_argument("--top-p", type=float, help="default: 0.95 (musical sampler), none "
                        "(official)")
    chords.add_argument("--sampler", choices=["musical", "official"], default="musical",
                        help="musical (default): changes on bar lines (120 bpm) and cuts, in "
                        "key; official: one draw per second, at most 2 repeats")
    chords.add_argument("--device", help="cpu, cuda or mps (default: best available)")
    chords.set_defaults(func=run_chords)


def run_inspect(args: argparse.Namespace) -> int:
    from v2m_bridge.errors import CheckpointError
    from v2m_bridge.model import load_amt, load_regression

    try:
        model = load_amt(args.checkpoint)
        kind = "AMT"
    except CheckpointError as amt_error:
        try:
            model = load_regression(args.checkpoint)
            kind = "bi-GRU regression"
        except CheckpointError:
            raise amt_error from None
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{kind} checkpoint {args.checkpoint}")
    print(f"  parameters: {n_params:,}")
    for name, value in model.config.to_dict().items():
        print(f"  {name}: {value}")
    for name, value in model.metadata.items():
        if name != "path":
            print(f"  {name}: {value}")
    return 0


def run_chords(args: argparse.Namespace) -> int:
    from v2m_bridge.emotion import parse_emotion_curve
    from v2m_bridge.features import VideoFeatures
    from v2m_bridge.model import ConditioningInputs, GenerationOptions, generate_chords
    from v2m_bridge.model.loading import load_chord_model
    from v2m_bridge.music.key_choice import choose_key
    from v2m_bridge.vocab import parse_key

    if args.features:
        inputs = ConditioningInputs.from_features(VideoFeatures.load(args.features))
    else:
        inputs = ConditioningInputs.zeros(args.seconds)
    if args.key.strip().lower() == "auto":
        choice = choose_key(inputs)
        key = choice.key
        print(f"key: {choice.describe()}", file=sys.stderr)
    else:
        key = parse_key(args.key)
    override = (parse_emotion_curve(args.emotion, inputs.n_seconds)
                if args.emotion else None)
    if args.sampler == "official":
        options = GenerationOptions(key=key, primer=args.primer, seed=args.seed,
                                    temperature=args.temperature or 1.0, top_k=args.top_k,
                                    top_p=args.top_p, emotion_override=override)
    else:
        from v2m_bridge.model.generate import musical_options

        options = musical_options(
            key=key, primer=args.primer, seed=args.seed, emotion_override=override,
            temperature=args.temperature, top_k=args.top_k,
            top_p="default" if args.top_p is None else args.top_p)
    amt = load_chord_model(args.checkpoint, args.device).amt
    chords = generate_chords(amt, inputs, options)
    names = [key.from_normalised(c).name(flats=key.prefers_flats) for c in chords]
    for second, name in enumerate(names):
        print(f"{second}\t{name}")
    return 0

"""``v2m-bridge train ...`` and ``v2m-bridge evaluate``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from v2m_bridge.errors import V2MError

log = logging.getLogger(__name__)

# The shipped starter model: small enough to train on two CPU cores in about half an hour.
STARTER_MODEL = {"n_layers": 2, "num_heads": 4, "d_model": 128, "dim_feedforward": 256,
                 "max_sequence_video": 128, "max_sequence_chord": 128}
STARTER_TRAINING = {"epochs": 24, "batch_size": 32, "window": 128, "learning_rate": 1e-3,
                    "warmup_steps": 100, "cut_weight": 3.0}


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="import chord corpora; train the AMT or the "
                                  "dynamics regression model on MuVi-Sync layout data")
    commands = train.add_subparsers(dest="train_command", metavar="WHAT", required=True)

    imp = commands.add_parser("import-corpora", help="POP909 / McGill Billboard -> a MuVi-Sync "
                              "layout folder with derived video-side inputs")
    imp.add_argument("--out", type=Path, required=True, help="folder to write")
    imp.add_argument("--pop909", type=Path, help="POP909 corpus folder")
    imp.add_argument("--billboard", type=Path, help="McGill Billboard corpus folder")
    imp.add_argument("--seed", type=int, default=0, help="seed of the derived conditioning")
    imp.add_argument("--limit", type=int, help="at most this many songs per corpus")
    imp.set_defaults(func=_import_corpora)

    amt = commands.add_parser("amt", help="train the AMT chord model")
    _common_training_args(amt)
    amt.add_argument("--preset", choices=["starter"], help="the shipped starter model's size "
                     "and schedule (explicit options still win)")
    amt.add_argument("--layers", type=int, help="encoder and decoder layers (default 6)")
    amt.add_argument("--heads", type=int, help="attention heads (default 8)")
    amt.add_argument("--d-model", type=int, help="model width (default 512)")
    amt.add_argument("--feedforward", type=int, help="feed-forward width (default 1024)")
    amt.add_argument("--max-seq", type=int, help="longest chord / video sequence (default 300)")
    amt.add_argument("--window", type=int, help="seconds per training window (default 128)")
    amt.add_argument("--loss-lambda", type=float, help="weight of cross-entropy against the "
                     "emotion BCE term, 0..1 (default 0.4, the official value)")
    amt.add_argument("--warmup", type=int, help="learning-rate warm-up steps")
    amt.add_argument("--cut-weight", type=float, help="cross-entropy weight of chords that "
                     "start a scene (default 1 = the official loss; the starter preset uses 3)")
    amt.add_argument("--export", type=Path, help="also write the best model here as a float16 "
                     "checkpoint (how the starter model is shipped)")
    amt.set_defaults(func=_train_amt)

    reg = commands.add_parser("regression", help="train the bi-GRU note-density / loudness "
                              "model (needs vevo_loudness/ and vevo_note_density/)")
    _common_training_args(reg)
    reg.add_argument("--window", type=int, help="seconds per training window (default 300)")
    reg.set_defaults(func=_train_regression)

    ev = subparsers.add_parser("evaluate", help="score an AMT on a held-out split: Hits@k, "
                               "chord variety, cut following, emotion following")
    ev.add_argument("--data", type=Path, required=True, help="MuVi-Sync layout folder")
    ev.add_argument("--checkpoint", type=Path, help="AMT checkpoint (default: the shipped "
                    "starter model)")
    ev.add_argument("--split", default="test", choices=["train", "val", "test"])
    ev.add_argument("--songs", type=int, default=40, help="songs to generate for (default 40)")
    ev.add_argument("--seconds", type=int, default=120, help="seconds generated per song")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ev.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")
    ev.set_defaults(func=_evaluate)


def _common_training_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="MuVi-Sync layout folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoints")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, "
                        "cuda, cuda:N or mps")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--max-steps-per-epoch", type=int, help="cap each epoch (smoke runs)")
    parser.add_argument("--limit-songs", type=int, help="read at most this many songs per split")
    parser.add_argument("--threads", type=int, help="CPU threads for torch")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _positive(name: str, value):
    if value is not None and value <= 0:
        raise V2MError(f"--{name} must be positive, got {value}")
    return value


def _training_config(args: argparse.Namespace, defaults: dict):
    from v2m_bridge.training.train import TrainConfig

    values = dict(defaults)
    for option, field in [("epochs", "epochs"), ("batch_size", "batch_size"),
                          ("lr", "learning_rate"), ("window", "window"),
                          ("warmup", "warmup_steps"), ("threads", "threads"),
                          ("cut_weight", "cut_weight"),
                          ("max_steps_per_epoch", "max_steps_per_epoch"),
                          ("limit_songs", "limit_songs")]:
        value = getattr(args, option, None)
        if value is not None:
            values[field] = _positive(option.replace("_", "-"), value)
    if getattr(args, "seed", None) is not None:
        values["seed"] = args.seed
    loss_lambda = getattr(args, "loss_lambda", None)
    if loss_lambda is not None:
        if not 0.0 <= loss_lambda <= 1.0:
            raise V2MError(f"--loss-lambda must be within 0..1, got {loss_lambda}")
        values["loss_lambda"] = loss_lambda
    return TrainConfig(device=args.device, progress=not args.no_progress, **values)


def _import_corpora(args: argparse.Namespace) -> int:
    from v2m_bridge.data.corpus_import import import_corpora

    summary = import_corpora(args.out, args.pop909, args.billboard, seed=args.seed,
                             limit=args.limit)
    print(f"wrote {summary.songs} songs ({summary.seconds} s of chords) to {args.out}: "
          f"splits {dict(summary.splits)}, modes {dict(summary.modes)}")
    return 0


def _train_amt(args: argparse.Namespace) -> int:
    from v2m_bridge.model import AMTConfig, load_amt, save_amt
    from v2m_bridge.training.train import train_amt

    starter = args.preset == "starter"
    model_values = dict(STARTER_MODEL) if starter else {}
    for option, field in [("layers", "n_layers"), ("heads", "num_heads"),
                          ("d_model", "d_model"), ("feedforward", "dim_feedforward")]:
        value = getattr(args, option)
        if value is not None:
            model_values[field] = _positive(option.replace("_", "-"), value)
    if args.max_seq is not None:
        _positive("max-seq", args.max_seq)
        model_values["max_sequence_video"] = model_values["max_sequence_chord"] = args.max_seq
    config = _training_config(args, STARTER_TRAINING if starter else {})
    result = train_amt(args.data, args.out, AMTConfig(**model_values), config,
                       resume=args.resume,
                       metadata={"preset": args.preset} if args.preset else None)
    best = result.history and min(result.history, key=lambda r: r.val_loss)
    if best:
        print(f"best epoch {best.epoch}: validation loss {best.val_loss:.4f}, "
              f"Hits@1 {best.val_metrics['hits1']:.3f}")
    print(f"best checkpoint: {result.best_checkpoint}")
    if args.export:
        import torch

        model = load_amt(result.best_checkpoint)
        save_amt(model, args.export, model.metadata, dtype=torch.float16)
        print(f"exported float16 copy: {args.export} ({args.export.stat().st_size / 1e6:.1f} MB)")
    return 0


def _train_regression(args: argparse.Namespace) -> int:
    from v2m_bridge.training.train import train_regression

    defaults = {"epochs": 20, "learning_rate": 1e-3, "weight_decay": 1e-5, "window": 300,
                "batch_size": 16}
    best = train_regression(args.data, args.out, None, _training_config(args, defaults),
                            resume=args.resume)
    print(f"best checkpoint: {best}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from v2m_bridge.data.muvi_sync import read_split_ids
    from v2m_bridge.model.loading import load_chord_model
    from v2m_bridge.training.evaluate import evaluate_amt

    _positive("songs", args.songs)
    _positive("seconds", args.seconds)
    read_split_ids(args.data, args.split)  # a bad data folder fails before the model loads
    model = load_chord_model(args.checkpoint, args.device).amt
    report = evaluate_amt(model, args.data, args.split, generate_songs=args.songs,
                          generate_seconds=args.seconds, seed=args.seed, progress=True)
    print(report.to_markdown())
    if args.json:
        args.json.write_text(report.to_json())
    return 0

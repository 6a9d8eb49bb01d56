"""Training loops for the AMT and the bi-GRU regression model.

Each epoch draws fresh random windows from the training songs, trains on batches of them, then
scores the validation split. ``<out>/last.pt`` holds everything needed to resume (model, optimiser,
schedule, epoch, RNG state); ``<out>/best.pt`` is the model with the lowest validation loss, as a
project checkpoint that :func:`v2m_bridge.model.load_amt` reads.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from v2m_bridge.data.dataset import (
    Window,
    chord_tokens,
    collate,
    tiled_windows,
    training_windows,
)
from v2m_bridge.data.muvi_sync import Song, read_split
from v2m_bridge.device import pick_device
from v2m_bridge.errors import V2MError
from v2m_bridge.features import SEMANTIC_DIM
from v2m_bridge.model import (
    AMT,
    AMTConfig,
    RegressionConfig,
    VideoRegression,
    save_amt,
    save_regression,
)
from v2m_bridge.training.loss import DEFAULT_LOSS_LAMBDA, amt_loss

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
HISTORY_FILE = "history.json"


class TrainingError(V2MError, ValueError):
    """Training settings or state that cannot work (bad device, nothing to resume ...)."""


@dataclass
class TrainConfig:
    """How to train; the defaults made the shipped starter model (see ``models/README.md``)."""

    epochs: int = 10
    batch_size: int = 32
    window: int = 128  # chords per training window (<= the model's max_sequence_chord)
    learning_rate: float = 1e-3
    warmup_steps: int = 300
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    loss_lambda: float = DEFAULT_LOSS_LAMBDA
    cut_weight: float = 1.0  # cross-entropy weight of targets at a scene cut (1 = official)
    seed: int = 0
    device: str = "auto"
    ignore_semantic: bool | None = None  # None: ignore when no song has semantic features
    max_steps_per_epoch: int | None = None  # caps an epoch (tests, smoke runs)
    limit_songs: int | None = None  # read at most this many songs per split (tests)
    progress: bool = True
    threads: int | None = None  # torch CPU threads; None leaves torch's default


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    val_metrics: dict[str, float]  # AMT: chord/emotion loss, Hits@1; regression: RMSEs
    seconds: float


@dataclass
class TrainResult:
    best_checkpoint: Path
    last_checkpoint: Path
    history: list[EpochRecord] = field(default_factory=list)


def _epoch_batches(train_songs, config: TrainConfig, epoch: int) -> list:
    """This epoch's shuffled windows in batches; the seed and epoch fix the order (resume)."""
    rng = np.random.default_rng([config.seed, epoch])
    batches = _batches(training_windows(train_songs, config.window, rng), config.batch_size)
    return batches[:config.max_steps_per_epoch] if config.max_steps_per_epoch else batches


def inverse_sqrt_schedule(warmup_steps: int):
    """Linear warm-up, then decay with 1/sqrt(step), as a LambdaLR factor of the peak rate."""
    warmup = max(1, warmup_steps)

    def factor(step: int) -> float:
        step = max(step, 1)
        return min(step / warmup, math.sqrt(warmup / step))

    return factor


def _batches(windows: list[Window], batch_size: int) -> list[list[Window]]:
    return [windows[i:i + batch_size] for i in range(0, len(windows), batch_size)]


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


def _semantic(batch: dict, ignore: bool) -> torch.Tensor:
    if ignore or "semantic" not in batch:
        b, length = batch["x"].shape
        return torch.zeros(b, length, SEMANTIC_DIM, device=batch["x"].device)
    return batch["semantic"]


def amt_logits(model, batch: dict, ignore_semantic: bool) -> torch.Tensor:
    root, attr = chord_tokens(batch["x"])
    return model(root, attr, batch["key"], _semantic(batch, ignore_semantic),
                 batch["scene_offset"], batch["motion"], batch["emotion"])


def cut_weights(batch: dict, cut_weight: float) -> torch.Tensor | None:
    """Per-position CE weights: ``cut_weight`` where the target second starts a scene.

    Position ``i`` predicts second ``i + 1``, so it looks at the scene offset one step ahead
    (1.0 at a cut, loader convention); the window's last position has no such video second.
    """
    if cut_weight == 1.0:
        return None
    offsets = batch["scene_offset"]
    next_is_cut = torch.zeros_like(offsets, dtype=torch.bool)
    next_is_cut[:, :-1] = offsets[:, 1:] == 1.0
    return 1.0 + (cut_weight - 1.0) * next_is_cut.float()


def silence_semantic_input(model) -> None:
    """Zero the AMT's weights from the SEMANTIC_DIM CLIP dimensions and keep them at zero.

    Chord corpora have no pictures; a model trained with zero semantic input would otherwise keep
    random initial weights there and turn real CLIP features into noise at inference.
    """
    weight = model.Linear_vis.weight
    with torch.no_grad():
        weight[:, :SEMANTIC_DIM] = 0.0
    mask = torch.ones_like(weight)
    mask[:, :SEMANTIC_DIM] = 0.0
    weight.register_hook(lambda grad: grad * mask)


@torch.no_grad()
def validate_amt(model, songs: list[Song], config: TrainConfig, device: torch.device,
                 ignore_semantic: bool) -> dict[str, float]:
    """Mean losses and Hits@1 over every next-chord target of ``songs`` (teacher forcing)."""
    model.eval()
    sums = {"loss": 0.0, "chord": 0.0, "emotion": 0.0, "hits1": 0.0}
    count = 0
    for group in _batches(tiled_windows(songs, config.window), config.batch_size):
        batch = _to_device(collate(group, with_semantic=not ignore_semantic), device)
        logits = amt_logits(model, batch, ignore_semantic)
        parts = amt_loss(logits, batch["tgt"], batch["tgt_emotion"], config.loss_lambda)
        valid = batch["tgt"] != 158
        n = int(valid.sum())
        sums["loss"] += float(parts.total) * n
        sums["chord"] += float(parts.chord) * n
        sums["emotion"] += float(parts.emotion) * n
        sums["hits1"] += float((logits.argmax(-1) == batch["tgt"])[valid].sum())
        count += n
    model.train()
    return {k: v / max(count, 1) for k, v in sums.items()}


def _progress(iterable, total: int, description: str, enabled: bool):
    if not enabled:
        return iterable
    return tqdm(iterable, total=total, desc=description, unit="batch", dynamic_ncols=True)


def _load_songs(data_dir: Path, config: TrainConfig, need_targets: bool = False
                ) -> tuple[list[Song], list[Song]]:
    train = read_split(data_dir, "train", need_targets, config.limit_songs)
    val = read_split(data_dir, "val", need_targets, config.limit_songs)
    return train, val


def _write_history(out_dir: Path, history: list[EpochRecord]) -> None:
    (out_dir / HISTORY_FILE).write_text(json.dumps([asdict(r) for r in history], indent=1))


def train_amt(data_dir: Path, out_dir: Path, amt_config: AMTConfig | None = None,
              config: TrainConfig | None = None, resume: bool = False,
              metadata: dict | None = None) -> TrainResult:
    """Train an AMT on a MuVi-Sync layout folder; see the module docstring for the outputs."""
    config = config or TrainConfig()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    train_songs, val_songs = _load_songs(data_dir, config)
    ignore_semantic = config.ignore_semantic
    if ignore_semantic is None:
        ignore_semantic = all(s.semantic is None for s in train_songs)

    state = _read_training_state(out_dir / LAST_CHECKPOINT) if resume else None
    amt_config = AMTConfig.from_dict(state["amt_config"]) if state else (amt_config or AMTConfig())
    if config.window > min(amt_config.max_sequence_chord, amt_config.max_sequence_video):
        raise TrainingError(f"window {config.window} is longer than the model's "
                            f"max_sequence_chord/video ({amt_config.max_sequence_chord}/"
                            f"{amt_config.max_sequence_video})")
    torch.manual_seed(config.seed)
    model = AMT(amt_config).to(device)
    if ignore_semantic:
        silence_semantic_input(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  betas=(0.9, 0.98), eps=1e-9, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  inverse_sqrt_schedule(config.warmup_steps))
    train_meta = {
        "trained_on": str(data_dir),
        "train_config": asdict(config),
        "semantic_input": "ignored (weights zeroed)" if ignore_semantic else "used",
        **(metadata or {}),
    }

    def step(group: list[Window]) -> float:
        batch = _to_device(collate(group, with_semantic=not ignore_semantic), device)
        logits = amt_logits(model, batch, ignore_semantic)
        parts = amt_loss(logits, batch["tgt"], batch["tgt_emotion"], config.loss_lambda,
                         cut_weights(batch, config.cut_weight))
        optimizer.zero_grad(set_to_none=True)
        parts.total.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        return float(parts.total.detach())

    def validate() -> tuple[float, dict[str, float]]:
        scores = validate_amt(model, val_songs, config, device, ignore_semantic)
        return scores.pop("loss"), scores

    def save_best(record: EpochRecord) -> None:
        save_amt(model, out_dir / BEST_CHECKPOINT,
                 {**train_meta, "epoch": record.epoch, "val": asdict(record)})

    def describe(record: EpochRecord) -> str:
        return (f"epoch {record.epoch}: train loss {record.train_loss:.4f}, val loss "
                f"{record.val_loss:.4f}, val Hits@1 {record.val_metrics['hits1']:.3f} "
                f"({record.seconds:.0f} s)")

    run = _Run(model, optimizer, scheduler, amt_config, step, validate, save_best, describe)
    history = _fit(run, state, train_songs, config, out_dir)
    return TrainResult(out_dir / BEST_CHECKPOINT, out_dir / LAST_CHECKPOINT, history)


# ---------------------------------------------------------------------------------------------
# The epoch loop and training state, shared by both models


@dataclass
class _Run:
    """What one model brings to the shared epoch loop :func:`_fit`."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    model_config: AMTConfig | RegressionConfig  # stored in the training state to resume
    step: Callable[[list[Window]], float]  # one optimiser step on a batch; returns its loss
    validate: Callable[[], tuple[float, dict[str, float]]]  # (validation loss, other metrics)
    save_best: Callable[[EpochRecord], None]  # write best.pt
    describe: Callable[[EpochRecord], str]  # the epoch's log line


def _fit(run: _Run, state: dict | None, train_songs: list[Song], config: TrainConfig,
         out_dir: Path) -> list[EpochRecord]:
    """Train ``run.model`` from ``state`` (a resumed run) or from scratch; returns the history.

    After each epoch: ``best.pt`` when the validation loss is the lowest so far, then
    ``last.pt`` (the training state) and ``history.json``.
    """
    last_path = out_dir / LAST_CHECKPOINT
    start_epoch, best_val, history = _restore(run, state)
    for epoch in range(start_epoch, config.epochs):
        began = time.monotonic()
        batches = _epoch_batches(train_songs, config, epoch)
        run.model.train()
        running, seen = 0.0, 0
        bar = _progress(batches, len(batches), f"epoch {epoch + 1}/{config.epochs}",
                        config.progress)
        for group in bar:
            running += run.step(group)
            seen += 1
            if config.progress and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{running / seen:.3f}")
        val_loss, metrics = run.validate()
        record = EpochRecord(epoch + 1, running / max(seen, 1), val_loss, metrics,
                             time.monotonic() - began)
        history.append(record)
        log.info("%s", run.describe(record))
        if record.val_loss < best_val:
            best_val = record.val_loss
            run.save_best(record)
        _save_training_state(last_path, run, epoch + 1, best_val, history)
        _write_history(out_dir, history)
    if not (out_dir / BEST_CHECKPOINT).is_file():
        raise TrainingError(f"{out_dir}: no epoch finished, so no best checkpoint was written")
    return history


def _restore(run: _Run, state: dict | None) -> tuple[int, float, list[EpochRecord]]:
    """Load a training state into ``run``; returns (epochs done, best validation loss, history)."""
    if not state:
        return 0, math.inf, []
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    start_epoch, best_val = int(state["epoch"]), float(state["best_val"])
    history = [EpochRecord(**r) for r in json.loads(state["history"])]
    log.info("resuming after epoch %d (best validation loss %.4f)", start_epoch, best_val)
    return start_epoch, best_val, history


def _save_training_state(path: Path, run: _Run, epoch: int, best_val: float,
                         history: list[EpochRecord]) -> None:
    payload = {
        "format": "v2m-bridge/training-state",
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "amt_config": run.model_config.to_dict(),  # the regression config too, under this key
        "epoch": epoch,
        "best_val": best_val,
        "torch_rng": torch.get_rng_state(),
        "history": json.dumps([asdict(r) for r in history]),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _read_training_state(path: Path) -> dict:
    if not path.is_file():
        raise TrainingError(f"nothing to resume: {path} does not exist (train without --resume "
                            "first)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise TrainingError(f"{path}: not a readable training state ({err})") from None
    if not isinstance(state, dict) or state.get("format") != "v2m-bridge/training-state":
        raise TrainingError(f"{path}: not a v2m-bridge training state")
    return state


# ---------------------------------------------------------------------------------------------
# Regression (note density, loudness)


@torch.no_grad()
def validate_regression(model, songs: list[Song], config: TrainConfig, device: torch.device
                        ) -> dict[str, float]:
    """RMSE of note density and loudness over the real (unpadded) seconds of ``songs``."""
    model.eval()
    sums = torch.zeros(2, dtype=torch.float64)
    count = 0
    for group in _batches(tiled_windows(songs, config.window), config.batch_size):
        batch = _to_device(collate(group), device)
        predicted, target, valid = _regression_outputs(model, batch)
        sums += ((predicted - target) ** 2)[valid].sum(0).double().cpu()
        count += int(valid.sum())
    model.train()
    rmse = (sums / max(count, 1)).sqrt()
    return {"note_density_rmse": float(rmse[0]), "loudness_rmse": float(rmse[1]),
            "mse": float(sums.sum() / max(2 * count, 1))}


def _regression_outputs(model, batch: dict):
    predicted = model(_semantic(batch, False), batch["scene_offset"], batch["motion"],
                      batch["emotion"])
    target = torch.stack([batch["note_density"], batch["loudness"]], dim=-1)
    valid = batch["x"] != 158
    return predicted, target, valid


def train_regression(data_dir: Path, out_dir: Path,
                     regression_config: RegressionConfig | None = None,
                     config: TrainConfig | None = None, resume: bool = False) -> Path:
    """Train the bi-GRU on ``vevo_loudness`` and ``vevo_note_density`` targets (MSE, as the
    official ``train_regression.py``, but over real seconds only). Returns the best checkpoint."""
    config = config or TrainConfig(epochs=20, learning_rate=1e-3, weight_decay=1e-5)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device(config.device)
    train_songs, val_songs = _load_songs(data_dir, config, need_targets=True)
    state = _read_training_state(out_dir / LAST_CHECKPOINT) if resume else None
    regression_config = (RegressionConfig.from_dict(state["amt_config"]) if state
                         else regression_config or RegressionConfig())
    if config.window > regression_config.max_sequence_video:
        raise TrainingError(f"window {config.window} is longer than the model's "
                            f"max_sequence_video {regression_config.max_sequence_video}")
    torch.manual_seed(config.seed)
    model = VideoRegression(regression_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    # a constant rate, as the official script; kept so both models share one training state
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    def step(group: list[Window]) -> float:
        batch = _to_device(collate(group), device)
        predicted, target, valid = _regression_outputs(model, batch)
        loss = torch.nn.functional.mse_loss(predicted[valid], target[valid])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def validate() -> tuple[float, dict[str, float]]:
        scores = validate_regression(model, val_songs, config, device)
        return scores.pop("mse"), scores

    def save_best(record: EpochRecord) -> None:
        save_regression(model, out_dir / BEST_CHECKPOINT,
                        {"trained_on": str(data_dir), "epoch": record.epoch,
                         "val_mse": record.val_loss, **record.val_metrics})

    def describe(record: EpochRecord) -> str:
        return (f"epoch {record.epoch}: train MSE {record.train_loss:.4f}, val MSE "
                f"{record.val_loss:.4f} (RMSE density "
                f"{record.val_metrics['note_density_rmse']:.3f}, loudness "
                f"{record.val_metrics['loudness_rmse']:.4f})")

    run = _Run(model, optimizer, scheduler, regression_config, step, validate, save_best,
               describe)
    _fit(run, state, train_songs, config, out_dir)
    return out_dir / BEST_CHECKPOINT

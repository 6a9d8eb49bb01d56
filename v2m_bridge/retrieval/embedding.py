"""The two-branch retrieval embedding (a video branch and a music branch into one space).

Each branch maps its per-second rows (:mod:`.inputs`) to hidden frames: a linear layer, then two
residual 1-d convolutions over time (kernel 5, dilations 1 and 2, so each frame sees ±12 s). Two
poolings make the embeddings, both L2-normalised:

* **segment level** (a scene of the video, a 4–8-bar excerpt of the music): mean and standard
  deviation of the frames in ``[start, end)`` → a small MLP;
* **clip level** (a whole video, a whole piece): mean and standard deviation of all frames plus
  the means of its four quarters (the arc of the piece) → another MLP.

Checkpoints hold the config, float16 weights and metadata (``load`` uses
``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from v2m_bridge.errors import CheckpointError
from v2m_bridge.retrieval.inputs import DYNAMICS_COLUMNS, MUSIC_INPUT_DIM, VIDEO_INPUT_DIM

CHECKPOINT_FORMAT = "v2m-retrieval-1"
SEMANTIC_DIM = 768
QUARTERS = 4
STARTER_PATH = Path(__file__).resolve().parents[1] / "models_data" / "starter_retrieval.pt"
STARTER_LABEL = ("starter retrieval embedding: trained on chord corpora (POP909, McGill "
                 "Billboard) with video-side inputs derived from the music (section-level mood "
                 "and pace, no real video); it matches mood and pace, not what a picture shows")


@dataclass(frozen=True)
class EmbeddingConfig:
    hidden: int = 64
    dim: int = 64
    use_semantic: bool = False  # read the 768-d CLIP vectors (needs real video pairs)
    use_dynamics: bool = False  # read note density / loudness (needs music with notes)


class Branch(nn.Module):
    def __init__(self, in_dim: int, hidden: int, dim: int, semantic: bool) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.semantic = nn.Linear(SEMANTIC_DIM, hidden) if semantic else None
        self.conv1 = nn.Conv1d(hidden, hidden, 5, padding=2)
        self.conv2 = nn.Conv1d(hidden, hidden, 5, padding=4, dilation=2)
        self.segment_head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(),
                                          nn.Linear(hidden, dim))
        self.clip_head = nn.Sequential(nn.Linear((2 + QUARTERS) * hidden, hidden), nn.GELU(),
                                       nn.Linear(hidden, dim))

    def frames(self, x: torch.Tensor, mask: torch.Tensor,
               semantic: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, F) rows and (B, T) validity → (B, T, H) frames (zero where invalid)."""
        m = mask.unsqueeze(-1).to(x.dtype)
        h = self.inp(x)
        if self.semantic is not None and semantic is not None:
            h = h + self.semantic(semantic / (semantic.norm(dim=-1, keepdim=True) + 1e-6))
        h = nn.functional.gelu(h) * m
        for conv in (self.conv1, self.conv2):
            h = (h + nn.functional.gelu(conv(h.transpose(1, 2)).transpose(1, 2))) * m
        return h


def pool_segments(frames: torch.Tensor, batch_index: torch.Tensor, starts: torch.Tensor,
                  ends: torch.Tensor) -> torch.Tensor:
    """Mean and std of ``frames[b, s:e]`` for each segment → (S, 2H), via prefix sums."""
    zero = torch.zeros_like(frames[:, :1])
    prefix = torch.cat([zero, frames.cumsum(1)], 1)
    prefix2 = torch.cat([zero, (frames * frames).cumsum(1)], 1)
    length = (ends - starts).clamp(min=1).to(frames.dtype).unsqueeze(-1)
    mean = (prefix[batch_index, ends] - prefix[batch_index, starts]) / length
    square = (prefix2[batch_index, ends] - prefix2[batch_index, starts]) / length
    std = (square - mean * mean).clamp(min=1e-6).sqrt()
    return torch.cat([mean, std], -1)


def clip_bounds(lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the (1 + QUARTERS) clip pools per item: the whole, then the quarters."""
    starts, ends = [], []
    for n in lengths:
        starts.append(0)
        ends.append(n)
        for q in range(QUARTERS):
            s = min(round(n * q / QUARTERS), n - 1)
            e = max(round(n * (q + 1) / QUARTERS), s + 1)
            starts.append(s)
            ends.append(e)
    return np.array(starts), np.array(ends)


def pool_clips(frames: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """(B, (2 + QUARTERS) H) clip descriptors: whole mean and std, then the quarter means."""
    starts, ends = clip_bounds(lengths)
    batch_index = torch.arange(len(lengths)).repeat_interleave(1 + QUARTERS)
    pooled = pool_segments(frames, batch_index, torch.from_numpy(starts),
                           torch.from_numpy(ends))
    hidden = frames.shape[-1]
    pooled = pooled.view(len(lengths), 1 + QUARTERS, 2 * hidden)
    return torch.cat([pooled[:, 0], pooled[:, 1:, :hidden].reshape(len(lengths), -1)], -1)


class RetrievalEmbedding(nn.Module):
    def __init__(self, config: EmbeddingConfig = EmbeddingConfig()) -> None:
        super().__init__()
        self.config = config
        self.video = Branch(VIDEO_INPUT_DIM, config.hidden, config.dim, config.use_semantic)
        self.music = Branch(MUSIC_INPUT_DIM, config.hidden, config.dim, False)
        self.metadata: dict[str, str] = {}

    def music_rows(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.use_dynamics:
            return x
        x = x.clone()
        x[..., list(DYNAMICS_COLUMNS)] = 0.0
        return x

    def digest(self) -> str:
        """A short hash of the config and weights (index cache key)."""
        h = hashlib.sha256(json.dumps(asdict(self.config), sort_keys=True).encode())
        for name, tensor in sorted(self.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().to(torch.float16).numpy().tobytes())
        return h.hexdigest()[:16]


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.normalize(x, dim=-1)


def pad_rows(rows: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (T_i, F) arrays into (B, T_max, F) with a (B, T_max) mask."""
    length = max(len(r) for r in rows)
    width = rows[0].shape[1]
    x = np.zeros((len(rows), length, width), dtype=np.float32)
    mask = np.zeros((len(rows), length), dtype=bool)
    for i, r in enumerate(rows):
        x[i, :len(r)] = r
        mask[i, :len(r)] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


@torch.no_grad()
def encode(model: RetrievalEmbedding, side: str, rows: Sequence[np.ndarray],
           segments: Sequence[Sequence[tuple[int, int]]],
           semantic: Sequence[np.ndarray | None] | None = None,
           ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Clip embeddings (B, D) and per-item segment embeddings [(S_i, D)] as float32 numpy.

    ``side`` is ``"video"`` or ``"music"``; ``segments[i]`` lists ``(start, end)`` seconds of item
    ``i`` (may be empty).
    """
    model.eval()
    branch = model.video if side == "video" else model.music
    x, mask = pad_rows(rows)
    if side == "music":
        x = model.music_rows(x)
    sem = None
    if side == "video" and model.config.use_semantic and semantic is not None:
        sem_rows = [s if s is not None else np.zeros((len(r), SEMANTIC_DIM), np.float32)
                    for s, r in zip(semantic, rows, strict=True)]
        sem, _ = pad_rows([s[:len(r)] for s, r in zip(sem_rows, rows, strict=True)])
    frames = branch.frames(x, mask, sem)
    lengths = [len(r) for r in rows]
    clips = _normalise(branch.clip_head(pool_clips(frames, lengths))).numpy()
    index, starts, ends = [], [], []
    for i, item_segments in enumerate(segments):
        for s, e in item_segments:
            index.append(i)
            starts.append(max(0, min(s, lengths[i] - 1)))
            ends.append(max(min(e, lengths[i]), starts[-1] + 1))
    out: list[np.ndarray] = []
    if index:
        pooled = pool_segments(frames, torch.tensor(index), torch.tensor(starts),
                               torch.tensor(ends))
        flat = _normalise(branch.segment_head(pooled)).numpy()
        at = 0
        for item_segments in segments:
            out.append(flat[at:at + len(item_segments)])
            at += len(item_segments)
    else:
        out = [np.zeros((0, model.config.dim), np.float32) for _ in segments]
    return clips, out


def save_embedding(model: RetrievalEmbedding, path: str | Path,
                   metadata: dict[str, str] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": asdict(model.config),
        "state_dict": {k: v.detach().to(torch.float16) for k, v in model.state_dict().items()},
        "metadata": {str(k): str(v) for k, v in (metadata or model.metadata).items()},
    }
    torch.save(payload, path)
    return path


def load_embedding(path: str | Path | None = None) -> RetrievalEmbedding:
    """Load a checkpoint written by :func:`save_embedding` (default: the shipped starter)."""
    path = Path(path) if path is not None else STARTER_PATH
    if not path.is_file():
        raise CheckpointError(f"{path}: retrieval embedding not found"
                              + (" (the starter embedding should ship inside the package; "
                                 "reinstall or train one with `v2m-bridge train-retrieval`)"
                                 if path == STARTER_PATH else ""))
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise CheckpointError(f"{path}: not a retrieval embedding checkpoint ({err})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a retrieval embedding checkpoint (format "
                              f"{payload.get('format') if isinstance(payload, dict) else None!r},"
                              f" expected {CHECKPOINT_FORMAT!r})")
    try:
        config = EmbeddingConfig(**payload["config"])
        model = RetrievalEmbedding(config)
        model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
    except (TypeError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"{path}: weights do not fit the retrieval embedding ({err})") \
            from None
    model.metadata = dict(payload.get("metadata", {}))
    model.eval()
    return model


def label_of(model: RetrievalEmbedding) -> str:
    """What the embedding is, for every output."""
    return model.metadata.get("label", "retrieval embedding (no label in its checkpoint)")

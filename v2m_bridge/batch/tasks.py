"""The Ray tasks and actors of a batch. Workers compute; they write nothing.

- :func:`digest_task` (CPU): the file's SHA-256, which keys the feature cache.
- :func:`analyze_task` (CPU): one decode pass (scenes, motion, 1 fps samples) through the
  one-video :func:`extract_features`; the sampled frames go to the CLIP actors.
- :class:`ClipActor` (a GPU each, fp16; or a CPU): CLIP semantic + emotion for a batch of frames.
- :func:`compose_task` (CPU): chords and arrangement, the chord model kept loaded per worker.

Tasks are retried by Ray when their worker dies (``max_retries``), not when they raise: a corrupt
video fails once, with its error. Actors are restarted, and their calls retried, the same way.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import ray

from v2m_bridge.batch.plan import BatchError
from v2m_bridge.features import VideoFeatures
from v2m_bridge.music.arrangement import Composition
from v2m_bridge.options import RenderOptions
from v2m_bridge.pipeline import ChordModel, compose_features, load_chord_model
from v2m_bridge.video.analyze import extract_features
from v2m_bridge.video.cache import file_digest
from v2m_bridge.video.decode import check_video_path

# Ray retries a task whose worker process died (killed, out of memory) this many times.
TASK_RETRIES = 3
ACTOR_RESTARTS = 3


@ray.remote(num_cpus=1, max_retries=TASK_RETRIES)
def digest_task(path: str) -> str:
    """SHA-256 of the video's bytes (it reads the file; little CPU, but a whole CPU so that
    the same two workers per 2 CPUs serve every stage instead of more being started)."""
    return file_digest(check_video_path(path))


@ray.remote(max_concurrency=1)
class ClipActor:
    """One CLIP encoder, loaded once, encoding the batches the decode tasks send."""

    def __init__(self, factory: Callable[[], object]) -> None:
        # A model that does not load is reported by describe(), with its own message, rather
        # than as Ray's "actor died" (and is not retried: it would fail again).
        self.encoder = None
        self.error: str | None = None
        try:
            self.encoder = factory()
        except Exception as err:  # weights files raise torch, pickle, zip or our errors
            self.error = f"{type(err).__name__}: {err}"

    def describe(self) -> tuple[int, str, str | None]:
        """(batch size, device, None) of the encoder, or (0, "", the loading error)."""
        if self.encoder is None:
            return 0, "", self.error
        return int(self.encoder.batch_size), str(self.encoder.device), None

    def encode(self, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Semantic (n, D) and emotion (n, 6) rows of ``frames`` (at most one batch)."""
        self.encoder.reset()
        for frame in frames:
            self.encoder.add(frame)
        return self.encoder.finish()


@dataclass(frozen=True)
class ClipPool:
    """Handles of the CLIP actors and their common batch size."""

    actors: tuple
    batch_size: int


def start_clip_pool(factory: Callable[[], object], count: int, gpus_each: float,
                    cpus_each: float) -> ClipPool:
    """Start ``count`` CLIP actors and wait until each has loaded its model."""
    actors = tuple(
        ClipActor.options(num_gpus=gpus_each, num_cpus=cpus_each, max_restarts=ACTOR_RESTARTS,
                          max_task_retries=TASK_RETRIES).remote(factory)
        for _ in range(count))
    described = ray.get([actor.describe.remote() for actor in actors])
    errors = sorted({error for _, _, error in described if error})
    if errors:
        for actor in actors:
            ray.kill(actor)
        raise BatchError(f"the CLIP actors could not start: {'; '.join(errors)}")
    sizes = {size for size, _, _ in described}
    if len(sizes) != 1:  # mixed devices would batch differently from the one-video path
        for actor in actors:
            ray.kill(actor)
        raise BatchError(f"CLIP actors disagree on their batch size: {described}; give "
                         "--device so that all of them use the same kind of device")
    return ClipPool(actors, sizes.pop())


class ClipPoolClient:
    """The :class:`ClipEncoder` interface (reset/add/finish) over the actor pool.

    Frames are cut into the same batches the in-process encoder would flush (``batch_size``
    frames, then the rest), so every batch gives the same numbers; each batch goes to the next
    actor in turn and is encoded while decoding goes on.
    """

    def __init__(self, pool: ClipPool, first_actor: int = 0) -> None:
        self.pool = pool
        self._turn = itertools.cycle(
            pool.actors[first_actor % len(pool.actors):] +
            pool.actors[:first_actor % len(pool.actors)])
        self._pending: list[np.ndarray] = []
        self._results: list[ray.ObjectRef] = []

    def reset(self) -> None:
        self._pending.clear()
        self._results.clear()

    def add(self, frame: np.ndarray) -> None:
        self._pending.append(np.array(frame, copy=True))
        if len(self._pending) >= self.pool.batch_size:
            self._send()

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        self._send()
        if not self._results:  # no frame sampled: the encoder's empty (0, D) and (0, 6) rows
            self._results.append(self.pool.actors[0].encode.remote([]))
        rows = ray.get(self._results)
        self.reset()
        return (np.concatenate([semantic for semantic, _ in rows]),
                np.concatenate([emotion for _, emotion in rows]))

    def _send(self) -> None:
        if self._pending:
            self._results.append(next(self._turn).encode.remote(list(self._pending)))
            self._pending.clear()


@ray.remote(num_cpus=1, max_retries=TASK_RETRIES)
def analyze_task(path: str, detector: str, settings: dict[str, str], clip: ClipPool | None,
                 first_actor: int = 0) -> tuple[VideoFeatures, float]:
    """Features of one video, exactly as ``analyze_video`` computes them (without the cache),
    and the seconds it took."""
    started = time.perf_counter()
    encoder = ClipPoolClient(clip, first_actor) if clip is not None else None
    features = extract_features(path, encoder=encoder, detector=detector, settings=settings)
    return features, time.perf_counter() - started


@functools.lru_cache(maxsize=2)
def _chord_model(checkpoint) -> ChordModel:
    return load_chord_model(checkpoint)


@ray.remote(num_cpus=1, max_retries=TASK_RETRIES)
def compose_task(features: VideoFeatures, options: RenderOptions) -> tuple[Composition, float]:
    """The composition ``render`` makes of these features with these options, and the seconds
    it took (the chord model's loading excluded)."""
    model = _chord_model(options.checkpoint)
    started = time.perf_counter()
    composition = compose_features(features, options, chord_model=model)
    return composition, time.perf_counter() - started
